package runner

import (
	"crypto/x509"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/runtime"
	"github.com/matrixbench/matrix/loadgen"
)

// specFor maps a matrix server to what runtime rt needs to build and start
// it. It reports an error when the server cannot run under rt at all (a
// Dockerfile-only server under the process runtime).
func specFor(m *matrix.Matrix, p matrix.Profile, s matrix.Server, rtName string) (runtime.Spec, error) {
	spec := runtime.Spec{
		Name:        s.Name,
		Dir:         m.Dir,
		Env:         map[string]string{},
		CPUs:        p.ServerCPUs(s),
		MemoryBytes: p.ServerMemory(s),
		CapAdd:      s.CapAdd,
	}
	for k, v := range s.Env {
		spec.Env[k] = v
	}
	if p.TargetHost == "" {
		// Host networking: keep the server on loopback, where the load
		// generator (and nothing else) reaches it.
		spec.Env["HOST"] = "127.0.0.1"
	}
	if s.Build != nil {
		spec.GoDir = s.Build.Go
	}
	switch rtName {
	case runtime.NameDocker:
		if s.Build != nil {
			spec.Dockerfile = s.Build.Dockerfile
		}
		spec.Image = s.Image
		if spec.GoDir == "" && spec.Dockerfile == "" && spec.Image == "" {
			return spec, fmt.Errorf("server %s has no build or image for the docker runtime", s.Name)
		}
		if s.Process != nil && spec.GoDir != "" {
			spec.Command = s.Process.Command
		}
	default:
		if s.Process != nil {
			spec.Command = s.Process.Command
			spec.WorkDir = s.Process.Dir
			for k, v := range s.Process.Env {
				spec.Env[k] = v
			}
		}
		if spec.GoDir == "" && len(spec.Command) == 0 {
			return spec, fmt.Errorf("server %s has no process command or Go build for the process runtime", s.Name)
		}
	}
	return spec, nil
}

// loadConfig maps a scenario (already scaled by the profile) to the load
// generator's configuration against addr. A TLS row verifies the server's
// chain against roots, the run's CA: the matrix never measures a server
// whose certificate does not verify.
func loadConfig(sc matrix.Scenario, p matrix.Profile, addr string, rate float64, roots *x509.CertPool) loadgen.Config {
	scheme, proto := "http", loadgen.ProtocolH1
	switch sc.Protocol {
	case matrix.H1S:
		scheme = "https"
	case matrix.H2C:
		proto = loadgen.ProtocolH2C
	case matrix.H2:
		scheme, proto = "https", loadgen.ProtocolH2
	case matrix.H3:
		scheme, proto = "https", loadgen.ProtocolH3
	}
	cfg := loadgen.Config{
		URL:          scheme + "://" + addr + sc.Path,
		Method:       sc.Method,
		Protocol:     proto,
		Connections:  sc.Connections,
		Streams:      sc.Streams,
		Warmup:       p.Warmup,
		Duration:     p.Duration,
		Timeout:      sc.Timeout,
		Close:        sc.Close,
		Rate:         rate,
		ExpectStatus: sc.ExpectStatus,
		RootCAs:      roots,
	}
	if sc.BodySize > 0 {
		cfg.Body = []byte(strings.Repeat("x", int(sc.BodySize)))
	}
	for _, h := range sc.Headers {
		cfg.Headers = append(cfg.Headers, loadgen.Header{Name: h.Name, Value: h.Value})
	}
	return cfg
}

// freePort asks the kernel for a port on the loopback that is free on TCP
// and on UDP (an h3 server serves QUIC on UDP at the same number). The port
// is released before the server binds it; a race with another program is
// possible but shows as start-failed, never as a wrong figure.
func freePort() (int, error) {
	var err error
	for range 20 {
		var l net.Listener
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			break
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, uerr := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if uerr == nil {
			u.Close()
			return port, nil
		}
		err = uerr
	}
	return 0, fmt.Errorf("finding a free port: %w", err)
}

// targetAddr is where the load generator connects: the instance's address,
// or targetHost with the instance's port when servers run elsewhere.
func targetAddr(instAddr, targetHost string) string {
	if targetHost == "" {
		return instAddr
	}
	_, port, err := net.SplitHostPort(instAddr)
	if err != nil {
		return instAddr
	}
	return net.JoinHostPort(targetHost, port)
}

// probeProto names a protocol for the prober.
func probeProto(p matrix.Protocol) string { return string(p) }
