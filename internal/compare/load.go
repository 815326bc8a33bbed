package compare

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
)

// Run is a run directory read whole: its manifest and every cell result it
// holds. A merged run reads exactly like one made on a single machine.
type Run struct {
	Dir      string
	Manifest *results.Manifest
	// IDs lists the cells of the run in the manifest's (matrix) order.
	IDs []string
	// Cells maps a cell ID to its result; a cell listed in the manifest
	// without a result file is absent.
	Cells map[string]*results.Cell
}

// Load reads the run in dir through package results. The cell files are
// the truth (the manifest's statuses may lag behind them after a crash);
// a cell file that exists but cannot be read is an error naming it.
func Load(dir string) (*Run, error) {
	r, err := results.Open(dir)
	if err != nil {
		return nil, err
	}
	m, err := r.ReadManifest()
	if err != nil {
		return nil, err
	}
	run := &Run{Dir: dir, Manifest: m, IDs: m.CellIDs(), Cells: make(map[string]*results.Cell, len(m.Cells))}
	var errs []error
	for _, ref := range m.Cells {
		c, err := r.ReadCell(ref.Server, ref.Scenario)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, err)
		default:
			run.Cells[ref.ID] = c
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("reading run %s: %w", dir, errors.Join(errs...))
	}
	return run, nil
}

// Status returns the status of a cell: "" when the run has no result for it.
func (r *Run) Status(id string) results.Status {
	if c := r.Cells[id]; c != nil {
		return c.Status
	}
	return ""
}

// Servers returns the servers of the run in order of first appearance.
func (r *Run) Servers() []string {
	return distinct(r.IDs, func(id string) string { _, s, _ := matrix.SplitID(id); return s })
}

// Scenarios returns the scenarios of the run in order of first appearance.
func (r *Run) Scenarios() []string {
	return distinct(r.IDs, func(id string) string { s, _, _ := matrix.SplitID(id); return s })
}

// distinct maps ids through f and keeps the first of each value.
func distinct(ids []string, f func(string) string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		v := f(id)
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

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
