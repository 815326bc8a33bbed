package loadgen

import (
	"encoding/base64"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/net/http2"

	"github.com/matrixbench/matrix/loadgen/internal/h2test"
)

// runH2 runs an h2c load against url for one second with 2 connections of
// 10 streams, after mod adjusts the Config.
func runH2(t *testing.T, url string, mod func(*Config)) *Result {
	t.Helper()
	cfg := Config{
		URL: url, Protocol: ProtocolH2C, Connections: 2, Streams: 10,
		Duration: time.Second, Timeout: 5 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	res := mustRun(t, cfg, 0)
	checkConsistent(t, res)
	return res
}

// inFlight is the most requests a run may leave unfinished at its end.
func inFlight(res *Result) int64 { return int64(res.Config.Connections * max(res.Config.Streams, 1)) }

// checkClean fails the test if the server saw a protocol violation or the
// client counted any error.
func checkClean(t *testing.T, srv *h2test.Server, res *Result) {
	t.Helper()
	if st := srv.Stats(); st.Violations != 0 {
		t.Errorf("server saw %d protocol violations; first: %s", st.Violations, st.Reason)
	}
	if res.Errors != 0 {
		t.Errorf("errors = %d, want 0 (%v)", res.Errors, res.ErrorsByClass)
	}
}

// checkServed compares the client's count of complete responses with the
// server's: every response the server finished is counted by the client,
// except those still in flight when the run ended.
func checkServed(t *testing.T, srv *h2test.Server, res *Result) {
	t.Helper()
	var got uint64
	for _, n := range res.StatusCodes {
		got += n
	}
	got += res.Warmup.Requests
	sent := srv.Stats().Responses
	if int64(got) > sent || sent-int64(got) > inFlight(res) {
		t.Errorf("client counted %d responses, server completed %d (at most %d may be in flight at the end)", got, sent, inFlight(res))
	}
}

func TestH2Basic(t *testing.T) {
	srv := h2test.Start(t, h2test.Config{
		Settings: []http2.Setting{{ID: http2.SettingMaxConcurrentStreams, Val: 100}},
	})
	res := runH2(t, srv.URL, nil)
	checkClean(t, srv, res)
	checkServed(t, srv, res)
	if res.Requests == 0 {
		t.Fatal("no successful request")
	}
	if res.Protocol != ProtocolH2C || res.ProtocolMismatch != "" {
		t.Errorf("protocol %q, mismatch %q", res.Protocol, res.ProtocolMismatch)
	}
	if res.BytesRead != 13*res.Requests {
		t.Errorf("bytes read %d, want 13 per response (%d)", res.BytesRead, 13*res.Requests)
	}
	if res.StatusCodes["200"] != res.Requests {
		t.Errorf("status codes %v, want only 200", res.StatusCodes)
	}
	if res.ConnectionsOpened != 2 || res.Reconnects != 0 {
		t.Errorf("connections opened %d, reconnects %d; want 2 and 0", res.ConnectionsOpened, res.Reconnects)
	}
	if got := res.ServerSettings["SETTINGS_MAX_CONCURRENT_STREAMS"]; got != 100 {
		t.Errorf("server settings %v, want MAX_CONCURRENT_STREAMS 100", res.ServerSettings)
	}
}

// Row 7: a graceful GOAWAY every 100 streams.
func TestH2GoawayEvery100(t *testing.T) {
	srv := h2test.Start(t, h2test.Config{GoawayAfter: 100})
	leaks := leakCheck(t)
	res := runH2(t, srv.URL, func(c *Config) {
		c.Connections, c.Streams, c.Duration = 4, 100, 3*time.Second
	})
	checkClean(t, srv, res)
	checkServed(t, srv, res)
	t.Logf("%d successes, %d GOAWAYs, %d reconnects, %d retried", res.Requests, res.GoawaysReceived, res.Reconnects, res.Retried)
	if res.Requests < 10000 {
		t.Errorf("%d successes in 3 s, want tens of thousands", res.Requests)
	}
	// Every connection ends with a GOAWAY, so the client dials one per
	// 100 requests or so, and receives each server's GOAWAY.
	if res.GoawaysReceived == 0 || res.Reconnects < res.Requests/200 {
		t.Errorf("goaways %d, reconnects %d for %d requests", res.GoawaysReceived, res.Reconnects, res.Requests)
	}
	if sent := srv.Stats().Goaways; int64(res.GoawaysReceived) > sent {
		t.Errorf("client received %d GOAWAYs, server sent %d", res.GoawaysReceived, sent)
	}
	leaks()
}

// Row 7, the streams above last-stream-id: the server drops the last ten
// streams it received, unanswered, and the client sends each again on the
// next connection, counted as retried and never as an error.
func TestH2GoawayRetry(t *testing.T) {
	srv := h2test.Start(t, h2test.Config{
		GoawayAfter: 50, GoawayBelow: 10,
		Respond: func(h2test.Request) h2test.Response {
			return h2test.Response{Status: 200, Body: 13, Delay: time.Millisecond}
		},
	})
	res := runH2(t, srv.URL, func(c *Config) { c.Streams = 30 })
	checkClean(t, srv, res)
	checkServed(t, srv, res)
	st := srv.Stats()
	t.Logf("%d successes, %d GOAWAYs, %d dropped, %d retried", res.Requests, st.Goaways, st.Dropped, res.Retried)
	// Every dropped stream is retried (except on the last connections,
	// whose run ended before the client saw their GOAWAY), and so are the
	// streams the client opened before it saw the GOAWAY, which the server
	// ignores: at most the streams in flight per GOAWAY.
	dropped, most := uint64(st.Dropped), uint64(st.Goaways)*uint64(res.Config.Streams)
	if res.Retried+10*uint64(res.Config.Connections) < dropped || res.Retried > most || res.Retried == 0 {
		t.Errorf("retried %d; server dropped %d and sent %d GOAWAYs (%d streams in flight at most)", res.Retried, dropped, st.Goaways, most)
	}
}

// Row 8: the server closes without GOAWAY every 100 streams.
func TestH2CloseWithoutGoaway(t *testing.T) {
	srv := h2test.Start(t, h2test.Config{CloseAfter: 100})
	leaks := leakCheck(t)
	res := runH2(t, srv.URL, func(c *Config) {
		c.Connections, c.Streams, c.Duration = 4, 20, 3*time.Second
	})
	defer leaks()
	if st := srv.Stats(); st.Violations != 0 {
		t.Errorf("server saw %d violations; first: %s", st.Violations, st.Reason)
	}
	t.Logf("%d successes, %d errors, %d connections", res.Requests, res.Errors, res.ConnectionsOpened)
	if res.Requests < 10000 {
		t.Errorf("%d successes in 3 s, want tens of thousands", res.Requests)
	}
	// Each close fails at most the streams then in flight, once.
	closes := res.ConnectionsOpened
	if bound := closes * uint64(res.Config.Streams); res.Errors > bound {
		t.Errorf("%d errors for %d closes, more than %d streams in flight each", res.Errors, closes, res.Config.Streams)
	}
	for class, n := range res.ErrorsByClass {
		if n > 0 && class != ClassRead && class != ClassWrite {
			t.Errorf("%d errors of class %s, want only read and write", n, class)
		}
	}
	if res.Reconnects < res.Requests/200 {
		t.Errorf("%d reconnects for %d requests: connections were not replaced", res.Reconnects, res.Requests)
	}
}

// Row 6: the connection window is opened only by a WINDOW_UPDATE sent
// before the SETTINGS ACK; a client that ignores it cannot upload more than
// 65535 bytes per connection.
func TestH2WindowUpdateBeforeSettingsAck(t *testing.T) {
	srv := h2test.Start(t, h2test.Config{
		Settings:          []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 1 << 20}},
		EarlyWindowUpdate: 1<<31 - 1 - 65535,
		DelayAck:          true,
		NoConnCredit:      true,
	})
	body := make([]byte, 200000)
	res := runH2(t, srv.URL, func(c *Config) {
		c.Method, c.Body, c.Streams = "POST", body, 4
	})
	checkClean(t, srv, res)
	checkServed(t, srv, res)
	if res.Requests < 2 {
		t.Fatalf("%d uploads of 200000 bytes succeeded, want many", res.Requests)
	}
	if up := srv.Stats().Uploaded; up < int64(res.Requests)*200000 {
		t.Errorf("server received %d body bytes for %d uploads", up, res.Requests)
	}
}

// Row 5: strict limits (16384-byte frames, 65535-byte windows) that change
// mid-connection: fewer streams, a smaller stream window, larger frames
// (RFC 9113 6.5.3, 6.9.2). The server checks every frame size and window.
func TestH2SettingsChangeMidConnection(t *testing.T) {
	srv := h2test.Start(t, h2test.Config{
		Settings:         []http2.Setting{{ID: http2.SettingMaxConcurrentStreams, Val: 10}},
		MidSettingsAfter: 15,
		MidSettings: []http2.Setting{
			{ID: http2.SettingMaxConcurrentStreams, Val: 3},
			{ID: http2.SettingInitialWindowSize, Val: 16384},
			{ID: http2.SettingMaxFrameSize, Val: 32768},
		},
		GoawayAfter: 40, // so that every connection goes through the change
		Respond: func(r h2test.Request) h2test.Response {
			if r.BodyLen != 100000 {
				return h2test.Response{Status: 400}
			}
			return h2test.Response{Status: 200, Body: 13}
		},
	})
	res := runH2(t, srv.URL, func(c *Config) {
		c.Method, c.Body, c.Streams = "PUT", make([]byte, 100000), 8
	})
	checkClean(t, srv, res)
	checkServed(t, srv, res)
	if res.Requests == 0 || res.StatusCodes["200"] != res.Requests {
		t.Errorf("status codes %v, want only 200", res.StatusCodes)
	}
	// As last received: by whichever connection received SETTINGS last.
	if got := res.ServerSettings["SETTINGS_MAX_CONCURRENT_STREAMS"]; got != 3 && got != 10 {
		t.Errorf("server_settings MAX_CONCURRENT_STREAMS = %d, want 10 or 3", got)
	}
	if most := srv.Stats().MaxOpen; most > 8 {
		t.Errorf("at most %d streams open, more than the client's 8", most)
	}
}

// Row 14: never more streams than SETTINGS_MAX_CONCURRENT_STREAMS; without
// a limit, the scenario's stream count.
func TestH2ConcurrentStreams(t *testing.T) {
	slow := func(h2test.Request) h2test.Response {
		return h2test.Response{Status: 200, Body: 13, Delay: 5 * time.Millisecond}
	}
	for _, tc := range []struct {
		name     string
		settings []http2.Setting
		streams  int
		want     int64
	}{
		{"limit 8", []http2.Setting{{ID: http2.SettingMaxConcurrentStreams, Val: 8}}, 100, 8},
		{"no limit", nil, 30, 30},
		{"limit above streams", []http2.Setting{{ID: http2.SettingMaxConcurrentStreams, Val: 1000}}, 12, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := h2test.Start(t, h2test.Config{Settings: tc.settings, Respond: slow})
			res := runH2(t, srv.URL, func(c *Config) {
				c.Connections, c.Streams, c.Duration = 1, tc.streams, 500*time.Millisecond
			})
			checkClean(t, srv, res)
			checkServed(t, srv, res)
			if got := srv.Stats().MaxOpen; got != tc.want {
				t.Errorf("at most %d streams open at once, want %d", got, tc.want)
			}
		})
	}
}

// latencyCount counts the recorded latencies of at least atLeast, give or
// take the histogram's resolution (3 significant digits).
func latencyCount(t *testing.T, res *Result, atLeast time.Duration) int64 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(res.Histogram)
	if err != nil {
		t.Fatalf("histogram: %v", err)
	}
	h, err := hdrhistogram.Decode(b)
	if err != nil {
		t.Fatalf("histogram: %v", err)
	}
	var n int64
	for _, bar := range h.Distribution() {
		if bar.To > atLeast.Microseconds()*999/1000 {
			n += bar.Count
		}
	}
	return n
}
