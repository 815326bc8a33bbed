package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/matrixbench/matrix/internal/hostload"
	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/runtime"
	"github.com/matrixbench/matrix/loadgen"
)

// logTailBytes is how much of a failed server's log goes into a result.
const logTailBytes = 2048

// repeat is the state of one repeat of one cell while it runs.
type repeat struct {
	r    *Runner
	cell matrix.Cell
	sc   matrix.Scenario // scaled by the profile
	cr   *results.Cell
	rp   results.Repeat
	inst runtime.Instance
}

// runRepeat runs repeat rep of cell c and appends it to the cell's result.
func (r *Runner) runRepeat(ctx context.Context, c matrix.Cell, rep, idx int) {
	cr := r.cells[c.ID()]
	if cr == nil {
		cr = r.newCell(c)
		r.cells[c.ID()] = cr
	}
	x := &repeat{r: r, cell: c, sc: r.opt.Profile.Apply(c.Scenario), cr: cr,
		rp: results.Repeat{Index: rep, Started: time.Now().UTC(), ServerCPUSeconds: -1}}
	r.live(fmt.Sprintf("[%d/%d] %s: starting", r.done+1, len(r.opt.Cells), c.ID()))
	x.run(ctx, idx)
	x = r.remeasure(ctx, x, idx)
	if ctx.Err() != nil && x.rp.Status == results.StatusDNF {
		// A step cut short by the interrupt did not fail on its own.
		x.rp.Detail = "interrupted: " + x.rp.Detail
		x.rp.Status, x.rp.Reason = results.StatusInterrupted, results.ReasonInterrupted
	}
	x.rp.Finished = time.Now().UTC()
	cr.Repeats = append(cr.Repeats, x.rp)
}

// fail records the repeat's status.
func (x *repeat) fail(st results.Status, reason results.Reason, format string, args ...any) {
	x.rp.Status, x.rp.Reason, x.rp.Detail = st, reason, fmt.Sprintf(format, args...)
}

func (x *repeat) run(ctx context.Context, idx int) {
	b := x.r.build(ctx, x.cell.Server)
	x.cr.ServerInfo.Artifact, x.cr.ServerInfo.BuildHash = b.artifact.Ref, b.artifact.Hash
	x.cr.ServerInfo.Image = b.artifact.Tag
	if b.err != nil {
		x.fail(results.StatusDNF, b.reason, "%v", b.err)
		return
	}
	if x.rp.Index == 1 {
		x.rp.TimingsNs.Build = int64(b.took)
	}
	rate := x.sc.Rate
	if x.sc.Rated() {
		sat := x.r.saturation(x.cell)
		if sat <= 0 {
			x.fail(results.StatusSkipped, results.ReasonNoSaturation,
				"cell %s has no ok result to take the saturation rate from", matrix.CellID(x.sc.SaturationFrom, x.cell.Server.Name))
			return
		}
		rate = sat * x.sc.RateFraction
		x.cr.ScenarioAsRun.Rate, x.cr.ScenarioAsRun.SaturationRPS = rate, sat
	}
	closed, from, ok := x.startRate()
	if !ok {
		return
	}
	key := x.cell.Server.Name + "/" + string(x.sc.Protocol)
	if problems, checked := x.r.checks[key]; checked && len(problems) > 0 {
		x.fail(results.StatusDNF, results.ReasonNonconformant, "%s", strings.Join(problems, "; "))
		return
	}
	ct, ctOK := x.r.awaitConntrack(ctx)
	defer func() { x.markConntrack(ct, ctOK) }()
	if !x.start(ctx, b) {
		return
	}
	defer x.stop(ctx)
	pr, ok := x.ready(ctx)
	if !ok {
		return
	}
	defer pr.close()
	if _, checked := x.r.checks[key]; !checked {
		problems := pr.checkContract(ctx, measuresUpload(x.r.opt.Matrix, x.cell.Server))
		x.r.checks[key] = problems
		if len(problems) > 0 {
			x.fail(results.StatusDNF, results.ReasonNonconformant, "%s", strings.Join(problems, "; "))
			return
		}
	}
	if x.sc.Searched() {
		x.search(ctx, closed, from, idx)
		return
	}
	x.measure(ctx, pr, rate, idx)
}

// start starts the server; it reports whether the server is running.
func (x *repeat) start(ctx context.Context, b *buildResult) bool {
	port, err := freePort()
	if err != nil {
		x.fail(results.StatusDNF, results.ReasonStartFailed, "%v", err)
		return false
	}
	run := x.r.opt.Run
	logPath, err := run.LogPath(x.cr.Server, x.cr.Scenario, x.cr.Attempt, x.rp.Index)
	if err != nil {
		x.fail(results.StatusDNF, results.ReasonStartFailed, "%v", err)
		return false
	}
	files, err := x.r.tlsFiles(x.sc.Protocol)
	if err != nil {
		x.fail(results.StatusDNF, results.ReasonStartFailed, "%v", err)
		return false
	}
	if files != nil {
		x.rp.TLSCA = x.r.certs.Fingerprint
	}
	t0 := time.Now()
	inst, err := x.r.opt.Runtime.Start(ctx, b.spec, b.artifact, runtime.StartOptions{
		Port: port, LogPath: logPath, LogCap: x.r.opt.LogCap,
		RunID: x.r.opt.Manifest.RunID, Cell: x.cell.ID(), TLS: files,
	})
	x.rp.TimingsNs.Start = int64(time.Since(t0))
	x.rp.Log = results.LogFile(x.cr.Server, x.cr.Scenario, x.cr.Attempt, x.rp.Index)
	if err != nil {
		x.fail(results.StatusDNF, results.ReasonStartFailed, "%v", err)
		return false
	}
	x.inst = inst
	for k, v := range startInfo(inst.StartReport()) {
		if x.cr.ServerInfo.Extra == nil {
			x.cr.ServerInfo.Extra = map[string]string{}
		}
		x.cr.ServerInfo.Extra[k] = v
	}
	return true
}

// stop stops the server, even when ctx is cancelled (the runtime then
// skips the grace period), and records what the stop saw.
func (x *repeat) stop(ctx context.Context) {
	// A cancelled ctx makes the runtime skip the grace period; it still
	// stops and removes the server.
	rep, err := x.inst.Stop(ctx, x.r.opt.Grace)
	x.rp.TimingsNs.Stop = int64(rep.Total)
	x.rp.LogTruncated = rep.Log.Truncated
	if rep.Log.Truncated {
		x.cr.LogTruncated = true
	}
	if err != nil && x.rp.Status == results.StatusOK {
		x.rp.Detail = "stopping the server: " + err.Error()
	}
}

// ready waits for the server to answer over the scenario's protocol.
func (x *repeat) ready(ctx context.Context) (*prober, bool) {
	addr := targetAddr(x.inst.Addr(), x.r.opt.Profile.TargetHost)
	pr := newProber(addr, probeProto(x.sc.Protocol), x.r.roots())
	rd := x.cell.Server.Ready
	t0 := time.Now()
	err := pr.waitReady(ctx, rd.Path, rd.Timeout, x.inst.Done())
	x.rp.TimingsNs.Ready = int64(time.Since(t0))
	switch {
	case err == nil:
		return pr, true
	case ctx.Err() != nil:
		x.fail(results.StatusInterrupted, results.ReasonInterrupted, "interrupted while waiting for the server")
	case errors.Is(err, errExited):
		x.fail(results.StatusDNF, results.ReasonStartFailed, "exited before it was ready (%s): %s",
			x.inst.ExitStatus(), x.inst.LogTail(logTailBytes))
	default:
		x.fail(results.StatusDNF, results.ReasonNotReady, "%v; log: %s", err, x.inst.LogTail(logTailBytes))
	}
	pr.close()
	return nil, false
}

// measure runs the load generator and classifies what it measured.
func (x *repeat) measure(ctx context.Context, pr *prober, rate float64, idx int) {
	p := x.r.opt.Profile
	addr := targetAddr(x.inst.Addr(), p.TargetHost)
	cfg := loadConfig(x.sc, p, addr, rate, x.r.roots())
	cfg.Progress = x.r.progressFunc(x.cell, idx)
	limit := p.Warmup + p.Duration + cellSlack
	hctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	// Server and host CPU over the measured window: one sample when the
	// warmup ends, one when the window does.
	var before runtime.Stats
	var beforeErr error
	var host *hostload.Sampler
	cpus := x.hostCPUs()
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		sleep(hctx, p.Warmup)
		before, beforeErr = x.inst.Sample(hctx)
		host, _ = hostload.Start(cpus)
	}()
	res, err := loadgen.Run(hctx, cfg)
	<-sampled
	if err != nil {
		x.fail(results.StatusDNF, results.ReasonAllErrors, "load generator: %v", err)
		return
	}
	x.rp.Result = results.MeasurementOf(res)
	// Without the first sample the server's CPU since its start would be
	// counted: left unsampled (-1) instead.
	if after, err := x.inst.Sample(context.WithoutCancel(ctx)); err == nil && beforeErr == nil {
		x.rp.ServerCPUSeconds = after.CPUSeconds - before.CPUSeconds
		x.rp.PeakRSSBytes = after.PeakMemoryBytes
	}
	x.recordInterference(host, res.ClientCPUNs)
	if x.died() {
		return
	}
	switch {
	case ctx.Err() != nil:
		x.fail(results.StatusInterrupted, results.ReasonInterrupted, "interrupted during the measurement")
	case hctx.Err() != nil:
		x.fail(results.StatusDNF, results.ReasonTimeout, "the repeat overran its hard limit of %v", limit)
	default:
		x.rp.Status, x.rp.Reason, x.rp.Detail = classifyRepeat(x.rp.Result, x.sc.ErrorBudget)
	}
}

// build builds a server once per run.
func (r *Runner) build(ctx context.Context, s matrix.Server) *buildResult {
	if b := r.builds[s.Name]; b != nil {
		return b
	}
	b := &buildResult{}
	r.builds[s.Name] = b
	b.spec, b.err = specFor(r.opt.Matrix, r.opt.Profile, s, r.opt.Runtime.Name())
	if b.err != nil {
		b.reason = results.ReasonStartFailed
		return b
	}
	r.live(fmt.Sprintf("building %s", s.Name))
	t0 := time.Now()
	b.artifact, b.err = r.opt.Runtime.Build(ctx, b.spec)
	b.took = time.Since(t0)
	if b.err != nil {
		b.reason = results.ReasonBuildFailed
		if ctx.Err() != nil {
			delete(r.builds, s.Name) // an interrupted build is not a failed one
		}
	}
	return b
}

// saturation returns the median req/s of the cell a rated cell takes its
// rate from, from this run.
func (r *Runner) saturation(c matrix.Cell) float64 {
	cr := r.saturationCell(c)
	if cr == nil || cr.Summary == nil || (cr.Status != results.StatusOK && cr.Status != results.StatusInterrupted) {
		return 0
	}
	return cr.Summary.MedianRPS
}

// saturationCell returns the cell c takes its rate (or a capacity search
// its start) from: this run's result, else the run directory's (a rerun
// or a resume), else nil.
func (r *Runner) saturationCell(c matrix.Cell) *results.Cell {
	if cr := r.cells[matrix.CellID(c.Scenario.SaturationFrom, c.Server.Name)]; cr != nil {
		return cr
	}
	prev, err := r.opt.Run.ReadCell(c.Server.Name, c.Scenario.SaturationFrom)
	if err != nil {
		return nil
	}
	return prev
}

// died reports whether the server exited during the cell, and if it did
// fails the repeat with its exit status and the tail of its log: a repeat
// whose server died measured a dying server, whatever the figures say.
func (x *repeat) died() bool {
	select {
	case <-x.inst.Done():
		x.fail(results.StatusDNF, results.ReasonDied, "exited during the cell (%s): %s",
			x.inst.ExitStatus(), x.inst.LogTail(logTailBytes))
		return true
	default:
		return false
	}
}
