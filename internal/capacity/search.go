package capacity

import (
	"context"
	"fmt"
	"math"
)

// Search runs the search c describes. It returns the record of every step
// whatever the outcome; the error is a bad Config or a Measure failure (the
// steps measured before it are in the record).
func Search(ctx context.Context, c Config) (*Result, error) {
	if err := c.defaults(); err != nil {
		return nil, err
	}
	s := &searcher{cfg: c, res: &Result{Objective: c.Objective, Start: c.Start, Chosen: -1}}
	err := s.run(ctx)
	s.choose()
	if err != nil {
		return s.res, err
	}
	if ctx.Err() != nil {
		s.res.Outcome, s.res.Detail = Interrupted, fmt.Sprintf("interrupted after %d steps", len(s.res.Steps))
	}
	return s.res, nil
}

// searcher is the state of one search: lo is the highest rate that held
// and hi the lowest that broke, 0 while unknown.
type searcher struct {
	cfg    Config
	res    *Result
	lo, hi float64
}

// stopErr ends a search early without a failure (out of steps, out of
// time, or an unmeetable objective).
type stopErr struct{}

func (stopErr) Error() string { return "stop" }

// step measures one rate, twice when the first broke (unless
// NoRecheck), and moves lo or hi.
func (s *searcher) step(ctx context.Context, rate float64) (Step, error) {
	st, err := s.measure(ctx, rate, false)
	if err != nil {
		return st, err
	}
	if !st.Held && !s.cfg.NoRecheck {
		again, err := s.measure(ctx, rate, true)
		if _, stop := err.(stopErr); err != nil && !stop {
			return again, err
		}
		if err == nil {
			st = again
		}
	}
	if st.Held {
		s.lo = max(s.lo, rate)
	} else if s.hi == 0 || rate < s.hi {
		s.hi = rate
	}
	return st, nil
}

// measure runs and records one step.
func (s *searcher) measure(ctx context.Context, rate float64, recheck bool) (Step, error) {
	if len(s.res.Steps) >= s.cfg.MaxSteps || ctx.Err() != nil {
		return Step{}, stopErr{}
	}
	res, err := s.cfg.Measure(ctx, rate)
	if err != nil {
		return Step{}, fmt.Errorf("capacity: step at %.0f req/s: %w", rate, err)
	}
	if ctx.Err() != nil || res.Interrupted {
		// A step cut short measured less than it names: not recorded.
		return Step{}, stopErr{}
	}
	st := StepOf(rate, res, s.cfg.Objective)
	st.Recheck = recheck
	s.res.Steps = append(s.res.Steps, st)
	if s.cfg.Progress != nil {
		s.cfg.Progress(len(s.res.Steps)-1, st)
	}
	return st, nil
}

// run brackets the capacity and bisects; it sets the outcome.
func (s *searcher) run(ctx context.Context) error {
	err := s.bracket(ctx)
	if err == nil && s.lo > 0 && s.hi > 0 {
		err = s.bisect(ctx)
	}
	if _, stop := err.(stopErr); stop {
		err = nil
	}
	return err
}

// bracket finds a rate that holds and one that breaks: up from the start
// while it holds, down while it breaks.
func (s *searcher) bracket(ctx context.Context) error {
	first, err := s.step(ctx, s.cfg.Start)
	if err != nil {
		return err
	}
	if !first.Held && first.Min >= s.cfg.Objective.tightest() {
		return s.floor(ctx)
	}
	for s.hi == 0 {
		if _, err := s.step(ctx, s.lo*s.cfg.Growth); err != nil {
			return err
		}
	}
	for s.lo == 0 {
		rate := s.hi / s.cfg.Growth
		if rate < s.cfg.Start*minDown {
			return nil
		}
		if _, err := s.step(ctx, rate); err != nil {
			return err
		}
	}
	return nil
}

// floor handles a first step whose fastest response was already slower
// than the objective: one step at the lowest rate the search tries (an
// almost idle server) tells a server that is slow under load from an
// objective below what the load generator and the loopback can measure.
func (s *searcher) floor(ctx context.Context) error {
	idle, err := s.step(ctx, s.cfg.Start*minDown)
	if err != nil {
		return err
	}
	if !idle.Held && idle.Min >= s.cfg.Objective.tightest() {
		s.res.Outcome = Unmeetable
		s.res.Detail = fmt.Sprintf("the objective (%s) is below the fastest response measured even at %.0f req/s (%v): "+
			"below what the load generator and the loopback take on their own", s.cfg.Objective, idle.Rate, idle.Min)
		return stopErr{}
	}
	// When the idle step held, the capacity lies between it and the
	// start, which bisect narrows; when it broke, the server cannot meet
	// the objective at any rate tried.
	return nil
}

// bisect narrows lo and hi to the precision, halving their ratio each step.
func (s *searcher) bisect(ctx context.Context) error {
	for s.hi/s.lo > 1+s.cfg.Precision {
		if _, err := s.step(ctx, math.Sqrt(s.lo*s.hi)); err != nil {
			return err
		}
	}
	return nil
}

// choose picks the highest rate that held (its rate met by definition) and
// sets the outcome when the search did not set it.
func (s *searcher) choose() {
	r := s.res
	for i, st := range r.Steps {
		if st.Held && (r.Chosen < 0 || st.Rate > r.Steps[r.Chosen].Rate) {
			r.Chosen = i
		}
	}
	if r.Outcome != "" {
		return
	}
	c := r.ChosenStep()
	switch {
	case c == nil && len(r.Steps) > 0:
		low := r.lowest()
		r.Outcome = Unmet
		r.Detail = fmt.Sprintf("the objective (%s) broke at every rate tried, down to %.0f req/s: %s", r.Objective, low.Rate, low.Why)
	case c == nil:
		r.Outcome, r.Detail = Unmet, "no step ran"
	case s.hi == 0:
		r.Capacity = min(c.Achieved, c.Rate)
		r.Outcome = LowerBound
		r.Detail = fmt.Sprintf("the objective still held at %.0f req/s when the search ran out of its %d steps: the capacity is at least that", c.Rate, s.cfg.MaxSteps)
	default:
		r.Capacity = min(c.Achieved, c.Rate)
		r.Outcome = Found
		r.Detail = fmt.Sprintf("held at %.0f req/s, broke at %.0f req/s (%s)", c.Rate, s.hi, s.brokeWhy())
	}
}

// lowest returns the step with the lowest asked rate.
func (r *Result) lowest() Step {
	low := r.Steps[0]
	for _, st := range r.Steps[1:] {
		if st.Rate < low.Rate {
			low = st
		}
	}
	return low
}

// brokeWhy is why the step at hi broke.
func (s *searcher) brokeWhy() string {
	for _, st := range s.res.Steps {
		if st.Rate == s.hi {
			return st.Why
		}
	}
	return ""
}
