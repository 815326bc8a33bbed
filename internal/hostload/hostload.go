// Package hostload measures what else a host is doing while a benchmark
// runs, and what state it is in before one starts.
//
// A [Sampler] brackets a measured window with two reads of /proc/stat and
// gives a [Window]: how busy the CPUs were. Subtracting the CPU the server
// and the load generator used over the same window leaves what the rest of
// the host used ([Window.Remainder]); above a threshold the figures were
// measured on a host that was not quiet ([Interfered]).
//
// [Gate] looks at the host before a run: busy processes, the CPU frequency
// governor and turbo state, free disk space, and servers left over from
// earlier runs, each worth a warning.
package hostload

import (
	"fmt"
	"time"
)

// DefaultThreshold is the remainder, in cores, above which a window counts
// as interfered with: a tenth of one core over the window.
const DefaultThreshold = 0.10

// Sampler holds the snapshot taken when a window started.
type Sampler struct {
	cpus   []int // nil: every online CPU
	cpuset string
	n      int // how many CPUs that is
	start  time.Time
	ticks  cpuTimes
}

// Start reads /proc/stat and returns a Sampler for a window beginning now.
// cpus is the cpuset to watch ("0-1", "0,2"), normally the union of the
// server's and the load generator's (see [UnionCPUs]); "" watches every
// online CPU. A CPU of the set that is offline or absent is an error.
//
// Start and Stop each read /proc/stat once, at about 0.1 ms of the
// caller's CPU (TestSamplerCost), far below the 10 ms the counters resolve.
func Start(cpus string) (*Sampler, error) {
	set, err := parseCPUList(cpus)
	if err != nil {
		return nil, err
	}
	t, n, err := snapshot(set)
	if err != nil {
		return nil, err
	}
	return &Sampler{cpus: set, cpuset: formatCPUList(set), start: time.Now(), ticks: t, n: n}, nil
}

// snapshot reads /proc/stat and returns the summed times of cpus (nil: all)
// and how many CPUs that is.
func snapshot(cpus []int) (cpuTimes, int, error) {
	st, err := readCPUStat()
	if err != nil {
		return cpuTimes{}, 0, err
	}
	t, err := st.sum(cpus)
	if err != nil {
		return cpuTimes{}, 0, err
	}
	n := len(cpus)
	if cpus == nil {
		n = len(st.perCPU)
	}
	if n == 0 {
		return cpuTimes{}, 0, fmt.Errorf("hostload: /proc/stat lists no CPU")
	}
	return t, n, nil
}

// Stop reads /proc/stat again and returns the window since Start. A
// Sampler may be stopped more than once; each window starts at Start.
func (s *Sampler) Stop() (Window, error) {
	t, n, err := snapshot(s.cpus)
	if err != nil {
		return Window{}, err
	}
	if n != s.n {
		// A CPU came online or went offline: the all-CPU line no longer
		// covers the same CPUs.
		return Window{}, fmt.Errorf("hostload: %d CPUs online at the start of the window, %d at its end", s.n, n)
	}
	return newWindow(s.ticks, t, time.Since(s.start), n, s.cpuset), nil
}

// Window is how busy the watched CPUs were between Start and Stop. Its
// fields are recorded as they are, so a reader can redo the arithmetic.
type Window struct {
	// Elapsed is the wall time between the two reads of /proc/stat.
	Elapsed time.Duration `json:"elapsed_ns"`
	// CPUs is how many CPUs were watched.
	CPUs int `json:"cpus"`
	// CPUSet is the cpuset watched; empty means every online CPU.
	CPUSet string `json:"cpuset,omitempty"`
	// HostBusySeconds is the CPU time the watched CPUs spent in user,
	// nice, system, irq, softirq and steal, whoever was running.
	HostBusySeconds float64 `json:"host_busy_seconds"`
	// StealSeconds is the part of HostBusySeconds a hypervisor gave to
	// other guests.
	StealSeconds float64 `json:"steal_seconds"`
	// IRQSeconds is the part of HostBusySeconds spent in hard and soft
	// interrupts. Kernels built with CONFIG_IRQ_TIME_ACCOUNTING leave it
	// out of every process's CPU time, so there it includes the network
	// work of the benchmark's own connections, not only of other traffic.
	IRQSeconds float64 `json:"irq_seconds"`
}

// newWindow turns two snapshots of the same CPUs into a Window. A counter
// that went backwards (never seen, but a guest's steal has been known to)
// counts as zero rather than as an enormous unsigned difference.
func newWindow(before, after cpuTimes, elapsed time.Duration, cpus int, cpuset string) Window {
	sec := func(a, b uint64) float64 {
		if b < a {
			return 0
		}
		return float64(b-a) / userHZ
	}
	return Window{
		Elapsed:         elapsed,
		CPUs:            cpus,
		CPUSet:          cpuset,
		HostBusySeconds: sec(before.busy(), after.busy()),
		StealSeconds:    sec(before.steal, after.steal),
		IRQSeconds:      sec(before.irq+before.softirq, after.irq+after.softirq),
	}
}

// Resolution is the smallest CPU time, in seconds, the window can tell from
// nothing. /proc/stat counts each CPU in whole USER_HZ ticks (10 ms), and
// a difference of two truncated counters is off by up to one tick per CPU;
// the kernel also charges whole scheduler ticks to whatever it finds
// running, which blurs short bursts further. So the resolution is one tick
// per watched CPU: 20 ms on two CPUs.
func (w Window) Resolution() float64 {
	return float64(w.CPUs) / userHZ
}

// Remainder returns the CPU, in cores, the rest of the host used on the
// watched CPUs over the window: HostBusySeconds minus serverCPUSeconds and
// clientCPUSeconds (the server's and the load generator's own CPU, sampled
// at the same two instants as the window), divided by Elapsed. It is never
// negative, and a remainder of less than [Window.Resolution] seconds is 0:
// the counters cannot tell it from rounding.
//
// Server and client CPU that ran outside the watched CPUs are subtracted
// all the same, which can hide interference; watch the union of their
// cpusets, or the whole host when either is not pinned.
//
// Interrupt time (IRQSeconds) is left out of the remainder: on a benchmark
// host it is the loopback traffic's own network processing (softirq), which
// the kernel charges to whichever context the tick lands in, so a server
// that sends and receives more shows more of it. Counting it as other work
// called a busy server's own packets interference (measured here: 0.1 to
// 0.4 s of softirq per 1.5 s window, more for the side whose responses were
// slower). Steal stays in: it is another guest's work.
func (w Window) Remainder(serverCPUSeconds, clientCPUSeconds float64) float64 {
	rest := w.HostBusySeconds - w.IRQSeconds - serverCPUSeconds - clientCPUSeconds
	if rest < w.Resolution() || w.Elapsed <= 0 {
		return 0
	}
	return rest / w.Elapsed.Seconds()
}

// Interfered reports whether a remainder, in cores, is over threshold
// (normally [DefaultThreshold]).
func Interfered(remainder, threshold float64) bool {
	return remainder > threshold
}
