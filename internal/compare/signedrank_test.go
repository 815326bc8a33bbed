package compare

import (
	"math"
	"math/rand/v2"
	"testing"
)

func withinTol(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// The null distribution against published critical values: the largest T
// with P(T <= t) <= 0.025 (two-sided 0.05) is 0 for n=6, 3 for n=8, 8 for
// n=10 and 52 for n=20 (Wilcoxon signed-rank tables, e.g. Hollander &
// Wolfe table A.4).
func TestSignedRankCriticalValues(t *testing.T) {
	for _, c := range []struct{ n, crit int }{{6, 0}, {8, 3}, {10, 8}, {20, 52}} {
		d := untiedDist(c.n)
		if p := d.cdf(2 * c.crit); p > 0.025 {
			t.Errorf("n=%d: P(T<=%d) = %v, want <= 0.025", c.n, c.crit, p)
		}
		if p := d.cdf(2 * (c.crit + 1)); p <= 0.025 {
			t.Errorf("n=%d: P(T<=%d) = %v, want > 0.025", c.n, c.crit+1, p)
		}
	}
	// Hand count for n=10: 25 of the 1024 subsets of 1..10 sum to 8 or less.
	if p := untiedDist(10).cdf(16); p != 25.0/1024 {
		t.Errorf("n=10: P(T<=8) = %v, want 25/1024", p)
	}
}

func TestSignedRankTest(t *testing.T) {
	for _, c := range []struct {
		name  string
		d     []float64
		w     float64
		n     int
		p     float64
		exact bool
	}{
		// Ranks 1..6, the 5 negative: W = 16, W- = 5. Subsets of 1..6
		// summing to 5 or less: {}, 1, 2, 3, 12, 4, 13, 5, 14, 23 = 10 of
		// 64, so p = 2*10/64.
		{"one negative", []float64{1, 2, 3, 4, -5, 6}, 16, 6, 0.3125, true},
		// All positive: p = 2/2^n.
		{"six positive", []float64{.1, .2, .3, .4, .5, .6}, 21, 6, 0.03125, true},
		{"five positive", []float64{.1, .2, .3, .4, .5}, 15, 5, 0.0625, true},
		// Zeros are dropped: the same as the five above.
		{"zeros dropped", []float64{0, .1, .2, 0, .3, .4, .5}, 15, 5, 0.0625, true},
		// |d| = 1,1,1,2,3: midranks 2,2,2,4,5 (doubled 4,4,4,8,10); W =
		// 2+2+4+5 = 13 of 15. The conditional distribution puts W- <= 2
		// (doubled 4) on the subsets {}, {4}, {4}, {4}: 4 of 32, p = 0.25.
		{"ties", []float64{1, 1, -1, 2, 3}, 13, 5, 0.25, true},
		{"none", []float64{0, 0}, 0, 0, 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := signedRankTest(c.d)
			if r.W != c.w || r.N != c.n || !withinTol(r.P, c.p, 1e-12) || r.Exact != c.exact {
				t.Errorf("got W=%v N=%d P=%v exact=%v, want W=%v N=%d P=%v exact=%v",
					r.W, r.N, r.P, r.Exact, c.w, c.n, c.p, c.exact)
			}
		})
	}
}

// Above 25 differences the normal approximation takes over; it must agree
// with the exact count it replaces.
func TestSignedRankNormalApproximation(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 20 {
		d := make([]float64, 26)
		for i := range d {
			d[i] = rng.NormFloat64() + 0.3
		}
		r := signedRankTest(d)
		if r.Exact {
			t.Fatal("26 differences were counted exactly")
		}
		ranks2, _ := halfRanks(d)
		dist := newSignedRankDist(ranks2)
		w2 := int(2 * r.W)
		exact := math.Min(1, 2*math.Min(dist.cdf(w2), 1-dist.cdf(w2-1)))
		if !withinTol(r.P, exact, 0.01) {
			t.Errorf("trial %d: W=%v normal p %v, exact %v", trial, r.W, r.P, exact)
		}
	}
	// 1..30 all positive: W = 465, mean 232.5, variance 30*31*61/24.
	d := make([]float64, 30)
	for i := range d {
		d[i] = float64(i + 1)
	}
	z := (465 - 232.5 - 0.5) / math.Sqrt(30*31*61/24.0)
	if r := signedRankTest(d); !withinTol(r.P, math.Erfc(z/math.Sqrt2), 1e-15) || r.P > 1e-5 {
		t.Errorf("1..30: p = %v", r.P)
	}
}

func TestHodgesLehmann(t *testing.T) {
	// d = 1..8: 36 Walsh averages, symmetric about 4.5. n=8 leaves out
	// c=3 at each end (P(T<=3) = 5/256): the 4th smallest average is 2
	// (1, 1.5, 2, 2) and the 4th largest 7; level 1 - 10/256.
	d := []float64{3, 1, 8, 2, 7, 4, 6, 5}
	est, lo, hi, level := hodgesLehmann(d, 0.95)
	if est != 4.5 || lo != 2 || hi != 7 || level != 1-10.0/256 {
		t.Errorf("1..8: est %v, CI %v..%v at %v", est, lo, hi, level)
	}
	// Five differences cannot reach 95 %: the range, at 1 - 2/32.
	est, lo, hi, level = hodgesLehmann([]float64{5, 1, 2, 3, 4}, 0.95)
	if est != 3 || lo != 1 || hi != 5 || level != 1-2.0/32 {
		t.Errorf("1..5: est %v, CI %v..%v at %v", est, lo, hi, level)
	}
	// Above 25 differences the cut comes from the normal approximation;
	// at n=26 it must match the exact count (cut 98, from tables).
	if c, p := walshCut(26, 0.025); c < 97 || c > 99 || !withinTol(p, untiedDist(26).cdf(2*c), 0.003) {
		t.Errorf("n=26: cut %d, tail %v", c, p)
	}
	if c, _ := walshCut(25, 0.025); c != 89 {
		t.Errorf("n=25: cut %d, want 89 (critical value from tables)", c)
	}
}

func TestMinPairs(t *testing.T) {
	for _, c := range []struct {
		n int
		p float64
	}{{0, 1}, {1, 1}, {2, 0.5}, {5, 0.0625}, {6, 0.03125}} {
		if got := MinPairedP(c.n); got != c.p {
			t.Errorf("MinPairedP(%d) = %v, want %v", c.n, got, c.p)
		}
	}
	for _, c := range []struct {
		alpha float64
		n     int
	}{{0.05, 6}, {0.0625, 6}, {0.01, 8}, {0.1, 5}, {1, 2}, {0, 0}, {math.NaN(), 0}} {
		if got := MinPairsForAlpha(c.alpha); got != c.n {
			t.Errorf("MinPairsForAlpha(%v) = %d, want %d", c.alpha, got, c.n)
		}
	}
	// The exact test agrees: six pairs one way reach p < 0.05.
	if p := signedRankTest([]float64{1, 2, 3, 4, 5, 6}).P; p >= Alpha {
		t.Errorf("six positive pairs: p %v", p)
	}
}
