package compare

import (
	"fmt"
	"math"
	"slices"

	"github.com/matrixbench/matrix/internal/results"
)

// judge carries what every cell of one diff is judged with.
type judge struct {
	threshold float64
	// band is the half-width of the changes never called (Band).
	band float64
	// paired judges a same-run A/B on its pairs of repeats.
	paired bool
	// box, when not nil, is the machine's own move, taken out of every
	// cell's change.
	box *BoxMove
}

// NoiseSides is each run's noise as its manifest records it; zero for a
// run made before the runner measured noise.
type NoiseSides struct {
	Base results.Noise `json:"base"`
	Head results.Noise `json:"head"`
	// BaseRef and HeadRef are the reference cells' in-run ranges
	// (max/min - 1 of the start, middle and end measurements), 0 unknown.
	BaseRef float64 `json:"base_reference_range"`
	HeadRef float64 `json:"head_reference_range"`
}

func noiseSides(base, head *results.Manifest) NoiseSides {
	var n NoiseSides
	if base.Noise != nil {
		n.Base = base.Noise.Noise
		if r := base.Noise.Reference; r != nil {
			n.BaseRef = r.Spread.Range()
		}
	}
	if head.Noise != nil {
		n.Head = head.Noise.Noise
		if r := head.Noise.Reference; r != nil {
			n.HeadRef = r.Spread.Range()
		}
	}
	return n
}

// BoxMove is how far the machine itself changed speed between two runs:
// the change of their reference cell, measured at the start, middle and
// end of each.
type BoxMove struct {
	// Cell is the reference cell's ID.
	Cell string `json:"cell"`
	// Base and Head are the medians of the reference's req/s in each run.
	Base float64 `json:"base_rps"`
	Head float64 `json:"head_rps"`
	// RPS and P99 are the reference's changes (head/base - 1); P99 is
	// NaN (null) when a side has no p99.
	RPS float64 `json:"rps_change"`
	P99 float64 `json:"p99_change"`
}

// boxMove returns the machine's move between two runs when their
// references are the same cell and it moved by more than threshold; nil
// otherwise (no reference, different cells, or a move within the noise).
func boxMove(base, head *results.Manifest, threshold float64) *BoxMove {
	if base.Noise == nil || head.Noise == nil || base.Noise.Reference == nil || head.Noise.Reference == nil {
		return nil
	}
	rb, rh := base.Noise.Reference, head.Noise.Reference
	if rb.Cell != rh.Cell {
		return nil
	}
	move := RefChange(rb.RPS(), rh.RPS())
	if !ShouldNormalize(move, threshold) {
		return nil
	}
	return &BoxMove{
		Cell: rb.Cell, Base: results.Median(rb.RPS()), Head: results.Median(rh.RPS()),
		RPS: move, P99: RefChange(rb.P99(), rh.P99()),
	}
}

// rpsChange and p99Change return the move to take out of a metric; NaN
// when there is none.
func (b *BoxMove) rpsChange() float64 {
	if b == nil {
		return math.NaN()
	}
	return b.RPS
}

func (b *BoxMove) p99Change() float64 {
	if b == nil {
		return math.NaN()
	}
	return b.P99
}

// metricOf extracts one metric from one repeat; ok is false when the
// repeat has no such figure.
type metricOf func(r *results.Repeat) (float64, bool)

func rpsOf(r *results.Repeat) (float64, bool) {
	if !r.Summarised() || r.Interference.Over() || r.Figure() <= 0 {
		return 0, false
	}
	return r.Figure(), true
}

func p99Of(r *results.Repeat) (float64, bool) {
	if !r.Summarised() || r.Interference.Over() || r.Result.LatencyNs.P99 <= 0 {
		return 0, false
	}
	return float64(r.Result.LatencyNs.P99), true
}

// estimate compares one metric of a cell, or returns nil when a side has
// no figures. move, when not NaN, is the machine's move in this metric:
// head's figures are divided by 1+move before they are compared, so the
// verdict (test, interval and band) is on the change the cell would show
// had the machine not moved; RawChange keeps the change as measured.
func (j judge) estimate(b, h *results.Cell, sample func(*results.Cell) (Sample, bool), of metricOf, move float64) *Estimate {
	bs, ok := cleanSample(b, sample, of)
	if !ok {
		return nil
	}
	hs, ok := cleanSample(h, sample, of)
	if !ok {
		return nil
	}
	if j.paired {
		e := pairedEstimate(b, h, bs, hs, of)
		return &e
	}
	measured := hs.Center
	raw := ratio(hs.Center, bs.Center)
	if !math.IsNaN(move) {
		f := 1 / (1 + move)
		hs.Center *= f
		hs.Values = slices.Clone(hs.Values)
		for i := range hs.Values {
			hs.Values[i] *= f
		}
	}
	e := Compare(bs, hs)
	if !math.IsNaN(move) {
		e.Head = measured // as measured; Change and the interval are normalized
		e.RawChange = &raw
	}
	return &e
}

// pairedEstimate judges a metric of a same-run A/B cell on its pairs:
// repeat i of base against repeat i of head, which ran next to each other.
func pairedEstimate(b, h *results.Cell, bs, hs Sample, of metricOf) Estimate {
	e := Estimate{Base: bs.Center, Head: hs.Center, Change: ratio(hs.Center, bs.Center), Paired: true,
		P: math.NaN(), CILo: math.NaN(), CIHi: math.NaN()}
	var pairs []Pair
	for i := range b.Repeats {
		bv, ok := of(&b.Repeats[i])
		if !ok {
			continue
		}
		for k := range h.Repeats {
			if h.Repeats[k].Index != b.Repeats[i].Index {
				continue
			}
			if hv, ok := of(&h.Repeats[k]); ok {
				pairs = append(pairs, Pair{Base: bv, Head: hv})
			}
		}
	}
	e.N1, e.N2 = len(pairs), len(pairs)
	pe, err := ComparePaired(pairs)
	if err != nil {
		e.NoTest = err.Error()
		return e
	}
	e.Change, e.CILo, e.CIHi, e.CILevel = pe.Change, pe.CILo, pe.CIHi, pe.CILevel
	e.P, e.Tested, e.Significant, e.NoTest = pe.P, pe.Tested, pe.Significant, pe.NoTest
	if !pe.Tested && e.NoTest == "" {
		e.NoTest = fmt.Sprintf("%d pairs: the signed-rank test cannot reach p<%.2f (smallest p %.3f); use at least %d",
			pe.Pairs, Alpha, pe.MinP, MinPairsForAlpha(Alpha))
	}
	return e
}

// cleanSample is a cell's sample without the repeats the rest of the host
// interfered with (they measured the host, not the server). When none was
// left out it is the cell's own sample, whose center is the published
// figure; otherwise the center is the median of what is left. ok is false
// when nothing is left.
func cleanSample(c *results.Cell, sample func(*results.Cell) (Sample, bool), of metricOf) (Sample, bool) {
	s, ok := sample(c)
	if !ok || interfered(c) == 0 {
		return s, ok
	}
	var vals []float64
	for i := range c.Repeats {
		if v, ok := of(&c.Repeats[i]); ok {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return Sample{}, false
	}
	return Sample{Center: results.Median(vals), Values: vals}, true
}

// interfered counts a cell's repeats with figures that the rest of the
// host interfered with.
func interfered(c *results.Cell) int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.Repeats {
		if c.Repeats[i].Summarised() && c.Repeats[i].Interference.Over() {
			n++
		}
	}
	return n
}

// notJudged says why a cell's figures are not judged, or which repeats
// were left out: a repeat the rest of the host took CPU from measured the
// host, not the server. A cell keeps its verdict on the repeats that are
// left; with none left on a side it is not judged.
func notJudged(b, h *results.Cell, rps *Estimate) string {
	nb, nh := interfered(b), interfered(h)
	if nb+nh == 0 {
		return ""
	}
	if rps == nil {
		return fmt.Sprintf("not judged: other work on the host interfered with every repeat of a side (%d base, %d head)", nb, nh)
	}
	return fmt.Sprintf("judged without %d base and %d head repeats that other work on the host interfered with", nb, nh)
}
