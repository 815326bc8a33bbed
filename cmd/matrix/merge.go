package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/merge"
	"github.com/matrixbench/matrix/internal/report"
	"github.com/matrixbench/matrix/internal/results"
)

const mergeUsage = `Usage: matrix merge [flags] OUT DIR...

Combines the run directories of the shards of one run (each made with
'matrix run --shard K/N', or K/N from MATRIX_SHARD or a Kubernetes
Indexed Job) into one new run directory under OUT, which diff, report,
history and 'run --resume' read like a run made on one machine. Cell
results and server logs are copied; the shards are left as they are.

Each DIR is a shard's run directory, or a directory holding shard run
directories (every run in it is taken). The shards must be of the same
matrix file (sha256), profile, commit, filters, load generator and
runtime, with distinct shard numbers of the same N, and must have run on
machines of one kind (CPU model, cores, architecture, kernel, Docker
engine version); otherwise nothing is written and every mismatch is
named. A cell of the matrix that no shard holds (a shard not given, a
shard stopped early) is listed and left without a result, so
'matrix run --resume RUN' runs it.

The merged run's ID is made like a run's, from the time of the merge and
the shards' commit (or --id). Its manifest lists each shard's run ID
(merged_from) and machine (shards); its host names every machine. As
after 'matrix run', report.html and summary.md are written into it. The
last line of output is the merged run's directory.

Flags:
  --matrix F       the matrix file the shards ran (default: the path the
                   shards recorded); its sha256 must be theirs
  --id ID          the merged run's ID (default: a new one)
  --mixed-hosts    accept shards measured on different kinds of machine;
                   the merged run's host then lists every kind, and diff
                   flags it against any one-machine run

Exit status: 0 merged, every cell has a result; 1 merged, but cells are
missing (listed on stderr); 2 bad usage, or shards refused (nothing
written).
`

// maxListed bounds the cells listed per kind of problem.
const maxListed = 20

func cmdMerge(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("merge")
	matrixPath := fs.String("matrix", "", "")
	id := fs.String("id", "", "")
	mixed := fs.Bool("mixed-hosts", false, "")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, mergeUsage)
		return 0
	}
	if err == nil && len(pos) < 2 {
		err = fmt.Errorf("want OUT and at least one shard DIR, got %d argument(s)", len(pos))
	}
	if err != nil {
		fmt.Fprintf(stderr, "matrix merge: %v\n\n%s", err, mergeUsage)
		return 2
	}
	out, dirs, err := shardDirs(pos)
	if err == nil {
		err = loadMergeMatrix(matrixPath, dirs)
	}
	if err != nil {
		fmt.Fprintf(stderr, "matrix merge: %v\n", err)
		return 2
	}
	m, err := matrix.Load(*matrixPath)
	if err != nil {
		fmt.Fprintf(stderr, "matrix merge: %v\n", err)
		return 2
	}
	res, err := merge.Shards(ctx, out, dirs, merge.Options{
		Matrix: m, ID: *id, Command: append([]string{"matrix", "merge"}, args...), MixedHosts: *mixed,
	})
	if err != nil {
		// The package's errors start with its name: "matrix merge: ...".
		fmt.Fprintf(stderr, "matrix %v\n", err)
		return 2
	}
	printMerge(stdout, stderr, res)
	// As after 'matrix run': the run directory holds its report.
	if err := report.WriteRun(context.WithoutCancel(ctx), res.Run.Dir, ""); err != nil {
		fmt.Fprintf(stderr, "matrix merge: writing the report: %v\n", err)
	} else {
		fmt.Fprintf(stdout, "report: %s/report.html\n", res.Run.Dir)
	}
	fmt.Fprintln(stdout, res.Run.Dir)
	if !res.Complete() {
		return 1
	}
	return 0
}

// shardDirs splits the arguments into OUT and the shard run directories,
// expanding a directory of runs into the runs in it.
func shardDirs(pos []string) (out string, dirs []string, err error) {
	out = pos[0]
	for _, arg := range pos[1:] {
		if results.IsRun(arg) {
			dirs = append(dirs, arg)
			continue
		}
		runs, err := results.List(arg)
		if err != nil {
			return "", nil, err
		}
		if len(runs) == 0 {
			return "", nil, fmt.Errorf("%s is neither a run directory nor a directory of runs (no %s)", arg, results.ManifestFile)
		}
		for _, r := range runs {
			if r.Err != nil {
				return "", nil, r.Err
			}
			dirs = append(dirs, r.Dir)
		}
	}
	return out, dirs, nil
}

// loadMergeMatrix fills in the matrix path from the first shard when the
// user gave none.
func loadMergeMatrix(path *string, dirs []string) error {
	if *path != "" {
		return nil
	}
	run, err := results.Open(dirs[0])
	if err != nil {
		return err
	}
	m, err := run.ReadManifest()
	if err != nil {
		return err
	}
	if _, err := os.Stat(m.Matrix.Path); err != nil {
		return fmt.Errorf("the shards ran the matrix %s, which is not here (%v); give it with --matrix (git show %s:%s > ran.yaml)",
			m.Matrix.Path, err, orCommit(m.Git.Commit), m.Matrix.Path)
	}
	*path = m.Matrix.Path
	return nil
}

// orCommit names a commit, or a placeholder outside git.
func orCommit(c string) string {
	if c == "" {
		return "COMMIT"
	}
	return c
}

// printMerge says what was merged (stdout) and what is missing (stderr).
func printMerge(stdout, stderr io.Writer, res *merge.Result) {
	man := res.Manifest
	counts := map[results.Status]int{}
	for _, c := range man.Cells {
		counts[c.Status]++
	}
	var parts []string
	for _, s := range results.Statuses {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if n := counts[""]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d without a result", n))
	}
	commit := man.Git.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	fmt.Fprintf(stdout, "merged %d shard(s) of %s, profile %s, commit %s: %d cells (%s)\n",
		len(man.Shards), man.Matrix.Path, man.Profile.Name, orNone(commit), len(man.Cells), strings.Join(parts, ", "))
	for _, s := range man.Shards {
		h := s.Host
		fmt.Fprintf(stdout, "  shard %d/%d  %-28s %s  %s, %s x%d, kernel %s  %d cells\n",
			s.Shard.K, s.Shard.N, s.RunID, s.State, h.Hostname, h.CPUModel, h.Cores, h.Kernel, len(s.Cells))
		if e := s.Runtime.EngineHost; e != nil {
			fmt.Fprintf(stdout, "             servers on %s (%s): %s x%d, kernel %s\n", s.Runtime.Endpoint, e.Hostname, e.CPUModel, e.Cores, e.Kernel)
		}
	}
	for _, k := range res.MissingShards {
		fmt.Fprintf(stderr, "missing: shard %d/%d was not given\n", k, man.Shards[0].Shard.N)
	}
	listProblems(stderr, "missing: %d cell(s) of the matrix no shard holds", res.Missing)
	listProblems(stderr, "no result: %d cell(s) a shard holds but did not finish", res.NoResult)
	listProblems(stderr, "warning: %d log file(s) named by results were not copied", res.MissingLogs)
	if !res.Complete() {
		fmt.Fprintf(stderr, "the merged run is incomplete: 'matrix run --resume %s' runs the cells without a result\n", res.Run.Dir)
	}
}

// listProblems prints a heading with len(items) and up to maxListed items.
func listProblems(w io.Writer, heading string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(w, heading+":\n", len(items))
	for i, it := range items {
		if i == maxListed {
			fmt.Fprintf(w, "  ... and %d more\n", len(items)-maxListed)
			break
		}
		fmt.Fprintf(w, "  %s\n", it)
	}
}

// orNone shows an empty value as "none".
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
