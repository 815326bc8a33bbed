package runner

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/matrixbench/matrix/internal/runtime"
)

// TestRunCerts: the certificate verifies against the run's CA for the
// loopback, localhost and the target host; withTLS passes it to a server
// without touching the spec it was given; remove deletes it.
func TestRunCerts(t *testing.T) {
	c, err := newRunCerts("bench.example")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		t.Fatalf("the server could not load its certificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"127.0.0.1", "::1", "localhost", "bench.example"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: c.pool, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: x509.NewCertPool(), DNSName: "localhost"}); err == nil {
		t.Errorf("verified without the run's CA")
	}

	orig := runtime.Spec{Env: map[string]string{"A": "1"}, Mounts: []string{"/x"}}
	spec := withTLS(orig, c)
	if spec.Env["TLS_CERT"] != c.cert || spec.Env["TLS_KEY"] != c.key || spec.Env["A"] != "1" {
		t.Errorf("env %v", spec.Env)
	}
	if len(spec.Mounts) != 2 || spec.Mounts[1] != c.dir {
		t.Errorf("mounts %v", spec.Mounts)
	}
	if _, ok := orig.Env["TLS_CERT"]; ok || len(orig.Mounts) != 1 {
		t.Errorf("withTLS changed the spec it was given: %+v", orig)
	}

	c.remove()
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", c.dir, err)
	}
}
