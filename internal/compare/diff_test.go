package compare_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/matrixbench/matrix/internal/compare"
	"github.com/matrixbench/matrix/internal/compare/comparetest"
	"github.com/matrixbench/matrix/internal/results"
)

// servers and scenarios of the test matrix.
var (
	servers   = []string{"alpha", "beta", "gamma"}
	scenarios = []string{"get-simple", "get-json", "post-64k"}
)

// cells returns the test matrix with each cell shaped by f.
func cells(f func(c *comparetest.Cell)) []comparetest.Cell {
	var out []comparetest.Cell
	for _, sc := range scenarios {
		for i, sv := range servers {
			c := comparetest.Cell{Scenario: sc, Server: sv, RPS: float64(100000 * (i + 1)), LatencyUs: float64(500 / (i + 1))}
			if f != nil {
				f(&c)
			}
			out = append(out, c)
		}
	}
	return out
}

// diff writes base and head runs and diffs them.
func diff(t *testing.T, base, head []comparetest.Cell, baseSeed, headSeed uint64) *compare.Result {
	t.Helper()
	dir := t.TempDir()
	b := comparetest.Write(t, dir, comparetest.Run{ID: "base", Commit: "b", Cells: base, Seed: baseSeed})
	h := comparetest.Write(t, dir, comparetest.Run{ID: "head", Commit: "h", Cells: head, Seed: headSeed})
	br, err := results.ReadRun(b)
	if err != nil {
		t.Fatal(err)
	}
	hr, err := results.ReadRun(h)
	if err != nil {
		t.Fatal(err)
	}
	return compare.Diff(br, hr, compare.Options{})
}

func TestIdenticalRunsAreUnchanged(t *testing.T) {
	t.Parallel()
	res := diff(t, cells(nil), cells(nil), 1, 1)
	if res.Regressions != 0 {
		t.Errorf("regressions = %d, want 0", res.Regressions)
	}
	if len(res.Cells) != 9 {
		t.Fatalf("%d cells, want 9", len(res.Cells))
	}
	for _, c := range res.Cells {
		if c.Kind != compare.Unchanged || !c.RPS.Unchanged() || !c.P99.Unchanged() {
			t.Errorf("%s: kind %v, rps %+v, p99 %+v; want unchanged and ~", c.ID, c.Kind, c.RPS, c.P99)
		}
	}
	var out bytes.Buffer
	if err := compare.Render(&out, res, "text"); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		for _, sc := range scenarios {
			if strings.HasPrefix(strings.TrimSpace(line), sc+"/") && strings.Count(line, " ~ ") != 2 {
				t.Errorf("row without ~ for req/s and p99: %q", line)
			}
		}
	}
	if !strings.Contains(out.String(), "no regression in 9 cells") {
		t.Errorf("text output lacks the verdict:\n%s", out.String())
	}
}

func TestSlowerServerRegresses(t *testing.T) {
	t.Parallel()
	slow := cells(func(c *comparetest.Cell) {
		if c.Server == "beta" {
			c.RPS *= 0.7
			c.LatencyUs /= 0.7
		}
	})
	res := diff(t, cells(nil), slow, 1, 2)
	if res.Regressions != 3 {
		t.Errorf("regressions = %d, want 3 (beta's cells)", res.Regressions)
	}
	for _, c := range res.Cells {
		if c.Server != "beta" {
			if c.Regression {
				t.Errorf("%s regressed: %+v", c.ID, c.RPS)
			}
			continue
		}
		if c.Kind != compare.Regressed || !c.RPS.Significant || c.RPS.P >= compare.Alpha {
			t.Errorf("%s: kind %v, rps %+v; want a significant regression", c.ID, c.Kind, c.RPS)
		}
		if c.RPS.Change > -0.25 || c.RPS.CIHi > -0.2 || c.RPS.CILo < -0.4 {
			t.Errorf("%s: change %.3f CI [%.3f, %.3f], want about -0.30", c.ID, c.RPS.Change, c.RPS.CILo, c.RPS.CIHi)
		}
	}
	for _, m := range res.Servers {
		if m.Server == "beta" && (m.RPS.Change > -0.25 || m.RPS.Change < -0.35 || m.Cells != 3) {
			t.Errorf("beta geomean %+v, want -30%% over 3 cells", m)
		}
		if m.Server == "alpha" && (m.RPS.Change < -0.03 || m.RPS.Change > 0.03) {
			t.Errorf("alpha geomean %+v, want about 0", m)
		}
	}
	if res.Overall.Cells != 9 || res.Overall.RPS.Change > -0.05 {
		t.Errorf("overall mean %+v, want 9 cells and a drop", res.Overall)
	}
}

func TestSmallChangeIsNotRegression(t *testing.T) {
	t.Parallel()
	slower := cells(func(c *comparetest.Cell) { c.RPS *= 0.98; c.LatencyUs *= 1.02; c.Noise = 0.002 })
	base := cells(func(c *comparetest.Cell) { c.Noise = 0.002 })
	res := diff(t, base, slower, 1, 2)
	if res.Regressions != 0 {
		t.Errorf("a 2%% change regressed %d cells at the default threshold", res.Regressions)
	}
	for _, c := range res.Cells {
		if c.Kind != compare.Unchanged {
			t.Errorf("%s: kind %v, want unchanged", c.ID, c.Kind)
		}
	}
}

func TestNewDNFListedFirst(t *testing.T) {
	t.Parallel()
	head := cells(func(c *comparetest.Cell) {
		if c.ID() == "post-64k/gamma" {
			c.Status, c.Reason, c.Detail = results.StatusDNF, results.ReasonDied, "exit status 2: panic: boom"
		}
	})
	res := diff(t, cells(nil), head, 1, 1)
	if res.Regressions != 1 {
		t.Errorf("regressions = %d, want 1", res.Regressions)
	}
	first := res.Cells[0]
	if first.ID != "post-64k/gamma" || first.Kind != compare.NewDNF || first.Transition() != "ok -> dnf" {
		t.Errorf("first cell %s kind %v %s, want post-64k/gamma new-dnf ok -> dnf", first.ID, first.Kind, first.Transition())
	}
	var out bytes.Buffer
	if err := compare.Render(&out, res, "markdown"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| **NEW DNF** | post-64k/gamma | ok -> dnf (died) |") {
		t.Errorf("markdown lacks the new dnf row:\n%s", out.String())
	}
}

func TestFixedIsNotRegression(t *testing.T) {
	t.Parallel()
	base := cells(func(c *comparetest.Cell) {
		if c.ID() == "get-json/alpha" {
			c.Status, c.Reason = results.StatusDNF, results.ReasonAllErrors
		}
	})
	res := diff(t, base, cells(nil), 1, 1)
	if res.Regressions != 0 {
		t.Errorf("regressions = %d, want 0", res.Regressions)
	}
	if c := find(res, "get-json/alpha"); c.Kind != compare.Fixed {
		t.Errorf("kind %v, want fixed", c.Kind)
	}
}

func TestMethodChangeFlaggedAndExcluded(t *testing.T) {
	t.Parallel()
	head := cells(func(c *comparetest.Cell) {
		if c.ID() == "get-simple/alpha" {
			c.Connections = 32
			c.RPS *= 0.5 // would be a regression if it were judged
		}
		if c.ID() == "get-json/beta" {
			c.CPUs = "1"
		}
	})
	res := diff(t, cells(nil), head, 1, 1)
	if res.Regressions != 0 {
		t.Errorf("regressions = %d, want 0: a changed method is not judged", res.Regressions)
	}
	c := find(res, "get-simple/alpha")
	if c.Kind != compare.MethodChanged || len(c.Method) != 1 || c.Method[0] != "scenario connections: 64 -> 32" {
		t.Errorf("kind %v method %q, want method-changed [scenario connections: 64 -> 32]", c.Kind, c.Method)
	}
	if c := find(res, "get-json/beta"); c.Kind != compare.MethodChanged || c.Method[0] != "cpus: none -> 1" {
		t.Errorf("kind %v method %q, want method-changed [cpus: none -> 1]", c.Kind, c.Method)
	}
	if res.Overall.Cells != 7 || res.Overall.Excluded != 2 {
		t.Errorf("overall mean over %d cells, %d excluded; want 7 and 2", res.Overall.Cells, res.Overall.Excluded)
	}
	if res.Overall.RPS.Change < -0.02 || res.Overall.RPS.Change > 0.02 {
		t.Errorf("overall req/s change %.3f: the halved cell leaked into the mean", res.Overall.RPS.Change)
	}
	var out bytes.Buffer
	if err := compare.Render(&out, res, "text"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "get-simple/alpha measured differently, left out of the means: scenario connections: 64 -> 32") {
		t.Errorf("text output does not explain the method change:\n%s", out.String())
	}
}

func TestRunMethodChange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := comparetest.Write(t, dir, comparetest.Run{ID: "base", Cells: cells(nil)})
	h := comparetest.Write(t, dir, comparetest.Run{ID: "head", Cells: cells(func(c *comparetest.Cell) { c.RPS /= 2 }), Loadgen: "9.9.9"})
	br, _ := results.ReadRun(b)
	hr, _ := results.ReadRun(h)
	res := compare.Diff(br, hr, compare.Options{})
	if res.Regressions != 0 || len(res.RunMethod) != 1 || res.Overall.Cells != 0 {
		t.Errorf("regressions %d, run method %q, mean over %d cells; want 0, [loadgen], 0", res.Regressions, res.RunMethod, res.Overall.Cells)
	}
}

func TestFewRepeatsUseThreshold(t *testing.T) {
	t.Parallel()
	one := func(f float64) []comparetest.Cell {
		return cells(func(c *comparetest.Cell) { c.Repeats = 1; c.RPS *= f })
	}
	res := diff(t, one(1), one(0.9), 1, 1)
	if res.Regressions != 9 {
		t.Errorf("regressions = %d, want 9: a 10%% drop over the threshold with no test possible", res.Regressions)
	}
	c := res.Cells[0]
	if c.RPS.Tested || !strings.Contains(c.RPS.NoTest, "n=1+1") {
		t.Errorf("rps %+v, want untested with n=1+1", c.RPS)
	}
	res = diff(t, one(1), one(0.97), 1, 1)
	if res.Regressions != 0 {
		t.Errorf("regressions = %d, want 0 for 3%%", res.Regressions)
	}
}

func TestJSONOutput(t *testing.T) {
	t.Parallel()
	head := cells(func(c *comparetest.Cell) {
		if c.ID() == "post-64k/gamma" {
			c.Status, c.Reason = results.StatusDNF, results.ReasonNotReady
		}
	})
	res := diff(t, cells(nil), head, 1, 1)
	var out bytes.Buffer
	if err := compare.Render(&out, res, "json"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Regressions int
		Cells       []struct {
			ID   string
			Kind string
			RPS  *struct{ P *float64 } `json:"rps"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got.Regressions != 1 || got.Cells[0].Kind != "new-dnf" || got.Cells[0].RPS != nil || got.Cells[1].RPS.P == nil {
		t.Errorf("json: %+v", got)
	}
}

func find(res *compare.Result, id string) compare.CellDiff {
	for _, c := range res.Cells {
		if c.ID == id {
			return c
		}
	}
	return compare.CellDiff{}
}

// TestCapacityJudgedLikeRPS checks that a capacity row's req/s is its
// capacity and is judged (a 30 % drop regresses), while its p99, which the
// search keeps under the objective, is shown but never judged.
func TestCapacityJudgedLikeRPS(t *testing.T) {
	t.Parallel()
	row := func(capacity, latencyUs float64) []comparetest.Cell {
		return []comparetest.Cell{{Scenario: "get-simple-slo-10ms", Server: "alpha", RPS: 50000, LatencyUs: latencyUs, Capacity: capacity}}
	}
	res := diff(t, row(40000, 500), row(28000, 500), 1, 2)
	c := res.Cells[0]
	if !c.Capacity || c.Kind != compare.Regressed || c.RPS == nil || c.RPS.Base < 39000 || c.RPS.Head > 29000 {
		t.Errorf("capacity 40k -> 28k: kind %v capacity %v rps %+v; want a regression on the capacities", c.Kind, c.Capacity, c.RPS)
	}
	res = diff(t, row(40000, 500), row(40000, 2000), 1, 2)
	c = res.Cells[0]
	if c.Kind != compare.Unchanged || c.Regression || c.P99 == nil || c.P99.Change < 1 {
		t.Errorf("p99 x4 at the same capacity: kind %v p99 %+v; want shown, unchanged", c.Kind, c.P99)
	}
}
