// Package tlscert makes the certificates of one benchmark run: a fresh
// certificate authority and a server certificate it signs for the hosts the
// load generator connects to, written as PEM files into a private directory.
//
// A run never reuses a key: every Make creates a new CA key and a new server
// key, so a key that outlives its run (a crashed runner) signs nothing the
// next run trusts. The CA's private key never touches the disk; the server
// key is written with mode 0600 into a directory of mode 0700, so that no
// other user of the machine can read it.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names inside a Set's directory.
const (
	CAFile   = "ca.pem"   // the CA certificate (public)
	CertFile = "cert.pem" // the server certificate (public)
	KeyFile  = "key.pem"  // the server's private key, PKCS #8 (mode 0600)
)

// DefaultValidity is how long the certificates of a run are valid: longer
// than any run, short enough that a leaked key soon signs nothing useful.
const DefaultValidity = 7 * 24 * time.Hour

// clockSkew backdates NotBefore so that a server or client whose clock is a
// little behind the runner's (a container, a remote engine) accepts the
// certificate at once.
const clockSkew = time.Hour

// Options say what Make issues.
type Options struct {
	// Hosts are the names and addresses the server certificate is valid
	// for (its subjectAltName, RFC 5280 4.2.1.6). 127.0.0.1 and localhost
	// are always added.
	Hosts []string
	// NotBefore and NotAfter bound the server certificate's validity; zero
	// means from now (less an hour of clock skew) for DefaultValidity.
	// Tests set them to make an expired certificate.
	NotBefore, NotAfter time.Time
}

// Set is the certificates of one run, on disk.
type Set struct {
	// Dir is the private directory (mode 0700) that holds the files.
	Dir string
	// CAPath, CertPath and KeyPath are the files' absolute paths.
	CAPath, CertPath, KeyPath string
	// CA is the authority's certificate; Pool holds only it, for a client
	// that verifies the server (crypto/tls RootCAs).
	CA   *x509.Certificate
	Pool *x509.CertPool
	// Fingerprint is the lowercase hex SHA-256 of the CA certificate's DER
	// encoding, recorded with the results so that a measurement names the
	// CA it verified against.
	Fingerprint string
	// Hosts are the server certificate's subjectAltNames.
	Hosts []string
}

// Make creates a new private directory under parent (the system's temporary
// directory when empty), a fresh CA and a server certificate for
// opts.Hosts, and writes them there. Remove deletes them.
func Make(parent string, opts Options) (*Set, error) {
	dir, err := os.MkdirTemp(parent, "matrix-tls-")
	if err != nil {
		return nil, fmt.Errorf("tlscert: %w", err)
	}
	// MkdirTemp makes the directory 0700; say so explicitly, since the
	// key's privacy rests on it as much as on the key's own mode.
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("tlscert: %w", err)
	}
	s, err := write(dir, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// Remove deletes the set's directory and everything in it.
func (s *Set) Remove() error {
	if s == nil || s.Dir == "" {
		return nil
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		return fmt.Errorf("tlscert: %w", err)
	}
	return nil
}

// RootPool returns the pool that trusts the set's CA; nil for a nil set, so
// that a client made without a set trusts the system's roots.
func (s *Set) RootPool() *x509.CertPool {
	if s == nil {
		return nil
	}
	return s.Pool
}

// write issues the certificates and writes them into dir.
func write(dir string, opts Options) (*Set, error) {
	hosts := sans(opts.Hosts)
	caKey, caCert, err := newCA()
	if err != nil {
		return nil, err
	}
	leafDER, leafKey, err := newLeaf(caCert, caKey, hosts, opts)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		return nil, fmt.Errorf("tlscert: encoding the server key: %w", err)
	}
	s := &Set{
		Dir:      dir,
		CAPath:   filepath.Join(dir, CAFile),
		CertPath: filepath.Join(dir, CertFile),
		KeyPath:  filepath.Join(dir, KeyFile),
		CA:       caCert,
		Pool:     x509.NewCertPool(),
		Hosts:    hosts,
	}
	s.Pool.AddCert(caCert)
	sum := sha256.Sum256(caCert.Raw)
	s.Fingerprint = hex.EncodeToString(sum[:])
	files := []struct {
		path, typ string
		der       []byte
		mode      os.FileMode
	}{
		{s.CAPath, "CERTIFICATE", caCert.Raw, 0o644},
		{s.CertPath, "CERTIFICATE", leafDER, 0o644},
		{s.KeyPath, "PRIVATE KEY", keyDER, 0o600},
	}
	for _, f := range files {
		if err := writePEM(f.path, f.typ, f.der, f.mode); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// sans returns hosts with 127.0.0.1 and localhost added, without repeats.
func sans(hosts []string) []string {
	out := []string{"127.0.0.1", "localhost"}
	seen := map[string]bool{"127.0.0.1": true, "localhost": true}
	for _, h := range hosts {
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

// newCA makes a self-signed CA that may sign server certificates only
// (path length 0, RFC 5280 4.2.1.9).
func newCA() (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: CA key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"matrix"}, CommonName: "matrix run CA " + serial.Text(16)[:8]},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(DefaultValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: CA certificate: %w", err)
	}
	return key, cert, nil
}

// newLeaf makes the server certificate for hosts, signed by the CA.
func newLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string, opts Options) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: server key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	notBefore, notAfter := opts.NotBefore, opts.NotAfter
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-clockSkew)
	}
	if notAfter.IsZero() {
		notAfter = notBefore.Add(clockSkew + DefaultValidity)
	}
	if !notAfter.After(notBefore) {
		return nil, nil, errors.New("tlscert: NotAfter must be after NotBefore")
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"matrix"}, CommonName: hosts[len(hosts)-1]},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		// ECDSA keys sign the handshake; they never encipher keys
		// (RFC 5480 3), so digitalSignature is the only key usage.
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: server certificate: %w", err)
	}
	return der, key, nil
}

// serialNumber returns a random 128-bit serial number (RFC 5280 4.1.2.2
// allows up to 20 octets; randomness keeps two runs' serials apart).
func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("tlscert: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil // never zero
}

// writePEM writes one PEM block to a new file with the mode given. O_EXCL
// refuses a file planted in advance; the mode is set at creation, so the
// key is never readable by others, not even for an instant.
func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("tlscert: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: typ, Bytes: der}); err != nil {
		f.Close()
		return fmt.Errorf("tlscert: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tlscert: writing %s: %w", path, err)
	}
	return nil
}

// LoadPool reads a PEM file of CA certificates (matrix load --ca) into a
// pool for a client that verifies servers.
func LoadPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tlscert: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("tlscert: %s holds no PEM certificate", path)
	}
	return pool, nil
}
