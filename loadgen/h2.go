package loadgen

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// HTTP/2 client parameters.
const (
	// h2ReadBuf is the read buffer of one connection. One read system call
	// fills it with as many frames as the kernel has, often the responses
	// of every stream in flight. It must hold a whole frame of our
	// SETTINGS_MAX_FRAME_SIZE (the default, 16384) plus its header.
	h2ReadBuf = 64 << 10
	// h2WriteBuf is the write buffer: the requests issued while one read
	// batch is processed leave in one write system call.
	h2WriteBuf = 32 << 10
	// h2MaxFrame is the SETTINGS_MAX_FRAME_SIZE we accept: the default,
	// so it is not announced (RFC 9113 6.5.2).
	h2MaxFrame = 16384
	// h2StreamWindow is the SETTINGS_INITIAL_WINDOW_SIZE we announce and
	// h2ConnWindow our connection receive window (RFC 9113 6.9.2). Bodies
	// are discarded as they arrive, so large windows cost no memory; they
	// let the server send without waiting for credit, and credit is
	// returned once half a window has been consumed, so WINDOW_UPDATE
	// frames stay rare.
	h2StreamWindow = 1 << 20
	h2ConnWindow   = 1 << 24
	// h2MaxHeaderBlock bounds a response header block and its
	// CONTINUATION frames.
	h2MaxHeaderBlock = 256 << 10
	// h2MaxStreamID is the largest client stream id (RFC 9113 5.1.1).
	h2MaxStreamID = 1<<31 - 1
)

// h2Driver is the HTTP/2 client (RFC 9113): h2c with prior knowledge for
// http:// URLs (3.3) and h2 negotiated by ALPN for https:// URLs (3.2).
//
// Each connection slot is one goroutine that does everything for its
// connection: it writes requests, reads and parses frames, records each
// response and issues the next request from the same loop. Writes are
// buffered and flushed once per read batch, so one write system call
// carries many requests and one read many responses, and no request ever
// crosses a goroutine boundary.
type h2Driver struct {
	st      *runState
	block   []byte // request header block, encoded once (h2RequestBlock)
	static  *hpStatic
	proto   Protocol
	streams int   // streams wanted per connection, before the server's limit
	timeout int64 // per-request timeout in nanoseconds
	encErr  error // the request could not be encoded; every slot reports it
}

func newH2Driver(st *runState) *h2Driver {
	d := &h2Driver{
		st:      st,
		proto:   ProtocolH2C,
		streams: max(st.cfg.Streams, 1),
		timeout: int64(st.cfg.timeout()),
		static:  newHPStatic(),
	}
	if st.target.tls {
		d.proto = ProtocolH2
	}
	d.block, d.encErr = h2RequestBlock(st.cfg, st.target)
	return d
}

// drive runs one connection slot: dial, serve the connection until it ends,
// dial again, until ctx is done.
func (d *h2Driver) drive(ctx context.Context, st *runState, rec *recorder) {
	if d.encErr != nil {
		st.abort(d.encErr.Error())
		return
	}
	c := newH2Conn(d, rec)
	// One watcher for the slot's life, not one per connection: a server
	// that sends GOAWAY every few hundred streams makes the slot dial
	// many times a second, and each registration allocates.
	defer context.AfterFunc(ctx, c.closer.closeNow)()
	var bo backoff
	// Only h2 is offered: a server that declines it was told apart by
	// selectDriver's probe before the run started.
	alpn := []string{"h2"}
	for ctx.Err() == nil {
		nc, err := st.dials.dial(ctx, rec, &bo, alpn)
		if err != nil {
			continue // recorded by dial; it backs off or ctx is done
		}
		if err := d.checkALPN(nc); err != nil {
			nc.Close()
			rec.failure(st.now(), errConnect)
			bo.connectionLost()
			continue
		}
		// A connection that completes nothing makes the next dial back
		// off, so that a server which accepts and drops every
		// connection is not re-dialled in a hot loop (docs/hostile-servers.md
		// rows 4 and 8).
		if c.serve(ctx, nc) {
			bo.connectionOK()
		} else {
			bo.connectionLost()
		}
	}
}

// checkALPN verifies that a TLS connection negotiated h2 (RFC 9113 3.2).
func (d *h2Driver) checkALPN(nc net.Conn) error {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return nil
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		return fmt.Errorf("loadgen: server negotiated %q instead of h2", p)
	}
	return nil
}
