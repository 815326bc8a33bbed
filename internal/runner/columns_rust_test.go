package runner

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/runtime"
)

// rustColumns are the Rust columns of the default matrix.yaml.
var rustColumns = []string{"hyper"}

// TestDockerRustColumnsConform builds the Rust columns as the default
// matrix.yaml declares them (compiled offline on the Debian base image from
// Debian's rustc and packaged crates) and checks the contract on every
// cleartext protocol each claims there. A cold build compiles hyper, tokio,
// rustls and ring (245 s of CPU measured for cargo: an estimated 4 to 5 minutes on an
// idle 2-core box with the apt-get step); the engine's cache makes later
// runs about a second.
func TestDockerRustColumnsConform(t *testing.T) {
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
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	m, err := matrix.Load(filepath.Join(root, "matrix.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Only the cleartext protocols: the TLS ones need the runner's
	// certificates, which the TLS tests cover.
	want := 0
	for i, s := range m.Servers {
		if !slices.Contains(rustColumns, s.Name) {
			continue
		}
		var clear []matrix.Protocol
		for _, p := range s.Protocols {
			if p == matrix.H1 || p == matrix.H2C {
				clear = append(clear, p)
			}
		}
		m.Servers[i].Protocols = clear
		want += len(clear)
	}
	for _, name := range rustColumns {
		if _, ok := m.Server(name); !ok {
			t.Fatalf("matrix.yaml has no server %q", name)
		}
	}
	if want == 0 {
		t.Fatal("the Rust columns claim no cleartext protocol in matrix.yaml")
	}
	p, err := m.Profile("quick")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(context.Background(), "docker", runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	var out syncBuffer
	res, err := Check(context.Background(), m, p, rt, rustColumns, t.TempDir(), &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(res) != want {
		t.Fatalf("checked %d server/protocol pairs, want %d:\n%s", len(res), want, out.String())
	}
	for _, r := range res {
		if len(r.Problems) > 0 {
			t.Errorf("%s on %s: %v", r.Server, r.Protocol, r.Problems)
		}
	}
}
