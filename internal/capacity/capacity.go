// Package capacity searches the highest request rate a server holds while
// its tail latency stays under an objective: its capacity under a latency
// objective (for example p99 under 10 ms).
//
// A search is a sequence of short rated measurements (open loop, latency
// counted from each request's intended start, so a server that falls
// behind shows as latency and never as a quietly lower rate). It starts at
// a given rate, grows geometrically until the objective breaks, then
// bisects between the highest rate that held and the lowest that broke
// until they are within the asked precision. A step holds when the server
// met the rate it was asked for and the objective held; a step that missed
// its rate is recorded but never chosen, because its latency is that of a
// different load than it names.
//
// The package knows nothing of matrices or runners: the caller measures a
// step (Config.Measure), usually with loadgen.Run, and gets back every
// step and the verdict.
package capacity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/matrixbench/matrix/loadgen"
)

// Defaults of Config.
const (
	// DefaultGrowth multiplies the rate between steps until the objective
	// breaks.
	DefaultGrowth = 2.0
	// DefaultPrecision is how close, relatively, the highest rate that
	// held and the lowest that broke must be when the search stops.
	DefaultPrecision = 0.05
	// DefaultMaxSteps bounds a search: 2 steps to bracket the capacity
	// from half the saturation rate, 4 to bisect a factor of 2 to 5 %,
	// the second measurement of each rate that broke, and room for a
	// start that was too high or too low.
	DefaultMaxSteps = 14
	// RateMetShare is the share of its asked rate a step must achieve to
	// count as having met it (the runner's rated rows use the same).
	RateMetShare = 0.95
	// minDown bounds how far below the start a search goes looking for a
	// rate that holds, as a fraction of the start.
	minDown = 1.0 / 64
)

// Objective is what a step must hold: latency percentiles at most the
// given values (zero means not part of the objective) and an error ratio at
// most ErrorBudget.
type Objective struct {
	P99         time.Duration
	P999        time.Duration
	ErrorBudget float64
}

// Validate reports a problem with o: it needs at least one percentile, and
// no negative value.
func (o Objective) Validate() error {
	switch {
	case o.P99 < 0 || o.P999 < 0:
		return errors.New("capacity: a latency objective must be positive")
	case o.P99 == 0 && o.P999 == 0:
		return errors.New("capacity: the objective needs p99 or p99.9")
	case o.ErrorBudget < 0 || o.ErrorBudget > 1:
		return fmt.Errorf("capacity: error budget %v is not between 0 and 1", o.ErrorBudget)
	}
	return nil
}

// String formats o as "p99 10ms, p99.9 50ms, errors <= 0.05".
func (o Objective) String() string {
	s := ""
	if o.P99 > 0 {
		s = "p99 " + o.P99.String()
	}
	if o.P999 > 0 {
		if s != "" {
			s += ", "
		}
		s += "p99.9 " + o.P999.String()
	}
	return fmt.Sprintf("%s, errors <= %g", s, o.ErrorBudget)
}

// tightest returns the smallest latency bound of o.
func (o Objective) tightest() time.Duration {
	switch {
	case o.P99 == 0:
		return o.P999
	case o.P999 == 0:
		return o.P99
	}
	return min(o.P99, o.P999)
}

// Step is one rated measurement of a search.
type Step struct {
	// Rate is the rate asked for, in requests per second.
	Rate float64
	// Achieved is the successes per second measured.
	Achieved float64
	// Min, P50, P99 and P999 are latencies from each request's intended
	// start.
	Min, P50, P99, P999 time.Duration
	Requests, Errors    uint64
	// Backlog counts intended starts never sent (every connection busy).
	Backlog uint64
	// RateMet is set when Achieved is at least RateMetShare of Rate.
	RateMet bool
	// Held is set when the rate was met and the objective held.
	Held bool
	// Why says why a step did not hold; empty when it held.
	Why string
	// Recheck is set on the second measurement of a rate whose first
	// broke (Config.Recheck).
	Recheck bool
	// Result is the load generator's result of the step.
	Result *loadgen.Result
}

// ErrorRatio is Errors over all requests; 0 without requests.
func (s Step) ErrorRatio() float64 {
	if s.Requests+s.Errors == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Requests+s.Errors)
}

// judge fills in RateMet, Held and Why of s against o. The rate is met
// when the successes reach RateMetShare of those the window was due, less
// one: at a low rate a short window holds a few requests, and one that
// completed just after the window closed is not a server falling behind.
func (s *Step) judge(o Objective, window time.Duration) {
	s.RateMet = s.Achieved >= RateMetShare*s.Rate
	if due := s.Rate * window.Seconds(); window > 0 && !s.RateMet {
		s.RateMet = float64(s.Requests) >= RateMetShare*due-1
	}
	var why []string
	if !s.RateMet {
		why = append(why, fmt.Sprintf("achieved %.0f of %.0f req/s", s.Achieved, s.Rate))
	}
	if s.Requests == 0 {
		why = append(why, "no success")
	}
	if o.P99 > 0 && s.P99 > o.P99 {
		why = append(why, fmt.Sprintf("p99 %v over %v", s.P99, o.P99))
	}
	if o.P999 > 0 && s.P999 > o.P999 {
		why = append(why, fmt.Sprintf("p99.9 %v over %v", s.P999, o.P999))
	}
	if r := s.ErrorRatio(); r > o.ErrorBudget {
		why = append(why, fmt.Sprintf("error ratio %.4f over %g", r, o.ErrorBudget))
	}
	s.Held = len(why) == 0
	s.Why = joinWhy(why)
}

func joinWhy(why []string) string {
	out := ""
	for i, w := range why {
		if i > 0 {
			out += "; "
		}
		out += w
	}
	return out
}

// StepOf summarises a load generator result measured at rate.
func StepOf(rate float64, res *loadgen.Result, o Objective) Step {
	l := res.LatencyNs
	s := Step{
		Rate: rate, Achieved: res.RPS,
		Min: time.Duration(l.Min), P50: time.Duration(l.P50), P99: time.Duration(l.P99), P999: time.Duration(l.P999),
		Requests: res.Requests, Errors: res.Errors, Backlog: res.Backlog, Result: res,
	}
	s.judge(o, time.Duration(res.DurationNs))
	return s
}

// Outcome is how a search ended.
type Outcome string

// Outcomes of a search.
const (
	// Found: a rate held and a higher one broke, within the precision.
	Found Outcome = "found"
	// LowerBound: the objective still held at the last step the search
	// was allowed; the capacity is at least the figure.
	LowerBound Outcome = "lower-bound"
	// Unmet: not even the lowest step held; the server cannot meet the
	// objective at any rate the search tried.
	Unmet Outcome = "unmet"
	// Unmeetable: the objective is below the fastest response measured
	// on the first step (the load generator's and the loopback's own
	// floor): no server could meet it, and no capacity is given.
	Unmeetable Outcome = "unmeetable"
	// Interrupted: the context ended the search.
	Interrupted Outcome = "interrupted"
)

// Config describes one search.
type Config struct {
	Objective Objective
	// Start is the first rate, in requests per second; positive.
	Start float64
	// Growth multiplies the rate while the objective holds; default
	// DefaultGrowth (must be above 1).
	Growth float64
	// Precision is the relative gap at which bisection stops; default
	// DefaultPrecision.
	Precision float64
	// MaxSteps bounds the number of steps; default DefaultMaxSteps.
	MaxSteps int
	// NoRecheck turns off the second measurement of a rate that broke.
	// By default a rate breaks only when it breaks twice in a row: noise
	// is one-sided (a scheduling stall of the host adds latency, nothing
	// removes it), so a step can break by accident but not hold by one,
	// and one stalled step would otherwise end the growth early.
	NoRecheck bool
	// Measure runs one rated measurement at rate. An error ends the
	// search with that error.
	Measure func(ctx context.Context, rate float64) (*loadgen.Result, error)
	// Progress, when not nil, is called after every step.
	Progress func(i int, s Step)
}

// Result is a search's record.
type Result struct {
	Objective Objective
	Start     float64
	// Steps in the order they ran.
	Steps []Step
	// Chosen is the index of the step whose figures are the capacity:
	// the highest rate that held; -1 when none did.
	Chosen int
	// Capacity is the chosen step's rate: the rate asked, or the req/s
	// achieved when that is lower (a step catching up on its warmup's
	// backlog can achieve a little more than it was asked; that is not
	// counted). 0 without a chosen step.
	Capacity float64
	Outcome  Outcome
	// Detail explains the outcome for people.
	Detail string
}

// ChosenStep returns the chosen step, or nil.
func (r *Result) ChosenStep() *Step {
	if r.Chosen < 0 || r.Chosen >= len(r.Steps) {
		return nil
	}
	return &r.Steps[r.Chosen]
}

func (c *Config) defaults() error {
	if c.Growth == 0 {
		c.Growth = DefaultGrowth
	}
	if c.Precision == 0 {
		c.Precision = DefaultPrecision
	}
	if c.MaxSteps == 0 {
		c.MaxSteps = DefaultMaxSteps
	}
	switch {
	case c.Measure == nil:
		return errors.New("capacity: no Measure function")
	case !(c.Start > 0) || math.IsInf(c.Start, 0):
		return fmt.Errorf("capacity: start rate %v is not positive", c.Start)
	case c.Growth <= 1:
		return fmt.Errorf("capacity: growth %v must be above 1", c.Growth)
	case c.Precision <= 0 || c.Precision >= 1:
		return fmt.Errorf("capacity: precision %v must be between 0 and 1", c.Precision)
	case c.MaxSteps < 2:
		return fmt.Errorf("capacity: max steps %d must be at least 2", c.MaxSteps)
	}
	return c.Objective.Validate()
}
