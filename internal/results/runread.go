package results

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/matrixbench/matrix/internal/matrix"
)

// RunData is a run directory read whole: its manifest and every cell
// result it holds. A merged run reads exactly like one made on a single
// machine.
type RunData struct {
	// Dir is the run directory.
	Dir      string
	Manifest *Manifest
	// IDs lists the cells of the run in the manifest's (matrix) order.
	IDs []string
	// Cells maps a cell ID to its result; a cell listed in the manifest
	// without a result file is absent.
	Cells map[string]*Cell
}

// ReadRun reads the manifest of the run in dir and the result of every
// cell it lists. The cell files are the truth (the manifest's statuses
// may lag behind them after a crash); a cell file that exists but cannot
// be read is an error naming it.
func ReadRun(dir string) (*RunData, error) {
	r := &Run{Dir: dir}
	m, err := r.ReadManifest()
	if err != nil {
		return nil, err
	}
	r.ID = m.RunID
	d := &RunData{Dir: dir, Manifest: m, IDs: m.CellIDs(), Cells: make(map[string]*Cell, len(m.Cells))}
	var errs []error
	for _, ref := range m.Cells {
		c, err := r.ReadCell(ref.Server, ref.Scenario)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, err)
		default:
			d.Cells[ref.ID] = c
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("reading run %s: %w", dir, errors.Join(errs...))
	}
	return d, nil
}

// Run returns the directory of the run, to read its logs or add files.
func (d *RunData) Run() *Run { return &Run{Dir: d.Dir, ID: d.Manifest.RunID} }

// Status returns the status of a cell: "" when the run has no result for
// it.
func (d *RunData) Status(id string) Status {
	if c := d.Cells[id]; c != nil {
		return c.Status
	}
	return ""
}

// Servers returns the servers of the run in order of first appearance.
func (d *RunData) Servers() []string {
	return distinct(d.IDs, func(id string) string { _, s, _ := matrix.SplitID(id); return s })
}

// Scenarios returns the scenarios of the run in order of first
// appearance.
func (d *RunData) Scenarios() []string {
	return distinct(d.IDs, func(id string) string { s, _, _ := matrix.SplitID(id); return s })
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
