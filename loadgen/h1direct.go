package loadgen

import (
	"errors"
	"io"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The direct path runs a plain TCP connection's requests inside one
// syscall.RawConn.Read call. Read calls its function, and each time the
// function returns false, parks the goroutine until the runtime's poller
// reports the socket readable, then calls it again. Within one Read call
// that readiness is never reset, so the function can write a request and
// return false at once: the goroutine wakes when the response is there and
// reads it with one read(2). Reading right after the write through
// net.Conn.Read would instead fail with EAGAIN almost every time, park,
// and read again: on this project's 2-core machine, where the server
// shares the cores, that wasted system call was about a third of the
// client's CPU per request.
//
// The function parses a response only when it is whole in the read buffer
// (the common case by far); anything else (a response larger than the
// buffer, a body delimited by the close, a failure, a close, a retry) is
// handed back to run, which finishes it on the ordinary path.

// Sentinels of the direct path, never recorded as errors.
var (
	// errNeedMore: the buffer holds part of a response (h1Reader.try).
	errNeedMore = errors.New("loadgen: response incomplete in buffer")
	// errSlowRead: finish reading the response through conn.
	errSlowRead = errors.New("loadgen: response continues beyond the direct path")
	// errSlowWrite: the request did not fit in the socket buffer; write
	// the rest, then read the response, through conn.
	errSlowWrite = errors.New("loadgen: request continues beyond the direct path")
)

// directState is the direct path's state across calls of h1Slot.step.
type directState struct {
	start   int64     // latency origin of the request in flight or next
	busy    bool      // a request is in flight
	mark    int       // where its response begins in the read buffer
	written int       // bytes of the request written, for errSlowWrite
	out     bool      // pend holds an attempt for run to settle
	pend    h1Attempt // the attempt handed back
}

// direct sends requests from start on, closed-loop, and returns the first
// attempt that needs settling by run, with its latency origin; ok is false
// when none does (the run ended between requests). In rated mode it
// returns after every request.
func (s *h1Slot) direct(start int64) (a h1Attempt, from int64, ok bool) {
	s.dir = directState{start: start}
	err := s.rc.Read(s.onReadable)
	d := &s.dir
	if !d.out {
		if !d.busy {
			if err != nil {
				s.drop() // the descriptor is unusable; dial anew
				s.last = -1
			}
			return h1Attempt{}, 0, false
		}
		// Read failed while a response was awaited: the descriptor is
		// unusable, which is the request's failure.
		d.pend.err = err
		s.stopTimer(&d.pend)
	}
	return s.finishDirect(), d.start, true
}

// finishDirect finishes, on the ordinary path through conn, the attempt
// the direct path handed back, and returns it.
func (s *h1Slot) finishDirect() h1Attempt {
	d := &s.dir
	d.out = false
	switch d.pend.err {
	case errSlowWrite:
		d.pend.err = nil
		if _, d.pend.err = s.conn.Write(s.d.req[d.written:]); d.pend.err != nil {
			s.stopTimer(&d.pend)
			break
		}
		d.pend.wrote = true
		fallthrough
	case errSlowRead:
		s.rd.r = d.mark
		d.pend.res, d.pend.err = s.rd.readResponse(s.d.head)
		d.pend.heard = d.pend.heard || s.rd.received > 0
		s.stopTimer(&d.pend)
	}
	return d.pend
}

// step is the function run by RawConn.Read; it reports whether Read should
// return.
func (s *h1Slot) step(fd uintptr) bool {
	for {
		if !s.dir.busy {
			return s.st.over() || !s.send(fd)
		}
		switch s.receive(fd) {
		case stepWait:
			return false
		case stepDone:
			return true
		}
	}
}

// send writes the next request with one write(2); it reports whether the
// request is now awaiting its response.
func (s *h1Slot) send(fd uintptr) bool {
	d, rd := &s.dir, &s.rd
	if rd.r == rd.w {
		rd.r, rd.w = 0, 0
	} else if rd.r > 0 {
		rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r = 0
	}
	d.mark = rd.r
	s.startTimer(s.sendTime(d.start))
	d.pend = h1Attempt{heard: rd.w > rd.r} // unsolicited bytes count as the server speaking
	rd.received = 0
	d.busy = true
	req := s.d.req
	n, errno := rawIO(unix.SYS_WRITE, fd, req)
	switch {
	case errno == 0 && n == len(req):
		d.pend.wrote = true
		return true
	case errno == 0 || errno == unix.EAGAIN || errno == unix.EINTR:
		d.written = max(n, 0)
		d.pend.err = errSlowWrite
	default:
		d.pend.err = errno
		s.stopTimer(&d.pend)
	}
	d.out = true
	return false
}

// Results of receive.
const (
	stepWait = iota // wait for the socket to be readable
	stepNext        // a response was recorded; send the next request
	stepDone        // hand pend back to run
)

// receive reads what has arrived of the response and parses it if whole.
func (s *h1Slot) receive(fd uintptr) int {
	d, rd := &s.dir, &s.rd
	if rd.w == len(rd.buf) {
		return s.handBack(errSlowRead) // the response outgrew the buffer
	}
	n, errno := rawIO(unix.SYS_READ, fd, rd.buf[rd.w:])
	switch {
	case errno == unix.EAGAIN:
		return stepWait
	case errno == unix.EINTR:
		return stepNext
	case errno != 0:
		d.pend.err = errno
		s.stopTimer(&d.pend)
		return s.handBack(nil)
	case n == 0 && rd.w > d.mark:
		// EOF after part of a response: it may be a close-delimited
		// body, which the ordinary path completes (or finds truncated).
		return s.handBack(errSlowRead)
	case n == 0:
		d.pend.err = io.EOF
		s.stopTimer(&d.pend)
		return s.handBack(nil)
	}
	rd.w += n
	rd.received += int64(n)
	d.pend.heard = true
	rd.try = true
	res, err := rd.readResponse(s.d.head)
	rd.try = false
	if err == errNeedMore {
		// Read again before waiting: more may have arrived with what
		// was read, an EOF for one (a close-delimited body), and the
		// poller, edge-triggered, will not report it a second time.
		// Usually the read fails with EAGAIN, and then the wait is safe.
		rd.r = d.mark
		return stepNext
	}
	d.pend.res, d.pend.err = res, err
	s.stopTimer(&d.pend)
	d.busy = false
	a := &d.pend
	if a.err != nil || a.timedOut || a.res.close || s.d.close || s.st.pacer != nil {
		d.out = true
		return stepDone
	}
	s.succeed(d.start, a)
	d.start = a.end
	return stepNext
}

// handBack ends the direct path with the request in flight, to be
// finished as err says (nil: it has failed already).
func (s *h1Slot) handBack(err error) int {
	d := &s.dir
	if err != nil {
		d.pend.err = err
	}
	d.busy = false
	d.out = true
	return stepDone
}

// rawIO does one read(2) or write(2) of b on fd. The socket is
// non-blocking, so the call is short, and the runtime's system call
// bookkeeping (which lets another thread take the processor during a
// blocking call) would only cost time.
func rawIO(trap, fd uintptr, b []byte) (int, unix.Errno) {
	n, _, errno := unix.RawSyscall(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	return int(n), errno
}
