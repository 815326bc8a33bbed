package tlscert

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/matrixbench/matrix/loadgen"
)

// Each Make issues a new CA and a new server key, verifiable for every
// host asked for, with the key readable by its owner only.
func TestMakeFreshAndVerified(t *testing.T) {
	a, err := Make(t.TempDir(), Options{Hosts: []string{"bench.example", "10.0.0.7"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Make(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint == b.Fingerprint || len(a.Fingerprint) != 64 {
		t.Errorf("fingerprints %q and %q: want two different SHA-256s", a.Fingerprint, b.Fingerprint)
	}
	pairA, err := tls.LoadX509KeyPair(a.CertPath, a.KeyPath)
	if err != nil {
		t.Fatal(err)
	}
	pairB, err := tls.LoadX509KeyPair(b.CertPath, b.KeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if pairA.PrivateKey.(*ecdsa.PrivateKey).Equal(pairB.PrivateKey) {
		t.Error("two runs share a server key")
	}
	leaf, err := x509.ParseCertificate(pairA.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "localhost", "bench.example", "10.0.0.7"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: a.Pool}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: b.Pool}); err == nil {
		t.Error("run a's certificate verifies against run b's CA")
	}
	pool, err := LoadPool(a.CAPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: pool}); err != nil {
		t.Errorf("verify against the CA file: %v", err)
	}
	for path, want := range map[string]os.FileMode{a.Dir: 0o700 | os.ModeDir, a.KeyPath: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode(), err, want)
		}
	}
	if err := a.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a.Dir); !os.IsNotExist(err) {
		t.Errorf("after Remove, %s: %v", a.Dir, err)
	}
}

func TestLoadPoolRefusesNonPEM(t *testing.T) {
	s, err := Make(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPool(s.KeyPath); err == nil {
		t.Error("a key file loaded as a CA pool")
	}
}

// serve serves HTTPS on addr with s's files until the test ends and
// returns the URL.
func serve(t *testing.T, s *Set, addr string) string {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(s.CertPath, s.KeyPath)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "Hello, World!")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String() + "/"
}

// The load generator measures a server whose certificate the run's CA
// issued for the host it dials, and refuses, as tls errors, an expired
// certificate and one issued for another host.
func TestLoadgenVerifies(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		opts Options
		addr string
		ok   bool
	}{
		{"valid", Options{}, "127.0.0.1:0", true},
		{"expired", Options{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}, "127.0.0.1:0", false},
		// 127.0.0.2 is loopback too (127/8) but not in the certificate.
		{"wrong host", Options{Hosts: []string{"bench.example"}}, "127.0.0.2:0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Make(t.TempDir(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			url := serve(t, s, tc.addr)
			res, err := loadgen.Run(context.Background(), loadgen.Config{
				URL: url, Protocol: loadgen.ProtocolH1, Connections: 1, RootCAs: s.Pool,
				Duration: 300 * time.Millisecond, Timeout: time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			tlsErrs := res.ErrorsByClass[loadgen.ClassTLS]
			if tc.ok && (res.Requests == 0 || res.Errors != 0) {
				t.Errorf("successes %d, errors %v; want successes only", res.Requests, res.ErrorsByClass)
			}
			if !tc.ok && (res.Requests != 0 || tlsErrs == 0 || tlsErrs != res.Errors) {
				t.Errorf("successes %d, errors %v; want tls errors only", res.Requests, res.ErrorsByClass)
			}
		})
	}
}

// Make refuses a validity that ends before it starts, and leaves nothing
// behind.
func TestMakeBadValidity(t *testing.T) {
	now := time.Now()
	parent := t.TempDir()
	if _, err := Make(parent, Options{NotBefore: now, NotAfter: now.Add(-time.Second)}); err == nil {
		t.Error("NotAfter before NotBefore accepted")
	}
	if ents, err := os.ReadDir(parent); err != nil || len(ents) != 0 {
		t.Errorf("left behind: %v (%v)", ents, err)
	}
}
