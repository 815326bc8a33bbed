// Package runner runs the cells of a matrix: for each cell it builds and
// starts the server through a runtime, waits until it is ready, checks it
// against the contract, measures it with the load generator, stops it,
// decides the cell's status and writes the result. It is the only place
// that decides a cell's status.
package runner

import (
	"context"
	"fmt"
	"io"
	goruntime "runtime"
	"time"

	"github.com/matrixbench/matrix/internal/hostload"
	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/runtime"
	"github.com/matrixbench/matrix/internal/tlscert"
)

// Defaults for the steps around a measurement.
const (
	// DefaultGrace is how long a server has to exit after SIGTERM.
	DefaultGrace = 5 * time.Second
	// cellSlack is added to a repeat's expected length (ready timeout,
	// warmup, duration) to make its hard limit.
	cellSlack = 30 * time.Second
)

// Output says where an execution writes as it goes: its progress, the
// servers' logs and its heartbeat. Request and Options share it.
type Output struct {
	// Out receives one line per finished cell and the final table.
	Out io.Writer
	// Live, when not nil, receives a live status line (a terminal).
	Live io.Writer
	// LogCap caps each server log; 0 means the runtime's default.
	LogCap int64
	// Heartbeat, when set, is a file rewritten as the run moves (see
	// Heartbeat), for a watchdog.
	Heartbeat string
}

// Options describe one execution of cells into a run directory.
type Options struct {
	Matrix  *matrix.Matrix
	Profile matrix.Profile
	// Cells are the cells to run, in matrix order.
	Cells   []matrix.Cell
	Runtime runtime.Runtime
	Run     *results.Run
	// Manifest is the run's manifest; the runner updates its cells and
	// state and writes it after every cell.
	Manifest *results.Manifest
	// Rerun keeps an existing result of a cell as an earlier attempt of
	// the new one instead of replacing it silently.
	Rerun bool
	// Grace is how long a server may take to stop; default DefaultGrace.
	Grace time.Duration
	// Side, when set, names the side of a same-run A/B this execution
	// measures ("base", "head"): its lines start with it, and the final
	// table is left to the A/B's verdict.
	Side string
	// Reference, when not nil, is the cell measured again at the start,
	// the middle and the end of the execution (the run's A/A reference);
	// nil measures none (a resume or rerun keeps the run's).
	Reference *matrix.Cell
	Output
}

// Outcome sums up an execution.
type Outcome struct {
	// Counts are cells by status.
	Counts map[results.Status]int
	// Interrupted is set when the context was cancelled.
	Interrupted bool
}

// Runner executes cells. Make one with New; it is used once.
type Runner struct {
	opt    Options
	builds map[string]*buildResult  // by server name
	checks map[string][]string      // contract problems by server/protocol; nil slice = conforms
	cells  map[string]*results.Cell // results in progress by cell ID
	prev   map[string]*results.Cell // results replaced by a rerun
	ref    *results.Reference       // the reference cell's measurements so far
	done   int                      // cells finished
	start  time.Time
	hb     heartbeat
	// certs are the execution's TLS certificates, made for its first TLS
	// cell and removed when it ends.
	certs *tlscert.Set
	// conntrack reads the host's connection-tracking table
	// (conntrack.go); a test may read another.
	conntrack func() (hostload.Conntrack, bool)
}

// buildResult is a server's build, done once per run.
type buildResult struct {
	spec     runtime.Spec
	artifact runtime.Artifact
	err      error
	reason   results.Reason
	took     time.Duration
}

// New returns a runner for opt.
func New(opt Options) *Runner {
	if opt.Grace == 0 {
		opt.Grace = DefaultGrace
	}
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	return &Runner{
		opt:    opt,
		builds: map[string]*buildResult{},
		checks: map[string][]string{},
		cells:  map[string]*results.Cell{},
		prev:   map[string]*results.Cell{},
		conntrack: func() (hostload.Conntrack, bool) {
			return hostload.ReadConntrack(procRoot)
		},
	}
}

// Execute runs every cell, repeats interleaved (every cell once, then every
// cell again) so that drift of the machine spreads over every server, with
// GOMAXPROCS set to the manifest's Loadgen.GOMAXPROCS when it has one. When
// ctx is cancelled it stops the current cell, records it and every cell
// that did not finish as interrupted, and returns with Interrupted set.
func (r *Runner) Execute(ctx context.Context) (Outcome, error) {
	if lg := r.opt.Manifest.Loadgen; lg != nil && lg.GOMAXPROCS > 0 {
		// The load generator runs in this process, so its GOMAXPROCS is
		// the process's.
		defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(lg.GOMAXPROCS))
	}
	restore, err := runtime.PinProcess(r.opt.Profile.LoadgenCPUs)
	if err != nil {
		return Outcome{}, err
	}
	defer restore()
	defer r.removeCerts()
	if err := r.Begin(ctx); err != nil {
		return Outcome{}, err
	}
	reps := max(r.opt.Profile.Repeat, 1)
	steps, middle := 0, (reps*len(r.opt.Cells))/2
	for rep := 1; rep <= reps && ctx.Err() == nil; rep++ {
		for i, c := range r.opt.Cells {
			if ctx.Err() != nil {
				break
			}
			if err := r.Step(ctx, c, rep, i); err != nil {
				return Outcome{}, err
			}
			if steps++; steps == middle {
				r.measureReference(ctx, results.RefMiddle)
			}
		}
	}
	return r.End(ctx)
}

// Begin starts an execution: it reads what a rerun replaces, writes the
// manifest, and measures the reference cell for the first time. Execute
// calls Begin, Step for every repeat of every cell, and End; a caller that
// orders repeats itself (a same-run A/B) calls them directly.
func (r *Runner) Begin(ctx context.Context) error {
	r.start = time.Now()
	if err := r.loadPrevious(); err != nil {
		return err
	}
	if ub := checkUDPBuffer(r.opt.Cells, rmemMaxPath); ub != nil {
		r.opt.Manifest.UDPBuffer = ub
		if ub.Warning != "" {
			fmt.Fprintf(r.opt.Out, "warning: %s\n", ub.Warning)
		}
	}
	if err := r.writeManifest(); err != nil {
		return err
	}
	r.measureReference(ctx, results.RefStart)
	return nil
}

// Step runs repeat rep of cell c (the idx-th cell), writes its result and
// the manifest, and cools down. A cell that failed is not measured again:
// a failed cell fails fast.
func (r *Runner) Step(ctx context.Context, c matrix.Cell, rep, idx int) error {
	reps := max(r.opt.Profile.Repeat, 1)
	if cr := r.cells[c.ID()]; cr != nil && rep > 1 && (cr.Status == results.StatusDNF || cr.Status == results.StatusSkipped) {
		return nil
	}
	r.beatStart(c, rep)
	r.runRepeat(ctx, c, rep, idx)
	if err := r.finishRepeat(c, rep, reps); err != nil {
		return err
	}
	r.beatDone(c, rep)
	if r.opt.Profile.Cooldown > 0 && ctx.Err() == nil {
		sleep(ctx, r.opt.Profile.Cooldown)
	}
	return nil
}

// End measures the reference cell for the last time, records the run's
// noise and every cell that did not finish, and writes the final manifest.
func (r *Runner) End(ctx context.Context) (Outcome, error) {
	r.measureReference(ctx, results.RefEnd)
	return r.finish(ctx)
}

// loadPrevious reads the results a rerun replaces.
func (r *Runner) loadPrevious() error {
	if !r.opt.Rerun {
		return nil
	}
	for _, c := range r.opt.Cells {
		prev, err := r.opt.Run.ReadCell(c.Server.Name, c.Scenario.Name)
		if err == nil {
			r.prev[c.ID()] = prev
		}
	}
	return nil
}

// finishRepeat classifies a cell after one of its repeats, writes its
// result, and reports it when the cell is complete.
func (r *Runner) finishRepeat(c matrix.Cell, rep, reps int) error {
	cr := r.cells[c.ID()]
	cr.Status, cr.Reason, cr.Detail = classifyCell(cr.Repeats, reps)
	last := rep == reps || cr.Status == results.StatusDNF || cr.Status == results.StatusSkipped
	if !last && cr.Status != results.StatusInterrupted {
		cr.Status, cr.Reason = results.StatusInterrupted, results.ReasonInterrupted
		cr.Detail = fmt.Sprintf("%d of %d repeats done", len(cr.Repeats), reps)
	}
	if sum, err := results.Summarize(cr.Repeats); err == nil {
		cr.Summary = sum
	}
	cr.Finished = time.Now().UTC()
	if err := r.opt.Run.WriteCell(cr); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	r.opt.Manifest.SetCell(results.RefOf(cr))
	if last && cr.Status != results.StatusInterrupted {
		r.done++
		r.reportCell(cr)
	}
	return r.writeManifest()
}

// finish records cells that did not finish, writes the manifest's final
// state and prints the matrix table.
func (r *Runner) finish(ctx context.Context) (Outcome, error) {
	out := Outcome{Counts: map[results.Status]int{}, Interrupted: ctx.Err() != nil}
	for _, c := range r.opt.Cells {
		cr := r.cells[c.ID()]
		if cr == nil || !results.Final(cr.Status) {
			if err := r.markInterrupted(c, cr); err != nil {
				return out, err
			}
			cr = r.cells[c.ID()]
		}
		if cr != nil {
			out.Counts[cr.Status]++
		}
	}
	r.recordNoise()
	r.removeCerts()
	r.opt.Manifest.Finished = time.Now().UTC()
	r.opt.Manifest.State = results.StateFinished
	if out.Interrupted {
		r.opt.Manifest.State = results.StateInterrupted
	}
	if err := r.writeManifest(); err != nil {
		return out, err
	}
	r.writeBeat(r.opt.Manifest.State)
	if r.opt.Side == "" {
		r.printTable()
	}
	return out, nil
}

// markInterrupted records a cell that did not finish. A rerun never
// replaces a finished earlier result with an interrupted one.
func (r *Runner) markInterrupted(c matrix.Cell, cr *results.Cell) error {
	if cr == nil {
		if prev := r.prev[c.ID()]; prev != nil {
			r.opt.Manifest.SetCell(results.RefOf(prev))
			return nil
		}
		if existing, err := r.opt.Run.ReadCell(c.Server.Name, c.Scenario.Name); err == nil && results.Final(existing.Status) {
			return nil
		}
		cr = r.newCell(c)
		r.cells[c.ID()] = cr
	}
	if cr.Status == results.StatusDNF || cr.Status == results.StatusSkipped {
		return nil
	}
	cr.Status, cr.Reason = results.StatusInterrupted, results.ReasonInterrupted
	if cr.Detail == "" {
		cr.Detail = "the run was interrupted before this cell finished"
	}
	cr.Finished = time.Now().UTC()
	if err := r.opt.Run.WriteCell(cr); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	r.opt.Manifest.SetCell(results.RefOf(cr))
	return nil
}

func (r *Runner) writeManifest() error {
	if err := r.opt.Run.WriteManifest(r.opt.Manifest); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	return nil
}

// newCell starts the result of a cell.
func (r *Runner) newCell(c matrix.Cell) *results.Cell {
	sc := r.opt.Profile.Apply(c.Scenario)
	cr := &results.Cell{
		SchemaVersion: results.SchemaVersion,
		RunID:         r.opt.Manifest.RunID,
		Server:        c.Server.Name,
		Scenario:      c.Scenario.Name,
		ScenarioAsRun: results.ScenarioOf(sc),
		ServerInfo: results.ServerInfo{
			Framework: c.Server.Framework, Version: c.Server.Version,
			CPUs: r.opt.Profile.ServerCPUs(c.Server), MemoryBytes: r.opt.Profile.ServerMemory(c.Server),
		},
		Runtime: r.opt.Runtime.Name(),
		Attempt: 1,
		Started: time.Now().UTC(),
	}
	cr.ScenarioAsRun.Capacity = results.CapacitySpecOf(sc.Capacity, r.opt.Profile)
	if prev := r.prev[c.ID()]; prev != nil {
		results.Supersede(prev, cr)
	}
	return cr
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
