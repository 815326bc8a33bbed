package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"

	"github.com/quic-go/quic-go"
)

// h3Slot is one connection slot of the HTTP/3 client: its stream workers
// (each with its own recorder and buffers, kept across the connections the
// slot opens one after another) and the connection being served.
type h3Slot struct {
	d       *h3Driver
	rec     *recorder // the slot's own: dials, reconnects
	workers []*h3Worker
}

func newH3Slot(d *h3Driver, rec *recorder) *h3Slot {
	s := &h3Slot{d: d, rec: rec, workers: make([]*h3Worker, d.streams)}
	for i := range s.workers {
		r := rec
		if i > 0 {
			// A recorder belongs to one goroutine: every stream
			// worker but the first gets one of its own.
			r = d.st.newRecorder()
		}
		s.workers[i] = newH3Worker(d, r)
	}
	return s
}

// h3Conn is one HTTP/3 connection: what its stream workers share.
type h3Conn struct {
	d   *h3Driver
	qc  *quic.Conn
	rec *recorder // the slot's: GOAWAYs are counted here

	// goaway is the lowest stream ID the server's GOAWAY frames named
	// (RFC 9114 5.2), math.MaxUint64 until one arrives: requests on
	// streams at or above it were not processed and are retried.
	goaway atomic.Uint64
	// stop asks the workers to open no more streams: a GOAWAY arrived, a
	// request timed out, or the connection failed.
	stop atomic.Bool
	// protoErr is set when we closed the connection for a protocol
	// error: the other streams it ends fail as protocol errors too.
	protoErr atomic.Bool
	// completed counts responses completed on the connection.
	completed atomic.Int64
	// ctlDone is closed when the server's control stream has been read
	// to its end (the connection closed), so that a GOAWAY that preceded
	// a close is known before the streams it ended are judged.
	ctlDone chan struct{}
	ctlOnce sync.Once
	control atomic.Bool    // the server's control stream has been opened
	uni     sync.WaitGroup // goroutines reading the server's streams
}

// serve runs one connection until every worker has stopped, then closes
// it. It reports whether the connection was productive: some response
// completed and we did not end it for a protocol error.
func (s *h3Slot) serve(ctx context.Context, qc *quic.Conn) bool {
	c := &h3Conn{d: s.d, qc: qc, rec: s.rec, ctlDone: make(chan struct{})}
	c.goaway.Store(math.MaxUint64)
	stopWatch := context.AfterFunc(ctx, func() { qc.CloseWithError(h3NoError, "") })
	defer stopWatch()
	if err := c.openControl(); err != nil {
		qc.CloseWithError(h3ClosedCriticalStream, "")
		return false
	}
	c.uni.Add(1)
	go c.acceptUni(ctx)

	var wg sync.WaitGroup
	for _, w := range s.workers[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, c)
		}()
	}
	s.workers[0].run(ctx, c)
	wg.Wait()
	qc.CloseWithError(h3NoError, "")
	c.uni.Wait()
	return c.completed.Load() > 0 && !c.protoErr.Load()
}

// openControl opens our control stream and sends SETTINGS (RFC 9114
// 6.2.1). It stays open for the connection's life: closing it is a
// connection error (H3_CLOSED_CRITICAL_STREAM).
func (c *h3Conn) openControl() error {
	str, err := c.qc.OpenUniStream()
	if err != nil {
		return err
	}
	_, err = str.Write(c.d.settings)
	return err
}

// fail closes the connection for a protocol error we detected.
func (c *h3Conn) fail(e *h3Error) {
	c.protoErr.Store(true)
	c.stop.Store(true)
	c.qc.CloseWithError(quic.ApplicationErrorCode(e.code), e.reason)
}

// acceptUni accepts the server's unidirectional streams until the
// connection ends, each served by a goroutine of its own, so that a stream
// whose type never arrives holds up no other (serveUni).
func (c *h3Conn) acceptUni(ctx context.Context) {
	defer c.uni.Done()
	// Without a control stream, nothing can precede the connection's end.
	defer func() {
		if !c.control.Load() {
			c.ctlOnce.Do(func() { close(c.ctlDone) })
		}
	}()
	for {
		str, err := c.qc.AcceptUniStream(ctx)
		if err != nil {
			return
		}
		c.uni.Add(1)
		go func() {
			defer c.uni.Done()
			c.serveUni(str)
		}()
	}
}

// serveUni reads one unidirectional stream's type and serves it: the
// control stream is read for SETTINGS and GOAWAY, the QPACK streams are
// drained (with a table capacity of 0 they carry nothing we use), and
// anything else is refused (RFC 9114 6.2).
func (c *h3Conn) serveUni(str *quic.ReceiveStream) {
	var typ [8]byte
	f := h3Reader{r: str, buf: typ[:]}
	t, err := f.varint()
	if err != nil {
		str.CancelRead(h3StreamCreationError)
		return
	}
	switch t {
	case h3StreamControl:
		if !c.control.CompareAndSwap(false, true) {
			c.fail(h3ConnErr(h3StreamCreationError, "second control stream"))
			return
		}
		defer c.ctlOnce.Do(func() { close(c.ctlDone) })
		c.readControl(io.MultiReader(bytes.NewReader(typ[f.lo:f.hi]), str))
	case h3StreamQPACKEnc, h3StreamQPACKDec:
		io.Copy(io.Discard, str)
	case h3StreamPush:
		// We never send MAX_PUSH_ID (RFC 9114 4.6).
		c.fail(h3ConnErr(h3IDError, "push stream without MAX_PUSH_ID"))
	default:
		// Unknown stream types are ignored (RFC 9114 6.2, 9).
		str.CancelRead(h3StreamCreationError)
	}
}

// readControl reads the server's control stream: SETTINGS first, then
// GOAWAY and frames we ignore (RFC 9114 6.2.1, 7.2).
func (c *h3Conn) readControl(r io.Reader) {
	// Control frames are small; the buffer grows for a large one.
	f := h3Reader{r: r, buf: make([]byte, 256)}
	first := true
	for {
		typ, n, err := f.frameHeader()
		if err != nil {
			// The control stream must not close while the
			// connection lives (6.2.1); other errors mean the
			// connection ended.
			if (err == io.EOF || err == io.ErrUnexpectedEOF) && c.qc.Context().Err() == nil {
				c.fail(h3ConnErr(h3ClosedCriticalStream, "control stream closed"))
			}
			return
		}
		if first && typ != h3FrameSettings {
			c.fail(h3ConnErr(h3MissingSettings, "control stream does not open with SETTINGS"))
			return
		}
		switch typ {
		case h3FrameSettings:
			if !first {
				c.fail(h3ConnErr(h3FrameUnexpected, "second SETTINGS frame"))
				return
			}
			first = false
			p, err := f.payload(n)
			if err != nil {
				c.fail(h3ConnErr(h3FrameError, "truncated SETTINGS"))
				return
			}
			if err := c.settings(p); err != nil {
				c.fail(err)
				return
			}
		case h3FrameGoaway:
			p, err := f.payload(n)
			if err != nil {
				c.fail(h3ConnErr(h3FrameError, "truncated GOAWAY"))
				return
			}
			if err := c.onGoaway(p); err != nil {
				c.fail(err)
				return
			}
		case h3FrameData, h3FrameHeaders, h3FramePushPromise, 0x02, 0x06, 0x08, 0x09:
			c.fail(h3ConnErr(h3FrameUnexpected, fmt.Sprintf("frame type %#x on the control stream", typ)))
			return
		default:
			// CANCEL_PUSH, MAX_PUSH_ID (a client's to send) and
			// unknown frames are ignored.
			if err := f.skip(n); err != nil {
				return
			}
		}
	}
}

// settings records the server's SETTINGS (RFC 9114 7.2.4).
func (c *h3Conn) settings(p []byte) *h3Error {
	f := h3Reader{r: bytes.NewReader(nil), buf: p, hi: len(p)}
	seen := map[uint64]bool{}
	for f.lo < f.hi {
		id, err := f.varint()
		if err != nil {
			return h3ConnErr(h3FrameError, "malformed SETTINGS")
		}
		v, err := f.varint()
		if err != nil {
			return h3ConnErr(h3FrameError, "malformed SETTINGS")
		}
		if seen[id] {
			return h3ConnErr(h3SettingsError, "repeated setting")
		}
		seen[id] = true
		switch id {
		case 0x02, 0x03, 0x04, 0x05: // HTTP/2 settings, reserved (7.2.4.1)
			return h3ConnErr(h3SettingsError, fmt.Sprintf("HTTP/2 setting %#x", id))
		}
		if v <= math.MaxUint32 {
			c.d.st.settings.Store(h3SettingName(id), uint32(v))
		}
	}
	return nil
}

// h3SettingName names an HTTP/3 setting for Result.ServerSettings.
func h3SettingName(id uint64) string {
	switch id {
	case h3SettingQPACKCap:
		return "SETTINGS_QPACK_MAX_TABLE_CAPACITY"
	case h3SettingMaxField:
		return "SETTINGS_MAX_FIELD_SECTION_SIZE"
	case h3SettingQPACKBlock:
		return "SETTINGS_QPACK_BLOCKED_STREAMS"
	case 0x08:
		return "SETTINGS_ENABLE_CONNECT_PROTOCOL"
	case 0x33:
		return "SETTINGS_H3_DATAGRAM"
	}
	return fmt.Sprintf("SETTINGS_%#x", id)
}

// onGoaway handles a GOAWAY frame: a client-initiated bidirectional stream
// ID that may only decrease (RFC 9114 5.2, 7.2.6).
func (c *h3Conn) onGoaway(p []byte) *h3Error {
	f := h3Reader{r: bytes.NewReader(nil), buf: p, hi: len(p)}
	id, err := f.varint()
	if err != nil || f.lo != f.hi {
		return h3ConnErr(h3FrameError, "malformed GOAWAY")
	}
	if id%4 != 0 {
		return h3ConnErr(h3IDError, "GOAWAY names a stream that is not a client request stream")
	}
	if id > c.goaway.Load() {
		return h3ConnErr(h3IDError, "GOAWAY stream ID increased")
	}
	c.goaway.Store(id)
	c.stop.Store(true)
	c.rec.goaways.Add(1)
	return nil
}
