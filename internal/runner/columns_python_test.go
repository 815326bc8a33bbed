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

// TestDockerPythonRubyColumnsConform builds the Python and Ruby columns
// as the repository's matrix.yaml declares them (FROM the Debian base
// image, packages from Debian) and checks the contract on every protocol
// each claims. The Python images share their package layer, so the engine
// installs the packages once; a warm cache makes the builds free.
func TestDockerPythonRubyColumnsConform(t *testing.T) {
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
	// The cleartext protocols each column must be checked on; the matrix
	// may declare more (TLS), which Check then covers too.
	want := map[string][]matrix.Protocol{
		"fastapi-hypercorn": {matrix.H1, matrix.H2C},
		"fastapi-uvicorn":   {matrix.H1},
		"gunicorn":          {matrix.H1},
		"puma":              {matrix.H1},
		"aiohttp":           {matrix.H1},
		"tornado":           {matrix.H1},
	}
	m, err := matrix.Load(filepath.Join("..", "..", "matrix.yaml"))
	if err != nil {
		t.Fatal(err)
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
	var names []string
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	var out syncBuffer
	res, err := Check(context.Background(), m, p, rt, names, t.TempDir(), &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	checked := map[string][]matrix.Protocol{}
	for _, r := range res {
		checked[r.Server] = append(checked[r.Server], r.Protocol)
		if len(r.Problems) > 0 {
			t.Errorf("%s on %s: %v", r.Server, r.Protocol, r.Problems)
		}
	}
	for _, name := range names {
		for _, proto := range want[name] {
			if !slices.Contains(checked[name], proto) {
				t.Errorf("%s was not checked on %s (checked: %v):\n%s", name, proto, checked[name], out.String())
			}
		}
	}
}
