package results

import (
	"math"
	"strings"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/matrixbench/matrix/loadgen"
)

func TestSummarize(t *testing.T) {
	reps := []Repeat{
		{Index: 1, Status: StatusOK, Result: resultOf(t, 1000, 1000, 10, 100, 100, 100, 100), ServerCPUSeconds: 1, PeakRSSBytes: 5},
		// A failed repeat keeps its figures in Repeats but stays out of
		// the summary.
		{Index: 2, Status: StatusDNF, Reason: ReasonDied, Result: resultOf(t, 1, 1, 500, 9_000_000)},
		{Index: 3, Status: StatusOK, Result: resultOf(t, 3000, 3000, 0, 1000, 1000, 1000, 1000, 1000, 1000), ServerCPUSeconds: 3, PeakRSSBytes: 9},
		{Index: 4, Status: StatusSuspect, Result: resultOf(t, 2000, 2000, 30, 10_000, 10_000), ServerCPUSeconds: -1, PeakRSSBytes: 7},
		{Index: 5, Status: StatusDNF, Reason: ReasonNotReady},
	}
	s, err := Summarize(reps)
	if err != nil {
		t.Fatal(err)
	}
	if s.Repeats != 3 || s.MedianRPS != 2000 || len(s.RPS) != 3 || s.RPS[2] != 2000 {
		t.Errorf("repeats %d, median %v, rps %v", s.Repeats, s.MedianRPS, s.RPS)
	}
	if s.Requests != 6000 || s.Errors != 40 || math.Abs(s.ErrorRatio-40.0/6040) > 1e-12 || s.DominantError != loadgen.ClassStatus {
		t.Errorf("requests %d errors %d ratio %v dominant %q", s.Requests, s.Errors, s.ErrorRatio, s.DominantError)
	}
	// Merged histogram: 4 x 100us, 6 x 1000us, 2 x 10000us (12 values).
	// p50 is the 6th value (1000us); a mean of the repeats' p50s would
	// be 3700us, which is why percentiles come from the merged histogram.
	if !near(s.LatencyNs.P50, 1_000_000) || !near(s.LatencyNs.Min, 100_000) || !near(s.LatencyNs.Max, 10_000_000) || !near(s.LatencyNs.P99, 10_000_000) {
		t.Errorf("latency = %+v", s.LatencyNs)
	}
	if s.ServerCPUSeconds != 2 || s.PeakRSSBytes != 9 || s.ClientCPUSeconds != 0.5 {
		t.Errorf("server cpu %v (median of the sampled), rss %d, client cpu %v", s.ServerCPUSeconds, s.PeakRSSBytes, s.ClientCPUSeconds)
	}
	if s.Protocol != "http/1.1" || s.ConnectionsOpened != 12 || s.StatusCodes["200"] != 6000 {
		t.Errorf("protocol %q, conns %d, codes %v", s.Protocol, s.ConnectionsOpened, s.StatusCodes)
	}
	h, err := DecodeHistogram(s.Histogram)
	if err != nil || h.TotalCount() != 12 {
		t.Errorf("merged histogram: %v, %v", h, err)
	}
}

// near reports whether ns is within the histogram's 3 significant digits
// of want.
func near(ns, want int64) bool { return math.Abs(float64(ns-want)) <= float64(want)/1000+1000 }

func TestSummarizeNothing(t *testing.T) {
	s, err := Summarize([]Repeat{{Index: 1, Status: StatusDNF, Reason: ReasonStartFailed}})
	if s != nil || err != nil {
		t.Errorf("Summarize of no measurement = %+v, %v; want nil, nil", s, err)
	}
}

func TestSummarizeBadHistogram(t *testing.T) {
	bad := resultOf(t, 10, 10, 0, 5)
	bad.Histogram = "not a histogram"
	s, err := Summarize([]Repeat{{Index: 1, Result: resultOf(t, 20, 20, 0, 7, 7)}, {Index: 2, Result: bad}})
	if err == nil || !strings.Contains(err.Error(), "repeat 2") {
		t.Errorf("err = %v, want one naming repeat 2", err)
	}
	if s == nil || s.MedianRPS != 15 || !near(s.LatencyNs.P50, 7000) {
		t.Errorf("summary with one bad histogram = %+v", s)
	}
}

func TestDecodeHistogramDoubleEncoded(t *testing.T) {
	enc := histogramOf(t, 1, 2, 3)
	for _, s := range []string{enc, doubleEncoded(enc)} {
		h, err := DecodeHistogram(s)
		if err != nil || h.TotalCount() != 3 {
			t.Errorf("DecodeHistogram(%.12s...) = %v, %v", s, h, err)
		}
	}
	for _, s := range []string{"", "HISTF", "!!!", doubleEncoded("x")} {
		if _, err := DecodeHistogram(s); err == nil {
			t.Errorf("DecodeHistogram(%q) succeeded", s)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1}, 3}, {[]float64{9, 1, 5}, 5}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(tt.in); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestScenarioSameMethod(t *testing.T) {
	a := ScenarioSpec{Name: "g", Protocol: "h1", Connections: 8, Headers: []Header{}}
	b := ScenarioSpec{Name: "g", Protocol: "h1", Connections: 8}
	if !a.SameMethod(b) {
		t.Error("empty and nil headers differ")
	}
	b.Connections = 16
	if a.SameMethod(b) {
		t.Error("different connection counts are the same method")
	}
	r1 := ScenarioSpec{Name: "r", RateFraction: 0.5, Rate: 1000, SaturationRPS: 2000}
	r2 := ScenarioSpec{Name: "r", RateFraction: 0.5, Rate: 1500, SaturationRPS: 3000}
	if !r1.SameMethod(r2) {
		t.Error("a rated row's rate follows the server; it is not a method change")
	}
}

func TestDecodeHistogramRefusesWideGeometry(t *testing.T) {
	h := hdrhistogram.New(1, 1<<45, 2)
	h.RecordValue(5)
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeHistogram(string(enc)); err == nil || !strings.Contains(err.Error(), "geometry") {
		t.Errorf("DecodeHistogram of a 2^45 histogram: %v, want a geometry error", err)
	}
}

func TestDominantClass(t *testing.T) {
	type by = map[loadgen.ErrorClass]uint64
	for _, tc := range []struct {
		name  string
		by    by
		class loadgen.ErrorClass
		n     uint64
	}{
		{"none", nil, "", 0},
		{"all zero", by{loadgen.ClassRead: 0, loadgen.ClassStatus: 0}, "", 0},
		{"one", by{loadgen.ClassTimeout: 3}, loadgen.ClassTimeout, 3},
		{"most", by{loadgen.ClassConnect: 2, loadgen.ClassStatus: 9, loadgen.ClassRead: 4}, loadgen.ClassStatus, 9},
		// Ties go to the class first in loadgen.ErrorClasses, not to the
		// first in alphabetical order ("protocol" < "timeout" < "write").
		{"tie", by{loadgen.ClassTimeout: 5, loadgen.ClassProtocol: 5}, loadgen.ClassTimeout, 5},
		{"tie write first", by{loadgen.ClassWrite: 7, loadgen.ClassProtocol: 7, loadgen.ClassStatus: 7}, loadgen.ClassWrite, 7},
		{"tie of all", by{loadgen.ClassConnect: 1, loadgen.ClassRead: 1, loadgen.ClassWrite: 1, loadgen.ClassTimeout: 1, loadgen.ClassProtocol: 1, loadgen.ClassStatus: 1}, loadgen.ClassConnect, 1},
		{"unknown class ignored", by{"made-up": 100, loadgen.ClassRead: 1}, loadgen.ClassRead, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			class, n := DominantClass(tc.by)
			if class != tc.class || n != tc.n {
				t.Errorf("DominantClass(%v) = %q, %d; want %q, %d", tc.by, class, n, tc.class, tc.n)
			}
		})
	}
}
