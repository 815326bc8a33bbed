package runtime

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a runner that starts one server
// and then waits to be killed (see TestMain).
const helperEnv = "MATRIX_RUNTIME_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// runHelper starts a server with the runtime named by mode, prints the
// instance id on stdout and blocks until killed. Specs come from the
// environment so the parent test decides what runs.
func runHelper(mode string) int {
	ctx := context.Background()
	rt, err := New(ctx, mode, Options{CacheDir: os.Getenv("HELPER_CACHE")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	spec := Spec{Name: "helper", Image: os.Getenv("HELPER_IMAGE")}
	if cmd := os.Getenv("HELPER_COMMAND"); cmd != "" {
		spec = Spec{Name: "helper", Command: []string{"sh", "-c", cmd}}
	}
	art, err := rt.Build(ctx, spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	inst, err := rt.Start(ctx, spec, art, StartOptions{Port: 1, RunID: "helper-run", Cell: "helper/cell"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println(inst.StartReport().ID)
	select {}
}

// freePort returns a port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitHTTP polls GET http://addr/ until it answers, the instance exits, or
// a generous bound passes; it returns the body.
func waitHTTP(t *testing.T, inst Instance) string {
	t.Helper()
	return waitURL(t, inst, &http.Client{Timeout: time.Second}, "http://"+inst.Addr()+"/")
}

// waitHTTPS is waitHTTP over TLS, verifying the server against roots.
func waitHTTPS(t *testing.T, inst Instance, roots *x509.CertPool) string {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	defer tr.CloseIdleConnections()
	return waitURL(t, inst, &http.Client{Timeout: time.Second, Transport: tr}, "https://"+inst.Addr()+"/")
}

// waitURL polls GET url with c until it answers, the instance exits, or a
// generous bound passes; it returns the body.
func waitURL(t *testing.T, inst Instance, c *http.Client, url string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		select {
		case <-inst.Done():
			t.Fatalf("server exited before answering: %s\n%s", inst.ExitStatus(), inst.LogTail(4096))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("server at %s never answered: %v\n%s", inst.Addr(), err, inst.LogTail(4096))
		}
	}
}

// getBody returns the body of a GET of url from a server known to answer.
func getBody(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitDone waits for the instance to exit, with a generous bound.
func waitDone(t *testing.T, inst Instance) {
	t.Helper()
	select {
	case <-inst.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("instance never exited\n%s", inst.LogTail(4096))
	}
}

// helloModule copies testdata/hello to a fresh directory with a unique
// comment, so its input hash, binary and image are new to this test.
func helloModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"go.mod", "main.go"} {
		b, err := os.ReadFile(filepath.Join("testdata", "hello", name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "main.go" {
			b = append(b, fmt.Sprintf("\n// unique %s %d\n", t.Name(), time.Now().UnixNano())...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// alive reports whether pid runs (a zombie counts as gone).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && !strings.HasPrefix(string(b[i+1:]), " Z")
}

// waitGone waits until pid no longer runs, with a generous bound.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); alive(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
