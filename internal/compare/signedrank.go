package compare

import (
	"cmp"
	"math"
	"slices"
)

// The Wilcoxon signed-rank test and the Hodges-Lehmann interval that goes
// with it (Hollander, Wolfe & Chicken, Nonparametric Statistical Methods,
// 3rd ed., sections 3.1 and 3.2). golang.org/x/perf/benchmath and
// go-moremath have the Mann-Whitney U test for two independent samples
// but no test for paired data, so it is written here.
//
// Ranks are kept doubled ("half-ranks") so that the midranks given to tied
// absolute values are integers and the null distribution can be counted
// exactly even with ties.

// exactSignedRankMax is the largest number of nonzero differences for
// which the p-value is counted exactly; above it the normal approximation
// is used. 2^25 sign assignments still count exactly in a float64.
const exactSignedRankMax = 25

// signedRankResult is the outcome of a signed-rank test.
type signedRankResult struct {
	// W is the sum of the ranks of the positive differences.
	W float64
	// N counts the nonzero differences: zeros are dropped (Wilcoxon's
	// original treatment).
	N int
	// P is the two-sided p-value.
	P float64
	// Exact is set when P was counted from the permutation distribution
	// (given the ties) rather than approximated.
	Exact bool
}

// signedRankTest runs the two-sided Wilcoxon signed-rank test of the
// hypothesis that d is symmetric about zero.
func signedRankTest(d []float64) signedRankResult {
	var nz []float64
	for _, x := range d {
		if x != 0 {
			nz = append(nz, x)
		}
	}
	n := len(nz)
	if n == 0 {
		return signedRankResult{P: 1, Exact: true}
	}
	ranks2, ties := halfRanks(nz)
	w2 := 0
	for i, x := range nz {
		if x > 0 {
			w2 += ranks2[i]
		}
	}
	r := signedRankResult{W: float64(w2) / 2, N: n}
	if n <= exactSignedRankMax {
		// The exact distribution of W given the observed ranks: every one
		// of the 2^n sign assignments is equally likely under the null.
		dist := newSignedRankDist(ranks2)
		lower := dist.cdf(w2)
		upper := 1 - dist.cdf(w2-1)
		r.P = math.Min(1, 2*math.Min(lower, upper))
		r.Exact = true
		return r
	}
	// Normal approximation with the tie correction of the variance and a
	// continuity correction of one half.
	fn := float64(n)
	mean := fn * (fn + 1) / 4
	variance := fn*(fn+1)*(2*fn+1)/24 - ties/48
	z := (math.Abs(r.W-mean) - 0.5) / math.Sqrt(variance)
	r.P = math.Min(1, 2*normalUpper(math.Max(z, 0)))
	return r
}

// halfRanks returns twice the rank of each |x| among the absolute values
// of xs (ties get the mean of their ranks, which doubled is an integer)
// and the tie term sum(t^3 - t) over groups of t tied values.
func halfRanks(xs []float64) (ranks2 []int, ties float64) {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		return cmp.Compare(math.Abs(xs[a]), math.Abs(xs[b]))
	})
	ranks2 = make([]int, len(xs))
	for first := 0; first < len(idx); {
		last := first
		for last+1 < len(idx) && math.Abs(xs[idx[last+1]]) == math.Abs(xs[idx[first]]) {
			last++
		}
		// Ranks first+1 .. last+1 share their mean, (first+last+2)/2.
		for _, i := range idx[first : last+1] {
			ranks2[i] = first + last + 2
		}
		t := float64(last - first + 1)
		ties += t*t*t - t
		first = last + 1
	}
	return ranks2, ties
}

// signedRankDist is the null distribution of the doubled signed-rank
// statistic for a given set of doubled ranks.
type signedRankDist struct {
	// counts[s] is how many of the 2^n sign assignments give a doubled
	// sum of positive ranks equal to s.
	counts []float64
	total  float64
}

// newSignedRankDist counts the sums of every subset of ranks2 (a subset
// being the ranks that carry a plus sign).
func newSignedRankDist(ranks2 []int) signedRankDist {
	sum := 0
	for _, r := range ranks2 {
		sum += r
	}
	c := make([]float64, sum+1)
	c[0] = 1
	hi := 0
	for _, r := range ranks2 {
		for s := hi; s >= 0; s-- {
			c[s+r] += c[s]
		}
		hi += r
	}
	return signedRankDist{counts: c, total: math.Ldexp(1, len(ranks2))}
}

// cdf returns P(doubled W <= s2).
func (d signedRankDist) cdf(s2 int) float64 {
	if s2 < 0 {
		return 0
	}
	var k float64
	for _, c := range d.counts[:min(s2+1, len(d.counts))] {
		k += c
	}
	return k / d.total
}

// untiedDist returns the null distribution for n differences without ties
// (doubled ranks 2, 4, ..., 2n).
func untiedDist(n int) signedRankDist {
	r := make([]int, n)
	for i := range r {
		r[i] = 2 * (i + 1)
	}
	return newSignedRankDist(r)
}

// hodgesLehmann returns the Hodges-Lehmann estimate of the center of d
// (the median of its Walsh averages) and the confidence interval that
// inverts the signed-rank test: the c+1-th smallest and the c+1-th largest
// Walsh average, c the largest count with P(W <= c) <= (1-confidence)/2
// under the null distribution without ties. When d is too short for the
// requested confidence, the widest interval (smallest to largest
// difference) is returned with the level it does reach. Zero differences
// count here (a pair that did not change is evidence of no change), and
// the cut ignores ties, as is usual; the test drops zeros and accounts
// for ties, so on such data the two can disagree slightly at the edge.
func hodgesLehmann(d []float64, confidence float64) (est, lo, hi, level float64) {
	n := len(d)
	walsh := make([]float64, 0, n*(n+1)/2)
	for i := range d {
		for j := i; j < n; j++ {
			walsh = append(walsh, (d[i]+d[j])/2)
		}
	}
	slices.Sort(walsh)
	m := len(walsh)
	est = walsh[m/2]
	if m%2 == 0 {
		est = (walsh[m/2-1] + walsh[m/2]) / 2
	}
	c, tailP := walshCut(n, (1-confidence)/2)
	c = min(c, (m-1)/2)
	return est, walsh[c], walsh[m-1-c], 1 - 2*tailP
}

// walshCut returns how many Walsh averages the interval leaves out on each
// side for n differences and one-sided tail probability tail, and the
// probability the interval's lower end lies above the true center. At
// least the extreme averages are kept.
func walshCut(n int, tail float64) (c int, tailP float64) {
	if n <= exactSignedRankMax {
		dist := untiedDist(n)
		for dist.cdf(2*(c+1)) <= tail {
			c++
		}
		return c, dist.cdf(2 * c)
	}
	fn := float64(n)
	mean := fn * (fn + 1) / 4
	sd := math.Sqrt(fn * (fn + 1) * (2*fn + 1) / 24)
	c = max(int(math.Floor(mean+sd*normalQuantile(tail)-0.5)), 0)
	return c, normalLower((float64(c) + 0.5 - mean) / sd)
}

// MinPairedP returns the smallest two-sided p-value the signed-rank test
// can give for n pairs: every pair on the same side, 2 of the 2^n sign
// assignments. Five pairs cannot go below 0.0625, six reach 0.03125.
func MinPairedP(n int) float64 {
	if n < 1 {
		return 1
	}
	return math.Min(1, math.Ldexp(1, 1-n))
}

// MinPairsForAlpha returns the fewest pairs with which the signed-rank
// test can reach p < alpha (6 for 0.05, 8 for 0.01), or 0 when no number
// of pairs can (alpha <= 0).
func MinPairsForAlpha(alpha float64) int {
	if !(alpha > 0) {
		return 0
	}
	n := 1
	for MinPairedP(n) >= alpha {
		n++
	}
	return n
}

// normalLower is the standard normal distribution function.
func normalLower(z float64) float64 { return math.Erfc(-z/math.Sqrt2) / 2 }

// normalUpper is 1 - normalLower(z), without the cancellation.
func normalUpper(z float64) float64 { return math.Erfc(z/math.Sqrt2) / 2 }

// normalQuantile is the inverse of normalLower.
func normalQuantile(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }
