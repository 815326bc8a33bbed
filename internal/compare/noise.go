package compare

import (
	"math"

	"github.com/matrixbench/matrix/internal/results"
)

// A diff between two runs must not call noise a regression. Two figures
// guard it besides the per-cell test: each run's noise floor (the typical
// spread of its cells' repeats, results.Noise), which widens the band of
// changes that are never called, and the reference cell, one cell measured
// at the start, middle and end of every run, whose move between the runs
// is the machine's, not the code's.

// Band returns the half-width of the band of changes a diff never calls a
// regression or an improvement: the largest of threshold and the floors
// (each run's noise floor, the reference's in-run drift, ...). A floor
// that is NaN or not positive is unknown and passed over.
func Band(threshold float64, floors ...float64) float64 {
	b := threshold
	for _, f := range floors {
		if f > b {
			b = f
		}
	}
	return b
}

// Within reports whether change (a fraction, head/base - 1) lies inside
// -band..+band, where a diff calls nothing whatever the test says. NaN is
// within: an unknown change is not a regression.
func Within(change, band float64) bool {
	return math.IsNaN(change) || math.Abs(change) <= band
}

// RefChange returns the reference cell's change between two runs: the
// median of its measurements in head over the median in base, minus one.
// It is NaN when a side has no measurement or a median that is not
// positive.
func RefChange(base, head []float64) float64 {
	b, h := results.Median(base), results.Median(head)
	if !(b > 0) || !(h > 0) {
		return math.NaN()
	}
	return h/b - 1
}

// ShouldNormalize reports whether the reference moved between the runs by
// more than threshold, so that a diff must take the machine's move out of
// every cell's change (Normalize). Below the threshold the move is left
// alone: normalizing by a reference that moved by its own noise would add
// that noise to every cell.
func ShouldNormalize(refChange, threshold float64) bool {
	return !math.IsNaN(refChange) && math.Abs(refChange) > threshold
}

// Normalize returns a cell's change with the reference's change taken
// out: (1+change)/(1+refChange) - 1, the change the cell would show had
// the machine not moved. Normalize a metric by the reference's change in
// the same metric (req/s by req/s, p99 by p99), and interval bounds like
// the change. NaN when refChange is NaN or not above -1.
func Normalize(change, refChange float64) float64 {
	if !(refChange > -1) {
		return math.NaN()
	}
	return (1+change)/(1+refChange) - 1
}
