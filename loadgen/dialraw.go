//go:build linux

package loadgen

import (
	"context"
	"net"
	"net/netip"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The raw dial opens a plain TCP connection to a literal address with a
// non-blocking connect(2) of its own, and hands the descriptor to the
// runtime's poller through os.NewFile.
//
// Why: against a server that closes after every response (docs/hostile-
// servers.md row 1, `matrix load --close`), a connection serves one
// request, and net.Dialer cost more per connection than the request
// itself. Profiled against nginx on 2 cores, DialContext was half the
// client's CPU: the context and the dial's goroutine-safe bookkeeping, the
// address parsed again on every dial, getsockopt(SO_ERROR), getsockname
// and getpeername, 26 allocations per connection and request where this
// makes 4 (BenchmarkH1NewConnection), and an ordinary system call for
// connect(2), during which the scheduler's monitor may hand the processor
// to another thread (connect on loopback runs the whole handshake before
// it returns). Here the sockaddr is built once per run, every call is a
// raw one, and on loopback the second connect(2), which reports the
// outcome of the first, finds the handshake already done, so the poller is
// asked to wait only where the network makes it.
//
// TLS connections keep net.Dialer: the handshake dwarfs the dial.

// rawDialer dials one literal address with raw system calls.
type rawDialer struct {
	family  int
	sa      unsafe.Pointer // *unix.RawSockaddrInet4 or *unix.RawSockaddrInet6
	saLen   uintptr
	remote  net.Addr
	timeout time.Duration
	nodelay *int32 // 1, for setsockopt(TCP_NODELAY)
}

// newRawDialer returns a raw dialer for addr, or nil when addr is not a
// literal IP address and port (a name is resolved by net.Dialer each dial,
// as a name's addresses may change), or has an IPv6 zone.
func newRawDialer(addr string, timeout time.Duration) *rawDialer {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || ap.Addr().Zone() != "" {
		return nil
	}
	d := &rawDialer{remote: net.TCPAddrFromAddrPort(ap), timeout: timeout, nodelay: new(int32)}
	*d.nodelay = 1
	port := ap.Port()
	// The port is in network byte order in both sockaddrs.
	nport := uint16(port>>8) | uint16(port<<8)
	if ip := ap.Addr().Unmap(); ip.Is4() {
		sa := &unix.RawSockaddrInet4{Family: unix.AF_INET, Port: nport, Addr: ip.As4()}
		d.family, d.sa, d.saLen = unix.AF_INET, unsafe.Pointer(sa), unsafe.Sizeof(*sa)
	} else {
		sa := &unix.RawSockaddrInet6{Family: unix.AF_INET6, Port: nport, Addr: ip.As16()}
		d.family, d.sa, d.saLen = unix.AF_INET6, unsafe.Pointer(sa), unsafe.Sizeof(*sa)
	}
	return d
}

// dial opens a connection, waiting at most d.timeout and until ctx ends.
func (d *rawDialer) dial(ctx context.Context) (net.Conn, error) {
	fd, done, err := d.open()
	if err != nil {
		return nil, err
	}
	c := d.wrap(fd)
	if !done {
		if err := d.wait(ctx, c); err != nil {
			c.File.Close()
			return nil, err
		}
	}
	return c, nil
}

// open creates a non-blocking socket and starts connecting it; done
// reports that the connection is established already. The caller owns fd.
func (d *rawDialer) open() (fd uintptr, done bool, err error) {
	fd, _, errno := unix.RawSyscall(unix.SYS_SOCKET, uintptr(d.family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if errno != 0 {
		return 0, false, os.NewSyscallError("socket", errno)
	}
	// As net.Dialer does: a request goes out at once, whatever is unacked.
	_, _, errno = unix.RawSyscall6(unix.SYS_SETSOCKOPT, fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, uintptr(unsafe.Pointer(d.nodelay)), 4, 0)
	if errno != 0 {
		unix.Close(int(fd))
		return 0, false, os.NewSyscallError("setsockopt", errno)
	}
	if done, err = d.connect(fd); err != nil {
		unix.Close(int(fd))
		return 0, false, err
	}
	return fd, done, nil
}

// wrap hands the socket fd to the runtime's poller as a connection. The
// descriptor is non-blocking, so os.NewFile registers it with the poller;
// the file owns it from here on.
func (d *rawDialer) wrap(fd uintptr) *rawTCPConn {
	return &rawTCPConn{File: os.NewFile(fd, "tcp"), remote: d.remote}
}

// connect calls connect(2) on the non-blocking socket fd; done reports
// that the connection is established. A second call reports the outcome
// of a connect in progress (EALREADY while it still is, EISCONN once it is
// established, else why it failed); on loopback the handshake has run by
// the time the first call returns, and the second finds it done.
func (d *rawDialer) connect(fd uintptr) (done bool, err error) {
	for try := 0; ; try++ {
		_, _, errno := unix.RawSyscall(unix.SYS_CONNECT, fd, uintptr(d.sa), d.saLen)
		switch {
		case errno == 0 || errno == unix.EISCONN && try > 0:
			return true, nil
		case errno == unix.EINTR:
			// The connect goes on; ask again how it is going.
		case errno == unix.EINPROGRESS || errno == unix.EALREADY:
			if try > 0 {
				return false, nil
			}
		default:
			return false, &net.OpError{Op: "dial", Net: "tcp", Addr: d.remote, Err: os.NewSyscallError("connect", errno)}
		}
	}
}

// wait waits for a connect in progress through the poller: the socket
// becomes writable when the handshake ends either way (connect(2)).
func (d *rawDialer) wait(ctx context.Context, c *rawTCPConn) error {
	rc, err := c.File.SyscallConn()
	if err != nil {
		return err
	}
	if err := c.File.SetWriteDeadline(time.Now().Add(d.timeout)); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.File.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var cerr error
	err = rc.Write(func(fd uintptr) bool {
		done, err := d.connect(fd)
		cerr = err
		return done || err != nil
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &net.OpError{Op: "dial", Net: "tcp", Addr: d.remote, Err: err}
	}
	return c.File.SetWriteDeadline(time.Time{})
}

// rawTCPConn is a connection opened by rawDialer: the os.File's reads,
// writes, deadlines and raw access, as a net.Conn.
type rawTCPConn struct {
	*os.File
	remote net.Addr
}

// LocalAddr asks the kernel for the connection's local address. The dial
// does not, unlike net.Dialer: it would cost a system call per connection,
// and the load generator never needs it. It returns nil if the kernel
// cannot tell (the connection is closed).
func (c *rawTCPConn) LocalAddr() net.Addr {
	rc, err := c.File.SyscallConn()
	if err != nil {
		return nil
	}
	var sa unix.Sockaddr
	if rc.Control(func(fd uintptr) { sa, err = unix.Getsockname(int(fd)) }) != nil || err != nil {
		return nil
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
	}
	return nil
}

// RemoteAddr returns the address dialled.
func (c *rawTCPConn) RemoteAddr() net.Addr { return c.remote }

// shutdown ends both directions of the connection and leaves the
// descriptor open; see the package's shutdown.
func (c *rawTCPConn) shutdown() {
	if rc, err := c.File.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RDWR) })
	}
}
