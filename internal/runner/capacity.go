package runner

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/matrixbench/matrix/internal/capacity"
	"github.com/matrixbench/matrix/internal/hostload"
	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/loadgen"
)

// stepSlack is added to each step of a capacity search (dialing, the
// end of the window's last responses) to make the search's hard limit.
const stepSlack = 2 * time.Second

// startRate returns the closed-loop req/s a capacity row's search starts
// from when the row names a saturation cell, and where it came from; ok
// is false (and the repeat skipped) when that cell has no figures. A row
// without saturation_from gets 0: search probes the server itself. Other
// rows get 0 and ok.
//
// Unlike a rated row's rate, the start only seeds the search, which
// measures its own figure: a suspect saturation cell (its figures marked,
// for example for interference) still gives a good start, where refusing
// it would skip the row on a busy host, or after some of its repeats.
func (x *repeat) startRate() (closed float64, from string, ok bool) {
	if !x.sc.Searched() {
		return 0, "", true
	}
	if x.sc.SaturationFrom == "" {
		return 0, "probe", true
	}
	sat := x.r.closedLoop(x.cell)
	if sat <= 0 {
		x.fail(results.StatusSkipped, results.ReasonNoSaturation,
			"cell %s has no ok result to start the capacity search from", x.cell.Scenario.SaturationFrom+"/"+x.cell.Server.Name)
		return 0, "", false
	}
	return sat, "saturation:" + x.sc.SaturationFrom, true
}

// search runs a capacity row's search on the running server: a short
// closed-loop probe when closed is 0, then capacity.Search with one short
// rated loadgen run per step. The repeat's Result is the chosen step's
// measurement and its Capacity every step.
func (x *repeat) search(ctx context.Context, closed float64, from string, idx int) {
	p, c := x.r.opt.Profile, x.sc.Capacity
	warm, win := c.StepTimes(p)
	addr := targetAddr(x.inst.Addr(), p.TargetHost)
	limit := time.Duration(c.MaxSteps+1)*(warm+win+stepSlack) + cellSlack
	hctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	run := func(ctx context.Context, rate float64) (*loadgen.Result, error) {
		cfg := loadConfig(x.sc, p, addr, rate, x.r.roots())
		cfg.Warmup, cfg.Duration = warm, win
		cfg.Progress = x.r.progressFunc(x.cell, idx)
		return loadgen.Run(ctx, cfg)
	}
	// The server's CPU and the rest of the host's are sampled over the
	// whole search, as over a closed-loop window: a search the host
	// interfered with is measured again once, then marked (remeasure).
	before, beforeErr := x.inst.Sample(hctx)
	host, _ := hostload.Start(x.hostCPUs())
	self0 := selfCPU()
	defer func() {
		if after, err := x.inst.Sample(context.WithoutCancel(ctx)); err == nil && beforeErr == nil {
			x.rp.ServerCPUSeconds = after.CPUSeconds - before.CPUSeconds
			x.rp.PeakRSSBytes = after.PeakMemoryBytes
		}
		x.recordInterference(host, int64(selfCPU()-self0))
		if x.rp.Reason == results.ReasonSLOUnmet && x.rp.Interference.Over() {
			x.rp.Detail += fmt.Sprintf("; other work on the host used %.2f cores during the search (threshold %.2f)",
				x.rp.Interference.Cores, x.rp.Interference.Threshold)
		}
	}()
	if closed == 0 {
		probe, err := run(hctx, 0)
		if err != nil || probe.Requests == 0 {
			x.failProbe(probe, err)
			return
		}
		closed = probe.RPS
	}
	res, err := capacity.Search(hctx, capacity.Config{
		Objective: capacity.Objective{P99: c.P99, P999: c.P999, ErrorBudget: c.ErrorBudget},
		Start:     closed * c.Start, MaxSteps: c.MaxSteps, Measure: run,
		Progress: func(i int, s capacity.Step) {
			x.r.live(fmt.Sprintf("[%d/%d] %s step %d: %.0f req/s asked, %.0f achieved, p99 %v: %s",
				x.r.done+1, len(x.r.opt.Cells), x.cell.ID(), i+1, s.Rate, s.Achieved, s.P99.Round(time.Microsecond), held(s)))
		},
	})
	if res != nil {
		x.rp.Capacity = results.CapacityOf(res, closed, from)
	}
	x.searched(ctx, hctx, res, err, limit)
}

// closedLoop returns the median req/s of the saturation cell of c in this
// run, whatever its status, when it has figures; 0 when it has none.
func (r *Runner) closedLoop(c matrix.Cell) float64 {
	cr := r.saturationCell(c)
	if cr == nil || cr.Summary == nil || cr.Summary.Repeats == 0 {
		return 0
	}
	return cr.Summary.MedianRPS
}

// selfCPU is this process's user and system CPU time so far: the load
// generator's, over a search's steps and their warmups alike.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// held is a step's verdict in a progress line.
func held(s capacity.Step) string {
	if s.Held {
		return "held"
	}
	if s.Recheck {
		return "broke again (" + s.Why + ")"
	}
	return "broke (" + s.Why + ")"
}

// failProbe records a probe that measured nothing.
func (x *repeat) failProbe(probe *loadgen.Result, err error) {
	if err != nil {
		x.fail(results.StatusDNF, results.ReasonAllErrors, "load generator (closed-loop probe): %v", err)
		return
	}
	x.rp.Result = results.MeasurementOf(probe)
	st, reason, detail := classifyRepeat(x.rp.Result, x.sc.ErrorBudget)
	x.fail(st, reason, "closed-loop probe: %s", detail)
}

// searched decides the repeat's status from a finished search.
func (x *repeat) searched(ctx, hctx context.Context, res *capacity.Result, err error, limit time.Duration) {
	if res != nil {
		if s := res.ChosenStep(); s != nil {
			x.rp.Result = results.MeasurementOf(s.Result)
		} else if len(res.Steps) > 0 {
			x.rp.Result = results.MeasurementOf(lowestStep(res).Result)
		}
	}
	if x.died() {
		return
	}
	switch {
	case ctx.Err() != nil:
		x.fail(results.StatusInterrupted, results.ReasonInterrupted, "interrupted during the capacity search")
	case hctx.Err() != nil:
		x.fail(results.StatusDNF, results.ReasonTimeout, "the capacity search overran its hard limit of %v", limit)
	case err != nil:
		x.fail(results.StatusDNF, results.ReasonAllErrors, "load generator: %v", err)
	case res.Outcome == capacity.Unmeetable:
		x.fail(results.StatusSkipped, results.ReasonSLOUnmeetable, "%s", res.Detail)
	case res.Outcome == capacity.Unmet:
		low := lowestStep(res)
		x.fail(results.StatusDNF, results.ReasonSLOUnmet, "%s (lowest step: %.0f req/s asked, %.0f achieved, p50 %v, p99 %v, p99.9 %v, %d errors)",
			res.Detail, low.Rate, low.Achieved, low.P50, low.P99, low.P999, low.Errors)
	case res.Outcome == capacity.LowerBound:
		x.fail(results.StatusSuspect, results.ReasonCapacityLowerBound, "%s", res.Detail)
	default:
		x.rp.Status, x.rp.Reason, x.rp.Detail = classifyRepeat(x.rp.Result, x.sc.ErrorBudget)
		if x.rp.Status == results.StatusOK {
			x.rp.Detail = fmt.Sprintf("capacity %.0f req/s under %s: %s", res.Capacity, res.Objective, res.Detail)
		}
	}
}

// lowestStep returns the step of res with the lowest asked rate.
func lowestStep(res *capacity.Result) capacity.Step {
	low := res.Steps[0]
	for _, s := range res.Steps[1:] {
		if s.Rate < low.Rate {
			low = s
		}
	}
	return low
}
