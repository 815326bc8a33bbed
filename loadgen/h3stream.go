package loadgen

import (
	"bytes"
	"context"
	"errors"
	"os"
	"time"

	"github.com/quic-go/quic-go"
)

// h3Worker sends one request at a time on streams of the slot's current
// connection. Its recorder, buffer and timer are its own and outlive the
// connection.
type h3Worker struct {
	d     *h3Driver
	rec   *recorder
	f     h3Reader
	huff  bytes.Buffer // Huffman scratch for :status values
	timer *time.Timer  // pacing
	// pending is the (intended) start of a request to send on the next
	// stream, or -1: a paced start claimed before the connection ended,
	// or a request to retry. retries counts how often it was sent before.
	pending int64
	retries int
}

func newH3Worker(d *h3Driver, rec *recorder) *h3Worker {
	w := &h3Worker{
		d:       d,
		rec:     rec,
		f:       h3Reader{buf: make([]byte, h3ReadBuf)},
		pending: -1,
	}
	if d.st.pacer != nil {
		w.timer = time.NewTimer(time.Hour)
		w.timer.Stop()
	}
	return w
}

// run sends requests on c until the connection stops or ctx is done.
func (w *h3Worker) run(ctx context.Context, c *h3Conn) {
	st := w.d.st
	for ctx.Err() == nil && !c.stop.Load() {
		start := w.pending
		if start < 0 && st.pacer != nil {
			start = st.pacer.due()
			w.pending = start
			if !waitUntil(ctx, st, w.timer, start) {
				return
			}
		}
		// OpenStreamSync waits for the server's stream credit
		// (RFC 9000 4.6): a server allowing fewer streams than we run
		// makes workers wait, never a protocol error.
		str, err := c.qc.OpenStreamSync(ctx)
		if err != nil {
			c.stop.Store(true)
			return // the connection ended; pending goes to the next
		}
		if uint64(str.StreamID()) >= c.goaway.Load() {
			// Opened after a GOAWAY that excludes it (RFC 9114 5.2).
			str.CancelWrite(h3RequestCancelled)
			str.CancelRead(h3RequestCancelled)
			return
		}
		if !w.exchange(ctx, c, str, start) {
			return
		}
	}
}

// exchange sends the request on str and reads its response. It reports
// whether the worker may go on using the connection.
func (w *h3Worker) exchange(ctx context.Context, c *h3Conn, str *quic.Stream, start int64) bool {
	st := w.d.st
	sent := st.now()
	if start < 0 {
		start = sent
	}
	w.pending = -1
	retries := w.retries
	w.retries = 0
	// The timeout runs from the send (as for HTTP/2): the write, which
	// may wait for flow-control credit, and the whole response.
	str.SetDeadline(st.base.Add(time.Duration(sent) + w.d.timeout))
	// Close sends FIN; it fails only when the send side was reset (the
	// server's STOP_SENDING, RFC 9000 3.5) after the request was written,
	// and the response then says what became of it.
	_, err := str.Write(w.d.req)
	if err == nil {
		str.Close()
	}
	if err != nil && !stoppedEarly(err) {
		return w.failed(ctx, c, str, start, retries, err, errWrite)
	}
	w.f.r, w.f.lo, w.f.hi = str, 0, 0
	status, body, err := w.f.readResponse(&w.huff)
	w.f.r = nil
	if err != nil {
		return w.failed(ctx, c, str, start, retries, err, errRead)
	}
	c.completed.Add(1)
	w.rec.response(start, st.now(), status, body)
	return true
}

// stoppedEarly reports whether a write failed because the server stopped
// reading with H3_NO_ERROR: it has sent (or is sending) its whole response
// without needing the rest of the body (RFC 9114 4.1).
func stoppedEarly(err error) bool {
	var se *quic.StreamError
	return errors.As(err, &se) && se.Remote && se.ErrorCode == h3NoError
}

// failed records a request that did not complete and reports whether the
// worker may go on using the connection. class is errWrite or errRead, for
// a transport failure while writing or reading.
func (w *h3Worker) failed(ctx context.Context, c *h3Conn, str *quic.Stream, start int64, retries int, err error, class errClass) bool {
	st := w.d.st
	now := st.now()
	if ctx.Err() != nil {
		return false // the run is over: nothing to record
	}
	var he *h3Error
	var se *quic.StreamError
	switch {
	case errors.As(err, &he):
		str.CancelRead(quic.StreamErrorCode(he.code))
		str.CancelWrite(quic.StreamErrorCode(he.code))
		w.rec.failure(now, errProtocol)
		if he.conn {
			c.fail(he)
			return false
		}
		return true
	case errors.Is(err, os.ErrDeadlineExceeded):
		// A stalled stream: abandoned, its latency kept, and the
		// connection replaced once its other streams are done
		// (docs/hostile-servers.md row 12).
		str.CancelRead(h3RequestCancelled)
		str.CancelWrite(h3RequestCancelled)
		w.rec.timedOut(start, now)
		c.stop.Store(true)
		return false
	case errors.As(err, &se) && se.Remote:
		w.rec.resets.Add(1)
		if se.ErrorCode == h3RequestRejected && retries < h3MaxRetries {
			// Not processed by the server (RFC 9114 8.1): sent again,
			// on a new connection, since a server that rejects
			// requests is usually going away (5.2).
			w.retry(start, now, retries)
			c.stop.Store(true)
			return false
		}
		str.CancelWrite(h3RequestCancelled)
		w.rec.failure(now, errProtocol)
		return true
	}
	// The connection ended. A GOAWAY sent before it says which streams
	// the server never processed (RFC 9114 5.2). A connection the server
	// had already forgotten (its idle timeout passed, and it answered
	// with a stateless reset, RFC 9000 10.3), or that we found idle,
	// before any byte of the response: sent again once, as HTTP/1.1
	// does on a kept-alive connection closed before any response byte.
	c.stop.Store(true)
	<-c.ctlDone
	unprocessed := uint64(str.StreamID()) >= c.goaway.Load() && retries < h3MaxRetries
	if unprocessed || (retries == 0 && w.f.hi == 0 && forgotten(err)) {
		w.retry(start, now, retries)
		return false
	}
	if c.protoErr.Load() {
		class = errProtocol
	}
	w.rec.failure(now, class)
	return false
}

// forgotten reports whether err ended a connection that the server had
// forgotten, or that went idle.
func forgotten(err error) bool {
	var sr *quic.StatelessResetError
	var it *quic.IdleTimeoutError
	return errors.As(err, &sr) || errors.As(err, &it)
}

// retry keeps a request, sent retries times before, to send again on the
// next stream.
func (w *h3Worker) retry(start, now int64, retries int) {
	w.rec.retry(now)
	w.pending, w.retries = start, retries+1
}

// h3MaxRetries bounds how often a request the server provably did not
// process (rejected, or above a GOAWAY's ID) is sent again. Resending it is
// always safe; the bound only keeps a server that rejects every request
// from being asked forever. More than one is needed: a retried request may
// land above the next connection's GOAWAY too when that connection is
// short-lived.
const h3MaxRetries = 3
