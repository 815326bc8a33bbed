package loadgen

import (
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// TestSeriesSettlesOldSeconds checks that a long run keeps histograms for
// the last few seconds only, and that settled seconds keep their p99.
func TestSeriesSettlesOldSeconds(t *testing.T) {
	var s series
	h := hdrhistogram.New(histLowest, histHighest, secondSigFig)
	for sec := 0; sec < 100; sec++ {
		h.Reset()
		for i := 0; i < 100; i++ {
			_ = h.RecordValue(int64(100 + sec)) // µs
		}
		s.add(sec, 100, 1, h)
	}
	open := 0
	for _, p := range s.points {
		if p.hist != nil {
			open++
		}
	}
	if open > seriesOpenSeconds+1 {
		t.Errorf("%d seconds keep a histogram, want at most %d", open, seriesOpenSeconds+1)
	}
	pts := s.result(100)
	if len(pts) != 100 {
		t.Fatalf("%d points", len(pts))
	}
	for _, sec := range []int{0, 50, 99} {
		want := int64(100+sec) * 1000
		if got := pts[sec].P99Ns; got < want*9/10 || got > want*11/10 || pts[sec].Requests != 100 {
			t.Errorf("second %d: p99 %dns requests %d, want about %dns and 100", sec, got, pts[sec].Requests, want)
		}
	}
}
