package report

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matrixbench/matrix/internal/compare/comparetest"
	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
)

// hostile is a server name that would run script if it were not escaped.
const hostile = "<script>alert(1)</script>"

// fixtureCells is a matrix of 4 servers x 3 scenarios with one dnf and one
// suspect cell; slower scales beta's req/s.
func fixtureCells(slower float64) []comparetest.Cell {
	servers := []string{"go-stdlib", "fasthttp", "nginx", "h2o"}
	var out []comparetest.Cell
	for _, sc := range []string{"get-simple", "get-json", "post-64k"} {
		for i, sv := range servers {
			c := comparetest.Cell{Scenario: sc, Server: sv, RPS: 60000 + 25000*float64(i), LatencyUs: 900 - 150*float64(i)}
			if sv == "fasthttp" {
				c.RPS *= slower
			}
			switch c.ID() {
			case "post-64k/nginx":
				c.Status, c.Reason = results.StatusDNF, results.ReasonDied
				c.Detail = "server exited with status 2 during the cell <b>bold?</b>"
				c.Log = "listening on 127.0.0.1:41234\n<img src=x onerror=alert(2)>\nfatal: out of memory\n"
			case "get-json/h2o":
				c.Status, c.Reason = results.StatusSuspect, results.ReasonErrorBudget
				c.Detail = "error ratio 0.081 over the budget 0.05 (read)"
			}
			out = append(out, c)
		}
	}
	return out
}

func TestWriteRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := comparetest.Write(t, dir, comparetest.Run{ID: "base", Commit: "b", Cells: fixtureCells(1), Seed: 1})
	head := comparetest.Write(t, dir, comparetest.Run{ID: "head", Commit: "h", Cells: fixtureCells(0.7), Seed: 2,
		Created: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)})
	if err := WriteRun(context.Background(), head, base); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(head, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	html := string(data)
	if n := strings.Count(html, "data-cell="); n != 12 {
		t.Errorf("%d heatmap cells, want 12", n)
	}
	for _, want := range []string{
		`data-cell="post-64k/nginx" data-status="dnf"`,
		`data-cell="get-json/h2o" data-status="suspect"`,
		"fatal: out of memory", // the log tail
		"&lt;img src=x onerror=alert(2)&gt;",
		"&lt;b&gt;bold?&lt;/b&gt;",
		"<svg", "99.9%", // the percentile axis
		"3 of 12 cells regressed", // fasthttp in each scenario
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, bad := range []string{"<img src=x", "<b>bold"} {
		if strings.Contains(html, bad) {
			t.Errorf("report.html contains unescaped %q", bad)
		}
	}
	md, err := os.ReadFile(filepath.Join(head, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| get-simple |", "**DNF** died", "*suspect: error-budget*", "### matrix diff: 3 of 12 cells REGRESSED"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	// No temporary file is left behind.
	left, _ := filepath.Glob(filepath.Join(head, ".*.tmp-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

// hostileRun is a run held in memory whose second server has a name no
// result file could hold: the renderer must escape it all the same.
func hostileRun(t *testing.T) *results.RunData {
	t.Helper()
	dir := t.TempDir()
	good := comparetest.Write(t, dir, comparetest.Run{ID: "r", Cells: []comparetest.Cell{
		{Scenario: "get", Server: "go-stdlib", RPS: 50000, LatencyUs: 800},
		{Scenario: "post", Server: "go-stdlib", RPS: 40000, LatencyUs: 900},
		{Scenario: "get", Server: "other", RPS: 30000, LatencyUs: 1200},
		{Scenario: "post", Server: "other", Status: results.StatusDNF, Reason: "all-errors"},
	}})
	run, err := results.ReadRun(good)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range run.IDs {
		sc, sv, _ := matrix.SplitID(id)
		if sv != "other" {
			continue
		}
		c := run.Cells[id]
		c.Server = hostile
		c.Detail = `"><script>alert(3)</script>`
		nid := matrix.CellID(sc, hostile)
		delete(run.Cells, id)
		run.Cells[nid] = c
		run.IDs[i] = nid
	}
	run.Manifest.Command = []string{"matrix", "run", "</dd><script>alert(4)</script>"}
	return run
}

func TestHostileNamesAreText(t *testing.T) {
	t.Parallel()
	run := hostileRun(t)
	html, err := RenderHTML(build(run, func(*results.Cell) (string, string) {
		return "x.log", "</pre><script>alert(5)</script>"
	}, nil))
	if err != nil {
		t.Fatal(err)
	}
	s := string(html)
	if n := strings.Count(strings.ToLower(s), "<script"); n != 0 {
		t.Errorf("%d <script elements in the page", n)
	}
	if !strings.Contains(s, "<th scope=\"col\">&lt;script&gt;alert(1)&lt;/script&gt;</th>") {
		t.Errorf("the hostile server name is not in a column header as text")
	}
	if n := strings.Count(s, "data-cell="); n != 4 {
		t.Errorf("%d heatmap cells, want 4", n)
	}
}

func TestStreak(t *testing.T) {
	t.Parallel()
	const (
		ok  = results.StatusOK
		dnf = results.StatusDNF
		sus = results.StatusSuspect
		irq = results.StatusInterrupted
	)
	for _, tc := range []struct {
		sts             []results.Status
		broken, changes int
	}{
		{[]results.Status{ok, ok, ok}, 0, 0},
		{[]results.Status{ok, dnf, dnf}, 2, 1},
		{[]results.Status{dnf, dnf, "", dnf, irq}, 3, 0}, // no result and interrupted are passed over
		{[]results.Status{ok, dnf, ok, dnf}, 1, 3},
		{[]results.Status{dnf, sus}, 0, 1},
		{nil, 0, 0},
	} {
		b, c := streak(tc.sts)
		if b != tc.broken || c != tc.changes {
			t.Errorf("streak(%v) = %d, %d; want %d, %d", tc.sts, b, c, tc.broken, tc.changes)
		}
	}
}

func TestPercentileLabel(t *testing.T) {
	t.Parallel()
	want := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"}
	for d, w := range want {
		if got := percentileLabel(d); got != w {
			t.Errorf("percentileLabel(%d) = %q, want %q", d, got, w)
		}
	}
}

func TestRankColour(t *testing.T) {
	for _, tc := range []struct {
		r, n   int
		bg, fg string
	}{
		{0, 1, "#dde6ee", "#111111"}, // alone: neutral
		{0, 2, "#2c7bb6", "#ffffff"}, // fastest
		{1, 2, "#d7191c", "#ffffff"}, // slowest
		{2, 5, "#ffffbf", "#111111"}, // middle
	} {
		bg, fg := rankColour(tc.r, tc.n)
		if bg != tc.bg || fg != tc.fg {
			t.Errorf("rankColour(%d, %d) = %s, %s; want %s, %s", tc.r, tc.n, bg, fg, tc.bg, tc.fg)
		}
	}
}
