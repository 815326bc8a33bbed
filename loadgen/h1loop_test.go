//go:build linux

package loadgen

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matrixbench/matrix/loadgen/internal/h1test"
)

// TestH1Loops: closed-loop plain HTTP/1.1 runs its slots on event loops,
// min(GOMAXPROCS, connections) of them, not on a goroutine each: the
// process holds a few dozen goroutines for 512 connections, where a
// goroutine per connection holds over 512. Rated runs keep a goroutine
// per connection (their slots wait for the pacer). The server is nginx,
// in another process, so that the goroutines counted are the client's.
func TestH1Loops(t *testing.T) {
	srv := h1test.StartNginx(t, h1test.NginxOptions{})
	procs := runtime.GOMAXPROCS(0)
	tests := []struct {
		name        string
		cfg         Config
		loops       int
		maxRoutines int // goroutines during the run, at most
		minRoutines int // and at least
	}{
		{"keep-alive", Config{Connections: 512}, min(procs, 512), 64, 0},
		{"close", Config{Connections: 512, Close: true}, min(procs, 512), 64, 0},
		{"one connection", Config{Connections: 1}, 1, 64, 0},
		{"goroutine per connection", Config{Connections: 512, goroutines: true}, 0, 1 << 20, 512},
		{"rated", Config{Connections: 512, Rate: 2000}, 0, 1 << 20, 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var most atomic.Int64
			cfg := tt.cfg
			cfg.URL, cfg.Duration, cfg.Warmup = srv.URL, 1500*time.Millisecond, 0
			cfg.Progress = func(Progress) { most.Store(max(most.Load(), int64(runtime.NumGoroutine()))) }
			res := mustRun(t, cfg, 0)
			checkConsistent(t, res)
			if res.Requests == 0 || res.Errors != 0 || res.SlotsHandedOff != 0 {
				t.Fatalf("%d requests, errors %v, %d slots handed off; want some, none, none", res.Requests, res.ErrorsByClass, res.SlotsHandedOff)
			}
			if res.Config.EventLoops != tt.loops {
				t.Errorf("%d event loops, want %d", res.Config.EventLoops, tt.loops)
			}
			if n := most.Load(); n > int64(tt.maxRoutines) || n < int64(tt.minRoutines) {
				t.Errorf("%d goroutines during the run, want %d to %d", n, tt.minRoutines, tt.maxRoutines)
			}
			if res.Protocol != ProtocolH1 {
				t.Errorf("protocol %q, want %q", res.Protocol, ProtocolH1)
			}
		})
	}
}

// TestH1LoopAllocsPerConnection: on the event loops a new connection and
// its request allocate nothing (the whole --close run allocates a fixed
// amount), where a goroutine per connection allocates a few objects per
// connection (maxAllocsPerConnection). nginx is in another process, so
// only the client's allocations count.
func TestH1LoopAllocsPerConnection(t *testing.T) {
	srv := h1test.StartNginx(t, h1test.NginxOptions{})
	for _, goroutines := range []bool{false, true} {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		res := mustRun(t, Config{URL: srv.URL, Connections: 16, Close: true, Duration: time.Second, goroutines: goroutines}, 0)
		runtime.ReadMemStats(&m1)
		n := res.ConnectionsOpened
		mallocs := m1.Mallocs - m0.Mallocs
		t.Logf("goroutines %v: %d allocations for %d connections (%.2f each)", goroutines, mallocs, n, float64(mallocs)/float64(n))
		if n < 1000 || res.Errors != 0 {
			t.Fatalf("goroutines %v: %d connections, errors %v; want over 1000, none", goroutines, n, res.ErrorsByClass)
		}
		// The fixed part (recorders, histograms, the per-second series,
		// goroutines, the result) is about 3,200 objects for a second of
		// 16 connections, whatever the number of connections.
		limit := 4000 + n/100
		if loops := !goroutines; loops && mallocs > limit {
			t.Errorf("event loops: %d allocations for %d connections, want at most %d", mallocs, n, limit)
		} else if !loops && mallocs <= limit {
			t.Errorf("goroutine per connection: %d allocations for %d connections, within the loops' limit %d: the test cannot tell the two apart", mallocs, n, limit)
		}
	}
}

// TestH1LoopsHandOverEverySlot: when one connection meets what the loops
// leave to the ordinary path (here the server closes it without
// announcing it, docs/hostile-servers.md row 3), every slot of the run
// goes to a goroutine of its own, with its request in flight; nothing is
// lost or counted twice, and the result says when and why.
func TestH1LoopsHandOverEverySlot(t *testing.T) {
	var conns atomic.Int64
	srv := h1test.Start(t, func(c *h1test.Conn) {
		if conns.Add(1) != 1 {
			c.Serve(h1test.OK)
			return
		}
		for range 50 {
			if _, err := c.ReadRequest(); err != nil || c.WriteString(h1test.OK) != nil {
				return
			}
		}
		// The 51st request finds the connection closed, with no
		// Connection: close before: it is retried, not an error.
	})
	done := leakCheck(t)
	res := mustRun(t, Config{URL: srv.URL, Connections: 8, Duration: time.Second, Warmup: 200 * time.Millisecond}, 0)
	done()
	checkConsistent(t, res)
	if res.Requests == 0 || res.Errors != 0 || res.Retried != 1 {
		t.Fatalf("requests %d, errors %v, retried %d; want some, none, 1", res.Requests, res.ErrorsByClass, res.Retried)
	}
	if res.Config.EventLoops == 0 || res.SlotsHandedOff != 8 {
		t.Errorf("%d event loops handed off %d slots; want some loops, all 8 slots", res.Config.EventLoops, res.SlotsHandedOff)
	}
	if want := "the server closed a connection without announcing it"; !strings.Contains(res.HandOffReason, want) || !strings.HasPrefix(res.HandOffReason, "after ") {
		t.Errorf("hand-off reason %q, want \"after ...: %s\"", res.HandOffReason, want)
	}
	// Every slot measured on: the window's last second has requests.
	if ts := res.Timeseries; len(ts) == 0 || ts[len(ts)-1].Requests == 0 {
		t.Errorf("timeseries %+v: want requests to the end", ts)
	}
}
