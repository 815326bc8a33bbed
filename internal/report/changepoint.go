package report

import (
	"math"
	"slices"

	"github.com/matrixbench/matrix/internal/compare"
	"github.com/matrixbench/matrix/internal/results"
)

// A nightly history of a cell's req/s is noisy: one bad night is the
// machine, not the code. A step is a change of level that lasts: the
// figures after it stay at the new level for several runs, and the change
// exceeds both the threshold and the series' own noise. Steps are found by
// binary segmentation: the most convincing split of the series is taken,
// then each side is searched again, until no split is convincing.
//
// Work is done on the logarithms of the figures, so that a level and its
// noise are relative (a 5 % step is the same at 10k and 100k req/s).

// SeriesPoint is one run's figure for a cell, in time order.
type SeriesPoint struct {
	// Value is the figure (req/s); a run without one (NaN, 0) is passed
	// over.
	Value float64
	// Commit is the commit the run measured.
	Commit string
}

// Step is a lasting change of level in a series.
type Step struct {
	// Index is the position in the series of the first figure at the new
	// level.
	Index int
	// Before and After are the levels on each side: the medians of the
	// figures between the previous step (or the start) and this one, and
	// between this one and the next (or the end).
	Before, After float64
	// Change is After/Before - 1.
	Change float64
	// LastBefore is the commit of the last figure clearly at the old level
	// and FirstAfter that of the first clearly at the new: the change came
	// in after LastBefore, up to and including FirstAfter. Usually they are
	// the runs either side of Index; a figure next to the step that lies
	// midway between the levels widens the range over its run.
	LastBefore, FirstAfter string
}

// StepOptions tune FindSteps; the zero value asks for the defaults.
type StepOptions struct {
	// MinRun is how many runs in a row a new level must hold before it is
	// a step, and how many a level needs before a step may leave it; 3
	// when 0. A step with fewer runs after it is not reported yet.
	MinRun int
	// Threshold is the smallest step, a fraction;
	// compare.DefaultThreshold when 0.
	Threshold float64
	// K is how many times the series' noise a step must exceed; 3 when 0.
	K float64
}

// stepWindowRuns times MinRun is how many figures on each side of a split,
// at most, give the levels compared: enough that a median shrugs off an
// odd night, few enough not to reach across the next step.
const stepWindowRuns = 2

// FindSteps returns the steps of series, in time order.
func FindSteps(series []SeriesPoint, opt StepOptions) []Step {
	if opt.MinRun <= 0 {
		opt.MinRun = 3
	}
	if opt.Threshold <= 0 {
		opt.Threshold = compare.DefaultThreshold
	}
	if opt.K <= 0 {
		opt.K = 3
	}
	var idx []int // positions in series of the usable figures
	var y []float64
	for i, p := range series {
		if p.Value > 0 && !math.IsInf(p.Value, 0) {
			idx = append(idx, i)
			y = append(y, math.Log(p.Value))
		}
	}
	f := stepFinder{y: y, opt: opt, noise: seriesNoise(y)}
	f.segment(0, len(y))
	slices.Sort(f.splits)
	f.prune()

	steps := make([]Step, len(f.splits))
	for k, s := range f.splits {
		lo, hi := f.bounds(k)
		b, a := results.Median(y[lo:s]), results.Median(y[s:hi])
		last, first := f.edges(s, b, a)
		steps[k] = Step{
			Index: idx[s], Before: math.Exp(b), After: math.Exp(a), Change: math.Expm1(a - b),
			LastBefore: series[idx[last]].Commit, FirstAfter: series[idx[first]].Commit,
		}
	}
	return steps
}

// seriesNoise estimates the standard deviation of one figure's noise from
// the median absolute difference between successive figures (a difference
// of two figures has sqrt(2) times their spread; 1.4826 turns a median
// absolute deviation of normal noise into a standard deviation). A step or
// an odd night spoils one or two differences, which the median ignores.
func seriesNoise(y []float64) float64 {
	if len(y) < 3 {
		return 0
	}
	d := make([]float64, len(y)-1)
	for i := range d {
		d[i] = math.Abs(y[i+1] - y[i])
	}
	return 1.4826 * results.Median(d) / math.Sqrt2
}

// stepFinder holds the state of one binary segmentation.
type stepFinder struct {
	y      []float64
	opt    StepOptions
	noise  float64
	splits []int // positions in y of the first figure at each new level
}

// segment finds the steps within y[lo:hi].
func (f *stepFinder) segment(lo, hi int) {
	best, bestSize := -1, 0.0
	for s := lo + f.opt.MinRun; s+f.opt.MinRun <= hi; s++ {
		if size, ok := f.step(lo, s, hi); ok && size > bestSize {
			best, bestSize = s, size
		}
	}
	if best < 0 {
		return
	}
	f.splits = append(f.splits, best)
	f.segment(lo, best)
	f.segment(best, hi)
}

// edges returns the last figure before s clearly at level b and the first
// from s clearly at level a. A figure within the noise (at most a quarter
// of the step) of the midway point could belong to either level; the
// commit range widens over it, rather than blame the wrong commit.
func (f *stepFinder) edges(s int, b, a float64) (last, first int) {
	mid, margin := (a+b)/2, math.Min(f.noise, math.Abs(a-b)/4)
	dir := math.Copysign(1, a-b)
	last, first = s-1, s
	for last > s-f.opt.MinRun && dir*(mid-f.y[last]) < margin {
		last--
	}
	for first < s+f.opt.MinRun-1 && dir*(f.y[first]-mid) < margin {
		first++
	}
	return last, first
}

// bounds returns the segment of y around split k: from the split before
// it (or the start) to the split after it (or the end).
func (f *stepFinder) bounds(k int) (lo, hi int) {
	lo, hi = 0, len(f.y)
	if k > 0 {
		lo = f.splits[k-1]
	}
	if k+1 < len(f.splits) {
		hi = f.splits[k+1]
	}
	return lo, hi
}

// prune drops, weakest first, the splits whose levels, taken over the
// whole segments between splits, differ by less than the threshold or K
// times the noise. The search compares short windows, and the best of
// many windows can owe its size to noise; the levels over whole segments
// are what a step is reported with, so they must bear it out.
func (f *stepFinder) prune() {
	for {
		weakest, weakestSize := -1, math.Inf(1)
		for k, s := range f.splits {
			lo, hi := f.bounds(k)
			d := results.Median(f.y[s:hi]) - results.Median(f.y[lo:s])
			if !f.large(d) && math.Abs(d) < weakestSize {
				weakest, weakestSize = k, math.Abs(d)
			}
		}
		if weakest < 0 {
			return
		}
		f.splits = slices.Delete(f.splits, weakest, weakest+1)
	}
}

// large reports whether a difference of levels d (in logarithms) exceeds
// both the threshold and K times the noise.
func (f *stepFinder) large(d float64) bool {
	return math.Abs(math.Expm1(d)) >= f.opt.Threshold && math.Abs(d) >= f.opt.K*f.noise
}

// step judges a split of y[lo:hi] before s. It compares the medians of
// the w figures on each side, for w from MinRun up to
// stepWindowRuns*MinRun (a short window sees a level that lasts only
// MinRun runs, a long one is steadier), and accepts the split when for
// some w the difference is large, the last MinRun figures before s all
// lie on the old level's side of the midway point between the levels and
// the first MinRun after s all on the new level's. It returns the largest
// accepted difference, in logarithms.
func (f *stepFinder) step(lo, s, hi int) (size float64, ok bool) {
	for w := f.opt.MinRun; w <= stepWindowRuns*f.opt.MinRun; w++ {
		b := results.Median(f.y[max(lo, s-w):s])
		a := results.Median(f.y[s:min(hi, s+w)])
		d := math.Abs(a - b)
		if d > size && f.large(a-b) && f.held(s, b, a) {
			size, ok = d, true
		}
	}
	return size, ok
}

// held reports whether the MinRun figures before s stayed on b's side of
// the midway point between levels b and a, and the MinRun from s on a's.
func (f *stepFinder) held(s int, b, a float64) bool {
	mid, up := (a+b)/2, a > b
	for i := s - f.opt.MinRun; i < s+f.opt.MinRun; i++ {
		onNew := (f.y[i] > mid) == up
		if onNew != (i >= s) {
			return false
		}
	}
	return true
}

// CellSteps returns the steps in a cell's req/s across the runs of h,
// each step's commits taken from the runs.
func CellSteps(h *History, c *CellHistory, opt StepOptions) []Step {
	series := make([]SeriesPoint, len(c.RPS))
	for i, v := range c.RPS {
		series[i].Value = v
		if i < len(h.Runs) {
			series[i].Commit = h.Runs[i].Commit
		}
	}
	return FindSteps(series, opt)
}
