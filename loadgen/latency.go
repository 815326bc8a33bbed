package loadgen

import (
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// latencyBatch is how many latencies a recorder buffers before it adds them
// to the run's histogram. A histogram per connection at 3 significant
// figures over 1 µs to 60 s holds about 140 KB of counters: 1.4 GB of heap
// at 10,000 connections, and a garbage-collection goal that scales with it.
// A batch of 256 costs 2 KiB per connection and one lock per 256 responses.
const latencyBatch = 256

// latencies is the run's latency histogram of the measured window, shared
// by every recorder through latencyBuffer.
type latencies struct {
	mu   sync.Mutex
	hist *hdrhistogram.Histogram
}

func newLatencies() *latencies {
	return &latencies{hist: hdrhistogram.New(histLowest, histHighest, histSigFigs)}
}

// add records a batch of latencies in microseconds, each within the
// histogram's range.
func (l *latencies) add(us []int64) {
	l.mu.Lock()
	for _, v := range us {
		_ = l.hist.RecordValue(v) // in range by construction
	}
	l.mu.Unlock()
}

// latencyBuffer is one recorder's batch of latencies not yet added to the
// run's histogram. It is owned by the recorder's goroutine.
type latencyBuffer struct {
	to  *latencies
	buf []int64
}

func newLatencyBuffer(to *latencies) latencyBuffer {
	return latencyBuffer{to: to, buf: make([]int64, 0, latencyBatch)}
}

// record buffers one latency in microseconds, adding the batch to the run's
// histogram when it is full.
func (b *latencyBuffer) record(us int64) {
	b.buf = append(b.buf, us)
	if len(b.buf) == cap(b.buf) {
		b.flush()
	}
}

// flush adds the buffered latencies to the run's histogram.
func (b *latencyBuffer) flush() {
	if len(b.buf) > 0 {
		b.to.add(b.buf)
		b.buf = b.buf[:0]
	}
}
