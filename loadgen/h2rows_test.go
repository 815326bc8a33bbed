package loadgen

import (
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/matrixbench/matrix/loadgen/internal/h2test"
)

// Row 9: error statuses are never successes, however :status is encoded,
// with a body or without.
func TestH2Statuses(t *testing.T) {
	encodings := []struct {
		name string
		enc  h2test.StatusEncoding
	}{
		{"default", h2test.StatusDefault},
		{"plain", h2test.StatusPlain},
		{"huffman", h2test.StatusHuffman},
		{"literal name", h2test.StatusLiteralName},
	}
	for _, status := range []int{200, 404, 502} {
		for _, e := range encodings {
			for _, body := range []int{0, 9} {
				name := strconv.Itoa(status) + "/" + e.name + "/body " + strconv.Itoa(body)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					srv := h2test.Start(t, h2test.Config{Respond: func(h2test.Request) h2test.Response {
						return h2test.Response{Status: status, Encoding: e.enc, Body: body}
					}})
					res := runH2(t, srv.URL, func(c *Config) { c.Duration = 300 * time.Millisecond })
					checkServed(t, srv, res)
					n := res.StatusCodes[strconv.Itoa(status)]
					if n == 0 || len(res.StatusCodes) != 1 {
						t.Fatalf("status codes %v, want only %d", res.StatusCodes, status)
					}
					if res.BytesRead != n*uint64(body) {
						t.Errorf("bytes read %d, want %d", res.BytesRead, n*uint64(body))
					}
					want, wantErr := n, uint64(0)
					if status != 200 {
						want, wantErr = 0, n
					}
					if res.Requests != want || res.ErrorsByClass[ClassStatus] != wantErr || res.Errors != wantErr {
						t.Errorf("successes %d, status errors %d, errors %d; want %d, %d, %d",
							res.Requests, res.ErrorsByClass[ClassStatus], res.Errors, want, wantErr, wantErr)
					}
				})
			}
		}
	}
}

// ExpectStatus makes a non-2xx status the success.
func TestH2ExpectStatus(t *testing.T) {
	srv := h2test.Start(t, h2test.Config{Respond: func(h2test.Request) h2test.Response {
		return h2test.Response{Status: 404, Encoding: h2test.StatusHuffman}
	}})
	res := runH2(t, srv.URL, func(c *Config) { c.ExpectStatus, c.Duration = 404, 300*time.Millisecond })
	if res.Requests == 0 || res.Errors != 0 {
		t.Errorf("successes %d, errors %d; want 404s counted as successes", res.Requests, res.Errors)
	}
}

// Row 10: a body over many DATA frames, padded or not, ending with an empty
// END_STREAM frame; and bodies larger than the client's stream and
// connection windows, which the server sends only as credit comes back.
func TestH2Bodies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		resp    h2test.Response
		streams int
		min     uint64 // successes needed to prove the windows were credited
	}{
		{"many frames, empty end", h2test.Response{Status: 200, Body: 100000, Frames: 50, EmptyEnd: true}, 10, 1},
		{"padded frames", h2test.Response{Status: 200, Body: 70000, Frames: 20, Pad: 255}, 10, 1},
		{"interim, trailers, continuation", h2test.Response{Status: 200, Interim: []int{100, 103}, Body: 5000, Frames: 3, Trailers: true, SplitHeaders: true}, 10, 1},
		// 3 MiB responses: 3 stream windows each, and on one connection
		// more than 16 MiB, the connection window, after 6 of them.
		{"beyond the windows", h2test.Response{Status: 200, Body: 3 << 20, Frames: 400}, 4, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := h2test.Start(t, h2test.Config{Respond: func(h2test.Request) h2test.Response { return tc.resp }})
			res := runH2(t, srv.URL, func(c *Config) { c.Connections, c.Streams = 1, tc.streams })
			checkClean(t, srv, res)
			checkServed(t, srv, res)
			if res.Requests < tc.min {
				t.Errorf("%d successes, want at least %d", res.Requests, tc.min)
			}
			if want := res.Requests * uint64(tc.resp.Body); res.BytesRead != want || len(res.StatusCodes) != 1 {
				t.Errorf("bytes read %d, want %d; status codes %v", res.BytesRead, want, res.StatusCodes)
			}
		})
	}
}

// Row 11: a slow response among fast ones on the same connections.
func TestH2SlowStream(t *testing.T) {
	const slow = 200 * time.Millisecond
	srv := h2test.Start(t, h2test.Config{Respond: func(r h2test.Request) h2test.Response {
		if r.N%50 == 0 {
			return h2test.Response{Status: 200, Body: 13, Delay: slow}
		}
		return h2test.Response{Status: 200, Body: 13}
	}})
	res := runH2(t, srv.URL, func(c *Config) { c.Duration = 2 * time.Second })
	checkClean(t, srv, res)
	checkServed(t, srv, res)
	// Every slow response the server finished is in the tail, except the
	// few still in flight at the end.
	nslow := srv.Stats().Requests / 50
	if got := latencyCount(t, res, slow); got == 0 || got > nslow || nslow-got > inFlight(res) {
		t.Errorf("%d latencies of %v or more, server delayed %d responses", got, slow, nslow)
	}
}

// Row 12: a handler that never answers. Each stall is a timeout, shows in
// the tail, and its connection is replaced.
func TestH2NeverAnswers(t *testing.T) {
	const timeout = 300 * time.Millisecond
	srv := h2test.Start(t, h2test.Config{Respond: func(r h2test.Request) h2test.Response {
		if r.Seq == 5 {
			return h2test.Response{Never: true}
		}
		return h2test.Response{Status: 200, Body: 13}
	}})
	leaks := leakCheck(t)
	res := runH2(t, srv.URL, func(c *Config) { c.Timeout, c.Duration = timeout, 2*time.Second })
	defer leaks()
	if st := srv.Stats(); st.Violations != 0 {
		t.Errorf("server saw %d violations; first: %s", st.Violations, st.Reason)
	}
	if res.ErrorsByClass[ClassTimeout] == 0 || res.Errors != res.ErrorsByClass[ClassTimeout] {
		t.Errorf("errors %v, want timeouts only", res.ErrorsByClass)
	}
	// One stall per connection: each timeout replaced its connection.
	if res.ConnectionsOpened < res.ErrorsByClass[ClassTimeout] || res.Reconnects == 0 {
		t.Errorf("%d timeouts but %d connections opened", res.ErrorsByClass[ClassTimeout], res.ConnectionsOpened)
	}
	if got := latencyCount(t, res, timeout); uint64(got) < res.ErrorsByClass[ClassTimeout] {
		t.Errorf("%d latencies of %v or more for %d timeouts", got, timeout, res.ErrorsByClass[ClassTimeout])
	}
	if res.Requests == 0 {
		t.Errorf("no success")
	}
}

// Row 16: a latency-bound server (40 ms per response): nothing breaks, and
// the latency shows.
func TestH2LatencyBound(t *testing.T) {
	const delay = 40 * time.Millisecond
	srv := h2test.Start(t, h2test.Config{Respond: func(h2test.Request) h2test.Response {
		return h2test.Response{Status: 200, Body: 13, Delay: delay}
	}})
	res := runH2(t, srv.URL, func(c *Config) { c.Streams = 32 })
	checkClean(t, srv, res)
	checkServed(t, srv, res)
	if res.Requests == 0 || res.LatencyNs.Min < int64(delay) {
		t.Errorf("%d successes, minimum latency %v; want some, and at least %v", res.Requests, time.Duration(res.LatencyNs.Min), delay)
	}
}

// Row 15: connections outlive many request timeouts.
func TestH2NoConnectionDeadline(t *testing.T) {
	srv := h2test.Start(t, h2test.Config{})
	res := runH2(t, srv.URL, func(c *Config) { c.Timeout, c.Duration = 400*time.Millisecond, 2*time.Second })
	checkClean(t, srv, res)
	if res.ConnectionsOpened != 2 || res.Reconnects != 0 {
		t.Errorf("%d connections opened, %d reconnects; want 2 and 0", res.ConnectionsOpened, res.Reconnects)
	}
}

// Stream resets: RST_STREAM is a protocol error, except REFUSED_STREAM,
// which means the request was not processed and is retried (RFC 9113 8.7).
func TestH2Resets(t *testing.T) {
	srv := h2test.Start(t, h2test.Config{Respond: func(r h2test.Request) h2test.Response {
		switch r.N % 10 {
		case 3:
			return h2test.Response{Reset: http2.ErrCodeInternal}
		case 7:
			return h2test.Response{Reset: http2.ErrCodeRefusedStream}
		}
		return h2test.Response{Status: 200, Body: 13}
	}})
	res := runH2(t, srv.URL, nil)
	resets := uint64(srv.Stats().Resets)
	if res.StreamsReset == 0 || res.StreamsReset > resets || resets-res.StreamsReset > uint64(inFlight(res)) {
		t.Errorf("client counted %d resets, server sent %d", res.StreamsReset, resets)
	}
	// Refused streams are retried once; a retry refused again is an error.
	if res.Retried == 0 || res.ErrorsByClass[ClassProtocol] < res.StreamsReset/2-uint64(inFlight(res)) {
		t.Errorf("retried %d, protocol errors %d, resets %d", res.Retried, res.ErrorsByClass[ClassProtocol], res.StreamsReset)
	}
	if res.Errors != res.ErrorsByClass[ClassProtocol] || res.Requests == 0 {
		t.Errorf("successes %d, errors %v; want only protocol errors", res.Requests, res.ErrorsByClass)
	}
}

// Row 4: a server that accepts connections and closes them at once is
// re-dialled with backoff, not in a hot loop, and counted as connect
// errors.
func TestH2DropsEveryConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	res := runH2(t, "http://"+ln.Addr().String()+"/", nil)
	if res.Requests != 0 || res.Errors == 0 || res.Errors != res.ErrorsByClass[ClassConnect] {
		t.Errorf("successes %d, errors %v; want connect errors only", res.Requests, res.ErrorsByClass)
	}
	// Exponential backoff from 10 ms: about 7 dials per slot in 1 s.
	if res.ConnectionsOpened > 40 {
		t.Errorf("%d connections in 1 s from 2 slots: re-dialled in a hot loop", res.ConnectionsOpened)
	}
}

// Rated runs: requests leave at the rate, never faster, in the warmup too.
func TestH2Rated(t *testing.T) {
	srv := h2test.Start(t, h2test.Config{})
	const rate = 400
	res := runH2(t, srv.URL, func(c *Config) { c.Rate, c.Warmup = rate, 500*time.Millisecond })
	checkClean(t, srv, res)
	// As in TestRated: the window holds 400 due times, the warmup 200,
	// plus what straddles the phase boundary.
	if res.Requests > rate+20 || res.Warmup.Requests > rate/2+20 {
		t.Errorf("%d requests (warmup %d): faster than the rate %d/s", res.Requests, res.Warmup.Requests, rate)
	}
	if res.Requests < rate/2 || res.Warmup.Requests < rate/4 {
		t.Errorf("%d requests (warmup %d): far below the rate %d/s", res.Requests, res.Warmup.Requests, rate)
	}
}

// A server slower than the rate shows as latency from the intended starts
// and as a backlog.
func TestH2RatedBacklog(t *testing.T) {
	const service = 10 * time.Millisecond
	srv := h2test.Start(t, h2test.Config{Respond: func(h2test.Request) h2test.Response {
		return h2test.Response{Status: 200, Body: 13, Delay: service}
	}})
	const rate = 200
	res := runH2(t, srv.URL, func(c *Config) { c.Rate, c.Connections, c.Streams = rate, 1, 1 })
	checkClean(t, srv, res)
	n := res.Requests
	if n == 0 || n > 101 {
		t.Fatalf("%d requests; want 1..101, the server's capacity", n)
	}
	if minMax := time.Duration(5*(n-1)+10) * time.Millisecond; time.Duration(res.LatencyNs.Max) < minMax*99/100 {
		t.Errorf("max latency %v, want at least %v", time.Duration(res.LatencyNs.Max), minMax)
	}
	if res.Backlog < rate-n-2 {
		t.Errorf("backlog %d; %d starts were due and %d served", res.Backlog, rate, n)
	}
}

// PING is answered with an ACK carrying the same data (RFC 9113 6.7).
func TestH2Ping(t *testing.T) {
	srv := h2test.Start(t, h2test.Config{PingEvery: 10})
	res := runH2(t, srv.URL, func(c *Config) { c.Duration = 500 * time.Millisecond })
	checkClean(t, srv, res)
	st := srv.Stats()
	// The last PING of each connection may be unanswered when the run ends.
	if st.Pings == 0 || st.PingAcks+int64(res.Config.Connections) < st.Pings {
		t.Errorf("server sent %d PINGs, received %d ACKs", st.Pings, st.PingAcks)
	}
}

// h2c against a server that speaks only HTTP/1.1: every connection fails
// its preface, as a connect error, and the Result claims no protocol.
func TestH2AgainstHTTP1Server(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				c.Read(buf)
				c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			}()
		}
	}()
	res := runH2(t, "http://"+ln.Addr().String()+"/", nil)
	if res.Requests != 0 || res.Errors == 0 || res.Errors != res.ErrorsByClass[ClassConnect] {
		t.Errorf("successes %d, errors %v; want connect errors only", res.Requests, res.ErrorsByClass)
	}
	if res.Protocol != "" {
		t.Errorf("protocol %q; nothing spoke HTTP/2", res.Protocol)
	}
}

// Uploads in frames larger than the write buffer, over a run longer than
// two request timeouts: each request's latency runs from its own send (never
// from the clock's origin), and the write deadline keeps moving.
func TestH2LargeFrameUploads(t *testing.T) {
	srv := h2test.Start(t, h2test.Config{Settings: []http2.Setting{
		{ID: http2.SettingMaxFrameSize, Val: 1 << 20},
		{ID: http2.SettingInitialWindowSize, Val: 1 << 20},
	}, EarlyWindowUpdate: 1 << 30})
	const timeout = 300 * time.Millisecond
	res := runH2(t, srv.URL, func(c *Config) {
		c.Method, c.Body, c.Streams = "POST", make([]byte, 300000), 2
		c.Timeout, c.Duration = timeout, 1500*time.Millisecond
	})
	checkClean(t, srv, res)
	checkServed(t, srv, res)
	if res.Requests == 0 || time.Duration(res.LatencyNs.Max) > 2*timeout {
		t.Errorf("%d successes, max latency %v (timeout %v)", res.Requests, time.Duration(res.LatencyNs.Max), timeout)
	}
}
