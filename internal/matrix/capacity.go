package matrix

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Capacity makes a scenario a capacity row: instead of one measurement,
// the runner searches the highest rate the server holds while its latency
// stays under the objective (internal/capacity), each step a short rated
// measurement with latency counted from intended start times.
type Capacity struct {
	// P99 and P999 are the latency objective; at least one is set.
	P99, P999 time.Duration
	// ErrorBudget is the highest error ratio a step may have and still
	// hold; default the scenario's error_budget.
	ErrorBudget float64
	// Start is the first step's rate as a fraction of the server's
	// closed-loop req/s on the same request (the saturation_from cell, or
	// a short probe); default DefaultCapacityStart.
	Start float64
	// Step is the measured window of one step, at most the profile's
	// duration; default DefaultCapacityStep.
	Step time.Duration
	// StepWarmup runs before each step's window on the same connections,
	// at most the profile's warmup; default DefaultCapacityStepWarmup.
	StepWarmup time.Duration
	// MaxSteps bounds the search; default DefaultCapacitySteps.
	MaxSteps int
}

// Defaults of a capacity row.
const (
	DefaultCapacityStart      = 0.5
	DefaultCapacityStep       = 2 * time.Second
	DefaultCapacityStepWarmup = 500 * time.Millisecond
	DefaultCapacitySteps      = 14
)

// Searched reports whether s is a capacity row.
func (s Scenario) Searched() bool { return s.Capacity != nil }

// OpenLoop reports whether s runs at a rate rather than as fast as the
// server answers: a fixed rate, a rated row or a capacity row.
func (s Scenario) OpenLoop() bool { return s.Rate > 0 || s.Rated() || s.Searched() }

// StepTimes returns a capacity row's step warmup and window under p: the
// row's, shortened to the profile's warmup and duration so that a quick
// profile stays quick.
func (c Capacity) StepTimes(p Profile) (warmup, window time.Duration) {
	return min(c.StepWarmup, p.Warmup), min(c.Step, p.Duration)
}

// capacity decodes a scenario's capacity mapping; budget is the scenario's
// error budget so far (the default of the capacity's).
func (p *parser) capacity(n *yaml.Node, field string) *Capacity {
	c := &Capacity{ErrorBudget: -1, Start: DefaultCapacityStart, Step: DefaultCapacityStep,
		StepWarmup: DefaultCapacityStepWarmup, MaxSteps: DefaultCapacitySteps}
	keys := p.mapping(n, field, map[string]fieldFunc{
		"p99":   func(v *yaml.Node, f string) { c.P99 = p.duration(v, f, false) },
		"p99.9": func(v *yaml.Node, f string) { c.P999 = p.duration(v, f, false) },
		"error_budget": func(v *yaml.Node, f string) {
			if b, ok := p.float(v, f); ok && (b < 0 || b > 1) {
				p.errorf(v, f, "must be between 0 and 1, got %v", b)
			} else if ok {
				c.ErrorBudget = b
			}
		},
		"start": func(v *yaml.Node, f string) {
			if r, ok := p.float(v, f); ok && (r <= 0 || r > 1) {
				p.errorf(v, f, "must be above 0 and at most 1 (a fraction of the closed-loop req/s), got %v", r)
			} else if ok {
				c.Start = r
			}
		},
		"step":        func(v *yaml.Node, f string) { c.Step = p.duration(v, f, false) },
		"step_warmup": func(v *yaml.Node, f string) { c.StepWarmup = p.duration(v, f, true) },
		"max_steps":   func(v *yaml.Node, f string) { c.MaxSteps = p.intAtLeast(v, f, 2) },
	})
	if keys == nil {
		return nil
	}
	_, p99 := keys["p99"]
	_, p999 := keys["p99.9"]
	if !p99 && !p999 {
		p.errorf(n, field, "needs a latency objective: p99, p99.9 or both (for example {p99: 10ms})")
	}
	return c
}

// capacityRules checks a capacity row against the scenario's other fields.
func (p *parser) capacityRules(s *Scenario, keys map[string]*yaml.Node, field string) {
	if s.Capacity == nil {
		return
	}
	if s.Capacity.ErrorBudget < 0 {
		s.Capacity.ErrorBudget = s.ErrorBudget
	}
	for _, k := range []string{"rate", "rate_fraction"} {
		if n := keys[k]; n != nil {
			p.errorf(n, join(field, k), "a capacity row searches its rate; %s does not go with capacity", k)
		}
	}
	if n := keys["close"]; n != nil && s.Close {
		p.errorf(n, join(field, "close"), "a capacity row measures on warm connections; close does not go with capacity")
	}
}
