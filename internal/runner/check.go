package runner

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/runtime"
	"github.com/matrixbench/matrix/internal/tlscert"
)

// CheckResult is the verdict of the contract check of one server on one
// protocol.
type CheckResult struct {
	Server   string
	Protocol matrix.Protocol
	// Problems is empty when the server conforms.
	Problems []string
	// NoUpload is set when POST /upload was not checked: the matrix
	// excludes the server from every /upload row (see measuresUpload).
	NoUpload bool
}

// Check builds and starts every server in servers (all when empty) under
// rt and verifies the contract on every protocol it claims, one start per
// protocol. It prints one line per server and protocol to out.
func Check(ctx context.Context, m *matrix.Matrix, p matrix.Profile, rt runtime.Runtime, servers []string, logDir string, out io.Writer) ([]CheckResult, error) {
	var res []CheckResult
	// One CA for the whole check, as for a run; removed at the end.
	var certs *tlscert.Set
	defer func() { certs.Remove() }()
	for _, s := range m.Servers {
		if len(servers) > 0 && !contains(servers, s.Name) {
			continue
		}
		for _, proto := range s.Protocols {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			cr := CheckResult{Server: s.Name, Protocol: proto, NoUpload: !measuresUpload(m, s)}
			if proto.TLS() && certs == nil {
				var err error
				if certs, err = makeCerts(p); err != nil {
					return res, err
				}
			}
			cr.Problems = checkOne(ctx, m, p, rt, s, proto, !cr.NoUpload, logDir, certs)
			verdict := "ok"
			if len(cr.Problems) > 0 {
				verdict = fmt.Sprintf("FAIL: %v", cr.Problems)
			}
			if cr.NoUpload {
				verdict += " (POST /upload not checked: excluded from every /upload row)"
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

// checkOne starts s, waits for it on proto, and checks the contract, POST
// /upload only when upload is set.
func checkOne(ctx context.Context, m *matrix.Matrix, p matrix.Profile, rt runtime.Runtime, s matrix.Server, proto matrix.Protocol, upload bool, logDir string, certs *tlscert.Set) []string {
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
	inst, err := rt.Start(ctx, spec, art, runtime.StartOptions{
		Port: port, LogPath: fmt.Sprintf("%s/check-%s-%s.log", logDir, s.Name, proto),
		RunID: "check", Cell: "check/" + s.Name, TLS: tlsFilesOf(certs, proto),
	})
	if err != nil {
		return []string{"start: " + err.Error()}
	}
	defer inst.Stop(ctx, DefaultGrace)
	pr := newProber(targetAddr(inst.Addr(), p.TargetHost), probeProto(proto), certs.RootPool())
	defer pr.close()
	if err := pr.waitReady(ctx, s.Ready.Path, s.Ready.Timeout, inst.Done()); err != nil {
		return []string{fmt.Sprintf("not ready: %v; log: %s", err, inst.LogTail(logTailBytes))}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	problems := pr.checkContract(cctx, upload)
	// Over TLS the prober offers h2 and http/1.1 (a run measures a server
	// that declines h2 and marks the cell suspect); the check says so.
	if proto == matrix.H2 && len(problems) == 0 && pr.spoke != "HTTP/2.0" {
		problems = append(problems, fmt.Sprintf("h2: the server negotiated %s by ALPN, not h2", pr.spoke))
	}
	return problems
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
