package compare

import (
	"math"
	"testing"
)

func TestBand(t *testing.T) {
	for _, c := range []struct {
		threshold float64
		floors    []float64
		want      float64
	}{
		{0.05, nil, 0.05},
		{0.05, []float64{0.02, 0.03}, 0.05},        // quiet runs: the threshold rules
		{0.05, []float64{0.02, 0.08}, 0.08},        // either run's floor widens it
		{0.05, []float64{math.NaN(), 0, -1}, 0.05}, // unknown floors are passed over
		{0.02, []float64{0.06}, 0.06},
	} {
		if got := Band(c.threshold, c.floors...); got != c.want {
			t.Errorf("Band(%v, %v) = %v, want %v", c.threshold, c.floors, got, c.want)
		}
	}
}

func TestWithin(t *testing.T) {
	for _, c := range []struct {
		change, band float64
		want         bool
	}{
		{0.04, 0.05, true}, {-0.05, 0.05, true}, {0.051, 0.05, false}, {-0.2, 0.08, false}, {math.NaN(), 0.05, true},
	} {
		if got := Within(c.change, c.band); got != c.want {
			t.Errorf("Within(%v, %v) = %v", c.change, c.band, got)
		}
	}
}

func TestReference(t *testing.T) {
	// The reference ran at 1000 req/s in base (start, middle, end) and at
	// 900 in head: the head machine is 10 % slower.
	ref := RefChange([]float64{1010, 1000, 990}, []float64{900, 880, 905})
	if !withinTol(ref, -0.1, 1e-12) {
		t.Fatalf("RefChange = %v, want -0.1", ref)
	}
	if !ShouldNormalize(ref, 0.05) || ShouldNormalize(0.03, 0.05) || ShouldNormalize(math.NaN(), 0.05) {
		t.Error("ShouldNormalize: a 10 % move is beyond 5 %, 3 % and NaN are not")
	}
	for _, c := range []struct{ change, ref, want float64 }{
		{-0.1, -0.1, 0},       // moved with the machine: no change of its own
		{-0.19, -0.1, -0.1},   // 0.81/0.9: 10 % worse than the machine
		{0.1, 0.1, 0},         // a faster machine
		{0.05, 0, 0.05},       // nothing to take out
		{0.2, -1, math.NaN()}, // the reference measured nothing
		{0.2, math.NaN(), math.NaN()},
	} {
		got := Normalize(c.change, c.ref)
		if math.IsNaN(c.want) != math.IsNaN(got) || (!math.IsNaN(got) && !withinTol(got, c.want, 1e-12)) {
			t.Errorf("Normalize(%v, %v) = %v, want %v", c.change, c.ref, got, c.want)
		}
	}
	if r := RefChange(nil, []float64{1}); !math.IsNaN(r) {
		t.Errorf("RefChange without base = %v", r)
	}
	if r := RefChange([]float64{0, 0}, []float64{1}); !math.IsNaN(r) {
		t.Errorf("RefChange from 0 = %v", r)
	}
}
