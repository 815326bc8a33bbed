package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/matrixbench/matrix/internal/report"
)

const historyUsage = `Usage: matrix history [--last N] [--results DIR]

For every cell across the last N runs under --results (oldest on the left):
its status sequence and req/s trend. Cells broken in the latest runs
("BROKEN for K runs") and cells that switch between finishing and not
("FLAKY") are listed first. Shards merged into a run count as that run.

Flags:
  --last N         how many runs (default 10; 0 for all)
  --results DIR    where runs are (default results)
`

func cmdHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("history")
	last := fs.Int("last", 10, "")
	resultsDir := fs.String("results", "results", "")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, historyUsage)
		return 0
	}
	switch {
	case err != nil:
	case len(pos) != 0:
		err = fmt.Errorf("unexpected argument %q", pos[0])
	case *last < 0:
		err = fmt.Errorf("--last %d: want 0 or more", *last)
	}
	if err != nil {
		fmt.Fprintf(stderr, "matrix history: %v\n\n%s", err, historyUsage)
		return 2
	}
	h, err := report.LoadHistory(*resultsDir, *last)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = h.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "matrix history: %v\n", err)
		return 2
	}
	return 0
}
