package results

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/matrixbench/matrix/internal/matrix"
	"golang.org/x/sys/unix"
)

// writeMerged writes the merged run: the name is reserved at once (an
// empty run directory, which List ignores until it has a manifest), the
// files are written into a temporary directory beside it, and that is
// renamed over the empty one at the end. On error nothing is left.
func writeMerged(ctx context.Context, resultsDir, id string, shards []*shardRun, p *mergePlan, man *Manifest, res *MergeResult) (*Run, error) {
	final, err := Create(resultsDir, id)
	if err != nil {
		return nil, fmt.Errorf("results: merge: %w", err)
	}
	tmp, err := os.MkdirTemp(resultsDir, "."+id+".merge-*")
	if err != nil {
		os.Remove(final.Dir)
		return nil, fmt.Errorf("results: merge: %w", err)
	}
	done := false
	defer func() {
		if !done {
			removeAll(tmp)
			os.Remove(final.Dir)
		}
	}()
	out := &Run{Dir: tmp, ID: id}
	for _, cid := range p.ids {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("results: merge: %w", err)
		}
		scenario, server, _ := matrix.SplitID(cid)
		s := p.owner[cid]
		if s == nil {
			res.Missing = append(res.Missing, cid)
			man.Cells = append(man.Cells, RefFor(server, scenario))
			continue
		}
		ref, err := copyCell(out, s, server, scenario, res)
		if err != nil {
			return nil, err
		}
		man.Cells = append(man.Cells, ref)
	}
	if !res.Complete() {
		man.State = StateInterrupted
	}
	if err := syncTree(tmp); err != nil {
		return nil, err
	}
	if err := out.WriteManifest(man); err != nil {
		return nil, err
	}
	// rename(2) replaces an empty directory atomically (os.Rename
	// refuses any directory as the target, so it cannot do this).
	if err := unix.Rename(tmp, final.Dir); err != nil {
		return nil, fmt.Errorf("results: merge: renaming %s to %s: %w", tmp, final.Dir, err)
	}
	if err := syncDir(resultsDir); err != nil {
		return nil, err
	}
	done = true
	return final, nil
}

// copyCell copies one cell's result and logs from shard s into out, the
// result under out's run ID, and returns its manifest entry. A cell the
// shard has no result for is recorded in res and listed without a status
// (its logs, if any, are still copied).
func copyCell(out *Run, s *shardRun, server, scenario string, res *MergeResult) (CellRef, error) {
	c, err := s.run.ReadCell(server, scenario)
	switch {
	case errNotExist(err):
		res.NoResult = append(res.NoResult, fmt.Sprintf("%s (%s)", matrix.CellID(scenario, server), s.name()))
		return RefFor(server, scenario), copyLogs(out, s, nil, server, scenario, res)
	case err != nil:
		return CellRef{}, fmt.Errorf("results: merge: %w", err)
	}
	// Earlier attempts made in the shard carry its run ID; in a run made
	// on one machine they carry the run's.
	for i := range c.Attempts {
		if c.Attempts[i].RunID == s.man.RunID {
			c.Attempts[i].RunID = out.ID
		}
	}
	if err := out.WriteCell(c); err != nil {
		return CellRef{}, err
	}
	return RefOf(c), copyLogs(out, s, c, server, scenario, res)
}

// copyLogs copies the logs of a cell from shard s: every file named as
// LogFile names them (logs of repeats a crash cut short included) and
// every log the result c names. Logs c names that are missing, or that
// are not in the cell's directory, are recorded in res.
func copyLogs(out *Run, s *shardRun, c *Cell, server, scenario string, res *MergeResult) error {
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(scenario) + `\.a[0-9]+\.r[0-9]+\.log$`)
	var names []string
	entries, err := os.ReadDir(filepath.Join(s.run.Dir, server))
	if err != nil && !errNotExist(err) {
		return fmt.Errorf("results: merge: %w", err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() && re.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	if c != nil {
		for _, l := range cellLogs(c) {
			dir, name, _ := strings.Cut(l, "/")
			switch {
			case slices.Contains(names, name) && dir == server:
			case dir != server || name == "" || strings.Contains(name, "/") || !filepath.IsLocal(name):
				res.MissingLogs = append(res.MissingLogs, fmt.Sprintf("%s (named by %s in %s, outside the cell's directory: not copied)", l, c.ID(), s.dir))
			default:
				if _, err := os.Lstat(filepath.Join(s.run.Dir, server, name)); err != nil {
					res.MissingLogs = append(res.MissingLogs, fmt.Sprintf("%s (named by %s, not in %s)", l, c.ID(), s.dir))
					continue
				}
				names = append(names, name)
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	if err := out.mkServerDir(server); err != nil {
		return err
	}
	for _, name := range names {
		if err := copyFile(filepath.Join(s.run.Dir, server, name), filepath.Join(out.Dir, server, name)); err != nil {
			return err
		}
	}
	return nil
}

// cellLogs returns every log file a result names, its earlier attempts'
// included, once each.
func cellLogs(c *Cell) []string {
	var out []string
	add := func(l string) {
		if l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	for _, x := range append([]Cell{*c}, c.Attempts...) {
		for _, l := range x.Logs {
			add(l)
		}
		for _, r := range x.Repeats {
			add(r.Log)
		}
	}
	return out
}

// copyFile copies the regular file src to the new file dst and syncs it.
func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("results: merge: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("results: merge: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("results: merge: closing %s: %w", dst, cerr)
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("results: merge: copying %s: %w", src, err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("results: merge: syncing %s: %w", dst, err)
	}
	return nil
}

// syncTree syncs dir and the directories in it, so that the entries made
// in them survive a crash once the tree is renamed into place.
func syncTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("results: merge: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := syncDir(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return syncDir(dir)
}
