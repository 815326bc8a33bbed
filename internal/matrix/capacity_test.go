package matrix

import (
	"strings"
	"testing"
	"time"
)

// TestEstimateCapacity checks that a capacity row is counted at its most
// steps (and its probe without saturation_from), with steps shortened to
// the profile's warmup and duration, and that a shard carries that cost.
func TestEstimateCapacity(t *testing.T) {
	m, err := Parse("cap.yaml", []byte(`version: 1
profiles:
  p: {warmup: 1s, duration: 2s, repeat: 2, cooldown: 1s, reference: none}
  short: {warmup: 200ms, duration: 1s, repeat: 1, reference: none}
servers:
  - {name: a, protocols: [h1], image: a}
scenarios:
  - {name: get, protocol: h1}
  - {name: slo, protocol: h1, saturation_from: get, capacity: {p99: 10ms, step: 3s, max_steps: 6}}
  - {name: slo-probe, protocol: h1, capacity: {p99: 10ms}}
`))
	if err != nil {
		t.Fatal(err)
	}
	cells, _ := m.Cells(Filter{})
	p, _ := m.Profile("p")
	o := Overhead{Start: 2 * time.Second}
	b := Estimate(cells, p, o)
	// get: 2 x (1s + 2s). slo: 2 x 6 steps x (500ms + 2s, its 3s window
	// cut to the profile's 2s). slo-probe: 2 x (14 steps + probe) x
	// (500ms + 2s).
	want := Breakdown{Cells: 3, Repeats: 2, Readiness: 12 * time.Second, Warmup: 2 * time.Second,
		Duration: 4 * time.Second, Cooldown: 6 * time.Second, Searches: 2 * (6 + 15) * 2500 * time.Millisecond,
		SearchSteps: 2 * (6 + 15)}
	want.Total = want.Readiness + want.Warmup + want.Duration + want.Cooldown + want.Searches
	if b != want {
		t.Errorf("Estimate = %+v\nwant %+v", b, want)
	}
	if s := b.String(); !strings.Contains(s, "capacity searches at most 1m45s in 42 steps") {
		t.Errorf("String() = %q", s)
	}
	short, _ := m.Profile("short")
	if w, d := cells[1].Scenario.Capacity.StepTimes(short); w != 200*time.Millisecond || d != time.Second {
		t.Errorf("steps under a short profile: warmup %v window %v", w, d)
	}
	// The capacity cell stays with its saturation cell; the probing one,
	// which weighs more than both, goes to the other shard.
	s1, _ := Shard(cells, 1, 2, p, o)
	s2, _ := Shard(cells, 2, 2, p, o)
	if len(s1) != 2 || s1[1].Scenario.Name != "slo" || len(s2) != 1 {
		t.Errorf("shards %v | %v", ids(s1), ids(s2))
	}
}
