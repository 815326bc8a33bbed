package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/matrixbench/matrix/internal/report"
	"github.com/matrixbench/matrix/internal/results"
)

const reportUsage = `Usage: matrix report RUN [--base RUN] [--results DIR]

Writes RUN/report.html, one self-contained page that opens offline: the
matrix as a heatmap (req/s and p99 per cell, coloured by rank within the
scenario; dnf and suspect cells marked, with the reason and the end of the
server's log on hover and click), latency percentile curves per scenario
from the merged histograms, every cell's figures and the run's provenance.
Also writes RUN/summary.md for CI logs. With --base, both also show the
diff against that run (see 'matrix diff -h').

RUN and --base are each a run directory, a run id under --results, or a git
revision (the newest run made at that commit). An A/B run (matrix ab) is
drawn as an A/B: HEAD's side, with the paired verdict against BASE's.

Flags:
  --base RUN       compare with this run
  --results DIR    where runs are (default results)
`

func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("report")
	base := fs.String("base", "", "")
	resultsDir := fs.String("results", "results", "")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, reportUsage)
		return 0
	}
	if err == nil && len(pos) != 1 {
		err = fmt.Errorf("want one RUN, got %d argument(s)", len(pos))
	}
	if err != nil {
		fmt.Fprintf(stderr, "matrix report: %v\n\n%s", err, reportUsage)
		return 2
	}
	resolve := func(arg string) (string, bool) {
		r, err := results.Resolve(ctx, arg, *resultsDir, "")
		if err != nil {
			fmt.Fprintf(stderr, "matrix report: %v\n", err)
			return "", false
		}
		if r.Picked != "" {
			fmt.Fprintf(stderr, "matrix report: %s\n", r.Picked)
		}
		return r.Dir, true
	}
	if dir, ok := abDir(pos[0], *resultsDir); ok {
		if err := report.WriteAB(ctx, dir, 0); err != nil {
			fmt.Fprintf(stderr, "matrix report: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n%s\n", filepath.Join(dir, report.HTMLFile), filepath.Join(dir, report.SummaryFile))
		return 0
	}
	runDir, ok := resolve(pos[0])
	if !ok {
		return 2
	}
	var baseDir string
	if *base != "" {
		if baseDir, ok = resolve(*base); !ok {
			return 2
		}
	}
	if err := report.WriteRun(ctx, runDir, baseDir); err != nil {
		fmt.Fprintf(stderr, "matrix report: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n%s\n", filepath.Join(runDir, report.HTMLFile), filepath.Join(runDir, report.SummaryFile))
	return 0
}

// abDir returns the A/B run that arg names, as a directory or as a run id
// under resultsDir.
func abDir(arg, resultsDir string) (string, bool) {
	for _, dir := range []string{arg, filepath.Join(resultsDir, arg)} {
		if results.IsAB(dir) {
			return dir, true
		}
	}
	return "", false
}
