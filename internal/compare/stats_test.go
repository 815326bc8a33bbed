package compare

import (
	"math"
	"strings"
	"testing"
)

func TestMinPValue(t *testing.T) {
	for _, tc := range []struct {
		n1, n2 int
		want   float64
	}{
		{3, 3, 0.1},       // 2 / C(6,3): never below 0.05
		{3, 4, 2.0 / 35},  // still above 0.05
		{4, 4, 2.0 / 70},  // the smallest testable design
		{5, 5, 2.0 / 252}, //
	} {
		if got := minPValue(tc.n1, tc.n2); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("minPValue(%d, %d) = %v, want %v", tc.n1, tc.n2, got, tc.want)
		}
	}
}

func TestShiftCI(t *testing.T) {
	base := []float64{100, 101, 102, 103, 104}
	head := []float64{70, 71, 72, 73, 74}
	lo, hi, level := shiftCI(base, head, 0.95)
	// 5+5: the 3rd smallest and 3rd largest of 25 log ratios, level
	// 1 - 2*4/252.
	if math.Abs(level-(1-8.0/252)) > 1e-9 {
		t.Errorf("level %v, want %v", level, 1-8.0/252)
	}
	// The full range is [70/104-1, 74/100-1] = [-0.327, -0.26].
	if !(lo < hi && lo > -0.327 && hi < -0.26) {
		t.Errorf("interval [%v, %v], want strictly inside [-0.327, -0.26]", lo, hi)
	}
	// 3+3 cannot reach 95 %: the whole range at 90 %.
	lo, hi, level = shiftCI(base[:3], head[:3], 0.95)
	if math.Abs(level-0.9) > 1e-9 || math.Abs(lo-(70.0/102-1)) > 1e-9 || math.Abs(hi-(72.0/100-1)) > 1e-9 {
		t.Errorf("3+3: [%v, %v] at %v, want [70/102-1, 72/100-1] at 0.9", lo, hi, level)
	}
	if _, _, level := shiftCI([]float64{0, 1}, []float64{1, 2}, 0.95); level != 0 {
		t.Errorf("non-positive values gave an interval")
	}
}

func TestCompareNoTest(t *testing.T) {
	s := func(xs ...float64) Sample { return Sample{Center: xs[len(xs)/2], Values: xs} }
	e := Compare(s(100, 101, 102), s(50, 51, 52))
	if e.Tested || !strings.Contains(e.NoTest, "cannot reach") || !e.Worse(true, 0.05) {
		t.Errorf("3+3: %+v, want untested, explained, and worse by the threshold", e)
	}
	e = Compare(s(100, 101, 102, 103), s(50, 51, 52, 53))
	if !e.Tested || !e.Significant || !e.Worse(true, 0.05) || e.Better(true, 0.05) {
		t.Errorf("4+4: %+v, want a significant drop", e)
	}
	e = Compare(s(100), s(50))
	if e.Tested || !math.IsNaN(e.P) || !math.IsNaN(e.CILo) || !e.Worse(true, 0.05) || e.Worse(false, 0.05) {
		t.Errorf("1+1: %+v", e)
	}
}

func TestWorseBetter(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		e                     Estimate
		higherIsBetter        bool
		wantWorse, wantBetter bool
	}{
		{"drop significant", Estimate{Change: -0.1, Tested: true, Significant: true}, true, true, false},
		{"drop not significant", Estimate{Change: -0.1, Tested: true}, true, false, false},
		{"drop untested, one repeat a side", Estimate{Change: -0.1, CILo: math.NaN(), CIHi: math.NaN()}, true, true, false},
		{"drop untested, every pair dropped beyond the threshold", Estimate{Change: -0.1, CILo: -0.15, CIHi: -0.06}, true, true, false},
		{"drop untested, every pair dropped, one within the threshold", Estimate{Change: -0.1, CILo: -0.15, CIHi: -0.02}, true, false, false},
		{"drop untested, the repeats overlap", Estimate{Change: -0.1, CILo: -0.2, CIHi: 0.01}, true, false, false},
		{"latency up untested, the repeats overlap", Estimate{Change: 0.067, CILo: -0.007, CIHi: 0.49}, false, false, false},
		{"latency up untested, every pair rose beyond the threshold", Estimate{Change: 0.12, CILo: 0.06, CIHi: 0.49}, false, true, false},
		{"latency up untested, every pair rose, one barely", Estimate{Change: 0.053, CILo: 0.001, CIHi: 0.23}, false, false, false},
		{"latency up untested after a hog", Estimate{Change: 0.27, CILo: 0.014, CIHi: 0.38}, false, false, false},
		{"drop under threshold", Estimate{Change: -0.04, Tested: true, Significant: true}, true, false, false},
		{"latency up", Estimate{Change: 0.2, Tested: true, Significant: true}, false, true, false},
		{"latency down", Estimate{Change: -0.2, Tested: true, Significant: true}, false, false, true},
		{"NaN", Estimate{Change: math.NaN()}, true, false, false},
	} {
		if got := tc.e.Worse(tc.higherIsBetter, 0.05); got != tc.wantWorse {
			t.Errorf("%s: Worse = %v", tc.name, got)
		}
		if got := tc.e.Better(tc.higherIsBetter, 0.05); got != tc.wantBetter {
			t.Errorf("%s: Better = %v", tc.name, got)
		}
	}
}
