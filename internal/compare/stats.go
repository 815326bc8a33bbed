package compare

import (
	"fmt"
	"math"
	"slices"

	"github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchmath"
)

// Alpha is the significance level of the Mann-Whitney U test: a difference
// whose p-value is below it is called significant.
const Alpha = 0.05

// Confidence is the level asked of confidence intervals. Few repeats cannot
// reach it; Estimate.CILevel then says what the interval really covers.
const Confidence = 0.95

// MinRepeats is how many repeats each side needs before a test is tried.
const MinRepeats = 3

// Sample is one metric of one cell in one run.
type Sample struct {
	// Center is the figure the run published for the cell: the median
	// req/s of the repeats, or the p99 of their merged histogram.
	Center float64
	// Values holds the metric of each repeat, the noise the test weighs.
	Values []float64
}

// Estimate is the comparison of one metric of a cell between two runs.
type Estimate struct {
	Base float64 `json:"base"`
	Head float64 `json:"head"`
	// Change is Head/Base - 1; NaN (null in JSON) when Base is 0.
	Change float64 `json:"change"`
	// N1 and N2 count the repeats of each side.
	N1 int `json:"n_base"`
	N2 int `json:"n_head"`
	// Tested is set when the test could decide at Alpha: both sides have
	// MinRepeats repeats and their sizes allow a p-value below Alpha
	// (3+3 cannot: its smallest p-value is 0.10).
	Tested bool `json:"tested"`
	// NoTest says why the change was judged without the test (see beyond).
	NoTest string `json:"no_test,omitempty"`
	// P is the Mann-Whitney U p-value; NaN when no test ran.
	P float64 `json:"p"`
	// Significant is Tested && P < Alpha.
	Significant bool `json:"significant"`
	// CILo and CIHi bound the change (head/base - 1) with confidence
	// CILevel: the Hodges-Lehmann interval of the repeats' log ratios
	// that goes with the U test. NaN when there are too few repeats.
	CILo    float64 `json:"ci_lo"`
	CIHi    float64 `json:"ci_hi"`
	CILevel float64 `json:"ci_level"`
	// Warnings come from the statistics (for example ties in the data).
	Warnings []string `json:"warnings,omitempty"`
	// Paired is set for a same-run A/B: N1 = N2 pairs of adjacent repeats,
	// P from the Wilcoxon signed-rank test of their log ratios, the
	// interval its Hodges-Lehmann interval, and a change called only when
	// the whole interval lies beyond the band.
	Paired bool `json:"paired,omitempty"`
	// RawChange, set when the diff normalized the change by the machine's
	// own move (Result.Box), is the change as measured; Change, CILo and
	// CIHi are then normalized.
	RawChange *float64 `json:"raw_change,omitempty"`
}

// Compare compares a metric between a base and a head sample.
func Compare(base, head Sample) Estimate {
	e := Estimate{
		Base: base.Center, Head: head.Center, Change: ratio(head.Center, base.Center),
		N1: len(base.Values), N2: len(head.Values),
		P: math.NaN(), CILo: math.NaN(), CIHi: math.NaN(),
	}
	if e.N1 < MinRepeats || e.N2 < MinRepeats {
		e.NoTest = fmt.Sprintf("n=%d+%d: a test needs %d repeats on each side", e.N1, e.N2, MinRepeats)
		return e
	}
	thr := benchmath.DefaultThresholds
	thr.CompareAlpha = Alpha
	c := benchmath.AssumeNothing.Compare(
		benchmath.NewSample(slices.Clone(base.Values), &thr),
		benchmath.NewSample(slices.Clone(head.Values), &thr))
	e.P = c.P
	for _, w := range c.Warnings {
		e.Warnings = append(e.Warnings, w.Error())
	}
	if minP := minPValue(e.N1, e.N2); minP > Alpha {
		// Running the test anyway would print "~" for every change,
		// however large: a gate that can never fire.
		e.NoTest = fmt.Sprintf("n=%d+%d: the U test cannot reach p<%.2f (smallest p %.2f); use at least 4 repeats",
			e.N1, e.N2, Alpha, minP)
		e.Warnings = nil
	} else {
		e.Tested = true
		e.Significant = c.P < Alpha
	}
	e.CILo, e.CIHi, e.CILevel = shiftCI(base.Values, head.Values, Confidence)
	return e
}

// ratio returns a/b - 1, NaN when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a/b - 1
}

// minPValue is the smallest two-sided p-value the U test can give for
// samples of n1 and n2 distinct values: both orderings that separate them
// completely, out of all C(n1+n2, n1).
func minPValue(n1, n2 int) float64 {
	return 2 * stats.UDist{N1: n1, N2: n2}.CDF(0)
}

// shiftCI returns the confidence interval of head/base - 1 that belongs to
// the Mann-Whitney U test (Hodges-Lehmann, after Bauer 1972): the k-th
// smallest and k-th largest of the n1*n2 pairwise differences of the
// logarithms, k taken from the U distribution so that each tail holds at
// most (1-confidence)/2. When the samples are too small for the requested
// level, the widest interval (smallest to largest difference) is returned
// with the level it does reach. Values must be positive; otherwise the
// result is NaN.
func shiftCI(base, head []float64, confidence float64) (lo, hi, level float64) {
	n1, n2 := len(base), len(head)
	if n1 < 2 || n2 < 2 {
		return math.NaN(), math.NaN(), 0
	}
	d := make([]float64, 0, n1*n2)
	for _, b := range base {
		for _, h := range head {
			if b <= 0 || h <= 0 {
				return math.NaN(), math.NaN(), 0
			}
			d = append(d, math.Log(h)-math.Log(b))
		}
	}
	slices.Sort(d)
	u := stats.UDist{N1: n1, N2: n2}
	tail := (1 - confidence) / 2
	k := 0 // the interval is d[k] .. d[len(d)-1-k]
	for k+1 < len(d)/2 && u.CDF(float64(k+1)) <= tail {
		k++
	}
	level = 1 - 2*u.CDF(float64(k))
	return math.Expm1(d[k]), math.Expm1(d[len(d)-1-k]), level
}

// Worse reports whether e shows the metric got worse by more than
// threshold (a fraction, 0.05 for 5 %): significantly so when a test was
// possible, by the change alone when not. higherIsBetter says which way is
// worse.
func (e Estimate) Worse(higherIsBetter bool, threshold float64) bool {
	return e.beyond(!higherIsBetter, threshold)
}

// Better reports whether e shows the metric improved by more than
// threshold, with the same rules as Worse.
func (e Estimate) Better(higherIsBetter bool, threshold float64) bool {
	return e.beyond(higherIsBetter, threshold)
}

// beyond reports whether the change goes up (or down) by more than
// threshold and, when tested, significantly.
func (e Estimate) beyond(up bool, threshold float64) bool {
	c := e.Change
	if math.IsNaN(c) {
		return false
	}
	if !up {
		c = -c
	}
	if c <= threshold {
		return false
	}
	if e.Paired {
		// The whole interval must lie beyond the band: a pair test on a
		// quiet box is significant for changes far smaller than anyone
		// acts on. With too few pairs for the test, the "interval" is the
		// smallest to the largest pair's ratio: every pair must have moved
		// beyond the band.
		lo := e.CILo
		if !up {
			lo = -e.CIHi
		}
		if math.IsNaN(lo) || lo <= threshold {
			return false
		}
		return !e.Tested || e.Significant
	}
	if !e.Tested && !math.IsNaN(e.CILo) {
		// Too few repeats for the test (3+3 cannot reach p < 0.05), but
		// enough for an interval, which is then the smallest to the
		// largest change between a base and a head repeat: the change is
		// called only when every head repeat moved beyond every base
		// repeat by more than the threshold, as paired runs call a
		// change only when their whole interval lies beyond it. A median
		// past the threshold alone cried wolf on p99 (+6.7 %, repeats
		// spread from -0.7 % to +49 %), and so did every head repeat
		// above every base repeat (+5.3 %, from +0.1 % to +23 %, two
		// runs of one commit, the second after a CPU hog).
		lo := e.CILo
		if !up {
			lo = -e.CIHi
		}
		return lo > threshold
	}
	return !e.Tested || e.Significant
}

// Unchanged reports whether the test found no significant difference: the
// "~" of benchstat.
func (e Estimate) Unchanged() bool { return e.Tested && !e.Significant }

// geomean returns the geometric mean of xs, all positive; NaN when empty.
func geomean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += math.Log(x)
	}
	return math.Exp(s / float64(len(xs)))
}
