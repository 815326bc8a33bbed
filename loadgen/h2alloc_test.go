package loadgen

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matrixbench/matrix/loadgen/internal/h2test"
)

// TestH2HelperServer is not a test of its own: TestH2RunAllocations runs
// the test binary again with LOADGEN_H2_HELPER=1 to serve HTTP/2 from
// another process, whose allocations then do not count.
func TestH2HelperServer(t *testing.T) {
	if os.Getenv("LOADGEN_H2_HELPER") != "1" {
		t.Skip("helper process for TestH2RunAllocations")
	}
	// LOADGEN_H2_HELPER_GOAWAY=N: a graceful GOAWAY every N streams.
	goaway, _ := strconv.Atoi(os.Getenv("LOADGEN_H2_HELPER_GOAWAY"))
	srv, err := h2test.Listen(h2test.Config{GoawayAfter: goaway})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(srv.URL)
	io.Copy(io.Discard, os.Stdin) // serve until the parent closes stdin
	srv.Close()
}

// startHelperServer starts TestH2HelperServer in a child process and
// returns its URL. env is added to the child's environment.
func startHelperServer(t *testing.T, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestH2HelperServer$")
	cmd.Env = append(append(os.Environ(), "LOADGEN_H2_HELPER=1"), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		t.Fatalf("helper server: %q, %v", line, err)
	}
	return strings.TrimSpace(line)
}

// TestH2RunAllocations: in steady state, requests allocate nothing, measured
// across a real run against a server in another process: between the first
// and second progress report, the process allocates no more than a few
// objects per second (the per-second latency series), whatever the number
// of requests.
func TestH2RunAllocations(t *testing.T) {
	url := startHelperServer(t)
	var ms [2]runtime.MemStats
	var reqs [2]uint64
	n := 0
	res := mustRun(t, Config{
		URL: url, Protocol: ProtocolH2C, Connections: 4, Streams: 50, Duration: 3 * time.Second,
		Progress: func(p Progress) { // called from Run's goroutine
			if n < 2 {
				runtime.ReadMemStats(&ms[n])
				reqs[n] = p.Requests
				n++
			}
		},
	}, 0)
	if n < 2 || res.Errors != 0 {
		t.Fatalf("%d progress reports, errors %v", n, res.ErrorsByClass)
	}
	mallocs, requests := ms[1].Mallocs-ms[0].Mallocs, reqs[1]-reqs[0]
	t.Logf("%d allocations for %d requests in steady state", mallocs, requests)
	if requests < 1000 {
		t.Fatalf("only %d requests in a second", requests)
	}
	if limit := 100 + requests/1000; mallocs > limit {
		t.Errorf("%d allocations for %d requests, want at most %d", mallocs, requests, limit)
	}
}
