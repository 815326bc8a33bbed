package runner

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/matrixbench/matrix/internal/results"
)

// TestCapacityCells runs capacity rows end to end against real servers:
// one whose latency breaks above a known rate (a token bucket), one that
// cannot meet the objective at any rate, and an objective no server could
// meet. Steps are short: the search is the capacity package's to test
// precisely; here the cell files, statuses and reasons are.
func TestCapacityCells(t *testing.T) {
	scenarios := `  - {name: get, protocol: h1, connections: 4}
  - {name: slo, protocol: h1, connections: 64, saturation_from: get, capacity: {p99: 50ms, start: 1, step: 600ms, step_warmup: 200ms, max_steps: 8}}
  - {name: slo-probe, protocol: h1, connections: 64, capacity: {p99: 40ms, step: 400ms, step_warmup: 100ms, max_steps: 3}}
  - {name: slo-tiny, protocol: h1, connections: 8, capacity: {p99: 1us, step: 300ms, step_warmup: 100ms}}
exclude: [get/jitter, slo/jitter, slo-probe/bucket, slo-tiny/bucket]
`
	path, pids := writeMatrix(t, map[string]string{"bucket": "bucket", "jitter": "jitter"}, scenarios)
	s, _, out := runMatrix(t, context.Background(), Request{MatrixPath: path})
	defer assertNoServerLeft(t, pids)

	c := readCell(t, s, "bucket", "slo")
	capOf := func(c *results.Cell) *results.Capacity {
		t.Helper()
		if len(c.Repeats) != 1 || c.Repeats[0].Capacity == nil {
			t.Fatalf("cell %s: no search recorded: %+v\n%s", c.ID(), c.Repeats, out)
		}
		return c.Repeats[0].Capacity
	}
	sc := capOf(c)
	for i, st := range sc.Steps {
		t.Logf("bucket/slo step %d: asked %.0f achieved %.0f p99 %.1fms held %v %s", i, st.RateAsked, st.RateAchieved, float64(st.P99Ns)/1e6, st.Held, st.Why)
	}
	if c.Status != results.StatusOK || sc.Outcome != "found" || !strings.HasPrefix(sc.From, "saturation:get") {
		t.Fatalf("bucket/slo: %s/%s %q, outcome %s from %s\n%s", c.Status, c.Reason, c.Detail, sc.Outcome, sc.From, out)
	}
	chosen := sc.Steps[sc.Chosen]
	if !chosen.Held || !chosen.RateMet || c.Summary.MedianRPS != sc.CapacityRPS || c.Repeats[0].Result.LatencyNs.P99 != chosen.P99Ns {
		t.Errorf("chosen step %+v, summary %.0f req/s, capacity %.0f", chosen, c.Summary.MedianRPS, sc.CapacityRPS)
	}
	if off := math.Abs(sc.CapacityRPS-bucketRate) / bucketRate; off > 0.15 {
		t.Errorf("capacity %.0f req/s, %.0f %% off the bucket's %.0f", sc.CapacityRPS, off*100, bucketRate)
	}
	if c.ScenarioAsRun.Capacity == nil || c.ScenarioAsRun.Capacity.P99Ns != 50e6 || c.ScenarioAsRun.Capacity.StepNs != 600e6 {
		t.Errorf("scenario as run: %+v", c.ScenarioAsRun.Capacity)
	}

	// The jitter server is slow on every 20th request whatever the rate:
	// dnf slo-unmet with the lowest step's figures.
	j := readCell(t, s, "jitter", "slo-probe")
	js := capOf(j)
	if j.Status != results.StatusDNF || j.Reason != results.ReasonSLOUnmet || js.From != "probe" || js.ClosedLoopRPS <= 0 ||
		js.Chosen != -1 || !strings.Contains(j.Detail, "lowest step") || j.Repeats[0].Result == nil {
		t.Errorf("jitter/slo-probe: %s/%s %q, search %+v", j.Status, j.Reason, j.Detail, js)
	}

	// 1 µs is below any round trip: skipped as unmeetable, no capacity.
	u := readCell(t, s, "jitter", "slo-tiny")
	if u.Status != results.StatusSkipped || u.Reason != results.ReasonSLOUnmeetable || capOf(u).CapacityRPS != 0 || u.Summary != nil {
		t.Errorf("jitter/slo-tiny: %s/%s %q summary %+v", u.Status, u.Reason, u.Detail, u.Summary)
	}
}
