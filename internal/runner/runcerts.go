package runner

// This file is the minimum the h3 rows need: a CA and a server certificate
// made for the run. It is kept apart so that the per-run CA package of the
// TLS rows (h1s, h2) can replace it whole; the runner uses only runCerts's
// fields and remove.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// runCerts is a throwaway CA and a server certificate signed by it, written
// to a private directory for servers to read (TLS_CERT, TLS_KEY).
type runCerts struct {
	dir  string         // holds cert.pem and key.pem; removed by remove
	cert string         // PEM: the server certificate, then the CA's
	key  string         // PEM: the server's private key
	pool *x509.CertPool // the CA, for the load generator and the prober
}

// newRunCerts makes a CA and a certificate for localhost, the loopback
// addresses and the extra hosts (a remote target), valid for a day.
func newRunCerts(hosts ...string) (*runCerts, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("runner: CA key: %w", err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "matrix run CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("runner: CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("runner: CA certificate: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("runner: server key: %w", err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano() + 1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			leaf.IPAddresses = append(leaf.IPAddresses, ip)
		} else if h != "" {
			leaf.DNSNames = append(leaf.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("runner: server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("runner: server key: %w", err)
	}
	dir, err := os.MkdirTemp("", "matrix-certs-")
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	c := &runCerts{dir: dir, cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool()}
	c.pool.AddCert(caCert)
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	if err := os.WriteFile(c.cert, chain, 0o644); err != nil {
		c.remove()
		return nil, fmt.Errorf("runner: %w", err)
	}
	// The server reads the key as whatever user its image names (the Go
	// servers' images run as nobody), which the runner cannot know: the
	// directory is traversable but not listable, and the files readable.
	// The key and its CA are the run's own, trusted by nothing but this
	// run's load generator and prober, and removed when the run ends.
	if err := os.Chmod(dir, 0o711); err != nil {
		c.remove()
		return nil, fmt.Errorf("runner: %w", err)
	}
	if err := os.WriteFile(c.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o644); err != nil {
		c.remove()
		return nil, fmt.Errorf("runner: %w", err)
	}
	return c, nil
}

// remove deletes the directory of the certificate and key.
func (c *runCerts) remove() {
	if c != nil {
		os.RemoveAll(c.dir)
	}
}
