package report

import (
	"fmt"
	"math"
	"slices"

	"github.com/matrixbench/matrix/internal/results"
)

// History is every cell's record over the last runs.
type History struct {
	// Runs are the runs read, oldest first.
	Runs []HistoryRun
	// Cells are ordered broken first (longest streak first), then flaky,
	// then in the order the runs list them.
	Cells []CellHistory
	// Unreadable lists runs that were left out, with the reason.
	Unreadable []string
}

// HistoryRun is one run of a history.
type HistoryRun struct {
	ID, Dir, Commit string
	Dirty           bool
}

// CellHistory is one cell across the runs of a history.
type CellHistory struct {
	ID string
	// Statuses has one entry per run; "" where the run has no result for
	// the cell (filtered out, or not run yet).
	Statuses []results.Status
	// Reasons goes with Statuses.
	Reasons []results.Reason
	// RPS has the median req/s per run; NaN where there are no figures.
	RPS []float64
	// BrokenFor counts the latest runs in a row in which the cell did not
	// finish; runs without a result or interrupted are passed over.
	BrokenFor int
	// Changes counts the switches between finishing (ok or suspect) and
	// not (dnf); Flaky is set from two on (it broke and recovered, or
	// recovered and broke again).
	Changes int
	Flaky   bool
	// Steps are where the req/s series moved to a new level and stayed
	// there (FindSteps): a change that held for at least 3 runs and
	// exceeds the series' own noise, not a single bad night.
	Steps []Step
}

// LoadHistory reads the last n runs under resultsDir (all when n <= 0).
// A shard that was merged into another run is left out (the merged run
// holds its cells), so merged and single-machine runs read the same.
func LoadHistory(resultsDir string, n int) (*History, error) {
	refs, err := results.List(resultsDir)
	if err != nil {
		return nil, err
	}
	h := &History{}
	merged := results.MergedShards(refs)
	var runs []*results.RunData
	for _, r := range refs {
		if r.Err != nil {
			h.Unreadable = append(h.Unreadable, fmt.Sprintf("%s: %v", r.Dir, r.Err))
			continue
		}
		if merged[r.ID] {
			continue
		}
		runs = append(runs, nil)
		h.Runs = append(h.Runs, HistoryRun{ID: r.ID, Dir: r.Dir, Commit: r.Manifest.Git.Commit, Dirty: r.Manifest.Git.Dirty})
	}
	if n > 0 && len(h.Runs) > n {
		h.Runs = h.Runs[len(h.Runs)-n:]
		runs = runs[len(runs)-n:]
	}
	for i := range h.Runs {
		run, err := results.ReadRun(h.Runs[i].Dir)
		if err != nil {
			return nil, err
		}
		runs[i] = run
	}
	h.Cells = cellHistories(runs)
	for i := range h.Cells {
		h.Cells[i].Steps = CellSteps(h, &h.Cells[i], StepOptions{})
	}
	return h, nil
}

// cellHistories builds and orders the cells' histories.
func cellHistories(runs []*results.RunData) []CellHistory {
	var ids []string
	seen := map[string]bool{}
	for _, r := range runs {
		for _, id := range r.IDs {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	out := make([]CellHistory, 0, len(ids))
	for _, id := range ids {
		ch := CellHistory{ID: id}
		for _, r := range runs {
			c := r.Cells[id]
			st, reason, rps := results.Status(""), results.Reason(""), math.NaN()
			if c != nil {
				st, reason = c.Status, c.Reason
				if c.Summary != nil {
					rps = c.Summary.MedianRPS
				}
			}
			ch.Statuses = append(ch.Statuses, st)
			ch.Reasons = append(ch.Reasons, reason)
			ch.RPS = append(ch.RPS, rps)
		}
		ch.BrokenFor, ch.Changes = streak(ch.Statuses)
		ch.Flaky = ch.Changes >= 2
		out = append(out, ch)
	}
	slices.SortStableFunc(out, func(a, b CellHistory) int {
		if a.BrokenFor != b.BrokenFor {
			return b.BrokenFor - a.BrokenFor
		}
		if a.Flaky != b.Flaky {
			if a.Flaky {
				return -1
			}
			return 1
		}
		return 0
	})
	return out
}

// streak returns how many of the latest runs in a row a cell did not
// finish in, and how often it switched between finishing and not. Runs
// without a verdict on the server (no result, interrupted, skipped) are
// passed over.
func streak(sts []results.Status) (broken, changes int) {
	var seq []bool // true: did not finish
	for _, s := range sts {
		switch s {
		case results.StatusDNF:
			seq = append(seq, true)
		case results.StatusOK, results.StatusSuspect:
			seq = append(seq, false)
		}
	}
	for i := 1; i < len(seq); i++ {
		if seq[i] != seq[i-1] {
			changes++
		}
	}
	for i := len(seq) - 1; i >= 0 && seq[i]; i-- {
		broken++
	}
	return broken, changes
}
