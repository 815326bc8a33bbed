package loadgen

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/matrixbench/matrix/loadgen/internal/h1test"
)

// newTestSlot builds one connected HTTP/1.1 slot outside Run, for driving
// requests one at a time. The run state ends with the test.
func newTestSlot(tb testing.TB, url string) *h1Slot {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	// A rate (never waited for: the tests call oneRequest) makes the
	// direct path return after every request.
	st, err := newRunState(ctx, cancel, Config{URL: url, Connections: 1, Duration: time.Hour, Rate: 1}, neverConnectedAfter)
	if err != nil {
		tb.Fatal(err)
	}
	d := newH1Driver(st)
	s := &h1Slot{d: d, st: st, rec: st.newRecorder(), rd: newH1Reader(), last: -1}
	s.onReadable, s.onProbe = s.step, s.probeFIN
	d.wd.add(s)
	tb.Cleanup(func() {
		cancel()
		st.bg.Wait()
		s.drop()
	})
	if !s.connect(ctx) {
		tb.Fatal("connect failed")
	}
	s.last = st.now()
	return s
}

// oneRequest sends one request on the slot's connection, by the direct
// path or (direct false) the ordinary one, and records it.
func oneRequest(s *h1Slot, direct bool) {
	ctx := context.Background()
	start := s.st.now()
	if !direct {
		s.settle(ctx, start, s.attempt(start))
		return
	}
	if a, from, ok := s.direct(start); ok {
		s.settle(ctx, from, a)
	}
}

// TestH1ZeroAllocsPerRequest: a keep-alive request, from write to
// recorded latency, allocates nothing in steady state.
func TestH1ZeroAllocsPerRequest(t *testing.T) {
	srv := h1test.Start(t, h1test.Fast(h1test.OK))
	for _, direct := range []bool{true, false} {
		s := newTestSlot(t, srv.URL)
		for range 100 {
			oneRequest(s, direct)
		}
		allocs := testing.AllocsPerRun(5000, func() { oneRequest(s, direct) })
		if allocs != 0 {
			t.Errorf("direct path %v: %v allocations per request, want 0", direct, allocs)
		}
		if n := s.rec.phases[phaseMeasure].requests.Load(); n < 5100 {
			t.Errorf("direct path %v: %d requests succeeded, want 5101", direct, n)
		}
		if s.rec.phases[phaseMeasure].errors.Load() != 0 || s.rec.dials.Load() != 1 {
			t.Errorf("direct path %v: %d errors, %d dials", direct, s.rec.phases[phaseMeasure].errors.Load(), s.rec.dials.Load())
		}
	}
}

// TestH1RunAllocations: a whole run allocates a fixed amount for its state
// and result, and nothing per request, measured across a real run.
func TestH1RunAllocations(t *testing.T) {
	srv := h1test.Start(t, h1test.Fast(h1test.OK))
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	res := mustRun(t, Config{URL: srv.URL, Connections: 4, Duration: time.Second}, 0)
	runtime.ReadMemStats(&m1)
	n := res.Requests + res.Warmup.Requests
	mallocs := m1.Mallocs - m0.Mallocs
	t.Logf("%d allocations for %d requests", mallocs, n)
	if n < 1000 {
		t.Fatalf("only %d requests", n)
	}
	// The fixed part: connections, histograms, goroutines, timers and
	// the result; about a thousand objects whatever the request count.
	if limit := 3000 + n/1000; mallocs > limit {
		t.Errorf("%d allocations for %d requests, want at most %d", mallocs, n, limit)
	}
}

// BenchmarkH1Exchange measures one keep-alive request, write to recorded
// latency, against an in-process server that answers at once. cpu-ns/op is
// the process's CPU (client and server) per request.
func BenchmarkH1Exchange(b *testing.B) {
	srv := h1test.Start(b, h1test.Fast(h1test.OK))
	s := newTestSlot(b, srv.URL)
	benchCPU(b, func() { oneRequest(s, true) })
}

// BenchmarkRequestTimeout compares the per-request cost of two ways to
// bound a request's time on a real TCP connection: the watchdog's (an
// atomic store before the request and a compare-and-swap after it), and
// a read deadline set before every request (a clock read and a runtime
// timer update), which the client therefore does not use.
func BenchmarkRequestTimeout(b *testing.B) {
	srv := h1test.Start(b, h1test.Fast(h1test.OK))
	s := newTestSlot(b, srv.URL)
	b.Run("watchdog", func(b *testing.B) {
		for i := range b.N {
			sent := int64(i + 1)
			s.sent.Store(sent)
			if !s.sent.CompareAndSwap(sent, 0) {
				b.Fatal("lost the slot")
			}
		}
	})
	b.Run("read-deadline", func(b *testing.B) {
		for range b.N {
			if err := s.raw.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
