package loadgen

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// target is the parsed destination of a run.
type target struct {
	url       *url.URL
	addr      string // host:port to dial
	authority string // Host header / :authority
	path      string // request-target in origin-form (RFC 9112 3.2.1)
	tls       bool
}

func newTarget(cfg *Config) (*target, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("loadgen: URL %q: %w", cfg.URL, err)
	}
	t := &target{url: u, authority: u.Host, tls: u.Scheme == "https"}
	port := u.Port()
	if port == "" {
		port = "80"
		if t.tls {
			port = "443"
		}
	}
	t.addr = net.JoinHostPort(u.Hostname(), port)
	t.path = u.RequestURI()
	return t, nil
}

// Backoff bounds for re-dialling after a failed dial: jittered exponential
// per slot, and a floor on the spacing of failing dials across the whole run
// so that a dead server never sees a hot loop of connects.
const (
	backoffMin       = 10 * time.Millisecond
	backoffMax       = time.Second
	failedDialSpread = 5 * time.Millisecond // at most 200 failing dials/s in total
	// neverConnectedAfter ends a run whose every dial has failed for this long.
	neverConnectedAfter = 5 * time.Second
)

// dialer opens connections for every slot of a run and paces re-dials.
type dialer struct {
	st        *runState
	nd        net.Dialer
	raw       *rawDialer // plain TCP to a literal address (dialraw.go), or nil
	tlsConfig *tls.Config

	everConnected atomic.Bool
	// nextFailedDial is the earliest offset (from runState.now) at which a
	// dial following a failure may start; it spaces failing dials globally.
	nextFailedDial atomic.Int64
}

func newDialer(st *runState) *dialer {
	d := &dialer{st: st, nd: net.Dialer{Timeout: st.cfg.timeout(), KeepAlive: -1}}
	if st.target.tls {
		d.tlsConfig = &tls.Config{
			ServerName:         st.target.url.Hostname(),
			RootCAs:            st.cfg.RootCAs,
			InsecureSkipVerify: st.cfg.InsecureSkipVerify,
		}
	}
	if !st.target.tls {
		// Plain TCP to a literal address dials raw (dialraw.go); a
		// name, and TLS, go through net.Dialer. (A dial pending for a
		// whole window with no error, as seen in the Docker matrix, was
		// the host's connection-tracking table dropping SYNs, which
		// stalls net.Dialer alike: see docs/runtime.md.)
		d.raw = newRawDialer(st.target.addr, st.cfg.timeout())
	}
	return d
}

// backoff is one slot's dial state.
type backoff struct {
	failures int  // consecutive failed dials
	dialled  bool // the slot has opened a connection before
	// lost counts consecutive connections that died before completing any
	// response. A server that accepts and then drops every connection
	// would otherwise be re-dialled in a hot loop, since each dial itself
	// succeeds. Drivers call connectionLost and connectionOK.
	lost int
}

// connectionLost records that a connection died before completing any
// response, so that the next dial waits out a backoff.
func (bo *backoff) connectionLost() { bo.lost++ }

// connectionOK records that a connection completed a response, which ends
// any backoff caused by lost connections.
func (bo *backoff) connectionOK() { bo.lost = 0 }

// pending returns the number of consecutive failures the next dial must
// back off for.
func (bo *backoff) pending() int { return bo.failures + bo.lost }

// dial opens a connection for one slot, first waiting out the slot's
// backoff if its previous dial failed. It returns the connection (TLS-wrapped
// for https URLs with the ALPN protocols given), or an error after recording
// the failure as a connect error. It returns ctx.Err() once the run is over.
func (d *dialer) dial(ctx context.Context, rec *recorder, bo *backoff, alpn []string) (net.Conn, error) {
	if err := d.await(ctx, bo); err != nil {
		return nil, err
	}
	class := errConnect
	var c net.Conn
	var err error
	if d.raw != nil {
		c, err = d.raw.dial(ctx)
	} else {
		c, err = d.nd.DialContext(ctx, "tcp", d.st.target.addr)
	}
	if err == nil && d.tlsConfig != nil {
		class = errTLS
		c, err = d.handshake(ctx, c, alpn)
	}
	if err := d.dialed(ctx, rec, bo, class, err); err != nil {
		return nil, err
	}
	return c, nil
}

// await waits out the slot's backoff before a dial, if its previous dial
// or connection failed.
func (d *dialer) await(ctx context.Context, bo *backoff) error {
	if bo.pending() > 0 {
		return d.wait(ctx, bo)
	}
	return nil
}

// dialed accounts for the outcome err of one dial by any transport: a
// failure is recorded in class (and may end a run that never
// connected), a success counts as a dial and perhaps a reconnect. It
// returns ctx.Err() once the run is over, err for a failed dial.
func (d *dialer) dialed(ctx context.Context, rec *recorder, bo *backoff, class errClass, err error) error {
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		bo.failures++
		rec.failure(d.st.now(), class)
		if limit := d.st.neverConnectedAfter; !d.everConnected.Load() && d.st.now() > int64(limit) {
			d.st.abort(fmt.Sprintf("no connection could be opened in %v: %v", limit, err))
		}
		return err
	}
	bo.failures = 0
	d.everConnected.Store(true)
	// Dials after the measured window (while the run winds down) are
	// not counted, so that the counts match the requests they served.
	if d.st.phaseAt(d.st.now()) != phaseDone {
		rec.dials.Add(1)
		if bo.dialled {
			rec.reconnects.Add(1)
		}
	}
	bo.dialled = true
	return nil
}

// handshake runs the TLS handshake on c, offering alpn, and records what
// the first successful handshake of the run negotiated.
func (d *dialer) handshake(ctx context.Context, c net.Conn, alpn []string) (net.Conn, error) {
	cfg := d.tlsConfig.Clone()
	cfg.NextProtos = alpn
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if d.st.tlsInfo.Load() == nil {
		d.st.tlsInfo.CompareAndSwap(nil, tlsInfoOf(tc.ConnectionState()))
	}
	return tc, nil
}

// wait sleeps for the slot's jittered exponential backoff, and at least
// until the run-wide spacing of failing dials allows another.
func (d *dialer) wait(ctx context.Context, bo *backoff) error {
	exp := backoffMin << min(bo.pending()-1, 10)
	exp = min(exp, backoffMax)
	delay := exp/2 + rand.N(exp/2+1) // "equal jitter"
	now := d.st.now()
	for {
		next := d.nextFailedDial.Load()
		at := max(next, now+int64(delay))
		if d.nextFailedDial.CompareAndSwap(next, at+int64(failedDialSpread)) {
			delay = time.Duration(at - now)
			break
		}
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Reachable opens one connection to cfg.URL (completing the TLS handshake
// for https URLs, the QUIC handshake for HTTP/3), closes it, and reports why it could not. It lets a caller
// tell an unreachable target, a mistake to report at once, from a failing
// server, which Run measures.
func Reachable(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	tg, err := newTarget(&cfg)
	if err != nil {
		return err
	}
	if cfg.Protocol == ProtocolH3 {
		return reachableH3(ctx, &cfg, tg)
	}
	d := newDialer(&runState{cfg: &cfg, target: tg, base: time.Now()})
	c, err := d.nd.DialContext(ctx, "tcp", tg.addr)
	if err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	if d.tlsConfig != nil {
		if c, err = d.handshake(ctx, c, []string{"h2", "http/1.1"}); err != nil {
			return fmt.Errorf("loadgen: TLS handshake with %s: %w", tg.addr, err)
		}
	}
	return c.Close()
}

// connCloser closes a slot's current connection when the run ends, from the
// goroutine of context.AfterFunc, so that a read or write in progress
// returns. A slot registers it once and holds each connection it dials.
type connCloser struct {
	mu     sync.Mutex
	nc     net.Conn
	closed bool // the run has ended: no connection may be held
}

// hold makes nc the connection to close; it reports false when the run has
// already ended, and the caller must close nc itself.
func (cc *connCloser) hold(nc net.Conn) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.closed {
		return false
	}
	cc.nc = nc
	return true
}

// release forgets the held connection. It returns after a close in
// progress has finished.
func (cc *connCloser) release() {
	cc.mu.Lock()
	cc.nc = nil
	cc.mu.Unlock()
}

// closeNow closes the held connection and refuses any later one.
func (cc *connCloser) closeNow() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.closed = true
	if cc.nc != nil {
		cc.nc.Close()
	}
}
