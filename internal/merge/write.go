package merge

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
)

// writeMerged writes the merged run through a results.Staged run: the
// name is reserved at once, the files are written out of sight, and the
// run is published whole at the end. On error nothing is left.
func writeMerged(ctx context.Context, resultsDir, id string, shards []*shardRun, p *mergePlan, man *results.Manifest, res *Result) (*results.Run, error) {
	st, err := results.CreateStaged(resultsDir, id)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	defer st.Discard()
	for _, cid := range p.ids {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		scenario, server, _ := matrix.SplitID(cid)
		s := p.owner[cid]
		if s == nil {
			res.Missing = append(res.Missing, cid)
			man.Cells = append(man.Cells, results.RefFor(server, scenario))
			continue
		}
		ref, err := copyCell(st.Run, s, server, scenario, res)
		if err != nil {
			return nil, err
		}
		man.Cells = append(man.Cells, ref)
	}
	if !res.Complete() {
		man.State = results.StateInterrupted
	}
	if err := st.Run.WriteManifest(man); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	run, err := st.Publish()
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return run, nil
}

// copyCell copies one cell's result and logs from shard s into out, the
// result under out's run ID, and returns its manifest entry. A cell the
// shard has no result for is recorded in res and listed without a status
// (its logs, if any, are still copied).
func copyCell(out *results.Run, s *shardRun, server, scenario string, res *Result) (results.CellRef, error) {
	c, err := s.run.ReadCell(server, scenario)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		res.NoResult = append(res.NoResult, fmt.Sprintf("%s (%s)", matrix.CellID(scenario, server), s.name()))
		return results.RefFor(server, scenario), copyLogs(out, s, nil, server, scenario, res)
	case err != nil:
		return results.CellRef{}, fmt.Errorf("merge: %w", err)
	}
	// Earlier attempts made in the shard carry its run ID; in a run made
	// on one machine they carry the run's.
	for i := range c.Attempts {
		if c.Attempts[i].RunID == s.man.RunID {
			c.Attempts[i].RunID = out.ID
		}
	}
	if err := out.WriteCell(c); err != nil {
		return results.CellRef{}, fmt.Errorf("merge: %w", err)
	}
	return results.RefOf(c), copyLogs(out, s, c, server, scenario, res)
}

// copyLogs copies the logs of a cell from shard s: every file named as
// results.LogFile names them (logs of repeats a crash cut short included)
// and every log the result c names. Logs c names that are missing, or that
// are not in the cell's directory, are recorded in res.
func copyLogs(out *results.Run, s *shardRun, c *results.Cell, server, scenario string, res *Result) error {
	logs, err := s.run.CellLogs(server, scenario)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	for _, l := range logs {
		if err := out.CopyLog(s.run, l); err != nil {
			return fmt.Errorf("merge: %w", err)
		}
	}
	if c == nil {
		return nil
	}
	for _, l := range cellLogs(c) {
		dir, name, _ := strings.Cut(l, "/")
		switch {
		case slices.Contains(logs, l):
		case dir != server || name == "" || strings.Contains(name, "/") || !filepath.IsLocal(name):
			res.MissingLogs = append(res.MissingLogs, fmt.Sprintf("%s (named by %s in %s, outside the cell's directory: not copied)", l, c.ID(), s.dir))
		default:
			err := out.CopyLog(s.run, l)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				res.MissingLogs = append(res.MissingLogs, fmt.Sprintf("%s (named by %s, not in %s)", l, c.ID(), s.dir))
			case err != nil:
				return fmt.Errorf("merge: %w", err)
			}
		}
	}
	return nil
}

// cellLogs returns every log file a result names, its earlier attempts'
// included, once each.
func cellLogs(c *results.Cell) []string {
	var out []string
	add := func(l string) {
		if l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	for _, x := range append([]results.Cell{*c}, c.Attempts...) {
		for _, l := range x.Logs {
			add(l)
		}
		for _, r := range x.Repeats {
			add(r.Log)
		}
	}
	return out
}
