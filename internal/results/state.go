package results

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/matrixbench/matrix/internal/matrix"
)

// CellState is what a run directory holds for one cell.
type CellState struct {
	ID       string // "scenario/server"
	Server   string
	Scenario string
	// Status is empty when the cell has no result file.
	Status Status
	Reason Reason
}

// NeedsRun reports whether a resumed run must run the cell: it has no
// result, or one that is not final (dnf, interrupted).
func (s CellState) NeedsRun() bool { return !Final(s.Status) }

// States reads the state of each cell in ids ("scenario/server"), in the
// order given. The cell files are the truth, not the manifest's list,
// which a crash may have left behind them. A cell file that exists but
// cannot be read is an error: resuming would overwrite the evidence.
func (r *Run) States(ids []string) ([]CellState, error) {
	out := make([]CellState, 0, len(ids))
	var errs []error
	for _, id := range ids {
		scenario, server, ok := matrix.SplitID(id)
		if !ok {
			errs = append(errs, fmt.Errorf("results: bad cell id %q", id))
			continue
		}
		st := CellState{ID: id, Server: server, Scenario: scenario}
		c, err := r.ReadCell(server, scenario)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, fmt.Errorf("%w (move the file aside to run the cell again)", err))
			continue
		default:
			st.Status, st.Reason = c.Status, c.Reason
		}
		out = append(out, st)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Pending returns, in the order given, the IDs of the cells among ids that
// a resumed run must run: missing, interrupted or dnf.
func (r *Run) Pending(ids []string) ([]string, error) {
	states, err := r.States(ids)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range states {
		if s.NeedsRun() {
			out = append(out, s.ID)
		}
	}
	return out, nil
}

// CellIDs returns the IDs of the cells the manifest lists, in its order:
// the cells of the run, for Pending.
func (m *Manifest) CellIDs() []string {
	out := make([]string, len(m.Cells))
	for i, c := range m.Cells {
		out[i] = c.ID
	}
	return out
}
