package compare

import "github.com/matrixbench/matrix/internal/results"

// rpsSample returns the req/s of a cell: the summary's median and each
// summarised repeat's figure.
func rpsSample(c *results.Cell) (Sample, bool) {
	if c == nil || c.Summary == nil || c.Summary.Repeats == 0 {
		return Sample{}, false
	}
	return Sample{Center: c.Summary.MedianRPS, Values: c.Summary.RPS}, true
}

// p99Sample returns the p99 latency of a cell in nanoseconds: the p99 of
// the merged histogram, and each summarised repeat's own p99 for the test.
func p99Sample(c *results.Cell) (Sample, bool) {
	if c == nil || c.Summary == nil || c.Summary.Repeats == 0 || c.Summary.LatencyNs.P99 <= 0 {
		return Sample{}, false
	}
	s := Sample{Center: float64(c.Summary.LatencyNs.P99)}
	for _, r := range c.Repeats {
		if r.Summarised() && r.Result.LatencyNs.P99 > 0 {
			s.Values = append(s.Values, float64(r.Result.LatencyNs.P99))
		}
	}
	return s, true
}
