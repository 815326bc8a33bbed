package results

import (
	"math"
	"testing"
)

func TestSpreadOf(t *testing.T) {
	for _, c := range []struct {
		name string
		xs   []float64
		want Spread
	}{
		// Mean 100, deviations -10, 0, 10: variance 200/2, sd 10.
		{"three", []float64{90, 100, 110}, Spread{N: 3, Min: 90, Max: 110, Mean: 100, CV: 0.1}},
		{"steady", []float64{5, 5, 5, 5}, Spread{N: 4, Min: 5, Max: 5, Mean: 5}},
		{"one", []float64{7}, Spread{N: 1, Min: 7, Max: 7, Mean: 7}},
		{"none", nil, Spread{}},
		{"non-finite left out", []float64{math.NaN(), 90, math.Inf(1), 110, 100}, Spread{N: 3, Min: 90, Max: 110, Mean: 100, CV: 0.1}},
		{"zero mean", []float64{0, 0, 0}, Spread{N: 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := SpreadOf(c.xs)
			if got.N != c.want.N || got.Min != c.want.Min || got.Max != c.want.Max || got.Mean != c.want.Mean || !closeFrac(got.CV, c.want.CV) {
				t.Errorf("SpreadOf(%v) = %+v, want %+v", c.xs, got, c.want)
			}
		})
	}
	if r := SpreadOf([]float64{1000, 1060, 1030}).Range(); !closeFrac(r, 0.06) {
		t.Errorf("Range = %v, want 0.06", r)
	}
	if r := (Spread{}).Range(); r != 0 {
		t.Errorf("empty Range = %v", r)
	}
}

func TestRunNoise(t *testing.T) {
	cells := []Spread{
		{N: 5, Mean: 1, CV: 0.01},
		{N: 5, Mean: 1, CV: 0.02},
		{N: 3, Mean: 1, CV: 0.03},
		{N: 5, Mean: 1, CV: 0.40}, // a cell noisy by nature moves the median little
		{N: 2, Mean: 1, CV: 0.90}, // too few repeats
		{N: 5, Mean: 0, CV: 0},    // measured nothing
	}
	n := RunNoise(cells)
	if n.Cells != 4 || !closeFrac(n.MedianCV, 0.025) || !closeFrac(n.Floor, 0.05) {
		t.Errorf("RunNoise = %+v, want 4 cells, median CV 0.025, floor 0.05", n)
	}
	if n := RunNoise(cells[4:]); n != (Noise{}) {
		t.Errorf("RunNoise without usable cells = %+v", n)
	}
}

// closeFrac compares fractions to within rounding.
func closeFrac(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

// TestReferenceLeavesOutInterference checks that a reference sample taken
// while the rest of the host was busy is not used: not in the reference's
// req/s, nor its range, nor the run's floor.
func TestReferenceLeavesOutInterference(t *testing.T) {
	ref := &Reference{Cell: "get/a", Samples: []ReferenceSample{
		{At: RefStart, Status: StatusOK, RPS: 500, P99Ns: 2e6, Interference: &Interference{Cores: 0.5, Threshold: 0.1}},
		{At: RefMiddle, Status: StatusOK, RPS: 1000, P99Ns: 1e6, Interference: &Interference{Cores: 0.02, Threshold: 0.1}},
		{At: RefEnd, Status: StatusOK, RPS: 1010, P99Ns: 1e6},
	}}
	n := NoiseOf(nil, ref)
	if got := ref.RPS(); len(got) != 2 || got[0] != 1000 {
		t.Errorf("reference req/s %v, want the two quiet samples", got)
	}
	if ref.Drift != 0 || n.Floor > 0.02 {
		t.Errorf("drift %v, floor %v: the hogged start sample counted", ref.Drift, n.Floor)
	}
}
