package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/matrixbench/matrix/internal/capacity"
	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/tlscert"
	"github.com/matrixbench/matrix/internal/units"
	"github.com/matrixbench/matrix/loadgen"
)

// loadOptions is the parsed command line of "matrix load".
type loadOptions struct {
	cfg   loadgen.Config
	json  bool
	procs int // GOMAXPROCS for the run; 0 keeps the runtime's choice
	slo   *sloOptions
}

// headerFlags collects repeated --header values.
type headerFlags []loadgen.Header

func (h *headerFlags) String() string { return fmt.Sprint(*h) }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("header %q is not \"Name: value\"", v)
	}
	*h = append(*h, loadgen.Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	return nil
}

// loadUsage is printed by "matrix load -h".
const loadUsage = `Usage: matrix load [flags] URL

Drives one URL for a fixed time, like wrk or h2load, and prints what it
measured: req/s, latency percentiles, errors by class, status codes.

Flags:
  -c, --connections N    connections kept open (default 64)
  -d, --duration D       measured window (default 10s)
      --warmup D         warmup on the same connections, reported apart (default 1s)
  -m, --method M         request method (default GET)
  -H, --header "N: v"    request header field, repeatable
      --body-size N      send an N-byte deterministic body with every request
      --body-file F      send the contents of F with every request
      --close            one request per connection (Connection: close)
      --rate R           R requests/s in total at fixed intended times, latency
                         counted from each intended time (default: as fast as
                         the server answers)
      --timeout D        per-request timeout (default 10s)
      --expect-status S  the status counted as success (default: any 2xx)
      --h2               HTTP/2: h2c with prior knowledge for http://, h2 for https://
      --h3               HTTP/3 over QUIC (https:// URLs only; 0-RTT never used)
      --streams N        concurrent HTTP/2 or HTTP/3 streams per connection
                         (default 1)
      --ca FILE          verify https:// servers against the CA certificates
                         in the PEM FILE instead of the system's roots
      --insecure         skip TLS certificate verification (never used by
                         matrix run)
      --procs N          GOMAXPROCS for the run (default 1: on a machine shared
                         with the server, idle Go processors cost CPU)
      --json             print the whole result as JSON on stdout, nothing else

Capacity under a latency objective (the highest rate the server holds):
      --slo OBJ          search the rate: OBJ is p99=D, p99.9=D or both, and
                         errors=R (default 0.05), comma-separated, like
                         p99=10ms,errors=0.01. Each step is a rated run of
                         --step after --step-warmup on fresh connections,
                         latency counted from intended start times; the rate
                         doubles while the objective holds, then is bisected
                         to within 5 %. A rate that broke is measured once
                         more and breaks only if that breaks too (a host's
                         stall can break a step, never hold one). A step
                         that achieved under 95 % of its rate never counts
                         as held. One line per step on stderr; -d and
                         --warmup do not apply.
      --slo-start R      first rate (default: half of a closed-loop probe of
                         --step)
      --step D           measured window of each step (default 2s)
      --step-warmup D    warmup of each step (default 500ms)
      --max-steps N      most steps (default 14)
`

// parseLoadArgs parses the arguments of "matrix load". Flags may come
// before or after the URL. It returns flag.ErrHelp for -h.
func parseLoadArgs(args []string) (*loadOptions, error) {
	o := &loadOptions{}
	c := &o.cfg
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var (
		headers          headerFlags
		bodySize         int
		bodyFile         string
		h2, h3, insecure bool
		caFile           string
		method           string
		connections      int
		duration, warmup time.Duration
	)
	fs.IntVar(&connections, "connections", 64, "")
	fs.IntVar(&connections, "c", 64, "")
	fs.DurationVar(&duration, "duration", 10*time.Second, "")
	fs.DurationVar(&duration, "d", 10*time.Second, "")
	fs.DurationVar(&warmup, "warmup", time.Second, "")
	fs.StringVar(&method, "method", "GET", "")
	fs.StringVar(&method, "m", "GET", "")
	fs.Var(&headers, "header", "")
	fs.Var(&headers, "H", "")
	fs.IntVar(&bodySize, "body-size", 0, "")
	fs.StringVar(&bodyFile, "body-file", "", "")
	fs.BoolVar(&c.Close, "close", false, "")
	fs.Float64Var(&c.Rate, "rate", 0, "")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "")
	fs.IntVar(&c.ExpectStatus, "expect-status", 0, "")
	fs.BoolVar(&h2, "h2", false, "")
	fs.BoolVar(&h3, "h3", false, "")
	fs.StringVar(&caFile, "ca", "", "")
	fs.IntVar(&c.Streams, "streams", 0, "")
	fs.BoolVar(&insecure, "insecure", false, "")
	fs.IntVar(&o.procs, "procs", 1, "")
	fs.BoolVar(&o.json, "json", false, "")
	var slo sloFlags
	fs.StringVar(&slo.spec, "slo", "", "")
	fs.Float64Var(&slo.start, "slo-start", 0, "")
	fs.DurationVar(&slo.step, "step", matrix.DefaultCapacityStep, "")
	fs.DurationVar(&slo.stepWarmup, "step-warmup", matrix.DefaultCapacityStepWarmup, "")
	fs.IntVar(&slo.maxSteps, "max-steps", capacity.DefaultMaxSteps, "")

	var urls []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		urls = append(urls, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(urls) == 0:
		return nil, errors.New("missing URL")
	case len(urls) > 1:
		return nil, fmt.Errorf("one URL expected, got %d: %s", len(urls), strings.Join(urls, " "))
	case bodySize < 0:
		return nil, fmt.Errorf("--body-size must not be negative, got %d", bodySize)
	case bodySize > 0 && bodyFile != "":
		return nil, errors.New("--body-size and --body-file are exclusive")
	case h2 && h3:
		return nil, errors.New("--h2 and --h3 are exclusive")
	case o.procs < 0:
		return nil, fmt.Errorf("--procs must not be negative, got %d", o.procs)
	case insecure && caFile != "":
		return nil, errors.New("--ca and --insecure are exclusive")
	}
	c.URL, c.Method, c.Headers = urls[0], method, headers
	c.Connections, c.Duration, c.Warmup = connections, duration, warmup
	c.InsecureSkipVerify = insecure
	if caFile != "" {
		pool, err := tlscert.LoadPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %s", strings.TrimPrefix(err.Error(), "tlscert: "))
		}
		c.RootCAs = pool
	}
	if bodySize > 0 {
		c.Body = deterministicBody(bodySize)
	}
	if bodyFile != "" {
		b, err := os.ReadFile(bodyFile)
		if err != nil {
			return nil, fmt.Errorf("--body-file: %w", err)
		}
		c.Body = b
	}
	if h3 {
		c.Protocol = loadgen.ProtocolH3
	}
	if h2 {
		c.Protocol = loadgen.ProtocolH2C
		if u, err := url.Parse(c.URL); err == nil && u.Scheme == "https" {
			c.Protocol = loadgen.ProtocolH2
		}
	}
	if err := c.Validate(); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "loadgen: "))
	}
	var err error
	if o.slo, err = slo.options(); err != nil {
		return nil, err
	}
	if o.slo != nil && c.Rate > 0 {
		return nil, errors.New("--rate and --slo are exclusive (--slo searches the rate; --slo-start sets the first)")
	}
	return o, nil
}

// deterministicBody returns n bytes that are the same on every run, so that
// two runs send identical requests.
func deterministicBody(n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[i%len(alphabet)]
	}
	return b
}

// cmdLoad is "matrix load".
func cmdLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseLoadArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, loadUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "matrix load: %v (run 'matrix load -h')\n", err)
		return 2
	}
	if err := loadgen.Reachable(ctx, o.cfg); err != nil {
		fmt.Fprintf(stderr, "matrix load: %s unreachable: %v\n", o.cfg.URL, strings.TrimPrefix(err.Error(), "loadgen: "))
		return 2
	}
	if o.procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.procs))
	}
	if o.slo != nil {
		return cmdLoadSLO(ctx, o, stdout, stderr)
	}
	live := isTerminal(stderr)
	if live {
		o.cfg.Progress = func(p loadgen.Progress) { fmt.Fprint(stderr, "\r"+formatProgress(p)+"\x1b[K") }
	}
	res, err := loadgen.Run(ctx, o.cfg)
	if live {
		fmt.Fprint(stderr, "\r\x1b[K")
	}
	if err != nil {
		fmt.Fprintf(stderr, "matrix load: %v\n", strings.TrimPrefix(err.Error(), "loadgen: "))
		return 2
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "matrix load: %v\n", err)
			return 1
		}
	} else {
		writeSummary(stdout, res)
	}
	if res.Requests == 0 {
		return 1
	}
	return 0
}

// isTerminal reports whether w is a terminal, where live progress belongs.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// formatProgress is the live progress line.
func formatProgress(p loadgen.Progress) string {
	phase := ""
	if p.Warmup {
		phase = " warmup"
	}
	return fmt.Sprintf("%5.1fs%s  %s req/s  %d requests  %d errors",
		p.Elapsed.Seconds(), phase, units.Count(int64(p.RPS+0.5)), p.Requests, p.Errors)
}

// writeSummary prints the human summary of a result.
func writeSummary(w io.Writer, r *loadgen.Result) {
	c := r.Config
	fmt.Fprintf(w, "%s %s: %d connections, %s, %v measured after %v warmup\n",
		c.Method, c.URL, c.Connections, protocolLabel(r), time.Duration(r.DurationNs), time.Duration(c.WarmupNs))
	rate := ""
	if c.Rate > 0 {
		rate = fmt.Sprintf(" (target %s req/s, backlog %d)", units.Count(int64(c.Rate)), r.Backlog)
	}
	fmt.Fprintf(w, "  requests     %s ok, %s req/s%s, %s body bytes\n",
		units.Count(int64(r.Requests)), units.Count(int64(r.RPS+0.5)), rate, units.Count(int64(r.BytesRead)))
	l := r.LatencyNs
	dur := func(ns int64) string { return units.Duration(float64(ns)) }
	fmt.Fprintf(w, "  latency      min %s  p50 %s  p75 %s  p90 %s  p99 %s  p99.9 %s  p99.99 %s  max %s  mean %s\n",
		dur(l.Min), dur(l.P50), dur(l.P75), dur(l.P90), dur(l.P99), dur(l.P999), dur(l.P9999), dur(l.Max), dur(int64(l.Mean)))
	fmt.Fprintf(w, "  errors       %s\n", errorSummary(r))
	fmt.Fprintf(w, "  status       %s\n", statusSummary(r.StatusCodes))
	fmt.Fprintf(w, "  connections  %d opened, %d reconnects, %d retried\n", r.ConnectionsOpened, r.Reconnects, r.Retried)
	if r.SlotsHandedOff > 0 {
		fmt.Fprintf(w, "  event loops  handed %d connections to goroutines %s\n", r.SlotsHandedOff, r.HandOffReason)
	}
	if t := r.TLS; t != nil {
		alpn := t.ALPN
		if alpn == "" {
			alpn = "none"
		}
		fmt.Fprintf(w, "  tls          %s, %s, ALPN %s\n", t.Version, t.CipherSuite, alpn)
	}
	perReq := "-"
	if r.Requests > 0 {
		perReq = units.Duration(float64(r.ClientCPUNs)/float64(r.Requests)) + "/req"
	}
	loops := "a goroutine per connection"
	if c.EventLoops > 0 {
		loops = fmt.Sprintf("%d event loops", c.EventLoops)
		if c.EventLoops == 1 {
			loops = "1 event loop"
		}
	}
	fmt.Fprintf(w, "  client CPU   %s, %s (GOMAXPROCS %d, %s)\n", dur(r.ClientCPUNs), perReq, c.GOMAXPROCS, loops)
	fmt.Fprintf(w, "  warmup       %d ok, %d errors\n", r.Warmup.Requests, r.Warmup.Errors)
	if r.EndedEarly != "" {
		fmt.Fprintf(w, "  ENDED EARLY  %s\n", r.EndedEarly)
	}
	if r.Interrupted {
		fmt.Fprintln(w, "  INTERRUPTED  the figures cover the window until the interrupt")
	}
}

// protocolLabel names the protocol spoken, and any mismatch with the one
// asked for.
func protocolLabel(r *loadgen.Result) string {
	p := string(r.Protocol)
	if p == "" {
		p = "no protocol spoken"
	}
	if r.QUICVersion != "" {
		p += " (QUIC " + r.QUICVersion + ")"
	}
	if r.ProtocolMismatch != "" {
		p += " (" + r.ProtocolMismatch + ")"
	}
	return p
}

// errorSummary is "0" or the total followed by the non-zero classes.
func errorSummary(r *loadgen.Result) string {
	if r.Errors == 0 {
		return "0"
	}
	var parts []string
	for _, c := range loadgen.ErrorClasses {
		if n := r.ErrorsByClass[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, n))
		}
	}
	return fmt.Sprintf("%d (%s)", r.Errors, strings.Join(parts, ", "))
}

// statusSummary lists status codes in numeric order.
func statusSummary(codes map[string]uint64) string {
	if len(codes) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys) // three digits each: string order is numeric order
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + units.Count(int64(codes[k]))
	}
	return strings.Join(parts, ", ")
}
