package compare

import (
	"testing"

	"github.com/matrixbench/matrix/internal/compare/comparetest"
	"github.com/matrixbench/matrix/internal/results"
)

// reference returns a reference cell measured three times at rps.
func reference(rps ...float64) *results.Reference {
	r := &results.Reference{Cell: "get/ref"}
	for i, x := range rps {
		r.Samples = append(r.Samples, results.ReferenceSample{
			At: []string{results.RefStart, results.RefMiddle, results.RefEnd}[i], Status: results.StatusOK, RPS: x, P99Ns: 1e6})
	}
	r.Settle()
	return r
}

// judged diffs two made-up runs and returns the kind of each cell, and
// the result.
func judged(t *testing.T, base, head comparetest.Run, opt Options) (map[string]Kind, *Result) {
	t.Helper()
	dir := t.TempDir()
	b, err := results.ReadRun(comparetest.Write(t, dir, base))
	if err != nil {
		t.Fatal(err)
	}
	h, err := results.ReadRun(comparetest.Write(t, dir, head))
	if err != nil {
		t.Fatal(err)
	}
	res := Diff(b, h, opt)
	kinds := map[string]Kind{}
	for _, c := range res.Cells {
		kinds[c.ID] = c.Kind
	}
	return kinds, res
}

// TestDiffNoiseAndBox checks the three guards of a diff between runs: the
// runs' noise floors widen the band, a box that changed speed is taken out
// of every change, and a cell the host interfered with is not judged.
func TestDiffNoiseAndBox(t *testing.T) {
	t.Parallel()
	cell := func(server string, rps float64) comparetest.Cell {
		return comparetest.Cell{Scenario: "get", Server: server, RPS: rps, LatencyUs: 100, Repeats: 5, Noise: 0.005}
	}
	floor := func(f float64, ref *results.Reference) *results.NoiseReport {
		return &results.NoiseReport{Noise: results.Noise{Cells: 3, MedianCV: f / 2, Floor: f}, Reference: ref}
	}
	tests := []struct {
		name       string
		base, head comparetest.Run
		want       map[string]Kind
		box        bool
	}{
		{"8 % down, quiet runs",
			comparetest.Run{ID: "b", Cells: []comparetest.Cell{cell("a", 1000)}, Noise: floor(0.01, nil)},
			comparetest.Run{ID: "h", Cells: []comparetest.Cell{cell("a", 920)}, Noise: floor(0.01, nil)},
			map[string]Kind{"get/a": Regressed}, false},
		{"8 % down within a 10 % noise floor",
			comparetest.Run{ID: "b", Cells: []comparetest.Cell{cell("a", 1000)}, Noise: floor(0.01, nil)},
			comparetest.Run{ID: "h", Cells: []comparetest.Cell{cell("a", 920)}, Noise: floor(0.10, nil)},
			map[string]Kind{"get/a": Unchanged}, false},
		{"the box 25 % slower, the code the same",
			comparetest.Run{ID: "b", Cells: []comparetest.Cell{cell("a", 1000), cell("b", 2000)}, Noise: floor(0.01, reference(1000, 1005, 995))},
			comparetest.Run{ID: "h", Cells: []comparetest.Cell{cell("a", 750), cell("b", 1500)}, Noise: floor(0.01, reference(750, 752, 748))},
			map[string]Kind{"get/a": Unchanged, "get/b": Unchanged}, true},
		{"the box 25 % slower and one server 20 % slower still",
			comparetest.Run{ID: "b", Cells: []comparetest.Cell{cell("a", 1000), cell("b", 2000)}, Noise: floor(0.01, reference(1000, 1005, 995))},
			comparetest.Run{ID: "h", Cells: []comparetest.Cell{cell("a", 750), cell("b", 1200)}, Noise: floor(0.01, reference(750, 752, 748))},
			map[string]Kind{"get/a": Unchanged, "get/b": Regressed}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kinds, res := judged(t, tt.base, tt.head, Options{})
			for id, want := range tt.want {
				if kinds[id] != want {
					t.Errorf("%s: %s, want %s", id, kinds[id], want)
				}
			}
			if (res.Box != nil) != tt.box {
				t.Errorf("box move %+v, want one: %v", res.Box, tt.box)
			}
			if res.Box != nil {
				for _, c := range res.Cells {
					if c.RPS == nil || c.RPS.RawChange == nil {
						t.Errorf("%s: no raw change beside the normalized one", c.ID)
					}
				}
			}
		})
	}
}

// TestDiffPaired checks the verdict of a same-run A/B on made-up pairs:
// a 10 % slower head is called, the same build is not.
func TestDiffPaired(t *testing.T) {
	t.Parallel()
	cell := func(rps float64) []comparetest.Cell {
		return []comparetest.Cell{{Scenario: "get", Server: "a", RPS: rps, LatencyUs: 100, Repeats: 8, Noise: 0.01}}
	}
	kinds, res := judged(t, comparetest.Run{ID: "b", Cells: cell(1000)}, comparetest.Run{ID: "h", Cells: cell(900), Seed: 3}, Options{Paired: true})
	if kinds["get/a"] != Regressed || !res.Paired || res.Band != ABThreshold {
		t.Errorf("10 %% slower: %s (paired %v, band %v), want regressed", kinds["get/a"], res.Paired, res.Band)
	}
	kinds, _ = judged(t, comparetest.Run{ID: "b", Cells: cell(1000)}, comparetest.Run{ID: "h", Cells: cell(1000), Seed: 3}, Options{Paired: true})
	if kinds["get/a"] != Unchanged {
		t.Errorf("A/A: %s, want unchanged", kinds["get/a"])
	}
}

// TestDiffLeavesOutInterference checks that repeats the rest of the host
// interfered with are left out of a cell's verdict, and only they: a hog
// alone calls nothing, a real regression beside it is still called.
func TestDiffLeavesOutInterference(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		rps  float64 // head's req/s on its quiet repeats
		want Kind
	}{
		{"hog only", 1000, StatusChanged},
		{"hog and a 20 % regression", 800, Regressed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cell := func(rps float64) []comparetest.Cell {
				return []comparetest.Cell{{Scenario: "get", Server: "a", RPS: rps, LatencyUs: 100, Repeats: 5, Noise: 0.005}}
			}
			b, err := results.ReadRun(comparetest.Write(t, dir, comparetest.Run{ID: "b", Cells: cell(1000)}))
			if err != nil {
				t.Fatal(err)
			}
			h, err := results.ReadRun(comparetest.Write(t, dir, comparetest.Run{ID: "h", Cells: cell(tt.rps), Seed: 5}))
			if err != nil {
				t.Fatal(err)
			}
			c := h.Cells["get/a"]
			for _, i := range []int{0, 3} { // two hogged repeats at half speed
				c.Repeats[i].Result.RPS /= 2
				c.Repeats[i].Interference = &results.Interference{Cores: 0.5, Threshold: 0.1}
			}
			c.Status, c.Reason = results.StatusSuspect, results.ReasonInterference
			if c.Summary, err = results.Summarize(c.Repeats); err != nil {
				t.Fatal(err)
			}
			res := Diff(b, h, Options{})
			got := res.Cells[0]
			if got.Kind != tt.want || got.Interference == "" || got.RPS == nil || got.RPS.N2 != 3 {
				t.Errorf("%s (%s), rps %+v; want %s judged on the 3 quiet repeats", got.Kind, got.Interference, got.RPS, tt.want)
			}
		})
	}
}

// TestDiffRatedRPSNotJudged checks that a rated row's req/s, the rate it
// asked for, is shown but not judged: it follows its saturation row.
func TestDiffRatedRPSNotJudged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cell := func(rps float64) []comparetest.Cell {
		return []comparetest.Cell{{Scenario: "get", Server: "a", RPS: rps, LatencyUs: 100, Repeats: 5, Noise: 0.005}}
	}
	b, err := results.ReadRun(comparetest.Write(t, dir, comparetest.Run{ID: "b", Cells: cell(1000)}))
	if err != nil {
		t.Fatal(err)
	}
	h, err := results.ReadRun(comparetest.Write(t, dir, comparetest.Run{ID: "h", Cells: cell(800)}))
	if err != nil {
		t.Fatal(err)
	}
	if k := Diff(b, h, Options{}).Cells[0].Kind; k != Regressed {
		t.Fatalf("closed-loop row 20 %% slower: %s, want regressed", k)
	}
	b.Cells["get/a"].ScenarioAsRun.RateFraction = 0.5
	h.Cells["get/a"].ScenarioAsRun.RateFraction = 0.5
	if c := Diff(b, h, Options{}).Cells[0]; c.Kind == Regressed || !c.Rated {
		t.Errorf("rated row at a 20 %% lower rate: %s (rated %v), want not regressed", c.Kind, c.Rated)
	}
}
