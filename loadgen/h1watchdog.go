package loadgen

import (
	"net"
	"sync"
	"time"
)

// h1Watchdog enforces Config.Timeout for every slot of a run and shuts
// their connections down when the run ends. One goroutine checking every
// slot a few times per timeout costs less than a read deadline set per
// request: BenchmarkRequestTimeout measures about 15 ns per request for the
// slot's atomics against about 185 ns for SetReadDeadline, which takes a
// clock read and a runtime timer update every time.
type h1Watchdog struct {
	st      *runState
	timeout int64
	every   time.Duration

	mu    sync.Mutex
	slots []*h1Slot
	over  bool
}

func newH1Watchdog(st *runState) *h1Watchdog {
	t := st.cfg.timeout()
	return &h1Watchdog{st: st, timeout: int64(t), every: min(max(t/10, time.Millisecond), 100*time.Millisecond)}
}

// add puts a slot under watch.
func (w *h1Watchdog) add(s *h1Slot) {
	w.mu.Lock()
	w.slots = append(w.slots, s)
	if w.over {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
	}
	w.mu.Unlock()
}

// run checks the slots until the run ends, then shuts every connection
// down so that slots blocked in a read return.
func (w *h1Watchdog) run() {
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-w.st.done:
			w.closeAll()
			return
		case <-t.C:
			w.check()
		}
	}
}

// check abandons requests in flight for longer than the timeout by shutting
// their connections down; the slot sees the read fail and the timeout mark.
func (w *h1Watchdog) check() {
	now := w.st.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.slots {
		sent := s.sent.Load()
		if sent <= 0 || now-sent < w.timeout || !s.sent.CompareAndSwap(sent, timedOutMark) {
			continue
		}
		s.mu.Lock()
		shutdown(s.raw)
		s.mu.Unlock()
	}
}

// shutdown ends both directions of a slot's TCP connection from another
// goroutine, waking the slot's blocked read or write. Unlike Close it
// leaves the descriptor open, so that the number cannot be reused by a new
// socket under the slot's direct writes; the slot closes it itself.
func shutdown(c net.Conn) {
	switch c := c.(type) {
	case *net.TCPConn:
		c.CloseRead()
		c.CloseWrite()
	case interface{ shutdown() }: // rawTCPConn
		c.shutdown()
	case nil:
	default:
		c.Close()
	}
}

// closeAll shuts every slot's connection down and forbids new ones.
func (w *h1Watchdog) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.over = true
	for _, s := range w.slots {
		s.mu.Lock()
		s.closed = true
		shutdown(s.raw)
		s.mu.Unlock()
	}
}
