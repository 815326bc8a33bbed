package loadgen

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"
)

// leakCheck records the open file descriptors and goroutines, and returns
// a function that fails the test unless both come back to those counts
// (servers' own connection handlers may take a moment to see the client's
// close, so it waits up to a few seconds for them).
func leakCheck(t *testing.T) func() {
	t.Helper()
	fds0, gs0 := openFDs(t), runtime.NumGoroutine()
	return func() {
		t.Helper()
		var fds, gs int
		for deadline := time.Now().Add(5 * time.Second); ; {
			fds, gs = openFDs(t), runtime.NumGoroutine()
			if (fds <= fds0 && gs <= gs0) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if fds > fds0 {
			t.Errorf("file descriptors: %d before the run, %d after", fds0, fds)
		}
		if gs > gs0 {
			buf := make([]byte, 1<<16)
			t.Errorf("goroutines: %d before the run, %d after:\n%s", gs0, gs, buf[:runtime.Stack(buf, true)])
		}
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		// A leak check that cannot count would pass whatever leaked.
		t.Fatalf("cannot count file descriptors, so the leak check cannot run: %v", err)
	}
	return len(ents)
}

// mustRun runs cfg with the never-connected limit giveUp (0: the default)
// and fails the test on a configuration error.
func mustRun(t *testing.T, cfg Config, giveUp time.Duration) *Result {
	t.Helper()
	if giveUp == 0 {
		giveUp = neverConnectedAfter
	}
	res, err := run(context.Background(), cfg, giveUp)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

// checkConsistent asserts the invariants every Result keeps.
func checkConsistent(t *testing.T, r *Result) {
	t.Helper()
	var sum uint64
	for _, c := range ErrorClasses {
		n, ok := r.ErrorsByClass[c]
		if !ok {
			t.Errorf("errors_by_class lacks %q", c)
		}
		sum += n
	}
	if sum != r.Errors {
		t.Errorf("errors %d, but the classes sum to %d", r.Errors, sum)
	}
	var statuses uint64
	for _, n := range r.StatusCodes {
		statuses += n
	}
	if r.ErrorsByClass[ClassStatus]+r.Requests != statuses {
		t.Errorf("status codes sum to %d, want requests %d + status errors %d", statuses, r.Requests, r.ErrorsByClass[ClassStatus])
	}
	var sreq, serr uint64
	for _, p := range r.Timeseries {
		sreq += p.Requests
		serr += p.Errors
	}
	if sreq != r.Requests || serr != r.Errors {
		t.Errorf("timeseries sums to %d requests and %d errors, want %d and %d", sreq, serr, r.Requests, r.Errors)
	}
	if r.Reconnects > r.ConnectionsOpened {
		t.Errorf("reconnects %d > connections opened %d", r.Reconnects, r.ConnectionsOpened)
	}
	if r.LoadgenVersion != Version {
		t.Errorf("loadgen_version %q", r.LoadgenVersion)
	}
}

// benchCPU runs op b.N times and reports allocations and the process's CPU
// per op (cpu-ns/op).
func benchCPU(b *testing.B, op func()) {
	cpu0 := processCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		op()
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}
