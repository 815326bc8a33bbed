package loadgen

import (
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matrixbench/matrix/loadgen/internal/h1test"
)

// Responses the hostile servers send.
const (
	okClose   = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 13\r\n\r\n" + h1test.Hello
	okChunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n8\r\n, World!\r\n0\r\nX-Trailer: 1\r\n\r\n"
	okInterim = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + h1test.OK
)

// TestH1KeepAliveAcrossWarmup: the warmup and the measured window share
// the same connections (no reconnect at the boundary), only the window
// counts, and every figure agrees with every other.
func TestH1KeepAliveAcrossWarmup(t *testing.T) {
	srv := h1test.Start(t, h1test.Respond(h1test.OK))
	done := leakCheck(t)
	res := mustRun(t, Config{URL: srv.URL, Connections: 4, Warmup: 300 * time.Millisecond, Duration: time.Second}, 0)
	done()
	checkConsistent(t, res)
	if res.Requests == 0 || res.Warmup.Requests == 0 || res.Errors != 0 || res.Warmup.Errors != 0 {
		t.Fatalf("requests %d (warmup %d), errors %d (warmup %d)", res.Requests, res.Warmup.Requests, res.Errors, res.Warmup.Errors)
	}
	if res.ConnectionsOpened != 4 || res.Reconnects != 0 || res.Retried != 0 {
		t.Errorf("connections opened %d, reconnects %d, retried %d; want 4, 0, 0", res.ConnectionsOpened, res.Reconnects, res.Retried)
	}
	if got := uint64(srv.Accepted.Load()); got != 4 {
		t.Errorf("server accepted %d connections, want 4", got)
	}
	if res.StatusCodes["200"] != res.Requests || res.BytesRead != 13*res.Requests {
		t.Errorf("status 200 × %d, %d body bytes, for %d requests", res.StatusCodes["200"], res.BytesRead, res.Requests)
	}
	if res.Protocol != ProtocolH1 || res.DurationNs != int64(time.Second) || res.Warmup.DurationNs != int64(300*time.Millisecond) {
		t.Errorf("protocol %q, duration %d, warmup %d", res.Protocol, res.DurationNs, res.Warmup.DurationNs)
	}
	if res.LatencyNs.Min <= 0 || res.LatencyNs.P50 < res.LatencyNs.Min || res.LatencyNs.Max < res.LatencyNs.P9999 {
		t.Errorf("latency summary out of order: %+v", res.LatencyNs)
	}
	if res.ClientCPUNs <= 0 {
		t.Errorf("client_cpu_ns = %d", res.ClientCPUNs)
	}
}

// Row 1: "Connection: close" on every response. Every request needs a new
// connection; none of the closes is an error.
func TestH1Row1CloseEveryResponse(t *testing.T) {
	srv := h1test.Start(t, func(c *h1test.Conn) {
		if _, err := c.ReadRequest(); err == nil {
			c.WriteString(okClose)
		}
	})
	done := leakCheck(t)
	res := mustRun(t, Config{URL: srv.URL, Connections: 4, Duration: time.Second}, 0)
	done()
	checkConsistent(t, res)
	assertAnnouncedCloses(t, res, 1)
}

// Row 2: "Connection: close" after every 10 requests of a connection, as
// nginx's keepalive_requests does.
func TestH1Row2CloseAfterN(t *testing.T) {
	const n = 10
	srv := h1test.Start(t, func(c *h1test.Conn) {
		for c.N < n {
			if _, err := c.ReadRequest(); err != nil {
				return
			}
			resp := h1test.OK
			if c.N == n {
				resp = okClose
			}
			if c.WriteString(resp) != nil {
				return
			}
		}
	})
	done := leakCheck(t)
	res := mustRun(t, Config{URL: srv.URL, Connections: 4, Duration: time.Second}, 0)
	done()
	checkConsistent(t, res)
	assertAnnouncedCloses(t, res, n)
}

// assertAnnouncedCloses checks a run against a server that closes every
// connection, announced, after perConn requests: no errors, nothing
// retried, and one reconnect per perConn requests, give or take the
// connections cut by the window's edges.
func assertAnnouncedCloses(t *testing.T, res *Result, perConn uint64) {
	t.Helper()
	if res.Requests == 0 || res.Errors != 0 || res.Retried != 0 {
		t.Fatalf("requests %d, errors %d %v, retried %d; want >0, 0, 0", res.Requests, res.Errors, res.ErrorsByClass, res.Retried)
	}
	conns := uint64(res.Config.Connections)
	all := res.Requests + res.Warmup.Requests
	lo, hi := res.Requests/perConn, all/perConn+conns
	if lo > conns {
		lo -= conns
	} else {
		lo = 0
	}
	if res.Reconnects < lo || res.Reconnects > hi {
		t.Errorf("%d reconnects for %d requests at %d per connection; want %d..%d", res.Reconnects, all, perConn, lo, hi)
	}
}

// Rows 1 and 2 against nginx from Debian: keepalive_timeout 0 announces a
// close on every response, keepalive_requests 100 on every hundredth.
func TestH1NginxAnnouncedCloses(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opts    h1test.NginxOptions
		perConn uint64
	}{
		{"every response", h1test.NginxOptions{NoKeepalive: true}, 1},
		{"keepalive_requests 100", h1test.NginxOptions{KeepaliveRequests: 100}, 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ng := h1test.StartNginx(t, tt.opts)
			res := mustRun(t, Config{URL: ng.URL, Connections: 8, Duration: time.Second, Warmup: 200 * time.Millisecond}, 0)
			checkConsistent(t, res)
			assertAnnouncedCloses(t, res, tt.perConn)
			if res.StatusCodes["200"] != res.Requests || res.BytesRead != 13*res.Requests {
				t.Errorf("status 200 × %d, %d body bytes, for %d requests", res.StatusCodes["200"], res.BytesRead, res.Requests)
			}
		})
	}
}

// Row 3: the server closes an idle keep-alive connection without a word.
// The next request's write succeeds and its read gets EOF before any byte;
// the request is sent again on a fresh connection and is not an error.
func TestH1Row3SilentIdleClose(t *testing.T) {
	srv := h1test.Start(t, func(c *h1test.Conn) {
		if _, err := c.ReadRequest(); err == nil {
			c.WriteString(h1test.OK) // keep-alive promised, then closed
		}
	})
	done := leakCheck(t)
	res := mustRun(t, Config{URL: srv.URL, Connections: 2, Duration: time.Second}, 0)
	done()
	checkConsistent(t, res)
	if res.Requests == 0 || res.Errors != 0 {
		t.Fatalf("requests %d, errors %d %v; want >0, 0", res.Requests, res.Errors, res.ErrorsByClass)
	}
	// Every request but each connection slot's first found its
	// connection closed and was retried once.
	all := res.Requests + res.Warmup.Requests
	if lo, hi := max(res.Requests, 2)-2, all+2; res.Retried < lo || res.Retried > hi {
		t.Errorf("retried %d for %d requests; want %d..%d", res.Retried, all, lo, hi)
	}
}

// Row 3, second failure: the retry's fresh connection fails the same way,
// which is an error, and is not retried again.
func TestH1Row3RetryOnce(t *testing.T) {
	var first atomic.Bool
	srv := h1test.Start(t, func(c *h1test.Conn) {
		if _, err := c.ReadRequest(); err != nil {
			return
		}
		if first.CompareAndSwap(false, true) {
			c.WriteString(h1test.OK) // the only response ever
		}
	})
	done := leakCheck(t)
	res := mustRun(t, Config{URL: srv.URL, Connections: 1, Duration: time.Second}, 0)
	done()
	checkConsistent(t, res)
	if res.Requests != 1 || res.Retried != 1 {
		t.Errorf("requests %d, retried %d; want 1, 1", res.Requests, res.Retried)
	}
	if res.Errors == 0 || res.ErrorsByClass[ClassRead] != res.Errors {
		t.Errorf("errors %d %v; want some, all of class read", res.Errors, res.ErrorsByClass)
	}
	// Connections that die before any response are re-dialled with
	// backoff (10 ms doubling): a handful in one second, not thousands.
	if res.ConnectionsOpened > 20 {
		t.Errorf("%d connections opened in 1s to a server that drops them; want at most 20", res.ConnectionsOpened)
	}
}

// Row 4: a server that was never up. Connect errors are their own class,
// re-dials are paced, and the run ends early with a reason.
func TestH1Row4NeverUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	ln.Close() // nothing listens there now
	done := leakCheck(t)
	res := mustRun(t, Config{URL: url, Connections: 8, Duration: 5 * time.Second}, time.Second)
	done()
	checkConsistent(t, res)
	if res.EndedEarly == "" || !strings.Contains(res.EndedEarly, "no connection") {
		t.Errorf("ended_early = %q, want a reason", res.EndedEarly)
	}
	if res.Requests != 0 || res.ConnectionsOpened != 0 || res.Errors == 0 || res.ErrorsByClass[ClassConnect] != res.Errors {
		t.Errorf("requests %d, opened %d, errors %d %v; want 0, 0, all connect", res.Requests, res.ConnectionsOpened, res.Errors, res.ErrorsByClass)
	}
	// The run gave up after about a second: each slot's first dial plus
	// at most one failing dial per failedDialSpread (5 ms) after that.
	elapsed := time.Duration(res.DurationNs)
	if max := uint64(8 + elapsed/failedDialSpread + 8); res.Errors > max {
		t.Errorf("%d failed dials in %v; the backoff allows at most %d", res.Errors, elapsed, max)
	}
	if elapsed >= 5*time.Second {
		t.Errorf("measured window %v: the run did not end early", elapsed)
	}
}

// Row 4: the server dies mid-run. What was measured stays, the dead
// server's refusals are connect errors, and the dials stay paced.
func TestH1Row4ServerDies(t *testing.T) {
	srv := h1test.Start(t, h1test.Respond(h1test.OK))
	done := leakCheck(t)
	go func() {
		time.Sleep(400 * time.Millisecond)
		srv.Close()
	}()
	res := mustRun(t, Config{URL: srv.URL, Connections: 4, Duration: 1500 * time.Millisecond}, 0)
	done()
	checkConsistent(t, res)
	if res.Requests == 0 || res.ErrorsByClass[ClassConnect] == 0 || res.EndedEarly != "" {
		t.Fatalf("requests %d, errors %v, ended early %q; want >0, connect errors, no early end", res.Requests, res.ErrorsByClass, res.EndedEarly)
	}
	if n := res.ErrorsByClass[ClassProtocol] + res.ErrorsByClass[ClassTimeout] + res.ErrorsByClass[ClassStatus]; n != 0 {
		t.Errorf("errors %v: a dead server gives connect, read or write errors only", res.ErrorsByClass)
	}
	// At most one failing dial per 5 ms after the first of each slot.
	if max := uint64(4 + 1500*time.Millisecond/failedDialSpread + 4); res.ErrorsByClass[ClassConnect] > max {
		t.Errorf("%d failed dials in 1.5s; the backoff allows at most %d", res.ErrorsByClass[ClassConnect], max)
	}
	if res.Retried > 4 {
		t.Errorf("retried %d: at most one request per connection was in flight at the death", res.Retried)
	}
}

// Row 12: a handler that never answers. The request times out, counts as a
// timeout error, shows in the latency tail, and its connection is replaced.
func TestH1Row12Stall(t *testing.T) {
	const timeout = 200 * time.Millisecond
	srv := h1test.Start(t, func(c *h1test.Conn) {
		for {
			if _, err := c.ReadRequest(); err != nil {
				return
			}
			if c.N%50 == 0 {
				io.Copy(io.Discard, c.R) // stall until the client hangs up
				return
			}
			if c.WriteString(h1test.OK) != nil {
				return
			}
		}
	})
	done := leakCheck(t)
	res := mustRun(t, Config{URL: srv.URL, Connections: 2, Duration: 1500 * time.Millisecond, Timeout: timeout}, 0)
	done()
	checkConsistent(t, res)
	timeouts := res.ErrorsByClass[ClassTimeout]
	if res.Requests == 0 || timeouts == 0 || res.Errors != timeouts {
		t.Fatalf("requests %d, errors %v; want successes and timeouts only", res.Requests, res.ErrorsByClass)
	}
	if res.LatencyNs.Max < int64(timeout) {
		t.Errorf("latency max %v: the timeouts are missing from the tail (timeout %v)", time.Duration(res.LatencyNs.Max), timeout)
	}
	// Each timed-out connection is replaced; a timeout at the very end of
	// the window may have its replacement dialled after it.
	if res.Reconnects+2 < timeouts {
		t.Errorf("%d reconnects for %d timeouts: each timed-out connection must be replaced", res.Reconnects, timeouts)
	}
}

// Row 13: HEAD responses, 1xx interim responses, chunked bodies and
// close-delimited bodies, from servers that send exactly those.
func TestH1Row13Framing(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		handler   func(*h1test.Conn)
		bodyBytes uint64 // per request
		closes    bool   // every response closes its connection
	}{
		{"HEAD", "HEAD", h1test.Respond("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n"), 0, false},
		{"1xx interim", "GET", h1test.Respond(okInterim), 13, false},
		{"chunked with trailers", "GET", h1test.Respond(okChunked), 13, false},
		{"204", "GET", h1test.Respond("HTTP/1.1 204 No Content\r\n\r\n"), 0, false},
		{"close-delimited", "GET", func(c *h1test.Conn) {
			if _, err := c.ReadRequest(); err == nil {
				c.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + h1test.Hello)
			}
		}, 13, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := h1test.Start(t, tt.handler)
			done := leakCheck(t)
			res := mustRun(t, Config{URL: srv.URL, Method: tt.method, Connections: 2, Duration: 500 * time.Millisecond}, 0)
			done()
			checkConsistent(t, res)
			if res.Requests == 0 || res.Errors != 0 || res.Retried != 0 {
				t.Fatalf("requests %d, errors %d %v, retried %d; want >0, 0, 0", res.Requests, res.Errors, res.ErrorsByClass, res.Retried)
			}
			if res.BytesRead != tt.bodyBytes*res.Requests {
				t.Errorf("%d body bytes for %d requests, want %d each", res.BytesRead, res.Requests, tt.bodyBytes)
			}
			if !tt.closes && res.ConnectionsOpened != 2 {
				t.Errorf("%d connections opened, want 2", res.ConnectionsOpened)
			}
			if tt.closes && res.Reconnects+2 < res.Requests {
				t.Errorf("%d reconnects for %d close-delimited responses", res.Reconnects, res.Requests)
			}
		})
	}
}

// Row 15: a run longer than its per-request timeout keeps its
// connections: there is no deadline on a connection, only on a request.
func TestH1Row15NoConnectionDeadline(t *testing.T) {
	srv := h1test.Start(t, h1test.Respond(h1test.OK))
	res := mustRun(t, Config{URL: srv.URL, Connections: 2, Duration: 1500 * time.Millisecond, Timeout: time.Second}, 0)
	checkConsistent(t, res)
	if res.Requests == 0 || res.Errors != 0 || res.ConnectionsOpened != 2 {
		t.Errorf("requests %d, errors %v, connections opened %d; want >0, none, 2", res.Requests, res.ErrorsByClass, res.ConnectionsOpened)
	}
}

// Close mode sends "Connection: close" and opens a connection per request.
func TestH1CloseMode(t *testing.T) {
	var sawClose atomic.Int64
	srv := h1test.Start(t, func(c *h1test.Conn) {
		for {
			req, err := c.ReadRequest()
			if err != nil {
				return
			}
			if req.Header["connection"] == "close" {
				sawClose.Add(1)
				c.WriteString(okClose)
				return
			}
			c.WriteString(h1test.OK)
		}
	})
	done := leakCheck(t)
	res := mustRun(t, Config{URL: srv.URL, Connections: 2, Duration: 500 * time.Millisecond, Close: true}, 0)
	done()
	checkConsistent(t, res)
	assertAnnouncedCloses(t, res, 1)
	if got := uint64(sawClose.Load()); got < res.Requests {
		t.Errorf("server saw Connection: close on %d requests, want every one of %d", got, res.Requests)
	}
}

// TestH1CloseLatencyCountsSetup: in --close mode a request's latency runs
// from the previous response's completion, so it counts closing the old
// connection (waiting for the server's FIN, which this server sends 30 ms
// after its response) and opening the new one, as a client that must open
// a connection per request pays them.
func TestH1CloseLatencyCountsSetup(t *testing.T) {
	const finDelay = 30 * time.Millisecond
	srv := h1test.Start(t, func(c *h1test.Conn) {
		if _, err := c.ReadRequest(); err != nil {
			return
		}
		c.WriteString(okClose)
		time.Sleep(finDelay)
	})
	res := mustRun(t, Config{URL: srv.URL, Connections: 1, Duration: 400 * time.Millisecond, Close: true}, 0)
	checkConsistent(t, res)
	if res.Requests < 3 || res.Errors != 0 {
		t.Fatalf("requests %d, errors %v", res.Requests, res.ErrorsByClass)
	}
	// The first request of the window may follow a warmup response; every
	// other one waited for a FIN.
	if p50 := time.Duration(res.LatencyNs.P50); p50 < finDelay {
		t.Errorf("median latency %v, want at least the %v the server took to close", p50, finDelay)
	}
}

// Error statuses are counted by code and are not successes; an expected
// status is.
func TestH1Statuses(t *testing.T) {
	srv := h1test.Start(t, h1test.Respond("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"))
	res := mustRun(t, Config{URL: srv.URL, Connections: 1, Duration: 300 * time.Millisecond}, 0)
	checkConsistent(t, res)
	if res.Requests != 0 || res.Errors == 0 || res.ErrorsByClass[ClassStatus] != res.Errors || res.StatusCodes["404"] != res.Errors {
		t.Errorf("requests %d, errors %v, statuses %v; want 404s as status errors", res.Requests, res.ErrorsByClass, res.StatusCodes)
	}
	res = mustRun(t, Config{URL: srv.URL, Connections: 1, Duration: 300 * time.Millisecond, ExpectStatus: 404}, 0)
	checkConsistent(t, res)
	if res.Requests == 0 || res.Errors != 0 || res.BytesRead != 9*res.Requests {
		t.Errorf("expecting 404: requests %d, errors %v, bytes %d", res.Requests, res.ErrorsByClass, res.BytesRead)
	}
}

// A malformed response is a protocol error and costs its connection.
func TestH1ProtocolError(t *testing.T) {
	srv := h1test.Start(t, h1test.Respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"))
	res := mustRun(t, Config{URL: srv.URL, Connections: 1, Duration: 300 * time.Millisecond}, 0)
	checkConsistent(t, res)
	if res.Requests != 0 || res.Errors == 0 || res.ErrorsByClass[ClassProtocol] != res.Errors {
		t.Errorf("requests %d, errors %v; want protocol errors only", res.Requests, res.ErrorsByClass)
	}
	// Each connection died before completing a response, so re-dials
	// back off instead of looping.
	if res.ConnectionsOpened > 20 {
		t.Errorf("%d connections in 300ms to a server that never answers well", res.ConnectionsOpened)
	}
}

// A request body is sent whole with every request.
func TestH1Body(t *testing.T) {
	body := strings.Repeat("0123456789", 10_000) // bigger than a socket buffer write
	var bad atomic.Int64
	srv := h1test.Start(t, func(c *h1test.Conn) {
		for {
			req, err := c.ReadRequest()
			if err != nil {
				return
			}
			if req.Method != "POST" || string(req.Body) != body {
				bad.Add(1)
			}
			if c.WriteString(h1test.OK) != nil {
				return
			}
		}
	})
	res := mustRun(t, Config{URL: srv.URL, Method: "POST", Body: []byte(body), Connections: 2, Duration: 300 * time.Millisecond}, 0)
	checkConsistent(t, res)
	if res.Requests == 0 || res.Errors != 0 || bad.Load() != 0 {
		t.Errorf("requests %d, errors %v, bad requests at the server %d", res.Requests, res.ErrorsByClass, bad.Load())
	}
}

// The direct path hands responses and requests it cannot finish in its
// buffer, or with one write, to the ordinary path: a body larger than the
// read buffer, a response that arrives in pieces, a request larger than
// the socket's send buffer.
func TestH1DirectPathFallbacks(t *testing.T) {
	big := strings.Repeat("x", 3*h1BufSize+17)
	pieces := []string{"HTTP/1.1 200 OK\r\nTransfer-Enc", "oding: chunked\r\n\r\n5\r\nHel", "lo\r\n8\r\n, World!\r\n0\r\n", "\r\n"}
	upload := strings.Repeat("u", 6<<20) // the kernel takes about 4 MiB at once here
	tests := []struct {
		name      string
		method    string
		body      string
		handler   func(*h1test.Conn)
		bodyBytes uint64
		handedOff uint64 // slots the event loops hand to goroutines (h1loop.go)
	}{
		{"response larger than the buffer", "GET", "", h1test.Respond("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + big), uint64(len(big)), 2},
		{"response in pieces", "GET", "", func(c *h1test.Conn) {
			for {
				if _, err := c.ReadRequest(); err != nil {
					return
				}
				for _, p := range pieces {
					if c.WriteString(p) != nil {
						return
					}
					time.Sleep(time.Millisecond)
				}
			}
		}, 13, 0},
		{"request larger than the socket buffers", "POST", upload, func(c *h1test.Conn) {
			for {
				// Not reading for a while lets the socket buffers fill,
				// so that the request cannot go in one write.
				time.Sleep(20 * time.Millisecond)
				req, err := c.ReadRequest()
				if err != nil || req.BodyLen != len(upload) {
					return
				}
				if c.WriteString(h1test.OK) != nil {
					return
				}
			}
		}, 13, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := h1test.Start(t, tt.handler)
			res := mustRun(t, Config{URL: srv.URL, Method: tt.method, Body: []byte(tt.body), Connections: 2, Duration: time.Second}, 0)
			checkConsistent(t, res)
			if res.Requests == 0 || res.Errors != 0 || res.ConnectionsOpened != 2 {
				t.Fatalf("requests %d, errors %v, connections %d; want >0, none, 2", res.Requests, res.ErrorsByClass, res.ConnectionsOpened)
			}
			if res.BytesRead != tt.bodyBytes*res.Requests {
				t.Errorf("%d body bytes for %d requests, want %d each", res.BytesRead, res.Requests, tt.bodyBytes)
			}
			if runtime.GOOS == "linux" && res.SlotsHandedOff != tt.handedOff {
				t.Errorf("%d slots handed off by the event loops, want %d", res.SlotsHandedOff, tt.handedOff)
			}
		})
	}
}
