package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/loadgen"
)

// TestH3Cell runs servers/go-quic on the h3 rows under the process
// runtime: the runner makes the run's certificate, passes it in TLS_CERT
// and TLS_KEY, waits for the server over HTTP/3 (quic-go's client),
// checks the contract and measures with the load generator, which
// verifies the certificate against the run's CA.
func TestH3Cell(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp)
	bin := filepath.Join(dir, "go-quic")
	goBuild(t, "../../servers/go-quic", bin, ".")
	y := fmt.Sprintf(`version: 1
profiles:
  test: {warmup: 200ms, duration: 1s, repeat: 1, reference: none, interference: 64}
servers:
  - name: go-quic
    protocols: [h1, h3]
    process: {command: [%q]}
    ready: {timeout: 5s}
scenarios:
  - {name: get-h3, protocol: h3, method: GET, path: /, connections: 2, streams: 4}
  - {name: post-64k-h3, protocol: h3, method: POST, path: /upload, body_size: 65536, connections: 2, streams: 2}
`, bin)
	path := filepath.Join(dir, "matrix.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	s, o, out := runMatrix(t, context.Background(), Request{MatrixPath: path})
	for _, sc := range []string{"get-h3", "post-64k-h3"} {
		c := readCell(t, s, "go-quic", sc)
		if c.Status != results.StatusOK && !clientBound(c) {
			t.Fatalf("%s: %s %s %s\n%s", sc, c.Status, c.Reason, c.Detail, out)
		}
		m := c.Repeats[0].Result
		if m == nil || m.Requests == 0 || m.Errors != 0 || m.Protocol != loadgen.ProtocolH3 || m.QUICVersion != "v1" {
			t.Errorf("%s: measurement %+v", sc, m)
		}
	}
	if o.Counts[results.StatusOK]+o.Counts[results.StatusSuspect] != 2 {
		t.Errorf("counts %v", o.Counts)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "matrix-certs-*")); len(left) != 0 {
		t.Errorf("the run's certificate directory is left behind: %v", left)
	}
}
