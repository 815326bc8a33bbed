//go:build linux

package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A loop's work on one slot's connection: dial, requests, close, and the
// hand-off to a goroutine (see h1loop.go).

// dial opens a connection for s and registers it, edge-triggered, for
// every event the slot waits for: writable (the handshake ended), readable
// (a response or the server's FIN). A slot that must first wait out a
// backoff goes to a goroutine, which waits it out (dial.go).
func (l *h1Loop) dial(s *h1Slot) {
	if l.st.over() {
		return // the connection would serve nothing; close closes what is left
	}
	if s.bo.pending() > 0 {
		l.handOff(s, "a dial to back off from")
		return
	}
	fd, done, err := l.raw.open()
	if err != nil {
		l.dialFailed(s, err)
		return
	}
	s.lp.fd = int(fd)
	l.ctl = unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: s.lp.idx}
	_, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(l.ep), unix.EPOLL_CTL_ADD, fd, uintptr(unsafe.Pointer(&l.ctl)), 0, 0)
	if errno != 0 {
		l.dialFailed(s, errno)
		return
	}
	if !done {
		s.lp.phase, s.lp.deadline = loopConnecting, l.st.now()+l.d.wd.timeout
		return
	}
	l.connected(s)
}

// dialFailed records a failed dial and hands the slot to a goroutine,
// which dials again after the backoff the failure set.
func (l *h1Loop) dialFailed(s *h1Slot, err error) {
	l.closeConn(s)
	s.last = -1
	l.st.dials.dialed(l.ctx, s.rec, &s.bo, errConnect, err)
	if l.ctx.Err() != nil {
		return // the run is over: dialed recorded nothing, and nothing is handed off
	}
	l.handOff(s, fmt.Sprintf("a dial failed (%v)", err))
}

// connected starts the requests of a newly opened connection.
func (l *h1Loop) connected(s *h1Slot) {
	l.st.dials.dialed(l.ctx, s.rec, &s.bo, errConnect, nil)
	if !l.spoke {
		l.st.negotiated.Store(ProtocolH1)
		l.spoke = true
	}
	s.rd.r, s.rd.w, s.rd.received = 0, 0, 0
	s.reused = false
	s.lp.phase, s.lp.rdhup = loopBusy, false
	if s.last < 0 {
		s.last = l.st.now()
	}
	s.dir = directState{start: s.last}
	l.pump(s)
}

// pump reads responses and sends requests on s's connection until it
// waits for the next event. A request just sent waits for its event
// rather than being read for at once: its response is rarely back yet,
// and the read would fail with EAGAIN, a system call wasted per request.
// The epoll set is edge-triggered, so the response's arrival is an event
// whether or not the socket was read to EAGAIN before.
func (l *h1Loop) pump(s *h1Slot) {
	fd := uintptr(s.lp.fd)
	for {
		if !s.dir.busy {
			if l.st.over() {
				return
			}
			if !s.send(fd) {
				l.handOff(s, handOffReason(&s.dir.pend))
			}
			return
		}
		switch s.receive(fd) {
		case stepWait:
			return
		case stepDone:
			a := &s.dir.pend
			if a.err != nil || a.timedOut || !a.res.close && !s.d.close {
				l.handOff(s, handOffReason(a))
				return
			}
			s.dir.out = false
			s.succeed(s.dir.start, a)
			l.closeAnnounced(s)
			return
		}
	}
}

// closeAnnounced closes s's connection after a response that announced
// its close, once the server's FIN is here (so that the server holds the
// TIME_WAIT state, as h1Slot.closeAnnounced explains), and dials anew.
// When the event that brought the response did not bring the FIN too, the
// slot waits for the event that will: reading for it now would mostly
// find nothing yet, a system call wasted per connection.
func (l *h1Loop) closeAnnounced(s *h1Slot) {
	if !s.lp.rdhup {
		s.lp.phase, s.lp.deadline = loopDraining, l.st.now()+int64(drainWait)
		return
	}
	l.closeConn(s)
	l.dial(s)
}

// drain serves an event of a slot waiting for the server's FIN: bytes
// after the response are read and discarded; at the FIN (or an error) it
// closes the connection and dials anew.
func (l *h1Loop) drain(s *h1Slot, events uint32) {
	for events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
		n, errno := rawIO(unix.SYS_READ, uintptr(s.lp.fd), s.rd.buf)
		switch {
		case errno == unix.EAGAIN:
			return
		case errno == unix.EINTR || errno == 0 && n > 0:
			continue
		}
		break
	}
	l.closeConn(s)
	l.dial(s)
}

// timedOut abandons s's request in flight, which has run past the
// timeout, as the watchdog would (h1watchdog.go), and dials anew.
func (l *h1Loop) timedOut(s *h1Slot, now int64) {
	s.sent.Store(0)
	s.dir.busy = false
	l.closeConn(s)
	s.rec.timedOut(s.dir.start, now)
	s.last = -1
	l.dial(s)
}

// closeConn closes s's connection, if any, which also takes it out of the
// epoll set.
func (l *h1Loop) closeConn(s *h1Slot) {
	if s.lp.fd >= 0 {
		unix.RawSyscall(unix.SYS_CLOSE, uintptr(s.lp.fd), 0, 0)
		s.lp.fd = -1
	}
}

// handOff gives s to a goroutine of its own for the rest of the run, for
// the reason why, and makes every loop of the run give up its slots too
// (see h1loop.go).
func (l *h1Loop) handOff(s *h1Slot, why string) {
	if l.st.loopsOff.CompareAndSwap(false, true) {
		l.st.handOffWhy = fmt.Sprintf("after %v of the run: %s", time.Duration(l.st.now()).Round(time.Millisecond), why)
	}
	l.release(s)
}

// releaseAll gives every slot the loop still runs to a goroutine of its
// own, each with its request in flight, which the goroutine reads on.
func (l *h1Loop) releaseAll() {
	for _, s := range l.slots {
		if s.lp.gone {
			continue
		}
		switch {
		case s.lp.phase == loopBusy && s.dir.busy:
			s.dir.pend.err, s.dir.out, s.dir.busy = errSlowRead, true, false
		case s.lp.phase != loopBusy:
			// A connect or a drain: the goroutine dials anew.
			l.closeConn(s)
		}
		l.release(s)
	}
}

// release gives s, and its connection if it has one, to a goroutine of its
// own.
func (l *h1Loop) release(s *h1Slot) {
	s.lp.gone = true
	l.st.handedOff.Add(1)
	if fd := s.lp.fd; fd >= 0 {
		unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(l.ep), unix.EPOLL_CTL_DEL, uintptr(fd), 0, 0, 0)
		c := l.raw.wrap(uintptr(fd))
		s.conn, s.raw, s.rd.conn = c, c, c
		s.rc = nil
		if rc, err := c.File.SyscallConn(); err == nil {
			s.rc = rc
		}
		s.lp.fd = -1
	}
	l.spawn(s)
}

// handOffReason says why the loop cannot finish the attempt a: what the
// ordinary path will do with it.
func handOffReason(a *h1Attempt) string {
	var pe protocolError
	switch {
	case a.err == errSlowWrite:
		return "a request the socket did not take whole"
	case a.err == errSlowRead:
		return "a response larger than the read buffer, or delimited by the close"
	case a.err == io.EOF:
		return "the server closed a connection without announcing it"
	case a.err == unix.ECONNRESET:
		// A close with our next request unread resets the connection.
		return "the server closed a connection without announcing it (reset)"
	case errors.As(a.err, &pe):
		return pe.Error()
	case !a.wrote:
		return fmt.Sprintf("a write failed (%v)", a.err)
	}
	return fmt.Sprintf("a read failed (%v)", a.err)
}

// resume runs a slot handed off by a loop: it finishes the request the
// loop handed back, if any, then goes on as a slot of its own.
func (s *h1Slot) resume(ctx context.Context) {
	s.d.wd.add(s) // after the connection is set, so the run's end shuts it
	defer s.drop()
	if s.st.over() {
		return
	}
	if s.dir.out {
		start := s.dir.start
		s.settle(ctx, start, s.finishDirect())
	}
	s.run(ctx)
}
