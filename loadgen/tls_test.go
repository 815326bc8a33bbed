package loadgen

import (
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// startTLS starts a TLS test server (its certificate is valid for
// 127.0.0.1) offering h2 or only HTTP/1.1, and returns it with a pool that
// holds its certificate.
func startTLS(t *testing.T, h2 bool) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	srv.EnableHTTP2 = h2
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, pool
}

// A run verifies the server's chain against RootCAs and records what the
// handshake negotiated.
func TestTLSVerifiedRecordsHandshake(t *testing.T) {
	for _, tc := range []struct {
		proto    Protocol
		h2       bool
		wantALPN string
	}{
		{ProtocolH1, false, "http/1.1"},
		{ProtocolH2, true, "h2"},
	} {
		t.Run(string(tc.proto), func(t *testing.T) {
			srv, pool := startTLS(t, tc.h2)
			res := runH2(t, srv.URL, func(c *Config) {
				c.Protocol, c.RootCAs, c.Streams, c.Duration = tc.proto, pool, 1, 300*time.Millisecond
			})
			if res.Requests == 0 || res.Errors != 0 {
				t.Fatalf("successes %d, errors %v", res.Requests, res.ErrorsByClass)
			}
			if res.TLS == nil || res.TLS.ALPN != tc.wantALPN || res.TLS.Version != "TLS 1.3" || res.TLS.CipherSuite == "" {
				t.Errorf("tls %+v, want TLS 1.3, a cipher suite and ALPN %q", res.TLS, tc.wantALPN)
			}
		})
	}
}

// A server whose certificate does not chain to RootCAs is never measured:
// every dial fails as a tls error, not a connect error, and no request
// counts as a success.
func TestTLSUnknownAuthority(t *testing.T) {
	srv, _ := startTLS(t, false)
	// An empty pool: no authority is trusted. (Every httptest server has
	// the same certificate, so another server's pool would verify.)
	res := mustRun(t, Config{
		URL: srv.URL, Protocol: ProtocolH1, Connections: 1, RootCAs: x509.NewCertPool(),
		Duration: 300 * time.Millisecond, Timeout: time.Second,
	}, 200*time.Millisecond)
	checkConsistent(t, res)
	if res.Requests != 0 || res.ErrorsByClass[ClassTLS] == 0 || res.ErrorsByClass[ClassConnect] != 0 {
		t.Errorf("successes %d, errors %v; want only tls errors", res.Requests, res.ErrorsByClass)
	}
	if res.TLS != nil {
		t.Errorf("tls %+v recorded without a completed handshake", res.TLS)
	}
}

// InsecureSkipVerify (matrix load --insecure) measures a server whose
// chain does not verify.
func TestTLSInsecure(t *testing.T) {
	srv, _ := startTLS(t, false)
	res := runH2(t, srv.URL, func(c *Config) {
		c.Protocol, c.InsecureSkipVerify, c.Streams, c.Duration = ProtocolH1, true, 1, 300*time.Millisecond
	})
	if res.Requests == 0 || res.Errors != 0 {
		t.Errorf("successes %d, errors %v", res.Requests, res.ErrorsByClass)
	}
}
