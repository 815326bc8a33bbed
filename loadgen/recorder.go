package loadgen

import (
	"sync"
	"sync/atomic"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: 1 µs to 60 s at 3 significant figures, in microseconds.
const (
	histLowest   = 1
	histHighest  = 60_000_000
	histSigFigs  = 3
	secondSigFig = 1 // per-second histograms only feed a p99 trend line
)

// errClass indexes ErrorClasses on the hot path.
type errClass int

const (
	errConnect errClass = iota
	errTLS
	errRead
	errWrite
	errTimeout
	errProtocol
	errStatus
	numErrClasses
)

// phaseCounts are the counters of one phase of one recorder. Requests and
// errors are atomic because the progress reporter reads them while the
// connection runs; everything else is read only after the run.
type phaseCounts struct {
	requests atomic.Uint64
	errors   atomic.Uint64
	byClass  [numErrClasses]uint64
	status   statusCounts
	bytes    uint64
}

// maxStatus bounds the status codes counted: 100 to 599 (RFC 9110 15).
const maxStatus = 600

// statusCounts counts responses by status code. A connection sees few
// distinct codes, usually one, so the first few are kept in a small table
// searched in order, and only a connection that sees more allocates an
// array for every code. An array in every recorder was 9.6 KB per
// connection (two phases), whose pages a thousand connections faulted in
// before their first request: on a virtual machine, over 50 µs each.
type statusCounts struct {
	codes [4]uint16 // 0: free
	n     [4]uint64
	more  *[maxStatus]uint64
}

// add counts one response with status code, 100 <= code < maxStatus.
func (s *statusCounts) add(code int) {
	for i, c := range s.codes {
		switch int(c) {
		case code:
			s.n[i]++
			return
		case 0:
			s.codes[i], s.n[i] = uint16(code), 1
			return
		}
	}
	if s.more == nil {
		s.more = new([maxStatus]uint64)
	}
	s.more[code]++
}

// each calls f with every status code counted and its count.
func (s *statusCounts) each(f func(code int, n uint64)) {
	for i, c := range s.codes {
		if c != 0 {
			f(int(c), s.n[i])
		}
	}
	if s.more != nil {
		for code, n := range s.more {
			if n > 0 {
				f(code, n)
			}
		}
	}
}

// recorder records what one connection slot measured. It is owned by one
// goroutine (the slot's), so recording allocates nothing and takes no lock
// but one per latencyBatch latencies; recorders are merged once, after the
// run.
type recorder struct {
	st     *runState
	phases [2]phaseCounts // indexed by phaseWarmup, phaseMeasure
	lat    latencyBuffer

	// The current second of the measured window, flushed into the shared
	// series when a record lands in a later second.
	sec      int
	secHist  *hdrhistogram.Histogram
	secReq   uint64
	secErr   uint64
	secDirty bool

	dials      atomic.Uint64 // successful dials
	reconnects atomic.Uint64
	retried    atomic.Uint64
	goaways    atomic.Uint64
	resets     atomic.Uint64
}

func newRecorder(st *runState) *recorder {
	return &recorder{
		st:      st,
		lat:     newLatencyBuffer(st.latencies),
		secHist: hdrhistogram.New(histLowest, histHighest, secondSigFig),
	}
}

// response records a complete response. start is the request's (intended)
// start and end its completion, both from runState.now.
func (r *recorder) response(start, end int64, status int, bodyBytes int) {
	ph := r.st.phaseAt(end)
	if ph == phaseDone {
		return
	}
	c := &r.phases[ph]
	if status >= 100 && status < maxStatus {
		c.status.add(status)
	}
	c.bytes += uint64(bodyBytes)
	if !r.st.cfg.success(status) {
		c.byClass[errStatus]++
		c.errors.Add(1)
		if ph == phaseMeasure {
			r.second(end, false)
		}
		return
	}
	c.requests.Add(1)
	if ph != phaseMeasure {
		return
	}
	r.second(end, true)
	r.latency(start, end)
}

// timedOut records a request abandoned after Config.Timeout: a timeout
// error whose latency (start to abandonment) also enters the histogram, so
// that a stall shows in the tail rather than vanishing from it.
func (r *recorder) timedOut(start, end int64) {
	ph := r.st.phaseAt(end)
	if ph == phaseDone {
		return
	}
	c := &r.phases[ph]
	c.byClass[errTimeout]++
	c.errors.Add(1)
	if ph == phaseMeasure {
		r.second(end, false)
		r.latency(start, end)
	}
}

// latency records end-start in the run's histogram (through the batch) and
// the current second's, clamped to their range.
func (r *recorder) latency(start, end int64) {
	us := (end - start) / 1000
	if us < histLowest {
		us = histLowest
	} else if us > histHighest {
		us = histHighest
	}
	r.lat.record(us)
	_ = r.secHist.RecordValue(us) // in range by construction
}

// retry counts a request sent again at offset at because the server had
// provably not processed it; retries after the measured window are not
// counted.
func (r *recorder) retry(at int64) {
	if r.st.phaseAt(at) != phaseDone {
		r.retried.Add(1)
	}
}

// failure records a failed request.
func (r *recorder) failure(end int64, class errClass) {
	ph := r.st.phaseAt(end)
	if ph == phaseDone {
		return
	}
	c := &r.phases[ph]
	c.byClass[class]++
	c.errors.Add(1)
	if ph == phaseMeasure {
		r.second(end, false)
	}
}

// second moves the per-second accounting to the second containing end and
// counts one request or error in it.
func (r *recorder) second(end int64, ok bool) {
	s := int((end - r.st.measureStart.Load()) / 1e9)
	if s < 0 {
		s = 0
	}
	if s != r.sec && r.secDirty {
		r.flushSecond()
	}
	r.sec = s
	r.secDirty = true
	if ok {
		r.secReq++
	} else {
		r.secErr++
	}
}

// flushSecond adds the current second to the run's shared series.
func (r *recorder) flushSecond() {
	if !r.secDirty {
		return
	}
	r.st.series.add(r.sec, r.secReq, r.secErr, r.secHist)
	r.secHist.Reset()
	r.secReq, r.secErr, r.secDirty = 0, 0, false
}

// series is the run's per-second timeline, filled by recorders once per
// second each.
//
// Only the last few seconds keep a histogram: a second older than
// seriesOpenSeconds is settled into its p99 and its histogram reused, so
// the series costs a few bytes per second of a long run, not a histogram.
// A connection that flushes into a settled second (one idle for longer
// than that) adds to its counts but no longer to its p99.
type series struct {
	mu      sync.Mutex
	points  []seriesPoint
	spare   []*hdrhistogram.Histogram
	settled int // points below this index are settled
}

// seriesOpenSeconds is how many recent seconds keep their histogram.
const seriesOpenSeconds = 5

type seriesPoint struct {
	requests, errors uint64
	hist             *hdrhistogram.Histogram
	p99Ns            int64
}

// settle turns the histogram of point i into its p99.
func (s *series) settle(i int) {
	p := &s.points[i]
	if p.hist == nil {
		return
	}
	p.p99Ns = p.hist.ValueAtQuantile(99) * 1000
	p.hist.Reset()
	s.spare = append(s.spare, p.hist)
	p.hist = nil
}

func (s *series) add(sec int, req, errs uint64, h *hdrhistogram.Histogram) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.points) <= sec {
		s.points = append(s.points, seriesPoint{})
	}
	p := &s.points[sec]
	p.requests += req
	p.errors += errs
	if h.TotalCount() > 0 && sec >= len(s.points)-seriesOpenSeconds {
		if p.hist == nil {
			if n := len(s.spare); n > 0 {
				p.hist, s.spare = s.spare[n-1], s.spare[:n-1]
			} else {
				p.hist = hdrhistogram.New(histLowest, histHighest, secondSigFig)
			}
		}
		p.hist.Merge(h)
	}
	for ; s.settled < len(s.points)-seriesOpenSeconds; s.settled++ {
		s.settle(s.settled)
	}
}

// result returns the series as Points, trimmed to the measured window.
func (s *series) result(seconds int) []Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Point, 0, seconds)
	for i := 0; i < seconds || i < len(s.points); i++ {
		p := Point{Second: i}
		if i < len(s.points) {
			sp := s.points[i]
			p.Requests, p.Errors = sp.requests, sp.errors
			p.P99Ns = sp.p99Ns
			if sp.hist != nil {
				p.P99Ns = sp.hist.ValueAtQuantile(99) * 1000
			}
		}
		if i >= seconds && p.Requests == 0 && p.Errors == 0 {
			break
		}
		out = append(out, p)
	}
	return out
}
