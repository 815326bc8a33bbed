package h2test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"net"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// conn is one server connection. Its reader goroutine handles every frame;
// responses are written inline when they fit the client's windows, or by a
// goroutine of their own when delayed or waiting for flow-control credit.
// mu guards the write side and all state.
type conn struct {
	s  *Server
	nc net.Conn
	n  int64
	br *bufio.Reader
	fr *http2.Framer
	wg sync.WaitGroup

	mu      sync.Mutex
	cond    *sync.Cond
	bw      *bufio.Writer
	enc     *hpack.Encoder
	hbuf    bytes.Buffer
	hdr     *headers
	zeros   []byte // response bodies
	streams map[uint32]*stream
	timers  map[*time.Timer]struct{}
	dead    bool

	open, seq    int
	pings        map[[8]byte]bool // PINGs awaiting their ACK
	lastClientID uint32
	goaway       bool
	goawayID     uint32
	closing      bool // GOAWAY'd and drained: the write side is shut

	// Our limits in force, and those of MidSettings once acknowledged.
	limit, initWindow, maxFrame int64
	mid                         *limits
	settingsSent, acks          int
	ackPending                  bool
	recvWindow                  int64 // connection receive window

	// The client's settings, for what we send.
	peerInitWindow, peerMaxFrame, sendWindow int64
}

// limits are the values of a SETTINGS frame that the server enforces.
type limits struct{ limit, initWindow, maxFrame int64 }

func limitsOf(base limits, ss []http2.Setting) limits {
	for _, s := range ss {
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			base.limit = int64(s.Val)
		case http2.SettingInitialWindowSize:
			base.initWindow = int64(s.Val)
		case http2.SettingMaxFrameSize:
			base.maxFrame = int64(s.Val)
		}
	}
	return base
}

// stream is one stream the server processes.
type stream struct {
	id         uint32
	req        Request
	recvWindow int64
	sendWindow int64
	ended      bool // the client sent END_STREAM
	closed     bool // the server ended or reset it, or the client reset it
}

func newConn(s *Server, nc net.Conn, n int64) *conn {
	c := &conn{
		s: s, nc: nc, n: n,
		br:      bufio.NewReaderSize(nc, 32<<10),
		bw:      bufio.NewWriterSize(nc, 32<<10),
		streams: map[uint32]*stream{},
		timers:  map[*time.Timer]struct{}{},
		pings:   map[[8]byte]bool{},
	}
	c.cond = sync.NewCond(&c.mu)
	c.fr = http2.NewFramer(c.bw, c.br)
	c.hdr = newHeaders()
	c.enc = hpack.NewEncoder(&c.hbuf)
	l := limitsOf(limits{limit: math.MaxInt64, initWindow: 65535, maxFrame: 16384}, s.cfg.Settings)
	c.limit, c.initWindow, c.maxFrame = l.limit, l.initWindow, l.maxFrame
	c.fr.SetMaxReadFrameSize(uint32(c.maxFrame))
	c.recvWindow = 65535 + int64(s.cfg.EarlyWindowUpdate)
	c.peerInitWindow, c.peerMaxFrame, c.sendWindow = 65535, 16384, 65535
	return c
}

// kill closes the connection from outside (Server.Close).
func (c *conn) kill() {
	c.mu.Lock()
	c.dead = true
	c.cond.Broadcast()
	c.mu.Unlock()
	c.nc.Close()
}

func (c *conn) serve() {
	err := c.run()
	c.mu.Lock()
	c.dead = true
	c.cond.Broadcast()
	for t := range c.timers {
		if t.Stop() {
			c.wg.Done()
		}
	}
	c.mu.Unlock()
	c.nc.Close()
	c.wg.Wait()
	var ce http2.ConnectionError
	switch {
	case errors.Is(err, http2.ErrFrameTooLarge):
		c.s.violation("conn %d: frame larger than SETTINGS_MAX_FRAME_SIZE %d", c.n, c.maxFrame)
	case errors.As(err, &ce):
		c.s.violation("conn %d: %v: %v", c.n, ce, c.fr.ErrorDetail())
	}
}

func (c *conn) run() error {
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c.br, preface); err != nil {
		return err
	}
	if string(preface) != http2.ClientPreface {
		c.s.violation("conn %d: bad client preface %q", c.n, preface)
		return errClosed
	}
	c.mu.Lock()
	c.fr.WriteSettings(c.s.cfg.Settings...)
	c.settingsSent++
	if n := c.s.cfg.EarlyWindowUpdate; n > 0 {
		c.fr.WriteWindowUpdate(0, n)
	}
	c.bw.Flush()
	c.mu.Unlock()
	first := true
	for {
		if c.br.Buffered() == 0 {
			c.mu.Lock()
			err := c.bw.Flush()
			c.mu.Unlock()
			if err != nil {
				return err
			}
		}
		f, err := c.fr.ReadFrame()
		if err != nil {
			return err
		}
		if _, ok := f.(*http2.SettingsFrame); first && !ok {
			c.s.violation("conn %d: first frame %v is not SETTINGS", c.n, f.Header().Type)
			return errClosed
		}
		first = false
		c.mu.Lock()
		err = c.handle(f)
		c.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// handle processes one frame; mu is held.
func (c *conn) handle(f http2.Frame) error {
	if c.closing {
		return nil // drained: read until the client closes, write nothing
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		c.onSettings(f)
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			c.sendWindow += int64(f.Increment)
		} else if st := c.streams[f.StreamID]; st != nil {
			st.sendWindow += int64(f.Increment)
		}
		c.cond.Broadcast()
	case *http2.PingFrame:
		switch {
		case !f.IsAck():
			c.fr.WritePing(true, f.Data)
		case c.pings[f.Data]:
			delete(c.pings, f.Data)
			c.s.pingAcks.Add(1)
		default:
			c.s.violation("conn %d: PING ACK with data %x, never sent or acknowledged twice", c.n, f.Data)
		}
	case *http2.HeadersFrame, *http2.ContinuationFrame:
		if !c.hdr.frame(f) {
			return nil
		}
		h, err := c.hdr.decode()
		if err != nil {
			c.s.violation("conn %d: request header block: %v", c.n, err)
			return errClosed
		}
		return c.onHeaders(c.hdr.id, c.hdr.end, h)
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.RSTStreamFrame:
		if st := c.streams[f.StreamID]; st != nil {
			c.closeStream(st)
		}
	}
	return nil
}

func (c *conn) onSettings(f *http2.SettingsFrame) {
	if f.IsAck() {
		c.acks++
		if c.acks == 2 && c.mid != nil {
			// The client now applies MidSettings (RFC 9113 6.5.3).
			if d := c.mid.initWindow - c.initWindow; d != 0 {
				for _, st := range c.streams {
					st.recvWindow += d
				}
			}
			c.limit, c.initWindow, c.maxFrame = c.mid.limit, c.mid.initWindow, c.mid.maxFrame
			c.fr.SetMaxReadFrameSize(uint32(c.maxFrame))
			c.mid = nil
		}
		return
	}
	f.ForeachSetting(func(s http2.Setting) error {
		switch s.ID {
		case http2.SettingInitialWindowSize:
			d := int64(s.Val) - c.peerInitWindow
			c.peerInitWindow = int64(s.Val)
			for _, st := range c.streams {
				st.sendWindow += d
			}
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = int64(s.Val)
		}
		return nil
	})
	c.cond.Broadcast()
	if c.s.cfg.DelayAck && c.seq == 0 {
		c.ackPending = true
		return
	}
	c.fr.WriteSettingsAck()
}

func (c *conn) onHeaders(id uint32, end bool, h head) error {
	if st := c.streams[id]; st != nil {
		return nil // trailers of a request: not sent by the load generator
	}
	if id&1 == 0 || id <= c.lastClientID {
		c.s.violation("conn %d: HEADERS on stream %d after stream %d", c.n, id, c.lastClientID)
		return errClosed
	}
	c.lastClientID = id
	if c.goaway && id > c.goawayID {
		return nil // ignored, never processed (RFC 9113 6.8)
	}
	c.seq++
	if c.ackPending {
		c.fr.WriteSettingsAck()
		c.ackPending = false
	}
	if cfg := c.s.cfg; cfg.MidSettingsAfter > 0 && c.seq == cfg.MidSettingsAfter {
		l := limitsOf(limits{c.limit, c.initWindow, c.maxFrame}, cfg.MidSettings)
		c.mid = &l
		c.fr.WriteSettings(cfg.MidSettings...)
		c.settingsSent++
		// Until the client acknowledges, either value may apply.
		c.fr.SetMaxReadFrameSize(uint32(max(c.maxFrame, l.maxFrame)))
	}
	limit := c.limit
	if c.mid != nil {
		limit = max(limit, c.mid.limit)
	}
	if int64(c.open+1) > limit {
		c.s.violation("conn %d: stream %d would be stream %d open, SETTINGS_MAX_CONCURRENT_STREAMS is %d", c.n, id, c.open+1, limit)
		c.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
		c.s.resets.Add(1)
		return nil
	}
	st := &stream{id: id, recvWindow: c.initWindow, sendWindow: c.peerInitWindow}
	st.req = Request{Conn: c.n, Seq: c.seq, N: c.s.n.Add(1), StreamID: id,
		ContentLength: h.contentLength, Method: h.method, Path: h.path}
	if h.scheme == "" || h.authority == "" || h.method == "" || h.path == "" {
		c.s.violation("conn %d: stream %d lacks a pseudo-header: %+v", c.n, id, h)
	}
	c.streams[id] = st
	c.open++
	c.s.noteOpen(int64(c.open))
	c.s.requests.Add(1)
	if n := c.s.cfg.GoawayAfter; n > 0 && c.seq == n {
		c.goaway, c.goawayID = true, id
		if below := uint32(c.s.cfg.GoawayBelow); below > 0 {
			c.goawayID = max(id, 2*below) - 2*below
		}
		c.fr.WriteGoAway(c.goawayID, http2.ErrCodeNo, nil)
		c.s.goaways.Add(1)
		for _, st := range c.streams {
			if st.id > c.goawayID {
				c.s.dropped.Add(1)
				c.closeStream(st)
			}
		}
		if st.id > c.goawayID {
			return nil
		}
	}
	if n := c.s.cfg.PingEvery; n > 0 && c.seq%n == 0 {
		c.pings[c.pingData(c.seq)] = true
		c.fr.WritePing(false, c.pingData(c.seq))
		c.s.pings.Add(1)
	}
	if end {
		st.ended = true
		c.dispatch(st)
	}
	return c.afterStream()
}

func (c *conn) onData(f *http2.DataFrame) error {
	n := int64(f.Length) // padding included (RFC 9113 6.9.1)
	if c.recvWindow -= n; c.recvWindow < 0 {
		c.s.violation("conn %d: DATA beyond the connection window by %d bytes", c.n, -c.recvWindow)
		return errClosed
	}
	if n > 0 && !c.s.cfg.NoConnCredit {
		c.fr.WriteWindowUpdate(0, uint32(n))
		c.recvWindow += n
	}
	st := c.streams[f.StreamID]
	if st == nil {
		return nil // a stream ignored after GOAWAY, or closed
	}
	if st.ended {
		c.s.violation("conn %d: DATA on stream %d after END_STREAM", c.n, st.id)
		return errClosed
	}
	if st.recvWindow -= n; st.recvWindow < 0 {
		c.s.violation("conn %d: DATA beyond stream %d's window by %d bytes", c.n, st.id, -st.recvWindow)
		return errClosed
	}
	st.req.BodyLen += len(f.Data())
	c.s.uploaded.Add(int64(len(f.Data())))
	if f.StreamEnded() {
		st.ended = true
		if cl := st.req.ContentLength; cl >= 0 && cl != st.req.BodyLen {
			c.s.violation("conn %d: stream %d: %d body bytes, content-length %d", c.n, st.id, st.req.BodyLen, cl)
		}
		c.dispatch(st)
		return c.afterStream()
	}
	if n > 0 {
		c.fr.WriteWindowUpdate(st.id, uint32(n))
		st.recvWindow += n
	}
	return nil
}

// afterStream closes the connection once the CloseAfter-th stream has been
// answered.
func (c *conn) afterStream() error {
	if n := c.s.cfg.CloseAfter; n > 0 && c.seq >= n {
		c.bw.Flush()
		return errClosed
	}
	return nil
}

// closeStream ends a stream; after a GOAWAY, the last one to end shuts the
// connection's write side, and the reader drains until the client closes.
func (c *conn) closeStream(st *stream) {
	if st.closed {
		return
	}
	st.closed = true
	delete(c.streams, st.id)
	c.open--
	c.cond.Broadcast()
	if c.goaway && !c.closing && c.open == 0 {
		c.closing = true
		c.bw.Flush()
		if tc, ok := c.nc.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	}
}

// pingData is the opaque data of the PING sent at stream ordinal seq.
func (c *conn) pingData(seq int) [8]byte {
	return [8]byte{'h', '2', 't', byte(c.n), byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq)}
}
