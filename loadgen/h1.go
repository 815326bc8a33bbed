package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// h1Driver is the HTTP/1.1 client (RFC 9112). Each connection slot is one
// goroutine that writes the pre-encoded request with one write and parses
// the response in place from its own buffer: on plain TCP one write and one
// read system call per request when the response arrives whole (see
// h1direct.go), and no allocation.
type h1Driver struct {
	st    *runState
	req   []byte // the whole request, head and body
	head  bool   // HEAD: responses carry no body (RFC 9112 6.3)
	close bool   // Config.Close: one request per connection
	alpn  []string
	wd    *h1Watchdog
}

func newH1Driver(st *runState) *h1Driver {
	d := &h1Driver{
		st:    st,
		req:   encodeH1Request(st.cfg, st.target),
		head:  st.cfg.method() == "HEAD",
		close: st.cfg.Close,
		alpn:  []string{"http/1.1"},
		wd:    newH1Watchdog(st),
	}
	st.background(d.wd.run)
	return d
}

// encodeH1Request encodes the run's one request: request line, Host,
// the caller's fields, framing, and the body (RFC 9112 3 and 6).
func encodeH1Request(cfg *Config, t *target) []byte {
	var b bytes.Buffer
	method := cfg.method()
	b.WriteString(method + " " + t.path + " HTTP/1.1\r\n")
	var host, agent bool
	for _, h := range cfg.Headers {
		host = host || equalFold([]byte(h.Name), "host")
		agent = agent || equalFold([]byte(h.Name), "user-agent")
	}
	if !host {
		// RFC 9112 3.2: every HTTP/1.1 request carries Host; a caller's
		// own Host field replaces this one.
		b.WriteString("Host: " + t.authority + "\r\n")
	}
	if !agent {
		b.WriteString("User-Agent: matrix-loadgen/" + Version + "\r\n")
	}
	for _, h := range cfg.Headers {
		if equalFold([]byte(h.Name), "content-length") || equalFold([]byte(h.Name), "transfer-encoding") {
			continue // framing is ours to state, from the body we send
		}
		b.WriteString(h.Name + ": " + h.Value + "\r\n")
	}
	// RFC 9110 8.6: a request with a body states its length; so does one
	// whose method normally has a body, even when it is empty.
	if len(cfg.Body) > 0 || method == "POST" || method == "PUT" || method == "PATCH" {
		b.WriteString("Content-Length: " + strconv.Itoa(len(cfg.Body)) + "\r\n")
	}
	if cfg.Close {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.Write(cfg.Body)
	return b.Bytes()
}

// driveAll runs the run's slots on event loops where they can be
// (h1loop.go), else a goroutine each.
func (d *h1Driver) driveAll(ctx context.Context, st *runState, recs []*recorder) {
	if d.useLoops() && d.driveLoops(ctx, st, recs, runtime.GOMAXPROCS(0)) {
		return
	}
	driveEach(ctx, d, st, recs)
}

// drive runs one connection slot until the run ends.
func (d *h1Driver) drive(ctx context.Context, st *runState, rec *recorder) {
	s := newH1Slot(d, st, rec)
	d.wd.add(s)
	defer s.drop()
	s.run(ctx)
}

// newH1Slot returns a slot with no connection.
func newH1Slot(d *h1Driver, st *runState, rec *recorder) *h1Slot {
	s := &h1Slot{d: d, st: st, rec: rec, rd: newH1Reader(), last: -1}
	s.onReadable, s.onProbe = s.step, s.probeFIN
	return s
}

// h1Slot is one connection slot. The fields above mu belong to the slot's
// goroutine; the ones below are shared with the watchdog.
type h1Slot struct {
	d   *h1Driver
	st  *runState
	rec *recorder
	rd  h1Reader
	bo  backoff

	conn   net.Conn // nil when not connected
	reused bool     // conn has completed a response
	// last is the completion time of the previous successful request,
	// where the next one starts in closed-loop mode (so that one clock
	// read serves two requests); -1 after a failure or a failed dial.
	last int64
	// sentAt is the send time of the request in flight, as stored in sent.
	sentAt int64

	// rc is conn's descriptor for the direct path (h1direct.go), nil on
	// TLS; onReadable is s.step, bound once so that RawConn.Read
	// allocates nothing.
	rc         syscall.RawConn
	onReadable func(fd uintptr) bool
	dir        directState
	lp         loopState // while an event loop runs the slot (h1loop.go)
	// onProbe is s.probeFIN, bound once; finSeen is what it found.
	onProbe func(fd uintptr)
	finSeen bool

	mu     sync.Mutex
	raw    net.Conn // the TCP connection under conn
	closed bool     // the run is over: install no new connection
	// sent is the send time of the request in flight (an offset from
	// runState.now, at least 1), 0 when none is, timedOutMark once the
	// watchdog has abandoned it.
	sent atomic.Int64
}

// timedOutMark in h1Slot.sent says the watchdog abandoned the request.
const timedOutMark = -1

// drainWait bounds the wait for the server's FIN after it announced a
// close; see closeAnnounced.
const drainWait = 100 * time.Millisecond

// run sends requests back to back (or at the pacer's times) until the run
// ends.
func (s *h1Slot) run(ctx context.Context) {
	var timer *time.Timer
	if s.st.pacer != nil {
		timer = time.NewTimer(time.Hour)
		timer.Stop()
	}
	for !s.st.over() {
		var start int64
		if p := s.st.pacer; p != nil {
			start = p.due()
			if !waitUntil(ctx, s.st, timer, start) {
				return
			}
		}
		if s.conn == nil && !s.connect(ctx) {
			continue // the dialer recorded the failure and paces the next
		}
		if s.st.pacer == nil {
			if s.last < 0 {
				s.last = s.st.now()
			}
			start = s.last
		}
		if s.rc == nil {
			s.settle(ctx, start, s.attempt(s.sendTime(start)))
			continue
		}
		if a, start, ok := s.direct(start); ok {
			s.settle(ctx, start, a)
		}
	}
}

// sendTime is when the watchdog's clock starts for a request whose latency
// counts from start: start itself in closed-loop mode, now in rated mode,
// where start may be long past (the backlog is latency, not a timeout).
func (s *h1Slot) sendTime(start int64) int64 {
	if s.st.pacer != nil {
		start = s.st.now()
	}
	return max(start, 1)
}

// connect dials a connection for the slot.
func (s *h1Slot) connect(ctx context.Context) bool {
	c, err := s.st.dials.dial(ctx, s.rec, &s.bo, s.d.alpn)
	if err != nil {
		s.last = -1
		return false
	}
	raw := c
	if tc, ok := c.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		raw.Close()
		return false
	}
	s.conn, s.raw = c, raw
	s.mu.Unlock()
	s.rc = nil
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			s.rc = rc
		}
	}
	s.rd.reset(c)
	s.reused = false
	s.st.negotiated.Store(ProtocolH1)
	return true
}

// drop closes the slot's connection, if any, without ceremony.
func (s *h1Slot) drop() {
	s.mu.Lock()
	if s.raw != nil {
		s.raw.Close()
	}
	s.conn, s.raw, s.rc = nil, nil, nil
	s.mu.Unlock()
}

// h1Attempt is the outcome of writing one request and reading its response.
type h1Attempt struct {
	res      h1Response
	err      error
	wrote    bool  // the request was written whole
	heard    bool  // some byte of a response arrived
	end      int64 // when the attempt ended
	timedOut bool  // the watchdog abandoned it
}

// attempt writes the request and reads its response through conn, with the
// watchdog timing it from sent. It serves TLS connections, retries, and
// responses too large for the direct path.
func (s *h1Slot) attempt(sent int64) h1Attempt {
	s.startTimer(sent)
	a := h1Attempt{heard: s.rd.w > s.rd.r} // unsolicited bytes count as the server speaking
	s.rd.received = 0
	if _, a.err = s.conn.Write(s.d.req); a.err == nil {
		a.wrote = true
		// Yield before reading: the response is rarely back within the
		// few hundred nanoseconds after the write, and letting the other
		// connections' goroutines run first makes it likelier that the
		// read finds it instead of failing with EAGAIN and parking.
		runtime.Gosched()
		a.res, a.err = s.rd.readResponse(s.d.head)
		a.heard = a.heard || s.rd.received > 0
	}
	s.stopTimer(&a)
	return a
}

// startTimer puts the request sent at sent under the watchdog.
func (s *h1Slot) startTimer(sent int64) {
	s.sentAt = sent
	s.sent.Store(sent)
}

// stopTimer stamps the attempt's end and takes it back from the watchdog,
// learning whether the watchdog abandoned it first.
func (s *h1Slot) stopTimer(a *h1Attempt) {
	a.end = s.st.now()
	if a.timedOut = !s.sent.CompareAndSwap(s.sentAt, 0); a.timedOut {
		s.sent.Store(0)
	}
}

// settle records the outcome of a request whose latency counts from start.
// A kept-alive connection that fails before the first byte of the response
// was closed by the server while idle (RFC 9112 9.3.1): the request never
// reached it, so it is sent again once on a fresh connection and counted
// as retried, not as an error.
func (s *h1Slot) settle(ctx context.Context, start int64, a h1Attempt) {
	for retried := false; ; retried = true {
		switch {
		case a.err == nil && !a.timedOut:
			s.succeed(start, &a)
			if a.res.close || s.d.close {
				s.closeAnnounced()
			}
			return
		case s.st.over():
			// The run's end shut the connection under the request,
			// which is not the server's failure.
			s.drop()
			return
		case a.timedOut:
			s.drop()
			s.rec.timedOut(start, a.end)
			s.last = -1
			return
		case s.reused && !a.heard && !retried:
			s.rec.retry(a.end)
			s.drop()
			if !s.connect(ctx) {
				return // the failed dial is the error on record
			}
			a = s.attempt(max(s.st.now(), 1))
			continue
		}
		s.fail(&a)
		return
	}
}

// succeed records a complete response.
func (s *h1Slot) succeed(start int64, a *h1Attempt) {
	s.rec.response(start, a.end, a.res.status, int(a.res.body))
	s.bo.connectionOK()
	s.reused = true
	s.last = a.end
}

// fail records a failed request by its class and drops the connection.
func (s *h1Slot) fail(a *h1Attempt) {
	class := errRead
	var pe protocolError
	switch {
	case !a.wrote:
		class = errWrite
	case errors.As(a.err, &pe):
		class = errProtocol
	}
	s.rec.failure(a.end, class)
	if !s.reused {
		s.bo.connectionLost()
	}
	s.drop()
	s.last = -1
}

// closeAnnounced closes the connection after a response that announced its
// close (or after our own Connection: close). Waiting briefly for the
// server's FIN first lets the server, which closes first, hold the
// TIME_WAIT state (RFC 9293 3.6), so that a long run of short connections
// does not exhaust the client's ephemeral ports on a non-loopback path.
//
// The server usually closes right after its response, so its FIN is most
// often here already: one non-blocking read finds it, and the wait (a
// read deadline, which costs a runtime timer) is set only when it is not.
func (s *h1Slot) closeAnnounced() {
	if !s.finHere() {
		if err := s.raw.SetReadDeadline(time.Now().Add(drainWait)); err == nil {
			for s.rd.fill() == nil {
				s.rd.r, s.rd.w = 0, 0
			}
		}
	}
	s.mu.Lock()
	s.conn.Close() // sends a TLS close_notify on https
	s.conn, s.raw, s.rc = nil, nil, nil
	s.mu.Unlock()
}

// finHere reports whether the server has closed its side already, by one
// non-blocking read on the direct path's descriptor (false on TLS).
func (s *h1Slot) finHere() bool {
	s.finSeen = false
	if s.rc == nil || s.rc.Control(s.onProbe) != nil {
		return false
	}
	return s.finSeen
}

// probeFIN is finHere's read. Bytes after the response that announced the
// close are discarded, as closeAnnounced's drain does; they leave the
// drain to its ordinary wait.
func (s *h1Slot) probeFIN(fd uintptr) {
	for {
		n, errno := rawIO(unix.SYS_READ, fd, s.rd.buf)
		if errno != unix.EINTR {
			s.finSeen = errno == 0 && n == 0
			return
		}
	}
}
