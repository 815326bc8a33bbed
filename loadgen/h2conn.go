package loadgen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"time"

	"golang.org/x/net/http2"
)

// never is a time on runState's clock that never comes.
const never = math.MaxInt64

// h2Conn is one connection slot of the HTTP/2 client. The buffers, the
// stream pool and the queue of requests to retry are kept across the
// connections the slot opens one after another; the rest is reset for each.
// Everything is owned by the slot's goroutine.
type h2Conn struct {
	d   *h2Driver
	st  *runState
	rec *recorder

	br        *bufio.Reader
	bw        *bufio.Writer
	tr        timedReader
	pool      streamPool
	retry     []int64  // starts of requests to send again, oldest first
	due       int64    // a pacer slot claimed and not yet used, or -1
	unstamped []int32  // streams written since the last flush
	uploads   []uint32 // streams whose body waits for send window, in order
	hblock    []byte   // a header block split over CONTINUATION frames
	hdec      *statusDecoder
	closer    connCloser // closes the connection when the run ends

	nc   net.Conn
	raw  *rawConn // nc's raw reads and writes (rawc), or nil
	rawc *rawConn // kept across connections
	fr   *http2.Framer
	// looked says ensure has made its one non-blocking read since the
	// last flush: the next empty buffer flushes and waits.
	looked bool

	ready     bool   // the server's SETTINGS has arrived (RFC 9113 3.4)
	goingAway bool   // open no more streams; end when none is in flight
	goawayErr bool   // the server sent a GOAWAY with an error code
	lastID    uint32 // the lowest GOAWAY last-stream-id received
	nextID    uint32
	completed int // responses completed on this connection
	openedAt  int64
	checkAt   int64 // no stream expires before this time
	readDL    int64 // read deadline currently set, or -1
	writeDL   int64 // write deadline currently set

	// The server's settings as they apply to what we send (RFC 9113 6.5.2).
	peerMaxStreams uint32
	peerMaxFrame   uint32
	peerInitWindow int64
	sendWindow     int64 // connection send window (RFC 9113 6.9.1)

	recvWindow  int64 // what the server may still send on the connection
	recvUnacked int64 // bytes received and not yet credited back

	hID  uint32 // stream of the header block being assembled
	hEnd bool   // its HEADERS frame carried END_STREAM

	dataLeft int    // bytes of the current DATA frame still to skip
	dataID   uint32 // its stream, or 0 when no stream wants it
	dataEnd  bool   // it carries END_STREAM
}

func newH2Conn(d *h2Driver, rec *recorder) *h2Conn {
	c := &h2Conn{
		d:         d,
		st:        d.st,
		rec:       rec,
		br:        bufio.NewReaderSize(nil, h2ReadBuf),
		bw:        bufio.NewWriterSize(nil, h2WriteBuf),
		pool:      newStreamPool(d.streams),
		retry:     make([]int64, 0, d.streams),
		due:       -1,
		unstamped: make([]int32, 0, d.streams),
		uploads:   make([]uint32, 0, d.streams),
		hdec:      newStatusDecoder(d.static),
		rawc:      newRawConn(),
	}
	c.tr.st = d.st
	return c
}

// timedReader notes the time each read system call returns: the completion
// time of every response parsed from that read.
type timedReader struct {
	r  io.Reader
	st *runState
	at int64
}

func (t *timedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.at = t.st.now()
	return n, err
}

// h2ConnError is a connection error we detected (RFC 9113 5.4.1): the
// server broke the protocol, and the connection ends with a GOAWAY.
type h2ConnError struct {
	code   http2.ErrCode
	reason string
}

func (e h2ConnError) Error() string {
	return "loadgen: HTTP/2 connection error " + e.code.String() + ": " + e.reason
}

// writeError is a failed write: it does not unwrap, so that a write
// deadline is never mistaken for the read deadline the loop uses as a timer.
type writeError struct{ err error }

func (e writeError) Error() string { return "loadgen: HTTP/2 write: " + e.err.Error() }

var (
	errPrefaceTimeout = errors.New("loadgen: no SETTINGS from the server within the request timeout")
	// errDrained ends the loop gracefully from inside a read.
	errDrained = errors.New("loadgen: connection drained")
)

// serve runs one connection until it ends, records how its streams ended,
// and closes it. It reports whether the connection was productive: some
// response completed and the server did not end it with an error.
//
// The slot's closer must watch ctx: it closes nc when ctx ends, which
// unblocks a read or write in progress.
func (c *h2Conn) serve(ctx context.Context, nc net.Conn) bool {
	if !c.closer.hold(nc) {
		nc.Close()
		return false
	}
	c.reset(nc)
	err := c.loop()
	c.closer.release() // waits for a close in progress
	if ctx.Err() == nil {
		c.finish(err)
	}
	c.clear()
	nc.Close()
	return c.completed > 0 && !c.goawayErr
}

// reset prepares the slot for a new connection.
func (c *h2Conn) reset(nc net.Conn) {
	c.nc = nc
	var rw io.ReadWriter = nc
	c.raw, c.looked = nil, false
	if c.rawc.reset(nc) {
		rw, c.raw = c.rawc, c.rawc
	}
	c.tr.r = rw
	c.br.Reset(&c.tr)
	c.bw.Reset(rw)
	c.fr = http2.NewFramer(c.bw, c.br)
	c.fr.SetMaxReadFrameSize(h2MaxFrame)
	c.hdec.reset()
	c.ready, c.goingAway, c.goawayErr = false, false, false
	c.lastID = math.MaxUint32
	c.nextID = 1
	c.completed = 0
	c.openedAt = c.st.now()
	c.checkAt = c.openedAt + c.d.timeout
	c.readDL, c.writeDL = -1, 0
	// Initial values until the server's SETTINGS says otherwise
	// (RFC 9113 6.5.2, 6.9.2).
	c.peerMaxStreams = math.MaxUint32
	c.peerMaxFrame = 16384
	c.peerInitWindow = 65535
	c.sendWindow = 65535
	c.recvWindow, c.recvUnacked = h2ConnWindow, 0
	c.dataLeft, c.dataID, c.dataEnd = 0, 0, false
	c.hblock = c.hblock[:0]

	// The connection preface (RFC 9113 3.4): the magic, our SETTINGS, and
	// the connection window raised from its initial 65535 (6.9.2). It is
	// flushed with the first read.
	c.bw.WriteString(http2.ClientPreface)
	c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
	)
	c.fr.WriteWindowUpdate(0, h2ConnWindow-65535)
}

// loop reads and handles frames until the connection ends: nil when it
// ended gracefully (drained after GOAWAY or a timeout), an error otherwise.
func (c *h2Conn) loop() error {
	for !c.goingAway || c.pool.n > 0 {
		err := c.step()
		if err == nil {
			continue
		}
		if err == errDrained {
			break
		}
		if _, ok := err.(writeError); ok || !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		// The read deadline is the loop's timer: a stream may have
		// expired, or a paced request may be due. idle, called before
		// the next read, does the work.
		c.readDL = -1
	}
	return nil
}

// finish records how the connection ended and says goodbye to the server.
func (c *h2Conn) finish(err error) {
	var ce h2ConnError
	switch {
	case err == nil:
		c.goodbye(http2.ErrCodeNo, "")
	case !c.ready:
		// The HTTP/2 connection was never established.
		c.rec.failure(c.st.now(), errConnect)
	case errors.As(err, &ce):
		c.goodbye(ce.code, ce.reason)
		c.failAll(errProtocol)
	default:
		class := errRead
		if _, ok := err.(writeError); ok {
			class = errWrite
		}
		c.failAll(class)
	}
}

// goodbye sends GOAWAY (RFC 9113 6.8), without waiting long for a server
// that does not read.
func (c *h2Conn) goodbye(code http2.ErrCode, reason string) {
	c.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	var debug []byte
	if reason != "" {
		debug = []byte(reason)
	}
	c.fr.WriteGoAway(0, code, debug)
	c.bw.Flush()
}

// failAll fails every stream in flight once, in class.
func (c *h2Conn) failAll(class errClass) {
	now := c.st.now()
	for i := range c.pool.s {
		if c.pool.s[i].id != 0 {
			c.rec.failure(now, class)
			c.pool.remove(int32(i))
		}
	}
	c.uploads = c.uploads[:0]
}

// clear frees every stream entry without recording anything.
func (c *h2Conn) clear() {
	for i := range c.pool.s {
		if c.pool.s[i].id != 0 {
			c.pool.remove(int32(i))
		}
	}
	c.uploads = c.uploads[:0]
	c.unstamped = c.unstamped[:0]
}

// ensure makes n bytes readable from the buffer. Before it may block in a
// read system call, it does what waits for the loop: expire streams, issue
// requests into free stream slots, and flush everything written since the
// last read, in one write.
func (c *h2Conn) ensure(n int) error {
	if c.br.Buffered() >= n {
		return nil
	}
	// Look once more before writing: responses that arrived while the
	// last batch was handled join it, so the requests they free go out
	// in one write instead of several. Once per flush, not until the
	// socket is empty: a flow of DATA must not hold back the window
	// credit, SETTINGS or PING acknowledgements (RFC 9113 6.5.3, 6.7)
	// and requests waiting in the buffer.
	var lookErr error
	if c.raw != nil && !c.looked {
		c.looked = true
		c.raw.noWait = true
		_, lookErr = c.br.Peek(n)
		c.raw.noWait = false
		if lookErr == nil {
			return nil
		}
	}
	c.looked = false
	if err := c.idle(); err != nil {
		return err
	}
	if c.goingAway && c.pool.n == 0 {
		return errDrained // idle timed out the last streams
	}
	if lookErr != nil && lookErr != errWouldBlock {
		// What the look met (EOF, a reset, a deadline), reported after
		// the flush, as the blocking read would have.
		return lookErr
	}
	_, err := c.br.Peek(n)
	return err
}

// idle runs between read batches.
func (c *h2Conn) idle() error {
	now := c.st.now()
	if now >= c.checkAt {
		if err := c.expire(now); err != nil {
			return err
		}
	}
	// Writes happen below and, for large request bodies, whenever the
	// buffer fills or a frame bypasses it: a server that stops reading
	// fails the connection after one to two request timeouts. The
	// deadline moves rarely, not per write.
	if now+c.d.timeout > c.writeDL {
		c.writeDL = now + 2*c.d.timeout
		c.nc.SetWriteDeadline(c.clock(c.writeDL))
	}
	if c.ready && !c.goingAway {
		c.fill(now)
	}
	// Stamp every stream written since the last flush, even when nothing
	// is buffered now: a large request body fills the buffer, which then
	// flushes by itself, and a stream left unstamped would measure its
	// latency from the clock's origin.
	if len(c.unstamped) > 0 {
		now = c.st.now()
		for _, i := range c.unstamped {
			s := &c.pool.s[i]
			s.sentAt = now
			if s.start == unstamped {
				s.start = now
			}
		}
		c.unstamped = c.unstamped[:0]
	}
	if c.bw.Buffered() > 0 {
		if err := c.bw.Flush(); err != nil {
			return writeError{err}
		}
	}
	c.armRead()
	return nil
}

// armRead sets the read deadline to the next time the loop must act
// without input: the earliest stream expiry or the next paced request.
func (c *h2Conn) armRead() {
	dl := c.checkAt
	if c.due >= 0 && c.due < dl && c.ready && !c.goingAway && c.pool.n < c.limit() {
		dl = c.due
	}
	if dl == c.readDL {
		return
	}
	c.readDL = dl
	var t time.Time
	if dl != never {
		t = c.clock(dl)
	}
	c.nc.SetReadDeadline(t)
}

// clock converts a time on runState's clock to wall time.
func (c *h2Conn) clock(t int64) time.Time { return c.st.base.Add(time.Duration(t)) }

// expire fails the streams whose request timeout has passed; their latency
// until then enters the histogram, so that a stall shows in the tail. A
// timed-out stream is reset and the connection replaced once its other
// streams are done (docs/hostile-servers.md row 12): a server that stalls one
// stream may stall the next. There is no other deadline (row 15).
func (c *h2Conn) expire(now int64) error {
	if !c.ready {
		if now >= c.openedAt+c.d.timeout {
			return errPrefaceTimeout
		}
		return nil
	}
	next := int64(never)
	for i := range c.pool.s {
		s := &c.pool.s[i]
		if s.id == 0 {
			continue
		}
		// The timeout runs from the send, not from a paced request's
		// intended start: a backlog shows as latency, not as timeouts.
		dl := s.sentAt + c.d.timeout
		if dl > now {
			next = min(next, dl)
			continue
		}
		c.rec.timedOut(s.start, now)
		c.fr.WriteRSTStream(s.id, http2.ErrCodeCancel)
		c.removeStream(int32(i))
		c.goingAway = true
	}
	c.checkAt = next
	return nil
}
