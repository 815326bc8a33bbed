package h1test

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

// NginxBinary is where Debian's nginx-light package installs nginx.
const NginxBinary = "/usr/sbin/nginx"

// Nginx is a private nginx instance serving Hello on every path.
type Nginx struct {
	URL  string // "http://127.0.0.1:port/"
	Addr string
	Dir  string // prefix, configuration and logs
}

// NginxOptions configure StartNginx.
type NginxOptions struct {
	// KeepaliveRequests is nginx's keepalive_requests: after that many
	// requests on a connection nginx answers with "Connection: close".
	KeepaliveRequests int
	// Workers is worker_processes; zero runs nginx without a master
	// process, in one process.
	Workers int
	// NoKeepalive sets keepalive_timeout 0: nginx answers every request
	// with "Connection: close".
	NoKeepalive bool
}

// StartNginx starts nginx from Debian on a free 127.0.0.1 port with a
// configuration of its own in a temporary directory, and stops it when the
// test ends. Without the binary the test is skipped, or fails when
// MATRIX_REQUIRE_PEERS=1 (as in CI).
func StartNginx(t testing.TB, o NginxOptions) *Nginx {
	t.Helper()
	if _, err := os.Stat(NginxBinary); err != nil {
		if os.Getenv("MATRIX_REQUIRE_PEERS") == "1" {
			t.Fatalf("h1test: nginx is required (MATRIX_REQUIRE_PEERS=1) but %s is missing: apt-get install nginx-light", NginxBinary)
		}
		t.Skipf("h1test: %s missing (apt-get install nginx-light)", NginxBinary)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	conf := NginxConfig(dir, addr, o)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatalf("h1test: %v", err)
	}
	cmd := exec.Command(NginxBinary, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("h1test: start nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // SIGINT: fast shutdown
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
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("h1test: nginx exited: %v\n%s%s", err, out.String(), log)
		case <-ctx.Done():
			t.Fatalf("h1test: nginx did not listen on %s within 10s", addr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return &Nginx{URL: "http://" + addr + "/", Addr: addr, Dir: dir}
}

// NginxConfig returns an nginx configuration that keeps every file in dir,
// listens on addr, and answers every request with 200 and Hello.
func NginxConfig(dir, addr string, o NginxOptions) string {
	procs := "master_process off;\nworker_processes 1;"
	if o.Workers > 0 {
		procs = fmt.Sprintf("worker_processes %d;", o.Workers)
	}
	ka := o.KeepaliveRequests
	if ka == 0 {
		ka = 1000
	}
	timeout := "60s"
	if o.NoKeepalive {
		timeout = "0"
	}
	return fmt.Sprintf(`daemon off;
%s
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	keepalive_requests %[3]d;
	keepalive_timeout %[6]s;
	server {
		listen %[4]s;
		location / {
			default_type text/plain;
			return 200 "%[5]s";
		}
	}
}
`, procs, dir, ka, addr, Hello, timeout)
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("h1test: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
