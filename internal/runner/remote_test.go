package runner

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/matrixbench/matrix/internal/results"
)

// forwardEngine serves the local engine's socket on a loopback TCP port,
// the way an engine on another machine is reached, and returns its
// address.
func forwardEngine(t *testing.T, socket string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				u, err := net.Dial("unix", socket)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { io.Copy(u, c); u.(*net.UnixConn).CloseWrite() }()
				io.Copy(c, u)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestEngineOverTCP runs a cell through an engine reached over TCP and
// sends the load to an explicit target host.
func TestEngineOverTCP(t *testing.T) {
	needDocker(t)
	addr := forwardEngine(t, "/var/run/docker.sock")
	t.Setenv("DOCKER_HOST", "tcp://"+addr)
	path := dockerMatrix(t)
	var out syncBuffer
	s, err := Prepare(context.Background(), Request{MatrixPath: path, Runtime: "docker", OutDir: t.TempDir(),
		Output: Output{Out: &out}, Filter: filterServers("go-stdlib"), TargetHost: "127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := readCell(t, s, "go-stdlib", "get")
	if c.Status != results.StatusOK {
		t.Fatalf("cell %s/%s %q\n%s", c.Status, c.Reason, c.Detail, out.String())
	}
	if url := c.Repeats[0].Result.Config.URL; !strings.Contains(url, "//127.0.0.2:") {
		t.Errorf("the load went to %s, not the target host", url)
	}
	man, _ := s.Run.ReadManifest()
	if man.Runtime.Endpoint != "tcp://"+addr || man.Runtime.TargetHost != "127.0.0.2" {
		t.Errorf("manifest runtime: endpoint %q target %q", man.Runtime.Endpoint, man.Runtime.TargetHost)
	}
}
