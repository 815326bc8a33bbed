package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/quicvarint"
)

// h3ALPN is the ALPN token of HTTP/3 (RFC 9114 3.1).
const h3ALPN = "h3"

// h3Driver is the HTTP/3 client (RFC 9114) on quic-go's QUIC transport.
// quic-go carries the streams; the HTTP/3 framing and QPACK are written
// here (h3frames.go, h3qpack.go), because the request is the same bytes on
// every stream and the response needs only its status and length.
//
// Connection slots share UDP sockets (quic.Transport), a few slots to a
// socket (h3ConnsPerSocket); each slot runs one goroutine per
// stream (Config.Streams): each sends a request, reads its response to the
// end of the stream, records it and sends the next. Waiting for stream
// credit (RFC 9000 4.6) is quic-go's OpenStreamSync.
type h3Driver struct {
	st       *runState
	req      []byte // the request's frames, built once (h3Request)
	settings []byte // our control stream's preface: type and SETTINGS
	addr     *net.UDPAddr
	addrErr  error
	streams  int
	timeout  time.Duration
	tlsConf  *tls.Config
	quicConf *quic.Config

	sockMu  sync.Mutex
	sockets []*h3Socket // by slot / h3ConnsPerSocket
	slots   atomic.Int64
}

func newH3Driver(st *runState) *h3Driver {
	d := &h3Driver{
		st:      st,
		req:     h3Request(st.cfg, st.target),
		streams: max(st.cfg.Streams, 1),
		timeout: st.cfg.timeout(),
		sockets: make([]*h3Socket, (st.cfg.Connections+h3ConnsPerSocket-1)/h3ConnsPerSocket),
	}
	d.addr, d.addrErr = net.ResolveUDPAddr("udp", st.target.addr)
	d.tlsConf, d.quicConf = h3Configs(st.cfg, st.target)
	// The control stream (RFC 9114 6.2.1) opens with SETTINGS (7.2.4):
	// the QPACK table capacity and blocked streams stay at their default
	// 0 (RFC 9204 5), so only the field section limit is announced.
	var s []byte
	s = quicvarint.Append(s, h3SettingMaxField)
	s = quicvarint.Append(s, h3MaxFieldSection)
	d.settings = quicvarint.Append(nil, h3StreamControl)
	d.settings = appendH3Frame(d.settings, h3FrameSettings, len(s))
	d.settings = append(d.settings, s...)
	return d
}

// h3Configs returns the TLS and QUIC configurations of a run's connections.
// 0-RTT is off: there is no session cache, and connections are dialled with
// quic.Dial, not DialEarly, so every request is sent after a full handshake
// (0-RTT requests could be replayed, RFC 9114 10.9).
func h3Configs(cfg *Config, tg *target) (*tls.Config, *quic.Config) {
	tc := &tls.Config{
		ServerName:         tg.url.Hostname(),
		NextProtos:         []string{h3ALPN},
		InsecureSkipVerify: cfg.InsecureSkipVerify,
		RootCAs:            cfg.RootCAs,
	}
	qc := &quic.Config{
		HandshakeIdleTimeout: cfg.timeout(),
		// The server opens three unidirectional streams (control and
		// QPACK's two, RFC 9114 6.2); a few more are tolerated and
		// ignored. It may open no request streams (6.1).
		MaxIncomingStreams:    -1,
		MaxIncomingUniStreams: 8,
		// Windows large enough that a 64 KiB response never waits for
		// credit; bodies are discarded as they arrive.
		InitialStreamReceiveWindow:     1 << 20,
		InitialConnectionReceiveWindow: 4 << 20,
	}
	return tc, qc
}

// drive runs one connection slot: dial, serve the connection until it ends,
// dial again, until ctx is done.
func (d *h3Driver) drive(ctx context.Context, st *runState, rec *recorder) {
	if d.addrErr != nil {
		st.abort(fmt.Sprintf("resolve %s: %v", st.target.addr, d.addrErr))
		return
	}
	slot := int(d.slots.Add(1) - 1)
	sock, err := d.transport(slot)
	if err != nil {
		st.abort(fmt.Sprintf("UDP socket: %v", err))
		return
	}
	defer d.release(slot)
	tr := sock.tr
	s := newH3Slot(d, rec)
	var bo backoff
	for ctx.Err() == nil {
		qc, err := d.dial(ctx, tr, rec, &bo)
		if err != nil {
			continue // recorded by dialed; it backs off or ctx is done
		}
		if s.serve(ctx, qc) {
			bo.connectionOK()
		} else {
			bo.connectionLost()
		}
	}
}

// h3ConnsPerSocket is how many connection slots share one UDP socket (a
// quic.Transport). Sharing lets one receive system call carry packets of
// several connections (quic-go reads in batches), which cut the client's CPU
// per request by about a fifth on loopback; a socket per few connections
// keeps source ports varied, so that a server spreading connections over
// SO_REUSEPORT sockets by their 4-tuple still sees them spread.
const h3ConnsPerSocket = 8

// h3Socket is one shared UDP socket and its QUIC transport.
type h3Socket struct {
	udp   *net.UDPConn
	tr    *quic.Transport
	users int
}

// transport returns the QUIC transport of slot i's socket, opening it for
// the first of its slots.
func (d *h3Driver) transport(i int) (*h3Socket, error) {
	d.sockMu.Lock()
	defer d.sockMu.Unlock()
	s := d.sockets[i/h3ConnsPerSocket]
	if s == nil {
		udp, err := net.ListenUDP("udp", nil)
		if err != nil {
			return nil, err
		}
		s = &h3Socket{udp: udp, tr: &quic.Transport{Conn: udp}}
		d.sockets[i/h3ConnsPerSocket] = s
	}
	s.users++
	return s, nil
}

// release closes a socket after its last slot is done with it.
func (d *h3Driver) release(i int) {
	d.sockMu.Lock()
	defer d.sockMu.Unlock()
	s := d.sockets[i/h3ConnsPerSocket]
	if s.users--; s.users == 0 {
		s.tr.Close()
		s.udp.Close()
		d.sockets[i/h3ConnsPerSocket] = nil
	}
}

// dial opens one QUIC connection on tr, completing its handshake, and
// checks that it speaks HTTP/3.
func (d *h3Driver) dial(ctx context.Context, tr *quic.Transport, rec *recorder, bo *backoff) (*quic.Conn, error) {
	dl := d.st.dials
	if err := dl.await(ctx, bo); err != nil {
		return nil, err
	}
	hctx, cancel := context.WithTimeout(ctx, d.timeout)
	qc, err := tr.Dial(hctx, d.addr, d.tlsConf, d.quicConf)
	cancel()
	if err == nil {
		if p := qc.ConnectionState().TLS.NegotiatedProtocol; p != h3ALPN {
			qc.CloseWithError(h3GeneralProtocolError, "")
			err = fmt.Errorf("loadgen: server negotiated ALPN %q instead of h3", p)
		}
	}
	if err := dl.dialed(ctx, rec, bo, h3DialClass(err), err); err != nil {
		return nil, err
	}
	d.st.noteQUIC(qc)
	return qc, nil
}

// h3Info is what an HTTP/3 connection negotiated, kept for the Result.
type h3Info struct {
	version string
}

// h3DialClass is the error class of a failed QUIC dial: tls when the
// handshake failed on a TLS alert (RFC 9001 4.8: QUIC carries TLS alerts as
// CRYPTO_ERROR codes 0x100-0x1ff, for example a certificate the run's CA
// does not verify), connect otherwise.
func h3DialClass(err error) errClass {
	var te *quic.TransportError
	if errors.As(err, &te) && te.ErrorCode.IsCryptoError() {
		return errTLS
	}
	return errConnect
}

// noteQUIC records the QUIC version and ALPN protocol of a connection.
func (st *runState) noteQUIC(qc *quic.Conn) {
	if st.quicInfo.Load() != nil {
		return
	}
	cs := qc.ConnectionState()
	st.quicInfo.Store(h3Info{version: cs.Version.String()})
	st.tlsInfo.CompareAndSwap(nil, tlsInfoOf(cs.TLS))
	st.negotiated.Store(ProtocolH3)
}

// reachableH3 completes one QUIC handshake with the target.
func reachableH3(ctx context.Context, cfg *Config, tg *target) error {
	tc, qconf := h3Configs(cfg, tg)
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout())
	defer cancel()
	qc, err := quic.DialAddr(ctx, tg.addr, tc, qconf)
	if err != nil {
		return fmt.Errorf("loadgen: QUIC handshake with %s: %w", tg.addr, err)
	}
	return qc.CloseWithError(h3NoError, "")
}
