package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/matrixbench/matrix/internal/capacity"
	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/units"
	"github.com/matrixbench/matrix/loadgen"
)

// sloOptions are the flags of "matrix load --slo".
type sloOptions struct {
	objective  capacity.Objective
	start      float64 // first rate; 0 probes and starts at half of it
	step       time.Duration
	stepWarmup time.Duration
	maxSteps   int
}

// sloFlags holds the raw flag values until the URL's flags are parsed.
type sloFlags struct {
	spec       string
	start      float64
	step       time.Duration
	stepWarmup time.Duration
	maxSteps   int
}

// options checks the flags; nil without --slo.
func (f sloFlags) options() (*sloOptions, error) {
	if f.spec == "" {
		return nil, nil
	}
	obj, err := parseObjective(f.spec)
	switch {
	case err != nil:
		return nil, err
	case f.start < 0:
		return nil, fmt.Errorf("--slo-start must not be negative, got %v", f.start)
	case f.step <= 0:
		return nil, fmt.Errorf("--step must be positive, got %v", f.step)
	case f.stepWarmup < 0:
		return nil, fmt.Errorf("--step-warmup must not be negative, got %v", f.stepWarmup)
	case f.maxSteps < 2:
		return nil, fmt.Errorf("--max-steps must be at least 2, got %d", f.maxSteps)
	}
	return &sloOptions{objective: obj, start: f.start, step: f.step, stepWarmup: f.stepWarmup, maxSteps: f.maxSteps}, nil
}

// parseObjective parses "p99=10ms,p99.9=50ms,errors=0.01".
func parseObjective(s string) (capacity.Objective, error) {
	o := capacity.Objective{ErrorBudget: matrix.DefaultErrorBudget}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return o, fmt.Errorf("--slo %q: want KEY=VALUE pairs like p99=10ms,p99.9=50ms,errors=0.01", s)
		}
		var err error
		switch k {
		case "p99":
			o.P99, err = positiveDuration(v)
		case "p99.9":
			o.P999, err = positiveDuration(v)
		case "errors":
			o.ErrorBudget, err = strconv.ParseFloat(v, 64)
			if err == nil && (o.ErrorBudget < 0 || o.ErrorBudget > 1) {
				err = errors.New("not between 0 and 1")
			}
		default:
			return o, fmt.Errorf("--slo %q: unknown key %q (want p99, p99.9 or errors)", s, k)
		}
		if err != nil {
			return o, fmt.Errorf("--slo %q: %s=%s: %v", s, k, v, err)
		}
	}
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("--slo %q: %v", s, strings.TrimPrefix(err.Error(), "capacity: "))
	}
	return o, nil
}

func positiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err == nil && d <= 0 {
		err = errors.New("not positive")
	}
	return d, err
}

// cmdLoadSLO searches the capacity of o's URL under its objective,
// printing a line per step on stderr and the search on stdout.
func cmdLoadSLO(ctx context.Context, o *loadOptions, stdout, stderr io.Writer) int {
	s := o.slo
	run := func(ctx context.Context, rate float64) (*loadgen.Result, error) {
		cfg := o.cfg
		cfg.Rate, cfg.Warmup, cfg.Duration, cfg.Progress = rate, s.stepWarmup, s.step, nil
		return loadgen.Run(ctx, cfg)
	}
	closed, from := s.start, "--slo-start"
	if closed == 0 {
		probe, err := run(ctx, 0)
		if err != nil || probe.Requests == 0 {
			fmt.Fprintf(stderr, "matrix load: closed-loop probe measured no success: %v\n", probeErr(probe, err))
			return 1
		}
		fmt.Fprintf(stderr, "probe: %s req/s closed-loop over %v; starting at half of it\n", units.Count(int64(probe.RPS+0.5)), s.step)
		closed, from = probe.RPS*matrix.DefaultCapacityStart, "probe"
	}
	res, err := capacity.Search(ctx, capacity.Config{Objective: s.objective, Start: closed, MaxSteps: s.maxSteps, Measure: run,
		Progress: func(i int, st capacity.Step) { fmt.Fprintln(stderr, stepLine(i, st)) }})
	if err != nil && res == nil {
		fmt.Fprintf(stderr, "matrix load: %v\n", err)
		return 2
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results.CapacityOf(res, closed, from)); err != nil {
			fmt.Fprintf(stderr, "matrix load: %v\n", err)
			return 1
		}
	} else {
		writeCapacity(stdout, o, res)
	}
	if err != nil {
		fmt.Fprintf(stderr, "matrix load: %v\n", strings.TrimPrefix(err.Error(), "capacity: "))
		return 1
	}
	if res.Outcome != capacity.Found && res.Outcome != capacity.LowerBound {
		return 1
	}
	return 0
}

func probeErr(probe *loadgen.Result, err error) string {
	if err != nil {
		return strings.TrimPrefix(err.Error(), "loadgen: ")
	}
	return fmt.Sprintf("%d errors", probe.Errors)
}

// stepLine is the progress line of one step.
func stepLine(i int, s capacity.Step) string {
	verdict := "held"
	if !s.Held {
		verdict = "broke: " + s.Why
	}
	if s.Recheck {
		verdict += " (measured again)"
	}
	d := func(v time.Duration) string { return units.Duration(float64(v)) }
	return fmt.Sprintf("step %2d: %9s req/s asked, %9s achieved, p50 %s p99 %s p99.9 %s, %d errors: %s",
		i+1, units.Count(int64(s.Rate+0.5)), units.Count(int64(s.Achieved+0.5)), d(s.P50), d(s.P99), d(s.P999), s.Errors, verdict)
}

// writeCapacity prints the outcome of a search.
func writeCapacity(w io.Writer, o *loadOptions, r *capacity.Result) {
	c := o.cfg
	fmt.Fprintf(w, "%s %s: %d connections, objective %s, %d steps of %v after %v warmup\n",
		c.Method, c.URL, c.Connections, r.Objective, len(r.Steps), o.slo.step, o.slo.stepWarmup)
	switch r.Outcome {
	case capacity.Found, capacity.LowerBound:
		fmt.Fprintf(w, "  capacity     %s req/s (%s: %s)\n", units.Count(int64(r.Capacity+0.5)), r.Outcome, r.Detail)
	default:
		fmt.Fprintf(w, "  capacity     none (%s): %s\n", r.Outcome, r.Detail)
	}
	for i, s := range r.Steps {
		mark := " "
		if i == r.Chosen {
			mark = "*"
		}
		fmt.Fprintf(w, " %s%s\n", mark, stepLine(i, s))
	}
}

// objectiveText is a capacity row's objective as `matrix list` shows it.
func objectiveText(c *matrix.Capacity) string {
	o := capacity.Objective{P99: c.P99, P999: c.P999, ErrorBudget: c.ErrorBudget}
	return o.String()
}
