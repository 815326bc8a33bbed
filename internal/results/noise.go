package results

import "math"

// MinNoiseRepeats is how many repeats a cell needs before its spread
// counts towards the run's noise: the coefficient of variation of two
// values is little more than a coin toss.
const MinNoiseRepeats = 3

// NoiseFloorFactor is how many typical coefficients of variation make the
// run's noise floor. The median of five repeats whose CV is c varies by
// about 0.56c (1.25c/sqrt(5)), so the change between two runs' medians
// varies by about 0.79c; a change beyond 2c is some 2.5 standard
// deviations out, which noise alone gives in about one cell in a hundred.
const NoiseFloorFactor = 2

// Spread is how the repeats of a cell scatter. It is written per cell so
// that a reader can see which figures are steady and recompute the run's
// noise floor.
type Spread struct {
	// N counts the finite values the spread was taken over.
	N int `json:"n"`
	// Min, Max and Mean are 0 when N is 0.
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	// CV is the coefficient of variation, the sample standard deviation
	// (n-1 denominator) over the mean; 0 when N < 2 or the mean is not
	// positive.
	CV float64 `json:"cv"`
}

// SpreadOf returns the spread of xs (a cell's req/s per repeat), leaving
// out values that are NaN or infinite.
func SpreadOf(xs []float64) Spread {
	var s Spread
	var sum float64
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		if s.N == 0 || x < s.Min {
			s.Min = x
		}
		if s.N == 0 || x > s.Max {
			s.Max = x
		}
		s.N++
		sum += x
	}
	if s.N == 0 {
		return s
	}
	s.Mean = sum / float64(s.N)
	if s.N < 2 || s.Mean <= 0 {
		return s
	}
	var ss float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			ss += (x - s.Mean) * (x - s.Mean)
		}
	}
	s.CV = math.Sqrt(ss/float64(s.N-1)) / s.Mean
	return s
}

// Range returns Max/Min - 1, how far the highest repeat lies above the
// lowest (for the reference cell measured at a run's start, middle and
// end: how far the machine drifted); 0 when Min is not positive.
func (s Spread) Range() float64 {
	if s.Min <= 0 {
		return 0
	}
	return s.Max/s.Min - 1
}

// Noise is a run's account of its own measurement noise.
type Noise struct {
	// Cells counts the cells with at least MinNoiseRepeats repeats and a
	// positive mean, whose CVs were taken.
	Cells int `json:"cells"`
	// MedianCV is the median of their CVs: the run's typical
	// repeat-to-repeat noise.
	MedianCV float64 `json:"median_cv"`
	// Floor is NoiseFloorFactor * MedianCV: no change smaller than it is
	// called a regression or an improvement. 0 when Cells is 0 (unknown).
	Floor float64 `json:"floor"`
}

// RunNoise returns a run's noise from its cells' spreads.
//
// It takes the median of the cells' CVs, not a high percentile. A machine
// that is noisy is noisy for every cell, and moves the median; a few cells
// that are noisy by nature (a latency-bound row, a server that stalls)
// move a high percentile, which would then hide real regressions in every
// quiet cell. Those noisy cells are judged on their own repeats by the
// per-cell test; the floor is about the machine.
func RunNoise(cells []Spread) Noise {
	var cvs []float64
	for _, s := range cells {
		if s.N >= MinNoiseRepeats && s.Mean > 0 {
			cvs = append(cvs, s.CV)
		}
	}
	if len(cvs) == 0 {
		return Noise{}
	}
	m := Median(cvs)
	return Noise{Cells: len(cvs), MedianCV: m, Floor: NoiseFloorFactor * m}
}
