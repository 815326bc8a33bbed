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
	st, err := newRunState(ctx, cancel, Config{URL: url, Connections: 1, Duration: time.Hour}, neverConnectedAfter)
	if err != nil {
		tb.Fatal(err)
	}
	d := newH1Driver(st)
	s := &h1Slot{d: d, st: st, rec: st.newRecorder(), rd: newH1Reader(), last: -1}
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

// TestH1ZeroAllocsPerRequest: a keep-alive request, from write to
// recorded latency, allocates nothing in steady state.
func TestH1ZeroAllocsPerRequest(t *testing.T) {
	srv := h1test.Start(t, h1test.Fast(h1test.OK))
	s := newTestSlot(t, srv.URL)
	ctx := context.Background()
	for range 100 {
		s.exchange(ctx, s.last)
	}
	allocs := testing.AllocsPerRun(5000, func() { s.exchange(ctx, s.last) })
	if allocs != 0 {
		t.Errorf("%v allocations per request, want 0", allocs)
	}
	m := &s.rec.phases[phaseWarmup]
	if n := m.requests.Load() + s.rec.phases[phaseMeasure].requests.Load(); n < 5100 {
		t.Errorf("%d requests succeeded, want 5101", n)
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
	ctx := context.Background()
	cpu0 := processCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.exchange(ctx, s.last)
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
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
