package loadgen

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// A rated run (Config.Rate) sends requests at fixed intended times, shared by
// every connection, and counts each request's latency from its intended
// start, not from when it was sent: a server slower than the rate shows as
// tail latency and as a backlog, never as a quietly lower rate (the
// coordinated-omission correction).

// pacer hands out the intended start times of a rated run: request i is due
// at i/rate seconds after the run's origin, whoever sends it.
type pacer struct {
	interval float64 // nanoseconds between intended starts
	next     atomic.Int64
}

func newPacer(rate float64) *pacer { return &pacer{interval: 1e9 / rate} }

// due returns the intended start (an offset from runState.now) of the next
// request to send.
func (p *pacer) due() int64 {
	i := p.next.Add(1) - 1
	return int64(float64(i) * p.interval)
}

// waitUntil sleeps until offset at on st's clock or until ctx is done, using
// the caller's timer so that pacing allocates nothing. It reports whether
// the time was reached.
func waitUntil(ctx context.Context, st *runState, t *time.Timer, at int64) bool {
	d := time.Duration(at - st.now())
	if d <= 0 {
		return ctx.Err() == nil
	}
	t.Reset(d)
	select {
	case <-ctx.Done():
		t.Stop()
		return false
	case <-t.C:
		return true
	}
}

// backlog returns how many intended starts due before offset end were never
// handed to a connection: requests the schedule wanted but the server was
// too slow (or the connections too few) to let the run send.
func (p *pacer) backlog(end int64) uint64 {
	due := uint64(math.Ceil(float64(end) / p.interval))
	if handed := uint64(p.next.Load()); due > handed {
		return due - handed
	}
	return 0
}
