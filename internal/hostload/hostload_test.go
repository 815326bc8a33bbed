package hostload

import (
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestRemainderSeesHog runs a hog pinned to one CPU and checks that a
// window on that CPU, and one on the whole host, see about a core of
// somebody else's work, and that the pinned window saw all of the hog's
// CPU and no more than one CPU can give.
func TestRemainderSeesHog(t *testing.T) {
	c := hogCPU(t)
	cpus := strconv.Itoa(c)
	before := window(t, cpus, time.Second, nil)

	hog := startHog(t, 10*time.Second, c)
	pid := hog.Process.Pid
	waitSpinning(t, pid)
	all, err := Start("")
	if err != nil {
		t.Fatal(err)
	}
	h0 := procSeconds(t, pid)
	pinned := window(t, cpus, time.Second, nil)
	hogSec := procSeconds(t, pid) - h0
	wAll, err := all.Stop()
	if err != nil {
		t.Fatal(err)
	}
	hog.Process.Kill()
	hog.Wait()
	after := window(t, cpus, time.Second, nil)

	t.Logf("cpu%s: %.2f cores busy before the hog, %.2f with it (hog itself %.2f s in %v), %.2f after; whole host %.2f of %d",
		cpus, before.Remainder(0, 0), pinned.Remainder(0, 0), hogSec, pinned.Elapsed,
		after.Remainder(0, 0), wAll.Remainder(0, 0), wAll.CPUs)
	if pinned.CPUs != 1 || pinned.CPUSet != cpus {
		t.Errorf("window watched %d CPUs (%q), want 1 (%q)", pinned.CPUs, pinned.CPUSet, cpus)
	}
	if r := pinned.Remainder(0, 0); r < 0.5 {
		t.Errorf("pinned window: remainder %.2f cores with a hog spinning there, want > 0.5", r)
	}
	if r := wAll.Remainder(0, 0); r < 0.5 {
		t.Errorf("whole-host window: remainder %.2f cores with a hog spinning, want > 0.5", r)
	}
	if hogSec < 0.1 {
		t.Errorf("the hog used only %.2f s of CPU in a 1 s window", hogSec)
	}
	// Slack: the hog's counters were read just outside the window, and
	// both sides move in 10 ms ticks.
	const slack = 0.05
	if pinned.HostBusySeconds < hogSec-slack {
		t.Errorf("pinned window saw %.3f s busy, less than the hog's own %.3f s", pinned.HostBusySeconds, hogSec)
	}
	if limit := pinned.Elapsed.Seconds() + slack; pinned.HostBusySeconds > limit {
		t.Errorf("one CPU busy %.3f s in %v", pinned.HostBusySeconds, pinned.Elapsed)
	}
	// Subtracting the hog as if it were the server leaves what the others
	// did on that CPU, which cannot exceed what was left of the CPU.
	if r, left := pinned.Remainder(hogSec, 0), 1-hogSec/pinned.Elapsed.Seconds()+slack; r > left {
		t.Errorf("remainder %.2f cores after subtracting the hog, more than the %.2f it left", r, left)
	}
}

// TestRemainderSubtractsOwnWork spins on a thread pinned to one CPU, passes
// this process's CPU (getrusage, as the load generator measures its own)
// as the client's, and checks that the remainder does not grow by the
// work: it stays within 0.3 cores of the same CPU's remainder in windows
// just before and after. The box may be busy with other work, so the test
// compares with those windows rather than asserting quiet.
func TestRemainderSubtractsOwnWork(t *testing.T) {
	c := hogCPU(t)
	cpus := strconv.Itoa(c)
	const d = time.Second
	before := window(t, cpus, d/2, nil)

	// The work runs on a thread of its own, pinned, which dies with its
	// goroutine rather than going back to the scheduler pinned.
	done := make(chan ownWork)
	go func() {
		runtime.LockOSThread()
		done <- measureOwnWork(cpus, d)
	}()
	m := <-done
	if m.err != nil {
		t.Fatal(m.err)
	}
	w, own := m.w, m.own
	after := window(t, cpus, d/2, nil)

	base := max(before.Remainder(0, 0), after.Remainder(0, 0))
	got := w.Remainder(0, own)
	t.Logf("cpu%s: own work %.2f s in %v, %.2f s busy; remainder %.2f cores (%.2f without subtracting it); around it %.2f, %.2f",
		cpus, own, w.Elapsed, w.HostBusySeconds, got, w.Remainder(0, 0), before.Remainder(0, 0), after.Remainder(0, 0))
	if own < 0.1 {
		t.Fatalf("the measured work used only %.2f s of CPU", own)
	}
	if w.HostBusySeconds < 0.3 {
		t.Errorf("the window saw %.2f s busy while this process spun there", w.HostBusySeconds)
	}
	if got > base+0.3 {
		t.Errorf("remainder %.2f cores with own work subtracted, more than 0.3 above the %.2f around it", got, base)
	}
}

// ownWork is what measureOwnWork measured.
type ownWork struct {
	w   Window
	own float64 // this process's CPU seconds over w
	err error
}

// measureOwnWork pins the calling thread to cpus and spins on it for d in
// a window on those CPUs.
func measureOwnWork(cpus string, d time.Duration) ownWork {
	if err := pinThread(cpus); err != nil {
		return ownWork{err: err}
	}
	cpu0, err := rusageSeconds()
	if err != nil {
		return ownWork{err: err}
	}
	s, err := Start(cpus)
	if err != nil {
		return ownWork{err: err}
	}
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
	}
	w, err := s.Stop()
	if err != nil {
		return ownWork{err: err}
	}
	cpu1, err := rusageSeconds()
	return ownWork{w: w, own: cpu1 - cpu0, err: err}
}

func TestStartRejectsBadCPUs(t *testing.T) {
	for _, cpus := range []string{"x", "1-0", "4095"} {
		if _, err := Start(cpus); err == nil {
			t.Errorf("Start(%q) succeeded", cpus)
		}
	}
}

// TestSamplerCost checks the sampler's own CPU: a Start and a Stop must
// cost well under a millisecond together, against 10 ms counters.
func TestSamplerCost(t *testing.T) {
	const n = 200
	cpu0 := selfCPUSeconds(t)
	for range n {
		s, err := Start("")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	per := time.Duration((selfCPUSeconds(t) - cpu0) / n * 1e9)
	t.Logf("Start+Stop: %v of CPU", per)
	if per > time.Millisecond {
		t.Errorf("Start+Stop costs %v of CPU, want under 1ms", per)
	}
}

func BenchmarkSample(b *testing.B) {
	for b.Loop() {
		s, err := Start("")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Stop(); err != nil {
			b.Fatal(err)
		}
	}
}
