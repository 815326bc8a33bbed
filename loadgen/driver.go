package loadgen

import (
	"context"
	"crypto/tls"
	"fmt"
)

// selectDriver picks the protocol client for a run. For https URLs with no
// protocol named, one probe connection asks the server by ALPN (RFC 7301)
// which protocol it speaks, so every connection of the run speaks the same.
func selectDriver(ctx context.Context, st *runState) (driver, error) {
	switch st.cfg.Protocol {
	case ProtocolH1:
		return newH1Driver(st), nil
	case ProtocolH2C:
		return newH2Driver(st), nil
	case ProtocolH3:
		return newH3Driver(st), nil
	case ProtocolH2:
		// A server that declines h2 by ALPN is measured in the protocol it
		// chose, and the Result says so (Protocol, ProtocolMismatch). If
		// the probe fails, the h2 driver records the connect errors.
		if proto, err := st.dials.probeALPN(ctx); err == nil && proto != "h2" {
			st.negotiated.Store(ProtocolH1)
			return newH1Driver(st), nil
		}
		return newH2Driver(st), nil
	}
	if !st.target.tls {
		return newH1Driver(st), nil
	}
	proto, err := st.dials.probeALPN(ctx)
	if err != nil {
		// The server may come up later; the HTTP/1.1 driver will record
		// the connect errors.
		return newH1Driver(st), nil
	}
	if proto == "h2" {
		return newH2Driver(st), nil
	}
	return newH1Driver(st), nil
}

// probeALPN opens one TLS connection offering h2 and http/1.1 and returns
// the protocol the server selected.
func (d *dialer) probeALPN(ctx context.Context) (string, error) {
	c, err := d.nd.DialContext(ctx, "tcp", d.st.target.addr)
	if err != nil {
		return "", fmt.Errorf("loadgen: probe %s: %w", d.st.target.addr, err)
	}
	tc, err := d.handshake(ctx, c, []string{"h2", "http/1.1"})
	if err != nil {
		return "", fmt.Errorf("loadgen: TLS probe %s: %w", d.st.target.addr, err)
	}
	defer tc.Close()
	return tc.(*tls.Conn).ConnectionState().NegotiatedProtocol, nil
}
