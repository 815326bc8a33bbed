package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/matrixbench/matrix/internal/hostload"
	"github.com/matrixbench/matrix/internal/results"
)

// The CPU the rest of the host uses during a measured window is taken from
// the two CPU figures the cores can be spent on: the host's busy time
// (/proc/stat, steal included) less the server's (its cgroup or process
// tree) and the load generator's own (this process). What remains ran
// beside the measurement and took cores from the server or the client: a
// compiler, a second benchmark, a noisy neighbour's steal.

// hostCPUs is the cpuset whose busy time is watched: the server's and the
// load generator's, or the whole host when either is not pinned.
func (x *repeat) hostCPUs() string {
	p := x.r.opt.Profile
	cpus, err := hostload.UnionCPUs(p.ServerCPUs(x.cell.Server), p.LoadgenCPUs)
	if err != nil {
		return ""
	}
	return cpus
}

// recordInterference closes the host's sample of the measured window and
// records what the rest of the host used, when the server's CPU could be
// sampled (a remote engine's server is not on this host: nothing to
// subtract, nothing recorded).
func (x *repeat) recordInterference(s *hostload.Sampler, clientCPUNs int64) {
	if s == nil {
		return
	}
	w, err := s.Stop()
	if err != nil || x.rp.ServerCPUSeconds < 0 || x.r.opt.Profile.TargetHost != "" {
		return
	}
	x.rp.Interference = &results.Interference{
		Cores:           w.Remainder(x.rp.ServerCPUSeconds, float64(clientCPUNs)/1e9),
		Threshold:       x.r.opt.Profile.InterferenceCores(),
		HostBusySeconds: w.HostBusySeconds, StealSeconds: w.StealSeconds, IRQSeconds: w.IRQSeconds,
		CPUs: w.CPUSet,
	}
}

// interfered reports whether a repeat measured figures, or found a
// capacity row's objective unmet, while the rest of the host took more CPU
// than the profile allows.
func interfered(rp *results.Repeat) bool {
	return rp.Interference.Over() && (rp.Status == results.StatusOK || rp.Status == results.StatusSuspect ||
		rp.Reason == results.ReasonSLOUnmet)
}

// remeasure runs repeat x again, once, when the rest of the host
// interfered with it: a passing hog should cost a minute, not a cell. When
// the second measurement is interfered with too, its figures are kept and
// the repeat is suspect (interference): the number might be the host's.
func (r *Runner) remeasure(ctx context.Context, x *repeat, idx int) *repeat {
	if !interfered(&x.rp) || ctx.Err() != nil {
		return x
	}
	first := x.rp.Interference.Cores
	fmt.Fprintf(r.opt.Out, "%s[%d/%d] %s: other work used %.2f cores during repeat %d (threshold %.2f); measuring it again\n",
		r.sidePrefix(), r.done+1, len(r.opt.Cells), x.cell.ID(), first, x.rp.Index, x.rp.Interference.Threshold)
	y := &repeat{r: r, cell: x.cell, sc: x.sc, cr: x.cr,
		rp: results.Repeat{Index: x.rp.Index, Started: time.Now().UTC(), ServerCPUSeconds: -1}}
	y.run(ctx, idx)
	if y.rp.Interference == nil || y.rp.Result == nil {
		// The second measurement failed or could not be sampled: the
		// first keeps its figures, marked, rather than a failure that
		// was not the server's in the first window.
		x.fail(results.StatusSuspect, results.ReasonInterference,
			"other work on the host used %.2f cores during the window (threshold %.2f cores); measuring it again failed: %s",
			first, x.rp.Interference.Threshold, y.rp.Detail)
		return x
	}
	y.rp.Interference.Remeasured, y.rp.Interference.FirstCores = true, first
	if interfered(&y.rp) && y.rp.Status == results.StatusOK {
		y.fail(results.StatusSuspect, results.ReasonInterference,
			"other work on the host used %.2f cores during the window (threshold %.2f cores), and %.2f when measured again",
			y.rp.Interference.Cores, y.rp.Interference.Threshold, first)
	}
	return y
}
