package runner

import (
	"crypto/tls"
	"fmt"
	"github.com/matrixbench/matrix/internal/matrix"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The test binary doubles as the servers the end-to-end tests run: with
// RUNNER_TEST_SERVER set, TestMain serves instead of testing. Each mode is
// a behaviour a real server has.
const serverModeEnv = "RUNNER_TEST_SERVER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(serverModeEnv); mode != "" {
		serve(mode)
		return
	}
	os.Exit(m.Run())
}

// serve runs the test server in the given mode on $HOST:$PORT.
func serve(mode string) {
	if dir := os.Getenv("RUNNER_TEST_PIDS"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o644)
	}
	switch mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "fatal: cannot open config file /nonexistent.conf")
		os.Exit(3)
	case "nolisten":
		time.Sleep(time.Hour)
		return
	}
	addr := net.JoinHostPort(os.Getenv("HOST"), os.Getenv("PORT"))
	mux := http.NewServeMux()
	slow := slowdown(mode)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		slow()
		w.Header().Set("Content-Type", "text/plain")
		if mode == "close" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "Hello, World!")
	})
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"message":"Hello, World!"}`)
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("GET /error", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream failed", http.StatusInternalServerError)
	})
	if mode == "die" {
		go func() {
			time.Sleep(600 * time.Millisecond)
			fmt.Fprintln(os.Stderr, "panic: out of memory (simulated)")
			os.Exit(2)
		}()
	}
	srv := &http.Server{Addr: addr, Handler: mux}
	if mode == "nonconformant" {
		srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") })
	}
	if cert := os.Getenv("TLS_CERT"); cert != "" {
		if mode == "h1only" {
			// A non-nil, empty TLSNextProto turns HTTP/2 off: ALPN
			// offers http/1.1 only.
			srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		}
		fmt.Fprintln(os.Stderr, srv.ListenAndServeTLS(cert, os.Getenv("TLS_KEY")))
		return
	}
	fmt.Fprintln(os.Stderr, srv.ListenAndServe())
}

// bucketRate is the rate above which the "bucket" server slows down.
const bucketRate = 1000.0

// slowdown returns what GET / waits in the given mode: in "bucket", 100 ms
// for every request beyond a token bucket of bucketRate per second (50 ms
// of burst), so its capacity under a p99 objective is bucketRate; in
// "jitter", 60 ms for every 20th request, so its p99 is over 50 ms at any
// rate while its fastest responses stay fast.
func slowdown(mode string) func() {
	var mu sync.Mutex
	var n int
	tokens, last := bucketRate/20, time.Now()
	switch mode {
	case "bucket":
		return func() {
			mu.Lock()
			now := time.Now()
			tokens = min(bucketRate/20, tokens+now.Sub(last).Seconds()*bucketRate)
			last = now
			ok := tokens >= 1
			if ok {
				tokens--
			}
			mu.Unlock()
			if !ok {
				time.Sleep(100 * time.Millisecond)
			}
		}
	case "jitter":
		return func() {
			mu.Lock()
			n++
			late := n%20 == 0
			mu.Unlock()
			if late {
				time.Sleep(60 * time.Millisecond)
			}
		}
	}
	return func() {}
}

// writeMatrix writes a matrix file whose servers are this test binary in
// the given modes, and returns its path.
func writeMatrix(t *testing.T, servers map[string]string, scenarios string) (path, pidDir string) {
	t.Helper()
	dir := t.TempDir()
	pidDir = filepath.Join(dir, "pids")
	if err := os.Mkdir(pidDir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	y := "version: 1\nprofiles:\n  test: {warmup: 200ms, duration: 1s, repeat: 1, reference: none, interference: 64}\n  twice: {warmup: 200ms, duration: 1s, repeat: 2, reference: none, interference: 64}\nservers:\n"
	for _, name := range sortedKeys(servers) {
		y += fmt.Sprintf("  - name: %s\n    protocols: [h1]\n    process: {command: [%q, \"-test.run=^$\"], env: {%s: %s, RUNNER_TEST_PIDS: %q}}\n    ready: {timeout: 2s}\n",
			name, exe, serverModeEnv, servers[name], pidDir)
	}
	y += "scenarios:\n" + scenarios
	path = filepath.Join(dir, "matrix.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, pidDir
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

func filterServers(names ...string) matrix.Filter { return matrix.Filter{Servers: names} }

func sleepMs(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }
