package h2test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Binaries from Debian's nginx-light and nghttp2-server packages.
const (
	NginxBinary   = "/usr/sbin/nginx"
	NghttpdBinary = "/usr/sbin/nghttpd"
)

// Hello is the body of the file the peers serve at /hello.txt.
const Hello = "Hello, World!"

// Peer is a server process started by a test.
type Peer struct {
	URL  string // "http://127.0.0.1:port/hello.txt"
	Addr string
	Dir  string // configuration, docroot and logs
}

// StartNginx starts nginx with HTTP/2 on a cleartext port (prior knowledge;
// the nginx 1.22 syntax "listen ... http2"), one worker, serving Hello, with
// keepalive_requests keepalive (nginx ends each connection with a GOAWAY
// after that many streams). It is stopped when the test ends.
func StartNginx(t testing.TB, keepalive int) *Peer {
	t.Helper()
	need(t, NginxBinary, "nginx-light")
	dir, addr := peerDir(t), freeAddr(t)
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	keepalive_requests %[2]d;
	server {
		listen %[3]s http2;
		root %[1]s/www;
	}
}
`, dir, keepalive, addr)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatalf("h2test: %v", err)
	}
	start(t, dir, addr, NginxBinary, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	return &Peer{URL: "http://" + addr + "/hello.txt", Addr: addr, Dir: dir}
}

// StartNghttpd starts nghttpd without TLS (prior knowledge), with its
// strict defaults: SETTINGS_MAX_FRAME_SIZE 16384 and 65535-byte stream and
// connection windows. It serves Hello and is stopped when the test ends.
func StartNghttpd(t testing.TB) *Peer {
	t.Helper()
	need(t, NghttpdBinary, "nghttp2-server")
	dir, addr := peerDir(t), freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	start(t, dir, addr, NghttpdBinary, "--no-tls", "-a", host, "-d", filepath.Join(dir, "www"), port)
	return &Peer{URL: "http://" + addr + "/hello.txt", Addr: addr, Dir: dir}
}

// need skips the test when binary is missing, or fails it when
// MATRIX_REQUIRE_PEERS=1 (as in CI).
func need(t testing.TB, binary, pkg string) {
	t.Helper()
	if _, err := os.Stat(binary); err != nil {
		if os.Getenv("MATRIX_REQUIRE_PEERS") == "1" {
			t.Fatalf("h2test: %s is required (MATRIX_REQUIRE_PEERS=1) but missing: apt-get install %s", binary, pkg)
		}
		t.Skipf("h2test: %s missing (apt-get install %s)", binary, pkg)
	}
}

// peerDir makes a directory the server's unprivileged workers can read,
// with the docroot in www.
func peerDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	if err := os.Mkdir(www, 0o755); err != nil {
		t.Fatalf("h2test: %v", err)
	}
	if err := os.WriteFile(filepath.Join(www, "hello.txt"), []byte(Hello), 0o644); err != nil {
		t.Fatalf("h2test: %v", err)
	}
	// t.TempDir's parents are 0700; nginx's workers run as nobody.
	for d := www; strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatalf("h2test: %v", err)
		}
	}
	return dir
}

// start runs a server process in the foreground, waits until it listens on
// addr, and stops it when the test ends.
func start(t testing.TB, dir, addr, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("h2test: start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("h2test: %s exited: %v\n%s%s", bin, err, out.String(), log)
		case <-ctx.Done():
			t.Fatalf("h2test: %s did not listen on %s within 10s", bin, addr)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("h2test: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
