package results

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/matrixbench/matrix/loadgen"
)

// Summary condenses the measured repeats of a cell. Latencies come from the
// repeats' histograms merged into one, never from averaging percentiles
// (a mean of p99s is not a p99).
type Summary struct {
	// Repeats counts the repeats summarised: those with a Result whose
	// status is ok or suspect (or not yet set).
	Repeats int `json:"repeats"`
	// MedianRPS is the median of RPS (the mean of the middle two for an
	// even count).
	MedianRPS float64 `json:"median_rps"`
	// RPS is the successes per second of each summarised repeat, in
	// order; for a capacity row, each repeat's capacity (Repeat.Figure).
	RPS []float64 `json:"rps"`
	// Spread is how RPS scatters (coefficient of variation, min, max): the
	// cell's own noise, from which the run's noise floor is taken. Nil in
	// files written before schema 2 recorded it.
	Spread *Spread `json:"spread,omitempty"`
	// LatencyNs are percentiles of the merged histogram, in nanoseconds
	// (the histograms have microsecond resolution).
	LatencyNs Latency `json:"latency_ns"`
	// Histogram is the merged histogram in microseconds: base64 of the
	// compressed HdrHistogram V2 encoding (the standard "HISTF..." form).
	Histogram string `json:"histogram,omitempty"`
	// HistogramDropped counts values that did not fit the merged
	// histogram's range; it should be 0.
	HistogramDropped int64 `json:"histogram_dropped,omitempty"`
	// Requests and Errors add up the summarised repeats.
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// ErrorRatio is Errors / (Requests + Errors); 0 when both are 0.
	ErrorRatio    float64                       `json:"error_ratio"`
	ErrorsByClass map[loadgen.ErrorClass]uint64 `json:"errors_by_class,omitempty"`
	// DominantError is the class with the most errors; empty without errors.
	DominantError loadgen.ErrorClass `json:"dominant_error,omitempty"`
	StatusCodes   map[string]uint64  `json:"status_codes,omitempty"`
	// Protocol is the protocol negotiated, or the distinct protocols
	// joined by "," when the repeats disagree.
	Protocol          string `json:"protocol"`
	ConnectionsOpened uint64 `json:"connections_opened"`
	Reconnects        uint64 `json:"reconnects"`
	Retried           uint64 `json:"retried"`
	Backlog           uint64 `json:"backlog,omitempty"`
	// ServerCPUSeconds and ClientCPUSeconds are medians over the repeats
	// that sampled them; -1 when none did.
	ServerCPUSeconds float64 `json:"server_cpu_seconds"`
	ClientCPUSeconds float64 `json:"client_cpu_seconds"`
	// PeakRSSBytes is the largest of the repeats'.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
}

// Summarised reports whether r enters the cell's summary: it measured
// something and the runner did not rule it out (its status is ok, suspect
// or not set). Comparisons of repeats should use the same rule.
func (r Repeat) Summarised() bool {
	return r.Result != nil && (r.Status == "" || r.Status == StatusOK || r.Status == StatusSuspect)
}

// Summarize computes the summary of repeats; it returns nil when no repeat
// measured anything. An error reports a histogram that could not be
// decoded: the summary is still returned, with latencies from the other
// repeats' histograms, and the error should go into the cell's Detail.
func Summarize(repeats []Repeat) (*Summary, error) {
	s := &Summary{ErrorsByClass: map[loadgen.ErrorClass]uint64{}, StatusCodes: map[string]uint64{}}
	var merged *hdrhistogram.Histogram
	var errs []string
	var srvCPU, cliCPU []float64
	protos := map[string]bool{}
	for _, r := range repeats {
		if !r.Summarised() {
			continue
		}
		res := r.Result
		s.Repeats++
		s.RPS = append(s.RPS, r.Figure())
		s.add(res)
		if res.Protocol != "" {
			protos[string(res.Protocol)] = true
		}
		if r.ServerCPUSeconds >= 0 {
			srvCPU = append(srvCPU, r.ServerCPUSeconds)
		}
		cliCPU = append(cliCPU, float64(res.ClientCPUNs)/1e9)
		s.PeakRSSBytes = max(s.PeakRSSBytes, r.PeakRSSBytes)
		h, err := DecodeHistogram(res.Histogram)
		switch {
		case err != nil:
			errs = append(errs, fmt.Sprintf("repeat %d: %v", r.Index, err))
		case merged == nil:
			merged = h
		default:
			s.HistogramDropped += merged.Merge(h)
		}
	}
	if s.Repeats == 0 {
		return nil, nil
	}
	s.MedianRPS = Median(s.RPS)
	spread := SpreadOf(s.RPS)
	s.Spread = &spread
	s.ServerCPUSeconds = medianOr(srvCPU, -1)
	s.ClientCPUSeconds = medianOr(cliCPU, -1)
	s.Protocol = strings.Join(sortedKeys(protos), ",")
	if s.Requests+s.Errors > 0 {
		s.ErrorRatio = float64(s.Errors) / float64(s.Requests+s.Errors)
	}
	s.DominantError, _ = DominantClass(s.ErrorsByClass)
	if merged != nil && merged.TotalCount() > 0 {
		s.LatencyNs = latencyOf(loadgen.LatencyOf(merged))
		if enc, err := merged.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
			s.Histogram = string(enc)
		} else {
			errs = append(errs, fmt.Sprintf("encoding the merged histogram: %v", err))
		}
	}
	if len(errs) > 0 {
		return s, fmt.Errorf("results: latency histograms: %s", strings.Join(errs, "; "))
	}
	return s, nil
}

// add adds the counters of res to s.
func (s *Summary) add(res *Measurement) {
	s.Requests += res.Requests
	s.Errors += res.Errors
	for k, v := range res.ErrorsByClass {
		s.ErrorsByClass[k] += v
	}
	for k, v := range res.StatusCodes {
		s.StatusCodes[k] += v
	}
	s.ConnectionsOpened += res.ConnectionsOpened
	s.Reconnects += res.Reconnects
	s.Retried += res.Retried
	s.Backlog += res.Backlog
}

// DecodeHistogram decodes a latency histogram as stored in results: base64
// of the compressed HdrHistogram V2 encoding. It also accepts that form
// base64-encoded a second time, which early load generator versions wrote.
func DecodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return nil, fmt.Errorf("empty histogram")
	}
	// The standard form starts with the base64 of the V2 compressed cookie.
	if !strings.HasPrefix(s, "HISTF") {
		inner, err := base64.StdEncoding.DecodeString(s)
		if err == nil && strings.HasPrefix(string(inner), "HISTF") {
			s = string(inner)
		}
	}
	if err := checkGeometry(s); err != nil {
		return nil, fmt.Errorf("decoding histogram: %w", err)
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decoding histogram: %w", err)
	}
	return h, nil
}

// Bounds on the geometry of a histogram read from a file. The counts array
// is allocated from the geometry before any count is read, so a crafted
// header could otherwise ask for tens of megabytes; these bounds keep it
// under about 25 MB while admitting any latency histogram (2^40 us is
// twelve days) at up to 5 significant digits.
const (
	maxHistSigFigs  = 5
	maxHistHighest  = 1 << 40
	histHeaderBytes = 40 // the V2 header inside the compressed payload
)

// checkGeometry reads the header of a V2 compressed histogram (base64) and
// refuses geometries beyond the bounds above.
func checkGeometry(s string) error {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	if len(raw) < 8 {
		return fmt.Errorf("%d bytes: too short", len(raw))
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8:]))
	if err != nil {
		return err
	}
	defer z.Close()
	var hdr [histHeaderBytes]byte
	if _, err := io.ReadFull(z, hdr[:]); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	sig := int32(binary.BigEndian.Uint32(hdr[12:16]))
	lowest := int64(binary.BigEndian.Uint64(hdr[16:24]))
	highest := int64(binary.BigEndian.Uint64(hdr[24:32]))
	if sig < 0 || sig > maxHistSigFigs || highest < 1 || highest > maxHistHighest || lowest > highest {
		return fmt.Errorf("geometry %d..%d at %d digits is outside what results hold", lowest, highest, sig)
	}
	return nil
}

// Median returns the median of xs (the mean of the middle two for an even
// count); NaN when xs is empty. Summaries, noise figures, the A/B verdict
// and history's steps all take medians this one way.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianOr returns the median of xs, or def when xs is empty.
func medianOr(xs []float64, def float64) float64 {
	if len(xs) == 0 {
		return def
	}
	return Median(xs)
}

// DominantClass returns the error class with the most errors in by and
// its count, or ("", 0) when there are none. Ties go to the class that
// comes first in loadgen.ErrorClasses, so that every reader (the cell's
// summary, the runner's detail and manifest) names the same class.
// Classes loadgen does not list are not considered.
func DominantClass(by map[loadgen.ErrorClass]uint64) (loadgen.ErrorClass, uint64) {
	var best loadgen.ErrorClass
	var n uint64
	for _, c := range loadgen.ErrorClasses {
		if by[c] > n {
			best, n = c, by[c]
		}
	}
	return best, n
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
