package runner

import (
	"context"
	"fmt"
	"github.com/matrixbench/matrix/internal/matrix"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/runtime"
)

// needDocker skips without an engine, or fails when MATRIX_REQUIRE_DOCKER=1.
func needDocker(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		_, err = cli.Ping(context.Background())
	}
	if err != nil {
		if os.Getenv("MATRIX_REQUIRE_DOCKER") == "1" {
			t.Fatalf("MATRIX_REQUIRE_DOCKER=1 and no Docker engine answers: %v", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// needDebianBase fails t under MATRIX_REQUIRE_DOCKER=1 (skips it
// otherwise) when the Debian base image of the packaged columns is missing.
func needDebianBase(t *testing.T, cli *client.Client) {
	t.Helper()
	if _, err := cli.ImageInspect(context.Background(), "matrix/debian-base:bookworm"); err != nil {
		msg := "the Debian base image is missing: run scripts/setup.sh (make test does)"
		if os.Getenv("MATRIX_REQUIRE_DOCKER") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// dockerMatrix writes a matrix of real images: go-stdlib from servers/, and
// the runtime tests' hello server made to exit at start or never listen.
func dockerMatrix(t *testing.T) string {
	t.Helper()
	return dockerMatrixFor(t, "1s")
}

// dockerMatrixFor is dockerMatrix with the test profile measuring for
// duration.
func dockerMatrixFor(t *testing.T, duration string) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	hello := filepath.Join(root, "internal/runtime/testdata/hello")
	y := fmt.Sprintf(`version: 1
profiles:
  test: {warmup: 200ms, duration: %s, repeat: 1, reference: none, interference: 64}
servers:
  - {name: go-stdlib, protocols: [h1], build: {go: %q}}
  - {name: exits, protocols: [h1], build: {go: %q}, process: {command: ["-exit", "3"]}}
  - {name: stuck, protocols: [h1], build: {go: %q}, process: {command: ["-nolisten"]}, ready: {timeout: 2s}}
scenarios:
  - {name: get, protocol: h1, method: GET, path: /, connections: 4}
`, duration, filepath.Join(root, "servers/go-stdlib"), hello, hello)
	path := filepath.Join(t.TempDir(), "matrix.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// labelled lists the containers of a run, running or not.
func labelled(t *testing.T, cli *client.Client, runID string) []string {
	t.Helper()
	list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", runtime.LabelRunID+"="+runID))})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID[:12]+" "+strings.Join(c.Names, ","))
	}
	return ids
}

func TestDockerCells(t *testing.T) {
	cli := needDocker(t)
	path := dockerMatrix(t)
	var out syncBuffer
	s, err := Prepare(context.Background(), Request{MatrixPath: path, Runtime: "docker", OutDir: t.TempDir(), Output: Output{Out: &out}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string][]results.Reason{
		"go-stdlib": {""},
		"exits":     {results.ReasonStartFailed, results.ReasonDied},
		"stuck":     {results.ReasonNotReady},
	}
	for server, reasons := range want {
		c := readCell(t, s, server, "get")
		if !containsReason(reasons, c.Reason) || (server == "go-stdlib") != (c.Status == results.StatusOK) {
			t.Errorf("%s: %s/%s %q, want reason in %v\n%s", server, c.Status, c.Reason, c.Detail, reasons, out.String())
		}
		if server == "exits" && !strings.Contains(c.Detail, "bad configuration") {
			t.Errorf("exits: the detail lacks the log tail: %q", c.Detail)
		}
		if c.Runtime != "docker" || c.ServerInfo.Artifact == "" {
			t.Errorf("%s: runtime %q artifact %q", server, c.Runtime, c.ServerInfo.Artifact)
		}
	}
	if left := labelled(t, cli, s.Run.ID); len(left) > 0 {
		t.Errorf("containers left behind: %v", left)
	}
	man, _ := s.Run.ReadManifest()
	if man.Runtime.Name != "docker" || man.Runtime.EngineVersion == "" {
		t.Errorf("manifest runtime: %+v", man.Runtime)
	}
}

func TestDockerInterruptLeavesNoContainer(t *testing.T) {
	cli := needDocker(t)
	// The cell measures for far longer than the test waits, so the
	// interrupt lands inside it however fast the server became ready.
	path := dockerMatrixFor(t, "60s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	s, err := Prepare(ctx, Request{MatrixPath: path, Runtime: "docker", OutDir: t.TempDir(), Output: Output{Out: &out},
		Filter: filterServers("go-stdlib")})
	if err != nil {
		t.Fatal(err)
	}
	// Interrupt once the server is up and the load is running: the
	// progress callback is not wired without a terminal, so poll for the
	// container instead.
	go func() {
		for ctx.Err() == nil {
			if len(labelled(t, cli, s.Run.ID)) > 0 {
				sleepMs(1500)
				cancel()
				return
			}
			sleepMs(50)
		}
	}()
	o, err := s.Execute(ctx)
	if err != nil || !o.Interrupted {
		t.Fatalf("execute: %v %+v", err, o)
	}
	if c := readCell(t, s, "go-stdlib", "get"); c.Status != results.StatusInterrupted {
		t.Errorf("cell status %s/%s %q, want interrupted", c.Status, c.Reason, c.Detail)
	}
	if left := labelled(t, cli, s.Run.ID); len(left) > 0 {
		t.Errorf("containers left after the interrupt: %v", left)
	}
}

// TestDockerPackagedServersConform builds the nginx and h2o images on the
// Debian base image offline and checks the contract on h1 and h2c, and
// nginx's over TLS (h1s, h2): the certificate copied into the container is
// readable by its user, and the chain verifies against the check's CA.
func TestDockerPackagedServersConform(t *testing.T) {
	needDebianBase(t, needDocker(t))
	root, _ := filepath.Abs("../..")
	y := fmt.Sprintf(`version: 1
profiles:
  test: {warmup: 200ms, duration: 1s, reference: none, interference: 64}
servers:
  - {name: nginx, protocols: [h1, h1s, h2], build: {dockerfile: %[1]q}, env: {NGINX_PROTOCOL: h1}}
  - {name: nginx-h2c, protocols: [h2c], build: {dockerfile: %[1]q}, env: {NGINX_PROTOCOL: h2c}}
  - {name: h2o, protocols: [h1, h2c], build: {dockerfile: %[2]q}}
scenarios:
  - {name: get, protocol: h1}
`, filepath.Join(root, "servers/nginx"), filepath.Join(root, "servers/h2o"))
	path := filepath.Join(t.TempDir(), "matrix.yaml")
	os.WriteFile(path, []byte(y), 0o644)
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
	}
}
