package runner

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/runtime"
)

// CheckResult is the verdict of the contract check of one server on one
// protocol.
type CheckResult struct {
	Server   string
	Protocol matrix.Protocol
	// Problems is empty when the server conforms.
	Problems []string
}

// Check builds and starts every server in servers (all when empty) under
// rt and verifies the contract on every protocol it claims, one start per
// protocol. It prints one line per server and protocol to out.
func Check(ctx context.Context, m *matrix.Matrix, p matrix.Profile, rt runtime.Runtime, servers []string, logDir string, out io.Writer) ([]CheckResult, error) {
	var res []CheckResult
	for _, s := range m.Servers {
		if len(servers) > 0 && !contains(servers, s.Name) {
			continue
		}
		for _, proto := range s.Protocols {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			cr := CheckResult{Server: s.Name, Protocol: proto}
			cr.Problems = checkOne(ctx, m, p, rt, s, proto, logDir)
			verdict := "ok"
			if len(cr.Problems) > 0 {
				verdict = fmt.Sprintf("FAIL: %v", cr.Problems)
			}
			fmt.Fprintf(out, "%-20s %-4s %s\n", s.Name, proto, verdict)
			res = append(res, cr)
		}
	}
	for _, name := range servers {
		if _, ok := m.Server(name); !ok {
			return res, usageErr("%s: no server named %q", m.Path, name)
		}
	}
	return res, nil
}

// checkOne starts s, waits for it on proto, and checks the contract.
func checkOne(ctx context.Context, m *matrix.Matrix, p matrix.Profile, rt runtime.Runtime, s matrix.Server, proto matrix.Protocol, logDir string) []string {
	spec, err := specFor(m, p, s, rt.Name())
	if err != nil {
		return []string{err.Error()}
	}
	art, err := rt.Build(ctx, spec)
	if err != nil {
		return []string{"build: " + err.Error()}
	}
	port, err := freePort()
	if err != nil {
		return []string{err.Error()}
	}
	var roots *x509.CertPool
	if proto == matrix.H3 {
		c, err := newRunCerts(p.TargetHost)
		if err != nil {
			return []string{err.Error()}
		}
		defer c.remove()
		spec, roots = withTLS(spec, c), c.pool
	}
	inst, err := rt.Start(ctx, spec, art, runtime.StartOptions{
		Port: port, LogPath: fmt.Sprintf("%s/check-%s-%s.log", logDir, s.Name, proto),
		RunID: "check", Cell: "check/" + s.Name,
	})
	if err != nil {
		return []string{"start: " + err.Error()}
	}
	defer inst.Stop(ctx, DefaultGrace)
	pr := newProber(targetAddr(inst.Addr(), p.TargetHost), probeProto(proto), roots)
	defer pr.close()
	if err := pr.waitReady(ctx, s.Ready.Path, s.Ready.Timeout, inst.Done()); err != nil {
		return []string{fmt.Sprintf("not ready: %v; log: %s", err, inst.LogTail(logTailBytes))}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return pr.checkContract(cctx)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
