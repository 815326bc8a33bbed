package results

import (
	"github.com/matrixbench/matrix/internal/capacity"
	"github.com/matrixbench/matrix/internal/matrix"
)

// Reasons of a capacity row's cells.
const (
	// ReasonSLOUnmet (dnf): the objective broke even at the lowest rate
	// the search tried; Detail and the search's steps give that step's
	// figures.
	ReasonSLOUnmet Reason = "slo-unmet"
	// ReasonSLOUnmeetable (skipped): the objective is below the fastest
	// response the load generator measured on a nearly idle server: no
	// server could meet it, so there is no capacity to give, not zero.
	ReasonSLOUnmeetable Reason = "slo-unmeetable"
	// ReasonCapacityLowerBound (suspect): the objective still held at the
	// search's last step; the figure is a lower bound.
	ReasonCapacityLowerBound Reason = "capacity-lower-bound"
)

// CapacitySpec is a capacity row's objective and search settings as the
// cell ran them (ScenarioSpec.Capacity).
type CapacitySpec struct {
	P99Ns         int64   `json:"p99_ns,omitempty"`
	P999Ns        int64   `json:"p999_ns,omitempty"`
	ErrorBudget   float64 `json:"error_budget"`
	Start         float64 `json:"start"`
	StepNs        int64   `json:"step_ns"`
	StepWarmupNs  int64   `json:"step_warmup_ns"`
	MaxSteps      int     `json:"max_steps"`
	PrecisionPart float64 `json:"precision"`
}

// CapacitySpecOf records c as run under p (steps shortened to the
// profile).
func CapacitySpecOf(c *matrix.Capacity, p matrix.Profile) *CapacitySpec {
	if c == nil {
		return nil
	}
	w, d := c.StepTimes(p)
	return &CapacitySpec{P99Ns: int64(c.P99), P999Ns: int64(c.P999), ErrorBudget: c.ErrorBudget,
		Start: c.Start, StepNs: int64(d), StepWarmupNs: int64(w), MaxSteps: c.MaxSteps,
		PrecisionPart: capacity.DefaultPrecision}
}

// Capacity is one repeat's capacity search (Repeat.Capacity): where it
// started, every step, and the step chosen. The repeat's Result is the
// chosen step's measurement (for an unmet objective, the lowest step's).
type Capacity struct {
	// ClosedLoopRPS is the closed-loop req/s the start came from, and
	// From says where it came from: "saturation:<scenario>" (that cell's
	// median in this run) or "probe" (a short closed-loop measurement of
	// this repeat).
	ClosedLoopRPS float64 `json:"closed_loop_rps"`
	From          string  `json:"from"`
	// StartRPS is the first step's rate.
	StartRPS float64        `json:"start_rps"`
	Steps    []CapacityStep `json:"steps"`
	// Chosen is the index in Steps of the highest rate that held with its
	// rate met; -1 when none did.
	Chosen int `json:"chosen"`
	// CapacityRPS is the chosen step's rate (or its achieved req/s when
	// lower); 0 without a chosen step.
	CapacityRPS float64 `json:"capacity_rps"`
	// Outcome is found, lower-bound, unmet, unmeetable or interrupted.
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
}

// CapacityStep is one rated measurement of a search.
type CapacityStep struct {
	// RateAsked is the rate scheduled; RateAchieved the successes per
	// second measured; RateMet whether that was at least 95 % of it.
	RateAsked    float64 `json:"rate_asked"`
	RateAchieved float64 `json:"rate_achieved"`
	RateMet      bool    `json:"rate_met"`
	// Held is set when the rate was met and the objective held.
	Held bool `json:"held"`
	// Why says why a step did not hold.
	Why string `json:"why,omitempty"`
	// Recheck marks the second measurement of a rate whose first broke:
	// a rate breaks only when both do.
	Recheck bool `json:"recheck,omitempty"`
	// Latencies from each request's intended start (coordinated omission
	// corrected), in nanoseconds.
	MinNs      int64   `json:"min_ns"`
	P50Ns      int64   `json:"p50_ns"`
	P99Ns      int64   `json:"p99_ns"`
	P999Ns     int64   `json:"p999_ns"`
	Requests   uint64  `json:"requests"`
	Errors     uint64  `json:"errors"`
	ErrorRatio float64 `json:"error_ratio"`
	Backlog    uint64  `json:"backlog,omitempty"`
	DurationNs int64   `json:"duration_ns"`
}

// CapacityOf records a search that started from closedLoop req/s taken
// from from.
func CapacityOf(r *capacity.Result, closedLoop float64, from string) *Capacity {
	out := &Capacity{ClosedLoopRPS: closedLoop, From: from, StartRPS: r.Start, Chosen: r.Chosen,
		CapacityRPS: r.Capacity, Outcome: string(r.Outcome), Detail: r.Detail}
	for _, s := range r.Steps {
		st := CapacityStep{RateAsked: s.Rate, RateAchieved: s.Achieved, RateMet: s.RateMet, Held: s.Held, Why: s.Why, Recheck: s.Recheck,
			MinNs: int64(s.Min), P50Ns: int64(s.P50), P99Ns: int64(s.P99), P999Ns: int64(s.P999),
			Requests: s.Requests, Errors: s.Errors, ErrorRatio: s.ErrorRatio(), Backlog: s.Backlog}
		if s.Result != nil {
			st.DurationNs = s.Result.DurationNs
		}
		out.Steps = append(out.Steps, st)
	}
	return out
}

// Figure is a summarised repeat's req/s as the cell reports it: its
// capacity for a capacity row, else the req/s measured.
func (r Repeat) Figure() float64 {
	if r.Capacity != nil {
		return r.Capacity.CapacityRPS
	}
	if r.Result == nil {
		return 0
	}
	return r.Result.RPS
}
