package capacity

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/matrixbench/matrix/loadgen"
)

// model is a server described by its latency as a function of the rate:
// p99 is low below knee and high above it, and above limit it cannot keep
// up (it achieves limit).
type model struct {
	knee, limit float64
	min         time.Duration // fastest response at any rate
	p99Below    time.Duration
	p99Above    time.Duration
}

func (m model) measure(_ context.Context, rate float64) (*loadgen.Result, error) {
	p99 := m.p99Below
	if rate > m.knee {
		p99 = m.p99Above
	}
	achieved := rate
	if m.limit > 0 && rate > m.limit {
		achieved = m.limit
	}
	minLat := m.min
	if minLat == 0 {
		minLat = 50 * time.Microsecond
	}
	return &loadgen.Result{Requests: uint64(achieved), RPS: achieved,
		LatencyNs: loadgen.Latency{Min: int64(minLat), P50: int64(minLat), P99: int64(p99), P999: int64(p99)}}, nil
}

func TestSearchModel(t *testing.T) {
	obj := Objective{P99: 10 * time.Millisecond, ErrorBudget: 0.01}
	fast, slow := time.Millisecond, 50*time.Millisecond
	tests := []struct {
		name    string
		m       model
		start   float64
		outcome Outcome
		want    float64 // the capacity within the precision; 0 for none
	}{
		{"knee above the start", model{knee: 7300, p99Below: fast, p99Above: slow}, 5000, Found, 7300},
		{"knee below the start", model{knee: 1300, p99Below: fast, p99Above: slow}, 5000, Found, 1300},
		{"rate missed before the knee", model{knee: 1e9, limit: 6100, p99Below: fast}, 5000, Found, 6100},
		{"never breaks", model{knee: 1e12, p99Below: fast}, 1000, LowerBound, 0},
		{"never holds", model{knee: 0, p99Below: fast, p99Above: slow, min: time.Millisecond}, 5000, Unmet, 0},
		{"below the floor", model{knee: 0, p99Below: slow, p99Above: slow, min: 20 * time.Millisecond}, 5000, Unmeetable, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Search(context.Background(), Config{Objective: obj, Start: tt.start, Measure: tt.m.measure})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tt.outcome {
				t.Fatalf("outcome %s (%s), want %s; steps %+v", res.Outcome, res.Detail, tt.outcome, rates(res))
			}
			if len(res.Steps) > DefaultMaxSteps {
				t.Errorf("%d steps, more than %d", len(res.Steps), DefaultMaxSteps)
			}
			for i, st := range res.Steps {
				if i == res.Chosen && (!st.Held || !st.RateMet) {
					t.Errorf("chosen step %d did not hold or missed its rate: %+v", i, st)
				}
			}
			if tt.want > 0 && math.Abs(res.Capacity-tt.want)/tt.want > DefaultPrecision {
				t.Errorf("capacity %.0f, want %.0f within %.0f %%; steps %v", res.Capacity, tt.want, DefaultPrecision*100, rates(res))
			}
			if (tt.outcome == Unmet || tt.outcome == Unmeetable) && (res.Capacity != 0 || res.Chosen != -1) {
				t.Errorf("capacity %v chosen %d for an objective never met", res.Capacity, res.Chosen)
			}
		})
	}
}

func rates(r *Result) []float64 {
	var out []float64
	for _, s := range r.Steps {
		out = append(out, math.Round(s.Rate))
	}
	return out
}

func TestSearchMissedRateNeverChosen(t *testing.T) {
	// Latency is fine everywhere, but above 3000 req/s the server
	// achieves only 80 % of the rate: those steps must not be chosen even
	// though their latency looks good.
	m := func(_ context.Context, rate float64) (*loadgen.Result, error) {
		got := rate
		if rate > 3000 {
			got = rate * 0.8
		}
		return &loadgen.Result{Requests: uint64(got), RPS: got,
			LatencyNs: loadgen.Latency{Min: 1e4, P99: 1e6, P999: 1e6}}, nil
	}
	res, err := Search(context.Background(), Config{Objective: Objective{P99: 10 * time.Millisecond}, Start: 1000, Measure: m})
	if err != nil {
		t.Fatal(err)
	}
	c := res.ChosenStep()
	if res.Outcome != Found || c == nil || c.Rate > 3000 {
		t.Fatalf("outcome %s chosen %+v: a step that missed its rate was chosen", res.Outcome, c)
	}
	missed := 0
	for _, s := range res.Steps {
		if !s.RateMet {
			missed++
		}
	}
	if missed == 0 {
		t.Errorf("no step recorded as missing its rate: %v", rates(res))
	}
}

func TestSearchErrors(t *testing.T) {
	ok := model{knee: 1e9, p99Below: time.Millisecond}.measure
	for _, c := range []Config{
		{Objective: Objective{P99: time.Millisecond}, Start: 0, Measure: ok},
		{Objective: Objective{}, Start: 10, Measure: ok},
		{Objective: Objective{P99: time.Millisecond}, Start: 10},
		{Objective: Objective{P99: time.Millisecond}, Start: 10, Growth: 1, Measure: ok},
	} {
		if _, err := Search(context.Background(), c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	boom := errors.New("boom")
	calls := 0
	res, err := Search(context.Background(), Config{Objective: Objective{P99: time.Millisecond}, Start: 10,
		Measure: func(ctx context.Context, rate float64) (*loadgen.Result, error) {
			if calls++; calls == 2 {
				return nil, boom
			}
			return ok(ctx, rate)
		}})
	if !errors.Is(err, boom) || res == nil || len(res.Steps) != 1 {
		t.Errorf("measure failure: err %v, steps %v", err, res)
	}
}

func TestStepRateMet(t *testing.T) {
	obj := Objective{P99: 10 * time.Millisecond, ErrorBudget: 0.05}
	tests := []struct {
		rate     float64
		requests uint64
		window   time.Duration
		met      bool
	}{
		{1000, 950, time.Second, true},
		{1000, 900, time.Second, false},
		{7, 4, 700 * time.Millisecond, true}, // 4.9 due: one short is rounding
		{7, 3, 700 * time.Millisecond, false},
	}
	for _, tt := range tests {
		res := &loadgen.Result{Requests: tt.requests, RPS: float64(tt.requests) / tt.window.Seconds(), DurationNs: int64(tt.window),
			LatencyNs: loadgen.Latency{P99: int64(time.Millisecond)}}
		if s := StepOf(tt.rate, res, obj); s.RateMet != tt.met || s.Held != tt.met {
			t.Errorf("%v req/s, %d successes in %v: met %v held %v, want %v (%s)", tt.rate, tt.requests, tt.window, s.RateMet, s.Held, tt.met, s.Why)
		}
	}
}

// TestSearchRecheck checks that one stalled step does not stop the
// growth: a rate that broke once and held when measured again holds, and
// both measurements are kept.
func TestSearchRecheck(t *testing.T) {
	m := model{knee: 7300, p99Below: time.Millisecond, p99Above: 50 * time.Millisecond}
	calls := 0
	stall := func(ctx context.Context, rate float64) (*loadgen.Result, error) {
		res, err := m.measure(ctx, rate)
		if calls++; calls == 2 { // the step at 2000 req/s stalls
			res.LatencyNs.P99 = int64(80 * time.Millisecond)
		}
		return res, err
	}
	obj := Objective{P99: 10 * time.Millisecond, ErrorBudget: 0.01}
	res, err := Search(context.Background(), Config{Objective: obj, Start: 1000, Measure: stall})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Found || math.Abs(res.Capacity-7300)/7300 > DefaultPrecision {
		t.Fatalf("with recheck: %s, capacity %.0f; steps %v", res.Outcome, res.Capacity, rates(res))
	}
	if s := res.Steps[1]; s.Held || s.Rate != 2000 || !res.Steps[2].Recheck || !res.Steps[2].Held || res.Steps[2].Rate != 2000 {
		t.Errorf("steps 1 and 2: %+v %+v; want 2000 broke, then held when measured again", res.Steps[1], res.Steps[2])
	}
	calls = 0
	res, err = Search(context.Background(), Config{Objective: obj, Start: 1000, Measure: stall, NoRecheck: true})
	if err != nil || res.Capacity > 2000 {
		t.Errorf("without recheck the stall should end the growth at 2000: %v %.0f", err, res.Capacity)
	}
}
