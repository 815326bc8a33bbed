package runner

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/runtime"
)

// TestDockerColumnsConform builds the columns that install their servers
// in their own images (Python, Ruby, the JVM, caddy, Rust) as the
// repository's matrix.yaml declares them, on the Debian base image with
// Debian's packages, and checks the contract on every cleartext protocol
// each claims there. The TLS protocols need the run's certificates and are
// covered by TestTLSRows and `matrix check`.
//
// A cold build is slow (hyper compiles about forty crates: 245 s of CPU for
// cargo; jetty and tomcat install a JDK in their build stage), so the
// groups overlap; the engine's cache makes later builds seconds.
func TestDockerColumnsConform(t *testing.T) {
	needDebianBase(t, needDocker(t))
	m, err := matrix.Load(filepath.Join("..", "..", "matrix.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Profile("quick")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct {
		name    string
		servers []string
	}{
		{"python-ruby", []string{"fastapi-hypercorn", "fastapi-uvicorn", "gunicorn", "puma", "aiohttp", "tornado"}},
		{"jvm-caddy", []string{"caddy", "jetty", "tomcat"}},
		{"rust", []string{"hyper"}},
	} {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			checkColumns(t, cleartextOnly(t, m, g.servers), p, g.servers)
		})
	}
}

// cleartextOnly returns a copy of m whose named servers claim only their
// cleartext protocols, failing t when a name is not in m or claims none.
func cleartextOnly(t *testing.T, m *matrix.Matrix, names []string) *matrix.Matrix {
	t.Helper()
	c := *m
	c.Servers = slices.Clone(m.Servers)
	for _, name := range names {
		i := slices.IndexFunc(c.Servers, func(s matrix.Server) bool { return s.Name == name })
		if i < 0 {
			t.Fatalf("matrix.yaml has no server %q", name)
		}
		s := &c.Servers[i]
		s.Protocols = slices.DeleteFunc(slices.Clone(s.Protocols), matrix.Protocol.TLS)
		if len(s.Protocols) == 0 {
			t.Fatalf("%s claims no cleartext protocol in matrix.yaml", name)
		}
	}
	return &c
}

// checkColumns runs Check on the named servers of m under Docker and fails
// t for every problem and for every claimed protocol left unchecked. caddy
// cannot count a request body and is excluded from the /upload rows, so its
// check must leave POST /upload out; every other column's must include it.
func checkColumns(t *testing.T, m *matrix.Matrix, p matrix.Profile, names []string) {
	t.Helper()
	rt, err := runtime.New(context.Background(), "docker", runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
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
		if want := r.Server == "caddy"; r.NoUpload != want {
			t.Errorf("%s on %s: POST /upload left out = %v, want %v", r.Server, r.Protocol, r.NoUpload, want)
		}
	}
	for _, name := range names {
		s, _ := m.Server(name)
		for _, proto := range s.Protocols {
			if !slices.Contains(checked[name], proto) {
				t.Errorf("%s was not checked on %s (checked: %v):\n%s", name, proto, checked[name], out.String())
			}
		}
	}
}
