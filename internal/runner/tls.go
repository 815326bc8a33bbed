package runner

import (
	"crypto/x509"
	"fmt"
	"slices"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/runtime"
	"github.com/matrixbench/matrix/internal/tlscert"
)

// makeCerts makes a fresh CA and server certificate for the hosts the load
// generator connects to under profile p, in a private temporary directory
// (never the run directory, which is meant to be shared).
func makeCerts(p matrix.Profile) (*tlscert.Set, error) {
	s, err := tlscert.Make("", tlscert.Options{Hosts: []string{p.TargetHost}})
	if err != nil {
		return nil, fmt.Errorf("runner: making the run's TLS certificates: %w", err)
	}
	return s, nil
}

// tlsFilesOf returns the files a server on proto is started with: none for
// a cleartext protocol.
func tlsFilesOf(s *tlscert.Set, proto matrix.Protocol) *runtime.TLSFiles {
	if s == nil || !proto.TLS() {
		return nil
	}
	return &runtime.TLSFiles{CertPath: s.CertPath, KeyPath: s.KeyPath}
}

// tlsFiles returns the files for a cell on proto, making the execution's
// certificates on the first TLS cell and listing its CA in the manifest.
func (r *Runner) tlsFiles(proto matrix.Protocol) (*runtime.TLSFiles, error) {
	if !proto.TLS() {
		return nil, nil
	}
	if r.certs == nil {
		s, err := makeCerts(r.opt.Profile)
		if err != nil {
			return nil, err
		}
		r.certs = s
		if m := r.opt.Manifest; !slices.Contains(m.TLSCAs, s.Fingerprint) {
			m.TLSCAs = append(m.TLSCAs, s.Fingerprint)
		}
	}
	return tlsFilesOf(r.certs, proto), nil
}

// roots returns the pool of the execution's CA, nil before any TLS cell.
func (r *Runner) roots() *x509.CertPool { return r.certs.RootPool() }

// removeCerts deletes the execution's certificate files. A later TLS cell
// (a resumed session) makes new ones.
func (r *Runner) removeCerts() {
	r.certs.Remove()
	r.certs = nil
}
