package hostload

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults of [GateOptions].
const (
	DefaultMinFreeBytes  = 1 << 30 // 1 GiB
	DefaultBusyThreshold = 0.05    // cores: a twentieth of one core
	DefaultSampleFor     = 500 * time.Millisecond
)

// GateOptions says what [Gate] looks at and what it warns about. Zero
// values take the defaults.
type GateOptions struct {
	// Dir is the directory results will be written to; its file system's
	// free space is checked. If it does not exist yet, its nearest existing
	// parent is. Empty skips the check.
	Dir string
	// MinFreeBytes is the free space under which Dir gets a warning.
	MinFreeBytes uint64
	// BusyThreshold is the CPU, in cores, above which another process is
	// named as busy.
	BusyThreshold float64
	// HostThreshold is the CPU, in cores, the whole host may use outside
	// the calling process before it gets a warning, whether or not the
	// processes using it could be named. The default is DefaultThreshold,
	// the same as a measured window's.
	HostThreshold float64
	// SampleFor is how long CPU use is sampled. The counters move in 10 ms
	// ticks, so a process's figure is uncertain by 10 ms / SampleFor: 2 %
	// of a core at the default.
	SampleFor time.Duration
	// Leftovers are servers of earlier runs still running, as the runtime
	// found them (this package does not look for them); each is a warning.
	Leftovers []string
	// SysRoot is where sysfs is mounted; empty means /sys.
	SysRoot string
}

// Report is what [Gate] found, for people (Warnings, Notes) and for the
// run's manifest (the rest).
type Report struct {
	// SampledNs is how long CPU use was sampled.
	SampledNs int64 `json:"sampled_ns"`
	// HostCPUs is the number of online CPUs.
	HostCPUs int `json:"host_cpus"`
	// HostBusyCores is how many cores the whole host kept busy meanwhile,
	// the calling process included.
	HostBusyCores float64 `json:"host_busy_cores"`
	// OtherCores is HostBusyCores less the calling process and its
	// children.
	OtherCores float64 `json:"other_cores"`
	// BusyProcesses are the other processes that used more than the busy
	// threshold, busiest first.
	BusyProcesses []BusyProcess `json:"busy_processes"`
	// Governors are the CPU frequency governors in use; empty when /sys
	// shows none, as in most virtual machines.
	Governors []Governor `json:"governors"`
	// Turbo is TurboOn, TurboOff or TurboUnknown.
	Turbo string `json:"turbo"`
	// Disk is the free space where results go; nil when not checked.
	Disk *DiskSpace `json:"disk,omitempty"`
	// Leftovers are the servers of earlier runs the caller passed in.
	Leftovers []string `json:"leftovers"`
	// Warnings are one line each, for people: what could make figures
	// unsteady or the run fail.
	Warnings []string `json:"warnings"`
	// Notes are one line each: what could not be looked at.
	Notes []string `json:"notes"`
}

// BusyProcess is a process that used CPU while the gate sampled.
type BusyProcess struct {
	PID   int     `json:"pid"`
	Comm  string  `json:"comm"`
	Cores float64 `json:"cores"`
}

// DiskSpace is the free space of the file system holding Dir.
type DiskSpace struct {
	Dir        string `json:"dir"`
	FreeBytes  uint64 `json:"free_bytes"`
	TotalBytes uint64 `json:"total_bytes"`
}

// Gate looks at the host before a run and reports what might disturb it.
// It samples CPU use for opt.SampleFor, so it blocks that long unless ctx
// ends first. Only what stops it from looking at all is an error; what it
// cannot see is a note in the Report.
func Gate(ctx context.Context, opt GateOptions) (Report, error) {
	opt = opt.withDefaults()
	r := Report{Turbo: TurboUnknown, Leftovers: opt.Leftovers, BusyProcesses: []BusyProcess{}, Warnings: []string{}, Notes: []string{}}
	if r.Leftovers == nil {
		r.Leftovers = []string{}
	}
	if err := r.sampleCPU(ctx, opt); err != nil {
		return Report{}, err
	}
	r.checkCPUFreq(opt.SysRoot)
	if opt.Dir != "" {
		if err := r.checkDisk(opt.Dir, opt.MinFreeBytes); err != nil {
			return Report{}, err
		}
	}
	for _, l := range opt.Leftovers {
		r.warnf("leftover: %s", l)
	}
	return r, nil
}

func (o GateOptions) withDefaults() GateOptions {
	if o.MinFreeBytes == 0 {
		o.MinFreeBytes = DefaultMinFreeBytes
	}
	if o.BusyThreshold == 0 {
		o.BusyThreshold = DefaultBusyThreshold
	}
	if o.HostThreshold == 0 {
		o.HostThreshold = DefaultThreshold
	}
	if o.SampleFor == 0 {
		o.SampleFor = DefaultSampleFor
	}
	if o.SysRoot == "" {
		o.SysRoot = "/sys"
	}
	return o
}

func (r *Report) warnf(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

func (r *Report) notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// sampleCPU reads every process and the host's CPU counters, waits, reads
// them again, and names the processes outside the caller's tree that were
// busy in between.
func (r *Report) sampleCPU(ctx context.Context, opt GateOptions) error {
	before, err := readProcs()
	if err != nil && before == nil {
		return err
	}
	s, err := Start("")
	if err != nil {
		return err
	}
	t := time.NewTimer(opt.SampleFor)
	select {
	case <-ctx.Done():
		t.Stop()
		return fmt.Errorf("hostload: gate: %w", ctx.Err())
	case <-t.C:
	}
	w, err := s.Stop()
	if err != nil {
		return err
	}
	after, err := readProcs()
	if after == nil {
		return err
	}
	if err != nil {
		r.notef("busy: %v", err)
	}
	r.SampledNs, r.HostCPUs = int64(w.Elapsed), w.CPUs
	sec := w.Elapsed.Seconds()
	r.HostBusyCores = w.HostBusySeconds / sec

	own := descendants(after, os.Getpid())
	var ownTicks uint64
	for _, p := range after {
		used := usedTicks(before, p)
		if own[p.pid] {
			ownTicks += used
			continue
		}
		if cores := float64(used) / userHZ / sec; cores > opt.BusyThreshold {
			r.BusyProcesses = append(r.BusyProcesses, BusyProcess{PID: p.pid, Comm: p.comm, Cores: cores})
		}
	}
	slices.SortFunc(r.BusyProcesses, func(a, b BusyProcess) int {
		return cmp.Or(cmp.Compare(b.Cores, a.Cores), cmp.Compare(a.PID, b.PID))
	})
	r.OtherCores = w.Remainder(float64(ownTicks)/userHZ, 0)
	r.warnBusy(opt.HostThreshold)
	return nil
}

// warnBusy words the CPU findings: one line per busy process, and one for
// the host when it was busier than the named processes account for (work
// of processes too short-lived to be seen twice, or of the kernel).
func (r *Report) warnBusy(hostThreshold float64) {
	named := 0.0
	for _, p := range r.BusyProcesses {
		r.warnf("busy: pid %d (%s) used %.0f%% of a core", p.PID, p.Comm, 100*p.Cores)
		named += p.Cores
	}
	if r.OtherCores <= hostThreshold {
		return
	}
	line := fmt.Sprintf("busy: %.2f of %d cores busy outside this process over %v",
		r.OtherCores, r.HostCPUs, time.Duration(r.SampledNs).Round(time.Millisecond))
	if unnamed := r.OtherCores - named; unnamed > hostThreshold {
		line += fmt.Sprintf(" (%.2f of them in no process named here: short-lived ones, or the kernel)", unnamed)
	}
	r.Warnings = append(r.Warnings, line)
}

// checkCPUFreq reads the frequency governors and turbo state. Neither is
// shown in most virtual machines, where the host decides.
func (r *Report) checkCPUFreq(sysRoot string) {
	govs, err := readGovernors(sysRoot)
	switch {
	case err != nil:
		r.notef("cpufreq: %v", err)
	case len(govs) == 0:
		r.notef("cpufreq: governor not shown by /sys")
	}
	r.Governors = append([]Governor{}, govs...)
	for _, g := range govs {
		if g.Governor != "performance" {
			r.warnf("cpufreq: governor %s on cpu%s (performance gives steadier figures)", g.Governor, g.CPUs)
		}
	}
	r.Turbo, err = readTurbo(sysRoot)
	switch {
	case err != nil:
		r.notef("cpufreq: turbo: %v", err)
	case r.Turbo == TurboUnknown:
		r.notef("cpufreq: turbo state not shown by /sys")
	case r.Turbo == TurboOn:
		r.warnf("cpufreq: turbo boost on (the clock then follows temperature and load; off gives steadier figures)")
	}
}

// checkDisk measures the free space of the file system dir is, or will be,
// on.
func (r *Report) checkDisk(dir string, minFree uint64) error {
	existing, err := nearestExisting(dir)
	if err != nil {
		return err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(existing, &st); err != nil {
		return fmt.Errorf("hostload: statfs %s: %w", existing, err)
	}
	// Bavail, not Bfree: blocks reserved for root are not for us to fill.
	d := DiskSpace{Dir: dir, FreeBytes: st.Bavail * uint64(st.Bsize), TotalBytes: st.Blocks * uint64(st.Bsize)}
	r.Disk = &d
	if d.FreeBytes < minFree {
		r.warnf("disk: %s free for %s (less than %s)", formatBytes(d.FreeBytes), dir, formatBytes(minFree))
	}
	return nil
}

// nearestExisting returns dir, or its nearest parent that exists.
func nearestExisting(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("hostload: %w", err)
	}
	for {
		_, err := os.Stat(d)
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(d) == d {
			return "", fmt.Errorf("hostload: %w", err)
		}
		d = filepath.Dir(d)
	}
}

// formatBytes writes n in the largest binary unit that keeps it at least 1.
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i])
}
