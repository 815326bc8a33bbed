package loadgen

import (
	"context"
	"encoding/base64"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/net/http2"
)

// Phases of a run, in order.
const (
	phaseWarmup  = 0
	phaseMeasure = 1
	phaseDone    = 2
)

// runState is shared by every connection slot of one run.
type runState struct {
	cfg    *Config
	target *target
	base   time.Time // monotonic origin of now()

	// warmupEnd and measureEnd are offsets from base. Every event belongs to
	// the phase its completion time falls in, so the phases are exactly as
	// long as configured, however late the clock goroutine wakes up.
	// measureStart is the offset of the measured window's start, equal to
	// warmupEnd.
	warmupEnd    int64
	measureEnd   atomic.Int64 // lowered when the run is cut short
	measureStart atomic.Int64

	// done is closed when the run ends (the window is over or ctx was
	// cancelled); every slot returns promptly after that.
	done   <-chan struct{}
	cancel context.CancelFunc
	series series
	// latencies is the measured window's latency histogram, which
	// recorders add to in batches.
	latencies *latencies

	// endedEarly says why the run stopped before its end, when a driver
	// gave up (for example: no connection could ever be opened).
	endedEarly atomic.Value
	// neverConnectedAfter is how long every dial may fail before the run
	// gives up; neverConnectedAfter (the constant) outside tests.
	neverConnectedAfter time.Duration
	dials               *dialer
	pacer               *pacer // nil when closed-loop

	mu         sync.Mutex
	recorders  []*recorder
	negotiated atomic.Value // Protocol actually spoken, set by drivers
	tlsInfo    atomic.Pointer[TLSInfo]
	// settings are the server's settings: HTTP/2's by http2.SettingID,
	// HTTP/3's by their name (a string), to uint32.
	settings sync.Map
	quicInfo atomic.Value // h3Info of the first HTTP/3 connection

	// eventLoops is how many HTTP/1.1 event loops run the slots (0: none),
	// set before they start; handedOff counts the slots they handed to
	// goroutines (h1loop.go).
	eventLoops int
	handedOff  atomic.Uint64
	// loopsOff tells the loops to give every slot to a goroutine;
	// handOffWhy, written by the loop that set it (and read once every
	// loop has returned), says when and why.
	loopsOff   atomic.Bool
	handOffWhy string

	// bg tracks the run's helper goroutines (watchdogs), which Run waits
	// for so that none outlives it.
	bg sync.WaitGroup
}

// background runs f in a goroutine that Run waits for before it returns.
// f must return promptly once st.done is closed.
func (st *runState) background(f func()) {
	st.bg.Add(1)
	go func() {
		defer st.bg.Done()
		f()
	}()
}

// over reports whether the run has ended, without blocking.
func (st *runState) over() bool {
	select {
	case <-st.done:
		return true
	default:
		return false
	}
}

// now returns the monotonic time since the run's origin in nanoseconds.
func (st *runState) now() int64 { return int64(time.Since(st.base)) }

// phaseAt returns the phase that an event at offset t belongs to.
func (st *runState) phaseAt(t int64) int {
	switch {
	case t < st.warmupEnd:
		return phaseWarmup
	case t < st.measureEnd.Load():
		return phaseMeasure
	default:
		return phaseDone
	}
}

// abort ends the run early for the reason given; the first reason wins.
func (st *runState) abort(reason string) {
	st.endedEarly.CompareAndSwap(nil, reason)
	st.cancel()
}

// newRecorder registers a recorder for one slot.
func (st *runState) newRecorder() *recorder {
	r := newRecorder(st)
	st.mu.Lock()
	st.recorders = append(st.recorders, r)
	st.mu.Unlock()
	return r
}

// driver is one protocol's client. drive runs one connection slot: it dials,
// sends requests and records them into rec until ctx is done, re-dialling as
// the server closes connections, and releases every socket and goroutine it
// started before it returns.
type driver interface {
	drive(ctx context.Context, st *runState, rec *recorder)
}

// groupDriver is a driver that runs a run's slots together rather than a
// goroutine each (the HTTP/1.1 event loops, h1loop.go).
type groupDriver interface {
	// driveAll runs a slot for every recorder of recs and returns when
	// every slot has.
	driveAll(ctx context.Context, st *runState, recs []*recorder)
}

// driveEach runs every slot of recs on a goroutine of its own and returns
// when all have.
func driveEach(ctx context.Context, drv driver, st *runState, recs []*recorder) {
	var wg sync.WaitGroup
	wg.Add(len(recs))
	for _, rec := range recs {
		go func() {
			defer wg.Done()
			drv.drive(ctx, st, rec)
		}()
	}
	wg.Wait()
}

// Run drives cfg.URL as cfg describes and returns what it measured. It
// returns an error only when cfg is invalid or the target cannot be
// resolved; a server that fails is measured, not reported as an error.
// Cancelling ctx ends the run early: the Result then covers what was
// measured until then and has Interrupted set.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	return run(ctx, cfg, neverConnectedAfter)
}

// run is Run with the never-connected limit as a parameter, so that tests
// need not wait the real one out.
func run(ctx context.Context, cfg Config, giveUpAfter time.Duration) (*Result, error) {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := newRunState(runCtx, cancel, cfg, giveUpAfter)
	if err != nil {
		return nil, err
	}
	drv, err := selectDriver(runCtx, st)
	if err != nil {
		cancel()
		st.bg.Wait()
		return nil, err
	}

	// Every recorder first, in one go: started between the slots, which
	// share the processor with this goroutine, a thousand of them took
	// half a second on a busy machine, while the first slots ran. The
	// slots are started by a goroutine of their own, so that the clock
	// ends the run on time however long that takes.
	recs := make([]*recorder, cfg.Connections)
	for i := range recs {
		recs[i] = st.newRecorder()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if g, ok := drv.(groupDriver); ok {
			g.driveAll(runCtx, st, recs)
			return
		}
		driveEach(runCtx, drv, st, recs)
	}()
	cpu := st.clock(runCtx, cancel)
	wg.Wait()
	st.bg.Wait()
	return st.result(cpu, ctx.Err() != nil), nil
}

// newRunState validates cfg and prepares the state shared by a run's slots.
// The run ends when ctx (whose cancel function is cancel) is done.
func newRunState(ctx context.Context, cancel context.CancelFunc, cfg Config, giveUpAfter time.Duration) (*runState, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tg, err := newTarget(&cfg)
	if err != nil {
		return nil, err
	}
	st := &runState{
		cfg:                 &cfg,
		target:              tg,
		base:                time.Now(),
		warmupEnd:           int64(cfg.Warmup),
		done:                ctx.Done(),
		cancel:              cancel,
		neverConnectedAfter: giveUpAfter,
		latencies:           newLatencies(),
	}
	st.measureEnd.Store(int64(cfg.Warmup + cfg.Duration))
	st.measureStart.Store(st.warmupEnd)
	st.dials = newDialer(st)
	if cfg.Rate > 0 {
		st.pacer = newPacer(cfg.Rate)
	}
	return st, nil
}

// cpuWindow is the client CPU time spent during the measured window.
type cpuWindow struct{ start, end time.Duration }

// clock moves the run through its phases, reports progress, and ends the
// run. It returns once the run is over.
func (st *runState) clock(ctx context.Context, cancel context.CancelFunc) cpuWindow {
	var cpu cpuWindow
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// The phases are offsets from base, and the slots started at base: so
	// do the timers. Started here, after the slots' goroutines, they would
	// end the run late by as long as it took to start them (with a
	// thousand connections on a busy machine, hundreds of milliseconds of
	// requests the client paid for and the window did not count).
	var warmC <-chan time.Time // nil, never ready, when there is no warmup
	if st.warmupEnd > 0 {
		warm := time.NewTimer(time.Duration(st.warmupEnd - st.now()))
		defer warm.Stop()
		warmC = warm.C
	}
	end := time.NewTimer(time.Duration(st.measureEnd.Load() - st.now()))
	defer end.Stop()
	cpu.start = processCPU()
	warmed := st.warmupEnd == 0
	var last uint64
	lastAt := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			cpu.end = processCPU()
			if !warmed {
				cpu.start = cpu.end
			}
			st.measureEnd.Store(min(st.measureEnd.Load(), st.now()))
			return cpu
		case <-warmC:
			cpu.start = processCPU()
			warmed = true
		case <-end.C:
			cpu.end = processCPU()
			return cpu
		case <-tick.C:
			if st.cfg.Progress != nil {
				p := st.progress()
				el := time.Since(st.base)
				if n := p.Requests; n >= last && el > lastAt {
					p.RPS = float64(n-last) / (el - lastAt).Seconds()
				}
				last, lastAt = p.Requests, el
				st.cfg.Progress(p)
			}
		}
	}
}

// progress sums the live counters of every recorder.
func (st *runState) progress() Progress {
	el := time.Since(st.base)
	ph := phaseMeasure
	if int64(el) < st.warmupEnd {
		ph = phaseWarmup
	}
	p := Progress{Elapsed: el, Warmup: ph == phaseWarmup}
	st.mu.Lock()
	for _, r := range st.recorders {
		p.Requests += r.phases[ph].requests.Load()
		p.Errors += r.phases[ph].errors.Load()
	}
	st.mu.Unlock()
	return p
}

// processCPU returns this process's user+sys CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// result merges every recorder into a Result. It runs after every slot has
// returned, so it reads the recorders without synchronisation.
func (st *runState) result(cpu cpuWindow, interrupted bool) *Result {
	cfg := st.cfg
	res := &Result{
		ErrorsByClass:  make(map[ErrorClass]uint64, numErrClasses),
		StatusCodes:    map[string]uint64{},
		LoadgenVersion: Version,
		Interrupted:    interrupted,
		ClientCPUNs:    int64(cpu.end - cpu.start),
	}
	var status [maxStatus]uint64
	countStatus := func(code int, n uint64) { status[code] += n }
	for _, r := range st.recorders {
		r.flushSecond()
		r.lat.flush()
		m, w := &r.phases[phaseMeasure], &r.phases[phaseWarmup]
		res.Requests += m.requests.Load()
		res.Errors += m.errors.Load()
		res.BytesRead += m.bytes
		for i, n := range m.byClass {
			res.ErrorsByClass[ErrorClasses[i]] += n
		}
		m.status.each(countStatus)
		res.Warmup.Requests += w.requests.Load()
		res.Warmup.Errors += w.errors.Load()
		res.ConnectionsOpened += r.dials.Load()
		res.Reconnects += r.reconnects.Load()
		res.Retried += r.retried.Load()
		res.GoawaysReceived += r.goaways.Load()
		res.StreamsReset += r.resets.Load()
	}
	for _, c := range ErrorClasses {
		res.ErrorsByClass[c] += 0 // every class present, zero or not
	}
	for code, n := range status {
		if n > 0 {
			res.StatusCodes[strconv.Itoa(code)] = n
		}
	}
	start := st.measureStart.Load()
	res.DurationNs = max(st.measureEnd.Load()-start, 0)
	if why, ok := st.endedEarly.Load().(string); ok {
		res.EndedEarly = why
	}
	res.Warmup.DurationNs = min(st.warmupEnd, st.measureEnd.Load())
	if st.pacer != nil {
		res.Backlog = st.pacer.backlog(st.measureEnd.Load())
	}
	if res.DurationNs > 0 {
		res.RPS = float64(res.Requests) / (float64(res.DurationNs) / 1e9)
	}
	hist := st.latencies.hist
	res.LatencyNs = LatencyOf(hist)
	if enc, err := hist.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		res.Histogram = base64.StdEncoding.EncodeToString(enc)
	}
	res.Timeseries = st.series.result(int((res.DurationNs + 999_999_999) / 1e9))
	res.Protocol = st.protocol()
	res.TLS = st.tlsInfo.Load()
	if qi, ok := st.quicInfo.Load().(h3Info); ok {
		res.QUICVersion = qi.version
	}
	if want := cfg.Protocol; want != ProtocolAuto && want != res.Protocol && res.Protocol != "" {
		res.ProtocolMismatch = fmt.Sprintf("asked for %s, server negotiated %s", want, res.Protocol)
	}
	st.settings.Range(func(k, v any) bool {
		if res.ServerSettings == nil {
			res.ServerSettings = map[string]uint32{}
		}
		name, ok := k.(string)
		if id, isH2 := k.(http2.SettingID); isH2 {
			name, ok = "SETTINGS_"+id.String(), true
		}
		if ok {
			res.ServerSettings[name] = v.(uint32)
		}
		return true
	})
	res.Config = ResultConfig{
		URL: cfg.URL, Method: cfg.method(), BodyBytes: len(cfg.Body), Protocol: cfg.Protocol,
		Connections: cfg.Connections, Streams: cfg.Streams, WarmupNs: int64(cfg.Warmup),
		DurationNs: int64(cfg.Duration), TimeoutNs: int64(cfg.timeout()), Close: cfg.Close,
		Rate: cfg.Rate, GOMAXPROCS: runtime.GOMAXPROCS(0), EventLoops: st.eventLoops,
	}
	res.SlotsHandedOff, res.HandOffReason = st.handedOff.Load(), st.handOffWhy
	return res
}

// protocol returns the protocol the drivers reported speaking.
func (st *runState) protocol() Protocol {
	if p, ok := st.negotiated.Load().(Protocol); ok {
		return p
	}
	return ""
}
