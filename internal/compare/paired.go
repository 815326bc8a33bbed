package compare

import (
	"errors"
	"fmt"
	"math"

	"github.com/matrixbench/matrix/internal/results"
)

// A same-run A/B measures the base build (A) and the head build (B) of one
// cell alternately in one run, in ABBA order: A B B A A B B A ... Each
// half block, A B or B A, is a pair of adjacent measurements, and the
// verdict rests on the ratios head/base within pairs. Pairing removes what
// the two builds share (the machine's state at that moment); the ABBA
// order makes a linear drift of the machine raise the head of one pair by
// as much as it lowers the head of the next, so drift widens the interval
// but cannot move it.

// DefaultPairs is how many pairs a same-run A/B measures by default (16
// repeats). Six pairs are the fewest with which the signed-rank test can
// reach p < 0.05 (MinPairsForAlpha), but with six the 95 % interval is
// the range of the six ratios; with eight it leaves out the three most
// extreme Walsh averages at each end, and a 5 % change under 1 % noise
// is called in 99.6 % of simulated A/Bs against 90 % with six (see
// ABThreshold).
const DefaultPairs = 8

// ABThreshold is the threshold a same-run A/B should pass to Band by
// default. Judge calls a change only when its whole interval lies beyond
// the band, so the band must sit below the smallest change that must not
// be missed. In simulation (TestPairedPower, TestPairedFalsePositives),
// with DefaultPairs, 1 % noise and drift: a band of 5 % calls a real 5 %
// regression in 1.4 % of A/Bs, a band of 2 % in 99.6 %; an A/A under 3 %
// noise is called in 0.1 % with 2 %.
const ABThreshold = 0.02

// Arm says which build a measurement of a same-run A/B ran.
type Arm uint8

// The two arms of an A/B.
const (
	ArmBase Arm = iota // A: the build compared against
	ArmHead            // B: the build under test
)

// String returns "A" or "B".
func (a Arm) String() string {
	if a == ArmBase {
		return "A"
	}
	return "B"
}

// ABBA returns the order in which a same-run A/B of n pairs measures its
// arms: A B B A, repeated, cut after 2n measurements. An even n ends on a
// whole block, so a linear drift cancels exactly; prefer it.
func ABBA(n int) []Arm {
	order := make([]Arm, 2*max(n, 0))
	for i := range order {
		if p := i % 4; p == 1 || p == 2 {
			order[i] = ArmHead
		}
	}
	return order
}

// Measurement is one repeat of a same-run A/B.
type Measurement struct {
	Arm   Arm
	Value float64
}

// Pair is a base and a head measurement taken next to each other.
type Pair struct {
	Base, Head float64
}

// PairUp forms pairs from measurements in run order: the first and second,
// the third and fourth, and so on; each must hold one of each arm. A last
// measurement without a partner (a run stopped midway) is left out.
func PairUp(ms []Measurement) ([]Pair, error) {
	pairs := make([]Pair, 0, len(ms)/2)
	for i := 0; i+1 < len(ms); i += 2 {
		a, b := ms[i], ms[i+1]
		if a.Arm == b.Arm {
			return nil, fmt.Errorf("measurements %d and %d both ran %v: not an A/B pair", i+1, i+2, a.Arm)
		}
		if a.Arm == ArmHead {
			a, b = b, a
		}
		pairs = append(pairs, Pair{Base: a.Value, Head: b.Value})
	}
	return pairs, nil
}

// PairedEstimate is the verdict statistics of a same-run A/B of one metric.
// Changes are fractions, head/base - 1.
type PairedEstimate struct {
	// Pairs counts the pairs.
	Pairs int `json:"pairs"`
	// MedianRatio is the median over pairs of head/base - 1.
	MedianRatio float64 `json:"median_ratio"`
	// Change is the Hodges-Lehmann estimate: the median of the Walsh
	// averages of the pairs' log ratios, as head/base - 1. It is the
	// center the interval and the test refer to, and, unlike the median
	// ratio, it averages the +drift and -drift pairs of an ABBA block.
	Change float64 `json:"change"`
	// CILo and CIHi bound the change with confidence CILevel (the
	// signed-rank interval). With fewer than six pairs they are the
	// smallest and largest ratios, and CILevel is below Confidence.
	CILo    float64 `json:"ci_lo"`
	CIHi    float64 `json:"ci_hi"`
	CILevel float64 `json:"ci_level"`
	// P is the two-sided p-value of the Wilcoxon signed-rank test of the
	// log ratios; Exact says it was counted, not approximated.
	P     float64 `json:"p"`
	Exact bool    `json:"exact"`
	// Ties counts the pairs whose two figures are equal; the test leaves
	// them out.
	Ties int `json:"ties,omitempty"`
	// MinP is the smallest p-value the test can give with Pairs pairs.
	MinP float64 `json:"min_p"`
	// Tested is set when MinP < Alpha: the test can decide.
	Tested bool `json:"tested"`
	// NoTest says why not.
	NoTest string `json:"no_test,omitempty"`
	// Significant is Tested && P < Alpha.
	Significant bool `json:"significant"`
}

// ComparePaired tests a same-run A/B's pairs at Alpha and bounds the
// change with Confidence. Figures must be positive.
func ComparePaired(pairs []Pair) (PairedEstimate, error) {
	return comparePaired(pairs, Alpha, Confidence)
}

func comparePaired(pairs []Pair, alpha, confidence float64) (PairedEstimate, error) {
	if len(pairs) == 0 {
		return PairedEstimate{}, errors.New("no pairs to compare")
	}
	d := make([]float64, len(pairs))
	for i, p := range pairs {
		if !(p.Base > 0 && p.Head > 0) || math.IsInf(p.Base, 0) || math.IsInf(p.Head, 0) {
			return PairedEstimate{}, fmt.Errorf("pair %d: base %v, head %v: figures must be positive", i+1, p.Base, p.Head)
		}
		d[i] = math.Log(p.Head) - math.Log(p.Base)
	}
	e := PairedEstimate{Pairs: len(pairs), MinP: MinPairedP(len(pairs))}
	e.MedianRatio = math.Expm1(results.Median(d))
	est, lo, hi, level := hodgesLehmann(d, confidence)
	e.Change, e.CILo, e.CIHi, e.CILevel = math.Expm1(est), math.Expm1(lo), math.Expm1(hi), level
	t := signedRankTest(d)
	e.P, e.Exact, e.Ties = t.P, t.Exact, len(pairs)-t.N
	if e.MinP >= alpha {
		e.NoTest = fmt.Sprintf("%d pairs: the signed-rank test cannot reach p<%.2f (smallest p %.4g); use at least %d pairs",
			e.Pairs, alpha, e.MinP, MinPairsForAlpha(alpha))
		return e, nil
	}
	e.Tested = true
	e.Significant = e.P < alpha
	return e, nil
}

// Judge returns the verdict of a same-run A/B: Regressed or Improved only
// when the test is significant and the whole interval lies beyond band
// (a fraction, see Band) in one direction; Unchanged otherwise.
// higherIsBetter says which direction is worse. A change smaller than
// band is never called, however certain; a change the interval cannot pin
// beyond band is not called either (Resolved tells whether it was ruled
// out or merely not seen).
func (e PairedEstimate) Judge(higherIsBetter bool, band float64) Kind {
	if !e.Significant {
		return Unchanged
	}
	var up bool
	switch {
	case e.CILo > band:
		up = true
	case e.CIHi < -band:
		up = false
	default:
		return Unchanged
	}
	if up == higherIsBetter {
		return Improved
	}
	return Regressed
}

// Resolved reports whether e rules out a change beyond band either way:
// its interval, at no less than Confidence, lies within -band..+band. An
// Unchanged verdict that is not resolved means the A/B had too few pairs
// or too much noise to see a change of that size; say so rather than "~".
func (e PairedEstimate) Resolved(band float64) bool {
	return e.CILevel >= Confidence && e.CILo >= -band && e.CIHi <= band
}
