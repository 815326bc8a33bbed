package loadgen

import (
	"errors"
	"io"
	"net"
	"syscall"
	"unsafe"
)

// rawConn reads and writes a TCP connection with raw system calls
// (syscall.RawSyscall), waiting for readiness through the runtime's
// netpoller (syscall.RawConn), so that deadlines and Close still apply.
//
// Why: the sockets are non-blocking, so a read or write never blocks, but
// an ordinary system call tells the scheduler that the goroutine entered
// one. On a small shared machine, the scheduler's monitor then hands the
// processor to another thread whenever a system call is slow to return,
// and a thread that goes idle wakes the monitor again on the next call:
// measured against nginx on 2 cores, that doubled the context switches and
// the client's CPU per request. A raw call keeps the connection's
// goroutine on its thread from one read to the next.
type rawConn struct {
	rc      syscall.RawConn
	p       []byte
	n       int
	err     error
	readFn  func(uintptr) bool
	writeFn func(uintptr) bool
	// noWait makes Read return errWouldBlock instead of waiting when
	// nothing is ready.
	noWait bool
}

// errWouldBlock is a Read in noWait mode that found nothing to read.
var errWouldBlock = errors.New("loadgen: read would block")

func newRawConn() *rawConn {
	r := &rawConn{}
	r.readFn, r.writeFn = r.doRead, r.doWrite
	return r
}

// reset points r at nc's descriptor; it reports false when nc has none
// (TLS), and r must not be used then. A slot keeps one rawConn for all the
// connections it opens: a server that sends GOAWAY every 100 streams makes
// it redial often.
func (r *rawConn) reset(nc net.Conn) bool {
	// *net.TCPConn or rawTCPConn; not a TLS connection.
	tc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	r.rc, r.p, r.n, r.err, r.noWait = rc, nil, 0, nil, false
	return true
}

func (r *rawConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.p, r.n, r.err = p, 0, nil
	if err := r.rc.Read(r.readFn); err != nil {
		return 0, err
	}
	return r.n, r.err
}

func (r *rawConn) doRead(fd uintptr) bool {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.p[0])), uintptr(len(r.p)))
	switch {
	case e == syscall.EAGAIN:
		if r.noWait {
			r.err = errWouldBlock
			return true
		}
		return false
	case e == syscall.EINTR:
		return r.doRead(fd)
	case e != 0:
		r.err = e
	case n == 0:
		r.err = io.EOF
	default:
		r.n = int(n)
	}
	return true
}

func (r *rawConn) Write(p []byte) (int, error) {
	r.p, r.n, r.err = p, 0, nil
	if err := r.rc.Write(r.writeFn); err != nil {
		return r.n, err
	}
	return r.n, r.err
}

func (r *rawConn) doWrite(fd uintptr) bool {
	for r.n < len(r.p) {
		rest := r.p[r.n:]
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
		switch e {
		case 0:
			r.n += int(n)
		case syscall.EAGAIN:
			return false
		case syscall.EINTR:
		default:
			r.err = e
			return true
		}
	}
	return true
}
