package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/runtime"
)

// TestDockerJVMColumnsConform builds the caddy, jetty and tomcat images on
// the Debian base image and checks the contract on every cleartext
// protocol they claim. caddy is excluded from the /upload row, as in
// matrix.yaml, so its check must leave POST /upload out; jetty's and
// tomcat's must include it.
func TestDockerJVMColumnsConform(t *testing.T) {
	cli := needDocker(t)
	// The columns start slowly (JVMs, Python imports) and their images
	// may be built cold: the three column tests overlap.
	t.Parallel()
	if _, err := cli.ImageInspect(context.Background(), "matrix/debian-base:bookworm"); err != nil {
		msg := "the Debian base image is missing: run scripts/debian-base.sh (.ci/run does)"
		if os.Getenv("MATRIX_REQUIRE_DOCKER") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	root, _ := filepath.Abs("../..")
	y := fmt.Sprintf(`version: 1
profiles:
  test: {warmup: 200ms, duration: 1s, reference: none, interference: 64}
servers:
  - {name: caddy, protocols: [h1, h2c], build: {dockerfile: %[1]q}}
  - {name: jetty, protocols: [h1, h2c], build: {dockerfile: %[2]q}, ready: {path: /, timeout: 60s}}
  - {name: tomcat, protocols: [h1, h2c], build: {dockerfile: %[3]q}, ready: {path: /, timeout: 60s}}
scenarios:
  - {name: get, protocol: h1}
  - {name: post, protocol: h1, method: POST, path: /upload, body_size: 4096}
exclude: ["post/caddy"]
`, filepath.Join(root, "servers/caddy"), filepath.Join(root, "servers/jetty"), filepath.Join(root, "servers/tomcat"))
	path := filepath.Join(t.TempDir(), "matrix.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := matrix.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := m.Profile("")
	rt, err := runtime.New(context.Background(), "docker", runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	var out syncBuffer
	res, err := Check(context.Background(), m, p, rt, nil, t.TempDir(), &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 6 {
		t.Fatalf("checked %d server/protocol pairs, want 6:\n%s", len(res), out.String())
	}
	for _, r := range res {
		if len(r.Problems) > 0 {
			t.Errorf("%s on %s: %v", r.Server, r.Protocol, r.Problems)
		}
		if want := r.Server == "caddy"; r.NoUpload != want {
			t.Errorf("%s on %s: POST /upload left out = %v, want %v", r.Server, r.Protocol, r.NoUpload, want)
		}
	}
}
