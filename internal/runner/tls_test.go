package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/runtime"
)

// TLS rows end to end under the process runtime: go-stdlib (the real
// server from servers/) on h1s and h2, and a server that offers only
// http/1.1 by ALPN, whose h2 cell is measured but suspect (protocol). The
// certificates are made for the run, verified by the prober and the load
// generator, named in the manifest and the repeats, and removed at the end.
func TestTLSRows(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the run's certificates go
	dir := t.TempDir()
	y := fmt.Sprintf(`version: 1
profiles:
  test: {warmup: 200ms, duration: 1s, repeat: 1, reference: none, interference: 64}
servers:
  - {name: go-stdlib, protocols: [h1, h1s, h2], build: {go: %q}, ready: {timeout: 5s}}
  - name: h1only
    protocols: [h1s, h2]
    process: {command: [%q, "-test.run=^$"], env: {%s: h1only}}
    ready: {timeout: 5s}
scenarios:
  - {name: get-h1s, protocol: h1s, method: GET, path: /, connections: 4}
  - {name: post-64k-h2, protocol: h2, method: POST, path: /upload, body_size: 65536, connections: 2, streams: 8}
`, filepath.Join(root, "servers/go-stdlib"), exe, serverModeEnv)
	path := filepath.Join(dir, "matrix.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _, out := runMatrix(t, context.Background(), Request{MatrixPath: path})
	man, err := s.Run.ReadManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(man.TLSCAs) != 1 || len(man.TLSCAs[0]) != 64 {
		t.Fatalf("manifest CAs %q, want one SHA-256", man.TLSCAs)
	}
	for _, tc := range []struct {
		server, scenario string
		status           results.Status
		reason           results.Reason
		alpn             string
	}{
		{"go-stdlib", "get-h1s", results.StatusOK, "", "http/1.1"},
		{"go-stdlib", "post-64k-h2", results.StatusOK, "", "h2"},
		{"h1only", "get-h1s", results.StatusOK, "", "http/1.1"},
		{"h1only", "post-64k-h2", results.StatusSuspect, results.ReasonProtocol, "http/1.1"},
	} {
		c := readCell(t, s, tc.server, tc.scenario)
		if tc.status == results.StatusOK && clientBound(c) {
			// Under the race detector the client may be the
			// bottleneck; the cell still measured over TLS.
			c.Status, c.Reason = results.StatusOK, ""
		}
		if c.Status != tc.status || c.Reason != tc.reason {
			t.Errorf("%s: %s (%s) %q, want %s (%s)\n%s", c.ID(), c.Status, c.Reason, c.Detail, tc.status, tc.reason, out)
			continue
		}
		rp := c.Repeats[0]
		if rp.TLSCA != man.TLSCAs[0] {
			t.Errorf("%s: repeat CA %q, want the manifest's %q", c.ID(), rp.TLSCA, man.TLSCAs[0])
		}
		if tl := rp.Result.TLS; tl == nil || tl.ALPN != tc.alpn || tl.Version != "TLS 1.3" || tl.CipherSuite == "" {
			t.Errorf("%s: tls %+v, want TLS 1.3 and ALPN %q", c.ID(), tl, tc.alpn)
		}
		if rp.Result.Errors != 0 || rp.Result.Requests == 0 {
			t.Errorf("%s: %d requests, errors %v", c.ID(), rp.Result.Requests, rp.Result.ErrorsByClass)
		}
	}
	// `matrix check` says what the run only marks suspect.
	rt, err := runtime.New(context.Background(), "process", runtime.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	p, _ := s.Matrix.Profile("")
	res, err := Check(context.Background(), s.Matrix, p, rt, []string{"h1only"}, t.TempDir(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || len(res[0].Problems) != 0 || len(res[1].Problems) != 1 ||
		!strings.Contains(res[1].Problems[0], "negotiated HTTP/1.1 by ALPN, not h2") {
		t.Errorf("check of h1only: %+v, want h1s ok and h2 declined", res)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "matrix-tls-*")); len(left) != 0 {
		t.Errorf("certificates left behind: %v", left)
	}
}
