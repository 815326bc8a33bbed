package results

import (
	"math"
	"time"
)

// Positions of the reference cell's measurements in a run.
const (
	RefStart  = "start"
	RefMiddle = "middle"
	RefEnd    = "end"
)

// NoiseReport is a run's account of how steady its machine was, written
// in the manifest: the spread of the cells' repeats and the A/A reference.
type NoiseReport struct {
	Noise
	// Reference is the A/A reference cell; nil when the run measured none
	// (a rerun or resume keeps the run's).
	Reference *Reference `json:"reference,omitempty"`
}

// Reference is one cell measured again, apart from its own repeats, at the
// start, the middle and the end of a run: the same server, scenario and
// settings each time, so that its moves are the machine's. Within a run
// its Range is how far the machine drifted; between two runs its change
// is how far the machine itself changed speed, which `matrix diff` takes
// out of every cell's change when it exceeds the threshold.
type Reference struct {
	// Cell is the "scenario/server" ID measured.
	Cell    string            `json:"cell"`
	Samples []ReferenceSample `json:"samples"`
	// Drift is the end's req/s over the start's, minus one; 0 when either
	// has no figures.
	Drift float64 `json:"drift"`
	// Spread is taken over the samples' req/s; Spread.Range() is the
	// in-run drift that enters the run's noise floor.
	Spread Spread `json:"spread"`
}

// ReferenceSample is one measurement of the reference cell.
type ReferenceSample struct {
	// At is RefStart, RefMiddle or RefEnd.
	At      string    `json:"at"`
	Started time.Time `json:"started"`
	Status  Status    `json:"status"`
	Reason  Reason    `json:"reason,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	// RPS and P99Ns are 0 when the measurement produced no figures.
	RPS   float64 `json:"rps"`
	P99Ns float64 `json:"p99_ns"`
	// Interference is what the rest of the host used meanwhile.
	Interference *Interference `json:"interference,omitempty"`
}

// usable reports whether the sample's figures may be compared: it
// measured, and the rest of the host did not take more CPU than allowed
// meanwhile (a hogged reference would make the box look slower than it is,
// and every other cell look faster once normalized by it).
func (s ReferenceSample) usable() bool {
	return (s.Status == StatusOK || s.Status == StatusSuspect && s.Reason == ReasonClientBound) && s.RPS > 0 &&
		!s.Interference.Over()
}

// RPS returns the req/s of the usable samples, in run order.
func (r *Reference) RPS() []float64 {
	var out []float64
	for _, s := range r.Samples {
		if s.usable() {
			out = append(out, s.RPS)
		}
	}
	return out
}

// P99 returns the p99 latency (ns) of the usable samples, in run order.
func (r *Reference) P99() []float64 {
	var out []float64
	for _, s := range r.Samples {
		if s.usable() && s.P99Ns > 0 {
			out = append(out, s.P99Ns)
		}
	}
	return out
}

// Settle fills Drift and Spread from the samples.
func (r *Reference) Settle() {
	xs := r.RPS()
	r.Spread = SpreadOf(xs)
	r.Drift = 0
	var start, end float64
	for _, s := range r.Samples {
		if !s.usable() {
			continue
		}
		switch s.At {
		case RefStart:
			start = s.RPS
		case RefEnd:
			end = s.RPS
		}
	}
	if start > 0 && end > 0 {
		r.Drift = end/start - 1
	}
}

// NoiseOf returns a run's noise record from its cells' spreads and its
// reference (nil when none was measured). The floor is the larger of
// NoiseFloorFactor times the cells' median CV and the reference's in-run
// range: a run of single repeats has no CV, but its reference still says
// how far the machine moved while the run went on.
func NoiseOf(cells []Spread, ref *Reference) NoiseReport {
	n := NoiseReport{Noise: RunNoise(cells), Reference: ref}
	if ref != nil {
		ref.Settle()
		if ref.Spread.N >= 2 {
			n.Floor = math.Max(n.Floor, ref.Spread.Range())
		}
	}
	return n
}

// Interference is what the rest of the host did during a measured window:
// the host's busy CPU (from /proc/stat, steal included) less the server's
// and the load generator's own.
type Interference struct {
	// Cores is the remainder in cores (CPU seconds per second of window).
	Cores float64 `json:"cores"`
	// Threshold is the limit it was judged against, in cores.
	Threshold float64 `json:"threshold"`
	// HostBusySeconds, StealSeconds and IRQSeconds are the host's figures
	// over the window (steal and IRQ are parts of busy), for the CPUs
	// watched.
	HostBusySeconds float64 `json:"host_busy_seconds"`
	StealSeconds    float64 `json:"steal_seconds"`
	IRQSeconds      float64 `json:"irq_seconds"`
	// CPUs is the cpuset watched; empty for the whole host.
	CPUs string `json:"cpus,omitempty"`
	// Remeasured is set on a repeat that replaced one whose remainder was
	// over the threshold; FirstCores is that first remainder.
	Remeasured bool    `json:"remeasured,omitempty"`
	FirstCores float64 `json:"first_cores,omitempty"`
}

// Over reports whether the remainder exceeded its threshold.
func (i *Interference) Over() bool { return i != nil && i.Cores > i.Threshold }
