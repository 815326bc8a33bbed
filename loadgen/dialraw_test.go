//go:build linux

package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/matrixbench/matrix/loadgen/internal/h1test"
)

// TestNewRawDialer: only literal addresses are dialled raw; a name is
// resolved by net.Dialer on every dial.
func TestNewRawDialer(t *testing.T) {
	for _, tc := range []struct {
		addr string
		raw  bool
	}{
		{"127.0.0.1:80", true},
		{"[::1]:8080", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"localhost:80", false},
		{"[fe80::1%eth0]:80", false},
		{"127.0.0.1", false},
	} {
		if got := newRawDialer(tc.addr, time.Second) != nil; got != tc.raw {
			t.Errorf("newRawDialer(%q): raw %v, want %v", tc.addr, got, tc.raw)
		}
	}
}

// TestRawDial: the raw dial opens a working connection, and reports a
// refused one as a dial error naming the address.
func TestRawDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	d := newRawDialer(ln.Addr().String(), time.Second)
	c, err := d.dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "hi" {
		t.Errorf("read %q, %v; want \"hi\"", buf[:n], err)
	}
	if got := c.RemoteAddr().String(); got != ln.Addr().String() {
		t.Errorf("RemoteAddr %s, want %s", got, ln.Addr())
	}
	if la, ok := c.LocalAddr().(*net.TCPAddr); !ok || !la.IP.Equal(net.IPv4(127, 0, 0, 1)) || la.Port == 0 {
		t.Errorf("LocalAddr %v, want 127.0.0.1 and a port", c.LocalAddr())
	}
	c.Close()

	// A port nobody listens on: the port of a listener just closed.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln2.Addr().String()
	ln2.Close()
	_, err = newRawDialer(addr, time.Second).dial(context.Background())
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial to a closed port: %v, want a dial error with ECONNREFUSED", err)
	}
}

// TestRawDialPending: a connect the server does not answer (its accept
// queue is full, so the kernel drops the SYN) is waited for through the
// poller, and ends at the dial timeout or when ctx ends, whichever comes
// first, as a dial error or ctx's error.
func TestRawDialPending(t *testing.T) {
	_, addr := listenUnaccepted(t)
	d := newRawDialer(addr, 300*time.Millisecond)
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	// Fill the queue; a dial that times out shows it is full.
	var err1 error
	for range 4 {
		c, err := d.dial(context.Background())
		if err != nil {
			err1 = err
			break
		}
		held = append(held, c)
	}
	var oe *net.OpError
	if !errors.As(err1, &oe) || !errors.Is(err1, os.ErrDeadlineExceeded) {
		t.Fatalf("dial to a full accept queue: %v, want a dial error on the timeout", err1)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	d.timeout = time.Minute
	begin := time.Now()
	if _, err := d.dial(ctx); err != context.Canceled {
		t.Errorf("dial cancelled while pending: %v, want %v", err, context.Canceled)
	}
	if el := time.Since(begin); el > 10*time.Second {
		t.Errorf("the cancelled dial returned after %v", el)
	}
}

// TestRawDialPendingThenAccepted: a connect whose SYN the server dropped
// (its accept queue was full) completes when the server has made room and
// the SYN is sent again (about 1 s later, RFC 6298 2.1), as a working
// connection: the poller reports the end of the handshake.
func TestRawDialPendingThenAccepted(t *testing.T) {
	fd, addr := listenUnaccepted(t)
	d := newRawDialer(addr, 200*time.Millisecond)
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 4 { // fill the queue: a dial times out once it is full
		c, err := d.dial(context.Background())
		if err != nil {
			break
		}
		held = append(held, c)
	}
	accepted := make(chan int, 16)
	time.AfterFunc(200*time.Millisecond, func() {
		for {
			nfd, _, err := unix.Accept(fd)
			if err != nil {
				close(accepted)
				return
			}
			unix.Write(nfd, []byte("hi"))
			accepted <- nfd
		}
	})
	t.Cleanup(func() {
		unix.Shutdown(fd, unix.SHUT_RDWR)
		for nfd := range accepted {
			unix.Close(nfd)
		}
	})
	d.timeout = 10 * time.Second
	begin := time.Now()
	c, err := d.dial(context.Background())
	took := time.Since(begin)
	if err != nil {
		t.Fatalf("dial after the queue drained: %v", err)
	}
	held = append(held, c)
	if took < 300*time.Millisecond {
		t.Errorf("the dial returned after %v; want it to wait for the SYN to be sent again", took)
	}
	buf := make([]byte, 2)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hi" {
		t.Errorf("read %q, %v; want \"hi\"", buf, err)
	}
}

// listenUnaccepted listens on a loopback port with a backlog of 0 and
// never accepts, so that the first connections fill its queue and later
// SYNs are dropped. It returns the listener and its address.
func listenUnaccepted(t *testing.T) (int, string) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
}

// newCloseSlot builds one HTTP/1.1 slot in --close mode against url, not
// yet connected.
func newCloseSlot(tb testing.TB, url string) *h1Slot {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := newRunState(ctx, cancel, Config{URL: url, Connections: 1, Duration: time.Hour, Rate: 1, Close: true}, neverConnectedAfter)
	if err != nil {
		tb.Fatal(err)
	}
	d := newH1Driver(st)
	s := &h1Slot{d: d, st: st, rec: st.newRecorder(), rd: newH1Reader(), last: -1}
	s.onReadable, s.onProbe = s.step, s.probeFIN
	d.wd.add(s)
	tb.Cleanup(func() {
		cancel()
		st.bg.Wait()
		s.drop()
	})
	return s
}

// newConnectionRequest opens a connection, sends one request with
// Connection: close on it and closes it, as a --close run does.
func newConnectionRequest(tb testing.TB, s *h1Slot) {
	if !s.connect(context.Background()) {
		tb.Fatal("connect failed")
	}
	oneRequest(s, true)
	if s.conn != nil {
		tb.Fatal("the connection was not closed after its one request")
	}
}

// maxAllocsPerConnection bounds the allocations of one new connection and
// its request in --close mode: os.NewFile's File, file and finalizer, the
// net.Conn around them, and the raw access to its descriptor: 4 measured,
// against 26 through net.Dialer.
const maxAllocsPerConnection = 8

// TestH1AllocsPerNewConnection: a new connection allocates a few objects,
// not the dozen and more of net.Dialer; measured against nginx, in another
// process, so that only the client's allocations count.
func TestH1AllocsPerNewConnection(t *testing.T) {
	srv := h1test.StartNginx(t, h1test.NginxOptions{})
	s := newCloseSlot(t, srv.URL)
	for range 20 {
		newConnectionRequest(t, s)
	}
	allocs := testing.AllocsPerRun(500, func() { newConnectionRequest(t, s) })
	t.Logf("%.1f allocations per new connection", allocs)
	if allocs > maxAllocsPerConnection {
		t.Errorf("%.1f allocations per new connection, want at most %d", allocs, maxAllocsPerConnection)
	}
	m := &s.rec.phases[phaseMeasure]
	if n := m.requests.Load(); n != 521 || m.errors.Load() != 0 || s.rec.dials.Load() != 521 {
		t.Errorf("%d requests, %d errors, %d dials; want 521, 0, 521", n, m.errors.Load(), s.rec.dials.Load())
	}
}

// BenchmarkH1NewConnection measures one --close request: dial, request,
// response, close, by the raw dial and (for comparison) by net.Dialer. The
// server is nginx, in another process, so allocs/op are the client's own,
// and cpu-ns/op the client's CPU per connection.
func BenchmarkH1NewConnection(b *testing.B) {
	srv := h1test.StartNginx(b, h1test.NginxOptions{})
	for _, raw := range []bool{true, false} {
		name := "raw"
		if !raw {
			name = "net.Dialer"
		}
		b.Run(name, func(b *testing.B) {
			s := newCloseSlot(b, srv.URL)
			if !raw {
				s.st.dials.raw = nil
			}
			benchCPU(b, func() { newConnectionRequest(b, s) })
		})
	}
}

// TestH2AllocsPerRedial: against a server ending every h2c connection with
// a GOAWAY after 100 streams (docs/hostile-servers.md row 7, as nginx
// does), each redial allocates a bounded number of objects, measured
// between the first and second progress reports of a real run. The server
// runs in another process, so that its allocations do not count.
func TestH2AllocsPerRedial(t *testing.T) {
	url := startHelperServer(t, "LOADGEN_H2_HELPER_GOAWAY=100")
	var ms [2]runtime.MemStats
	var reqs [2]uint64
	n := 0
	res := mustRun(t, Config{
		URL: url, Protocol: ProtocolH2C, Connections: 4, Streams: 10, Duration: 3 * time.Second,
		Progress: func(p Progress) {
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
	// Each connection serves 100 streams; requests allocate nothing
	// (TestH2RunAllocations), so the window's allocations are its redials'
	// and a few for the per-second series.
	mallocs, requests := ms[1].Mallocs-ms[0].Mallocs, reqs[1]-reqs[0]
	redials := requests / 100
	if redials < 20 {
		t.Fatalf("only %d requests in a second", requests)
	}
	perRedial := float64(mallocs) / float64(redials)
	t.Logf("%d allocations (%d bytes) for %d requests, about %d redials: %.1f per redial",
		mallocs, ms[1].TotalAlloc-ms[0].TotalAlloc, requests, redials, perRedial)
	if perRedial > maxAllocsPerRedial {
		t.Errorf("%.1f allocations per redial, want at most %d", perRedial, maxAllocsPerRedial)
	}
}

// maxAllocsPerRedial bounds the allocations of one h2c redial after a
// GOAWAY: the dial's (maxAllocsPerConnection), the Framer and its write
// buffer, which are not reused (a Framer keeps unexported state about the
// connection it read, such as an unfinished header block), the settings
// and GOAWAY frames x/net parses: 15 measured, 38 through net.Dialer.
const maxAllocsPerRedial = 18
