package compare

import (
	"math"
	"testing"
)

func TestFormatChange(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		e    *Estimate
		want string
	}{
		{"none", nil, ""},
		{"not significant", &Estimate{Change: 0.012, Tested: true, P: 0.42, N1: 5, N2: 5, CILo: -0.01, CIHi: 0.03, CILevel: 0.95}, "~ [-1.0%, +3.0%] p=0.420 n=5+5"},
		{"significant", &Estimate{Change: -0.301, Tested: true, Significant: true, P: 0.0001, N1: 10, N2: 10, CILo: -0.35, CIHi: -0.25, CILevel: 0.95}, "-30% [-35%, -25%] p=<0.001 n=10+10"},
		{"narrower interval", &Estimate{Change: 0.2, Tested: true, Significant: true, P: 0.008, N1: 5, N2: 5, CILo: 0.1, CIHi: 0.3, CILevel: 0.9}, "+20% [+10%, +30%]@90% p=0.008 n=5+5"},
		{"no test", &Estimate{Change: 0.05, P: nan, N1: 1, N2: 1, CILo: nan, CIHi: nan}, "+5.0% (no test, n=1+1)"},
		{"no base", &Estimate{Change: nan, P: nan, N1: 1, N2: 1, CILo: nan, CIHi: nan}, "? (no test, n=1+1)"},
	} {
		if got := FormatChange(tc.e); got != tc.want {
			t.Errorf("%s: FormatChange = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCellCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 cells", 1: "1 cell", 12: "12 cells"} {
		if got := CellCount(n); got != want {
			t.Errorf("CellCount(%d) = %q, want %q", n, got, want)
		}
	}
}
