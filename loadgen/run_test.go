package loadgen

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/matrixbench/matrix/loadgen/internal/h1test"
)

func TestValidate(t *testing.T) {
	ok := Config{URL: "http://127.0.0.1:8080/", Connections: 1, Duration: time.Second}
	tests := []struct {
		name   string
		change func(*Config)
		errHas string // "" for valid
	}{
		{"valid", func(*Config) {}, ""},
		{"valid https h2", func(c *Config) { c.URL = "https://h/"; c.Protocol = ProtocolH2 }, ""},
		{"no URL", func(c *Config) { c.URL = "" }, "URL is empty"},
		{"ftp", func(c *Config) { c.URL = "ftp://h/" }, "scheme"},
		{"no host", func(c *Config) { c.URL = "http:///x" }, "no host"},
		{"h2c over https", func(c *Config) { c.URL = "https://h/"; c.Protocol = ProtocolH2C }, "h2c needs"},
		{"h2 over http", func(c *Config) { c.Protocol = ProtocolH2 }, "h2 needs"},
		{"unknown protocol", func(c *Config) { c.Protocol = "spdy" }, "unknown protocol"},
		{"no connections", func(c *Config) { c.Connections = 0 }, "connections"},
		{"no duration", func(c *Config) { c.Duration = 0 }, "duration"},
		{"negative rate", func(c *Config) { c.Rate = -1 }, "negative"},
		{"close over h2", func(c *Config) { c.URL = "https://h/"; c.Protocol = ProtocolH2; c.Close = true }, "close mode"},
		{"bad status", func(c *Config) { c.ExpectStatus = 42 }, "not a status"},
		{"bad header", func(c *Config) { c.Headers = []Header{{"X A", "1"}} }, "invalid header"},
		{"header injection", func(c *Config) { c.Headers = []Header{{"X", "1\r\nY: 2"}} }, "invalid header"},
		{"bad method", func(c *Config) { c.Method = "GET /x" }, "invalid method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			err := c.Validate()
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("error = %v, want one containing %q", err, tt.errHas)
			}
		})
	}
}

// TestResultJSON checks the keys a Result must have, and that its
// histogram decodes to the latency figures it summarises.
func TestResultJSON(t *testing.T) {
	srv := h1test.Start(t, h1test.Respond(h1test.OK))
	res := mustRun(t, Config{URL: srv.URL, Connections: 2, Duration: 1200 * time.Millisecond}, 0)
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"requests", "errors", "errors_by_class", "status_codes", "rps", "bytes_read",
		"latency_ns", "histogram", "timeseries", "connections_opened", "reconnects", "retried", "protocol",
		"duration_ns", "client_cpu_ns", "warmup", "loadgen_version"} {
		if _, ok := m[k]; !ok {
			t.Errorf("result JSON lacks %q", k)
		}
	}
	var lat map[string]json.Number
	if err := json.Unmarshal(m["latency_ns"], &lat); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"min", "mean", "p50", "p75", "p90", "p99", "p999", "p9999", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_ns lacks %q", k)
		}
	}
	raw, err := base64.StdEncoding.DecodeString(res.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	h, err := hdrhistogram.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(h.TotalCount()) != res.Requests || h.Max()*1000 != res.LatencyNs.Max {
		t.Errorf("histogram: %d values, max %dµs; result: %d requests, max %dns", h.TotalCount(), h.Max(), res.Requests, res.LatencyNs.Max)
	}
	if len(res.Timeseries) != 2 {
		t.Errorf("%d timeseries points for a 1.2 s window, want 2", len(res.Timeseries))
	}
}

// TestRated: requests leave at the rate, in the warmup too, never faster.
func TestRated(t *testing.T) {
	srv := h1test.Start(t, h1test.Respond(h1test.OK))
	const rate = 400
	res := mustRun(t, Config{URL: srv.URL, Connections: 4, Warmup: 500 * time.Millisecond, Duration: time.Second, Rate: rate}, 0)
	checkConsistent(t, res)
	// Request i is due at i/rate; the window [0.5 s, 1.5 s) holds 400 due
	// times and the warmup 200. A response completes after its due time,
	// so neither phase can count more than its due times plus the
	// connections' worth that straddle its start.
	if res.Requests > rate+8 || res.Warmup.Requests > rate/2+4 {
		t.Errorf("%d requests (warmup %d): faster than the rate %d/s", res.Requests, res.Warmup.Requests, rate)
	}
	if res.Requests < rate/2 || res.Warmup.Requests < rate/4 {
		t.Errorf("%d requests (warmup %d): far below the rate %d/s", res.Requests, res.Warmup.Requests, rate)
	}
	if res.Errors != 0 || res.ConnectionsOpened != 4 {
		t.Errorf("errors %v, connections opened %d", res.ErrorsByClass, res.ConnectionsOpened)
	}
}

// TestRatedBacklog: a server slower than the rate shows as latency counted
// from the intended start times and as a backlog, not as a lower rate
// with good latency.
func TestRatedBacklog(t *testing.T) {
	const service = 10 * time.Millisecond // one request at a time: 100 req/s at most
	srv := h1test.Start(t, func(c *h1test.Conn) {
		for {
			if _, err := c.ReadRequest(); err != nil {
				return
			}
			time.Sleep(service)
			if c.WriteString(h1test.OK) != nil {
				return
			}
		}
	})
	const rate = 200 // intended starts 5 ms apart
	res := mustRun(t, Config{URL: srv.URL, Connections: 1, Duration: time.Second, Rate: rate}, 0)
	checkConsistent(t, res)
	n := res.Requests
	if n == 0 || n > 101 || res.Errors != 0 {
		t.Fatalf("requests %d, errors %v; want 1..101 (the server's capacity), no errors", n, res.ErrorsByClass)
	}
	// Request i was due at 5i ms and cannot have completed before
	// 10(i+1) ms: its latency is at least 5i+10 ms. The last one shows
	// the backlog the run built up.
	minMax := time.Duration(5*(n-1)+10) * time.Millisecond
	if got := time.Duration(res.LatencyNs.Max); got < minMax*99/100 {
		t.Errorf("max latency %v; with %d requests served at most every %v against starts every 5ms it must be at least %v", got, n, service, minMax)
	}
	if res.Backlog < rate-n-2 {
		t.Errorf("backlog %d; %d starts were due and %d served", res.Backlog, rate, n)
	}
}

// TestCancel: cancelling the context ends the run early with what was
// measured, marked as interrupted.
func TestCancel(t *testing.T) {
	srv := h1test.Start(t, h1test.Respond(h1test.OK))
	ctx, cancel := context.WithCancel(context.Background())
	var progress atomic.Int64
	time.AfterFunc(1500*time.Millisecond, cancel)
	done := leakCheck(t)
	res, err := Run(ctx, Config{URL: srv.URL, Connections: 2, Duration: time.Minute, Warmup: 200 * time.Millisecond,
		Progress: func(p Progress) { progress.Add(1) }})
	done()
	if err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, res)
	if !res.Interrupted || res.Requests == 0 || res.Errors != 0 {
		t.Errorf("interrupted %v, requests %d, errors %v", res.Interrupted, res.Requests, res.ErrorsByClass)
	}
	if res.DurationNs <= 0 || res.DurationNs >= int64(time.Minute) {
		t.Errorf("duration %v: want the part of the window that ran", time.Duration(res.DurationNs))
	}
	if progress.Load() == 0 {
		t.Error("Progress was never called in 1.5 s")
	}
}

// TestCancelDuringWarmup: a run cut short in its warmup reports an empty
// window and the warmup that ran.
func TestCancelDuringWarmup(t *testing.T) {
	srv := h1test.Start(t, h1test.Respond(h1test.OK))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, Config{URL: srv.URL, Connections: 1, Duration: time.Second, Warmup: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Requests != 0 || res.DurationNs != 0 || res.Warmup.Requests == 0 {
		t.Errorf("interrupted %v, requests %d, duration %d, warmup requests %d", res.Interrupted, res.Requests, res.DurationNs, res.Warmup.Requests)
	}
	if d := time.Duration(res.Warmup.DurationNs); d <= 0 || d >= time.Minute {
		t.Errorf("warmup duration %v, want the part that ran", d)
	}
}

func TestReachable(t *testing.T) {
	srv := h1test.Start(t, h1test.Respond(h1test.OK))
	if err := Reachable(context.Background(), Config{URL: srv.URL, Connections: 1, Duration: time.Second}); err != nil {
		t.Errorf("listening server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	ln.Close()
	err = Reachable(context.Background(), Config{URL: url, Connections: 1, Duration: time.Second})
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("closed port: error %v, want connection refused", err)
	}
}
