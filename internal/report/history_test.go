package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/matrixbench/matrix/internal/compare/comparetest"
	"github.com/matrixbench/matrix/internal/results"
)

func TestHistory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Per run: the status of "get/broken" and "get/flaky"; "get/steady"
	// is always ok.
	plan := []struct{ broken, flaky results.Status }{
		{results.StatusOK, results.StatusOK},
		{results.StatusOK, results.StatusDNF},
		{results.StatusDNF, results.StatusOK},
		{results.StatusDNF, results.StatusDNF},
		{results.StatusDNF, results.StatusOK},
	}
	for i, p := range plan {
		cells := []comparetest.Cell{
			{Scenario: "get", Server: "steady", RPS: 1000 * float64(10+i), LatencyUs: 100, Repeats: 1},
			{Scenario: "get", Server: "broken", Status: p.broken, Reason: results.ReasonNotReady, RPS: 500, LatencyUs: 100, Repeats: 1},
			{Scenario: "get", Server: "flaky", Status: p.flaky, Reason: results.ReasonDied, RPS: 700, LatencyUs: 100, Repeats: 1},
		}
		comparetest.Write(t, dir, comparetest.Run{ID: fmt.Sprintf("run%d", i), Commit: fmt.Sprint(i), Cells: cells,
			Created: time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC)})
	}
	// A shard merged into run4 is not a run of its own.
	comparetest.Write(t, dir, comparetest.Run{ID: "shard", Commit: "4", Created: time.Date(2026, 1, 9, 0, 0, 0, 0, time.UTC),
		Cells: []comparetest.Cell{{Scenario: "get", Server: "steady", Status: results.StatusDNF, Repeats: 1}}})
	mergeInto(t, dir+"/run4", "shard")

	h, err := LoadHistory(dir, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Runs) != 4 || h.Runs[0].ID != "run1" || h.Runs[3].ID != "run4" {
		t.Fatalf("runs %+v, want run1..run4", h.Runs)
	}
	got := []string{}
	for _, c := range h.Cells {
		got = append(got, fmt.Sprintf("%s %s %d %v", c.ID, marks(c.Statuses), c.BrokenFor, c.Flaky))
	}
	want := []string{"get/broken .XXX 3 false", "get/flaky X.X. 0 true", "get/steady .... 0 false"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cells:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var out bytes.Buffer
	if err := h.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"BROKEN for 3 runs (not-ready)", "FLAKY: 3 changes", "get/steady  ....    ▁▃▆█"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

// mergeInto records shards as merged into the run in dir, as `matrix
// merge` does.
func mergeInto(t *testing.T, dir string, shards ...string) {
	t.Helper()
	r, err := results.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.ReadManifest()
	if err != nil {
		t.Fatal(err)
	}
	m.MergedFrom = shards
	if err := r.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
}

// TestHistorySteps shows `matrix history` naming the commit range of a
// step that held, and passing over a single bad night.
func TestHistorySteps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// get/step drops 15 % from the 7th run on (commit c6) and stays; get/dip
	// has one bad night (run 5) among steady ones. Both carry 1 % noise.
	noise := []float64{1.00, 1.01, 0.99, 1.005, 0.995, 1.01, 0.99, 1.0, 1.008, 0.992, 1.0, 1.004}
	for i := range noise {
		step := 10000 * noise[i]
		if i >= 6 {
			step *= 0.85
		}
		dip := 20000 * noise[len(noise)-1-i]
		if i == 4 {
			dip *= 0.7
		}
		cells := []comparetest.Cell{
			{Scenario: "get", Server: "step", RPS: step, LatencyUs: 100, Repeats: 1},
			{Scenario: "get", Server: "dip", RPS: dip, LatencyUs: 100, Repeats: 1},
		}
		comparetest.Write(t, dir, comparetest.Run{ID: fmt.Sprintf("run%02d", i), Commit: fmt.Sprintf("c%d", i), Cells: cells,
			Created: time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC)})
	}
	h, err := LoadHistory(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string][]Step{}
	for _, c := range h.Cells {
		steps[c.ID] = c.Steps
	}
	if got := steps["get/dip"]; len(got) != 0 {
		t.Errorf("a single bad night was called a step: %+v", got)
	}
	got := steps["get/step"]
	if len(got) != 1 || got[0].Index != 6 || got[0].LastBefore != "c5" || got[0].FirstAfter != "c6" || got[0].Change > -0.10 {
		t.Fatalf("steps of get/step %+v, want one of about -15%% at run 7 between c5 and c6", got)
	}
	var out bytes.Buffer
	if err := h.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	if want := "STEP -15% at run 7"; !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "commits c5..c6") {
		t.Errorf("output lacks %q and commits c5..c6:\n%s", want, out.String())
	}
}
