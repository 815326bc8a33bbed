//go:build linux

package loadgen

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The event loop runs closed-loop HTTP/1.1 over plain TCP the way wrk does:
// a few goroutines (one per processor), each owning an epoll set of its
// own and many connections, instead of a goroutine per connection.
//
// Why: measured against wrk on nginx (#14, scripts/bench-conn.sh), the
// client's kernel time per request was at parity and its user time two to
// three times wrk's. The difference was the Go runtime's work for a
// goroutine per connection: per connection, os.NewFile (an F_GETFL and a
// finalizer) and the poller's registration; per response, a park and a
// wake through the runtime's poller. Here a socket never meets the
// runtime's poller: it is registered once in the loop's epoll set
// (edge-triggered), and one pass over epoll_wait's events reads, parses
// and records every response that arrived and writes the next requests,
// with raw system calls, as the direct path does (h1direct.go).
//
// A loop handles what a fast server does: whole responses in the read
// buffer, keep-alive, announced closes (docs/hostile-servers.md rows 1 and
// 2), and requests that time out (row 12). Anything else (a failed dial, a
// response larger than the buffer or delimited by the close, a request the
// socket could not take whole, an error or an EOF) hands the slot to a
// goroutine of its own, which finishes that request on the ordinary path
// (h1.go) and keeps the slot for the rest of the run. So every other row of
// the table is handled by the code that handled it before.
//
// Every other slot of the run goes to a goroutine of its own then too,
// with its request in flight: the loops give up. A loop that has events
// to serve never parks, so the processor it runs on would seldom poll
// the runtime's poller, and goroutines waiting for their responses would
// wait for the scheduler's monitor (about every 10 ms), which would show
// as the server's latency. A run is served by the loops or by goroutines,
// never by both for long; the result says which, when and why
// (SlotsHandedOff, HandOffReason).

// Phases of a slot run by a loop.
const (
	loopConnecting = iota + 1 // waiting for the handshake to end
	loopBusy                  // sending requests and reading responses
	loopDraining              // waiting for the FIN after an announced close
)

// loopState is a slot's state while a loop runs it.
type loopState struct {
	idx      int32 // the slot's index in the loop, its epoll data
	fd       int   // -1 when none
	phase    int
	deadline int64 // end of a connect or a drain, as runState.now
	rdhup    bool  // the last event said the server has closed its side
	gone     bool  // handed off to a goroutine
}

// h1Loop runs some of a run's slots on one goroutine.
type h1Loop struct {
	d   *h1Driver
	st  *runState
	ctx context.Context
	raw *rawDialer
	ep  int // the epoll set, owned by epf
	epf *os.File
	rc  syscall.RawConn // epf's
	// onReady is l.ready, bound once.
	onReady func(uintptr) bool
	slots   []*h1Slot
	events  []unix.EpollEvent
	ctl     unix.EpollEvent // epoll_ctl's argument, kept here so it never escapes per call
	spawn   func(*h1Slot)   // runs a handed-off slot on a goroutine of its own
	spoke   bool            // some connection was opened: the run speaks HTTP/1.1
	// every is how often deadlines are checked (the watchdog's period,
	// h1watchdog.go); nextScan is when they are checked next.
	every, nextScan int64
	// nextYield is when the loop next yields its processor.
	nextYield int64
}

// yieldEvery is how often a busy loop yields its processor. The
// scheduler's monitor would preempt it only after about 10 ms, and the
// run's clock would end the window, and read the client's CPU time, that
// late.
const yieldEvery = time.Millisecond

// useLoops reports whether the run's slots go to event loops: closed-loop
// plain HTTP/1.1 to a literal address, which the raw dial serves.
func (d *h1Driver) useLoops() bool {
	return d.st.pacer == nil && d.st.dials.raw != nil && !d.st.cfg.goroutines
}

// driveLoops runs the slots of recs on min(GOMAXPROCS, len(recs)) loops
// and returns when every loop and every handed-off slot has. It reports
// false, having started nothing, when the loops' descriptors cannot be
// made.
func (d *h1Driver) driveLoops(ctx context.Context, st *runState, recs []*recorder, procs int) bool {
	loops := make([]*h1Loop, min(procs, len(recs)))
	var wg sync.WaitGroup
	spawn := func(s *h1Slot) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.resume(ctx)
		}()
	}
	for i := range loops {
		l, err := newH1Loop(ctx, d, st, spawn)
		if err != nil {
			for _, l := range loops[:i] {
				l.close()
			}
			return false
		}
		loops[i] = l
	}
	for i, rec := range recs {
		loops[i%len(loops)].add(newH1Slot(d, st, rec))
	}
	st.eventLoops = len(loops)
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.run()
		}()
	}
	wg.Wait()
	return true
}

// newH1Loop makes a loop's epoll set.
func newH1Loop(ctx context.Context, d *h1Driver, st *runState, spawn func(*h1Slot)) (*h1Loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// The epoll set goes to the runtime's poller (ready says why); a
	// deadline can be set only on a descriptor the poller took.
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		return nil, os.NewSyscallError("fcntl", err)
	}
	epf := os.NewFile(uintptr(ep), "epoll")
	rc, err := epf.SyscallConn()
	if err == nil {
		err = epf.SetReadDeadline(time.Time{})
	}
	if err != nil {
		epf.Close()
		return nil, fmt.Errorf("loadgen: epoll set not pollable: %w", err)
	}
	l := &h1Loop{
		d: d, st: st, ctx: ctx, raw: st.dials.raw, ep: ep, epf: epf, rc: rc,
		spawn: spawn,
		every: int64(d.wd.every),
	}
	l.onReady = l.ready
	return l, nil
}

// add gives the loop a slot to run.
func (l *h1Loop) add(s *h1Slot) {
	s.lp = loopState{idx: int32(len(l.slots)), fd: -1}
	l.slots = append(l.slots, s)
}

// run dials every slot, then serves events until the run ends, when it
// closes every connection it still holds.
func (l *h1Loop) run() {
	defer l.close()
	// The run's end wakes the parked loop through a deadline in the past,
	// as the raw dial's wait is woken (dialraw.go). The loop's own
	// deadline, set later, cannot hide the end: ready looks at it first.
	stop := context.AfterFunc(l.ctx, func() { l.epf.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	// One epoll_wait can report every connection of the loop: with a
	// thousand connections, fewer calls per response.
	l.events = make([]unix.EpollEvent, min(len(l.slots), 1024))
	l.nextScan = l.st.now() + l.every
	l.nextYield = l.st.now() + int64(yieldEvery)
	for _, s := range l.slots {
		if !l.st.over() {
			l.dial(s)
		}
	}
	for !l.st.over() && !l.st.loopsOff.Load() {
		// Read returns at the deadline, so that ready, called first
		// on the next Read, checks the slots' deadlines, or when ready
		// says the loops are done.
		l.epf.SetReadDeadline(time.Now().Add(time.Duration(l.every)))
		l.rc.Read(l.onReady)
	}
	if l.st.loopsOff.Load() && !l.st.over() {
		l.releaseAll()
	}
}

// ready serves the events of the loop's epoll set until none is ready,
// and reports whether the loops are done. It runs inside RawConn.Read on
// the epoll set, registered with the runtime's poller: when it returns
// false, the goroutine parks there until the set has an event, as a
// goroutine waiting for a socket does. Blocking in epoll_wait instead
// would hold the processor in a system call, which the runtime's monitor
// takes back after 20 µs when the program has one processor: a thread
// handoff per wait, and on a machine shared with the server, noise in
// the figures (an A/B run's 5 % change was missed twice in a row).
func (l *h1Loop) ready(uintptr) bool {
	for {
		if l.st.over() || l.st.loopsOff.Load() {
			return true
		}
		n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(l.ep), uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), 0, 0, 0)
		if errno != 0 {
			n = 0 // EINTR; the runtime's poller will say when to look again
		}
		for _, ev := range l.events[:n] {
			l.handle(l.slots[ev.Fd], ev.Events)
		}
		now := l.st.now()
		if now >= l.nextScan {
			l.scan(now)
			l.nextScan = now + l.every
		}
		if n == 0 {
			return false
		}
		if now >= l.nextYield {
			// A loop with events to serve never parks: let the
			// run's clock and other goroutines on this processor
			// run, so that their timers fire on time.
			runtime.Gosched()
			l.nextYield = now + int64(yieldEvery)
		}
	}
}

// close closes every descriptor the loop still holds.
func (l *h1Loop) close() {
	for _, s := range l.slots {
		if !s.lp.gone {
			l.closeConn(s)
		}
	}
	l.epf.Close()
}

// handle serves one event of slot s.
func (l *h1Loop) handle(s *h1Slot, events uint32) {
	if s.lp.gone || s.lp.fd < 0 {
		return
	}
	switch s.lp.phase {
	case loopConnecting:
		done, err := l.raw.connect(uintptr(s.lp.fd))
		switch {
		case err != nil:
			l.dialFailed(s, err)
		case done:
			l.connected(s)
			// Bytes the server sent first came with this event,
			// whose edge will not be reported again: read them.
			if events&unix.EPOLLIN != 0 && !s.lp.gone && s.lp.phase == loopBusy && s.dir.busy {
				s.lp.rdhup = events&unix.EPOLLRDHUP != 0
				l.pump(s)
			}
		}
	case loopBusy:
		s.lp.rdhup = events&unix.EPOLLRDHUP != 0
		l.pump(s)
	case loopDraining:
		l.drain(s, events)
	}
}

// scan ends connects, requests and drains that have run past their
// deadlines.
func (l *h1Loop) scan(now int64) {
	for _, s := range l.slots {
		if s.lp.gone || s.lp.fd < 0 {
			continue
		}
		switch {
		case s.lp.phase == loopConnecting && now >= s.lp.deadline:
			l.dialFailed(s, &net.OpError{Op: "dial", Net: "tcp", Addr: l.raw.remote, Err: os.ErrDeadlineExceeded})
		case s.lp.phase == loopBusy && s.dir.busy && now-s.sentAt >= l.d.wd.timeout:
			l.timedOut(s, now)
		case s.lp.phase == loopDraining && now >= s.lp.deadline:
			l.closeConn(s)
			l.dial(s)
		}
	}
}
