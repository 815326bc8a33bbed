package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/matrixbench/matrix/internal/compare"
	"github.com/matrixbench/matrix/internal/results"
)

const diffUsage = `Usage: matrix diff BASE HEAD [flags]

Compares two runs cell by cell: median req/s and p99 latency, base -> head,
with the change in percent and status transitions (a new dnf is a
regression, listed first; a dnf that became ok is a fix). With at least 3
repeats on each side the change is tested with the Mann-Whitney U test over
the repeats: "~" means not significant at alpha 0.05, [lo, hi] is the 95 %
confidence interval of the change. With fewer repeats (or 3+3, which the
test cannot decide at 0.05) the threshold alone decides. Cells measured
differently (scenario, load generator, runtime, host, cpuset) are flagged
and left out of the geometric means.

No change within the larger of the threshold and either run's noise floor
(the manifest's noise.floor: twice its cells' median CV, or its reference
cell's range over the run) is called. When the two runs' reference cell
moved by more than the threshold, the box itself changed speed: each change
is printed normalized by the reference's, raw beside it, and judged
normalized. Repeats the rest of the host interfered with are left out; a
rated row's req/s is shown, not judged. A capacity row's req/s is its
capacity under the latency objective, judged like req/s; its p99 is shown,
not judged.

BASE and HEAD are each a run directory, a run id under --results, or a git
revision (the newest run under --results made at that commit; the run
picked is named on stderr).

Flags:
  --format F       text, markdown (for a pull-request comment) or json (default text)
  --threshold PCT  smallest change, in percent, that counts as a regression (default 5)
  --results DIR    where runs are (default results)

Exit status: 0 nothing regressed; 1 a cell regressed significantly by more
than the threshold (req/s lower or p99 higher) or a new dnf appeared; 2 bad
usage or unreadable runs.
`

func cmdDiff(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("diff")
	format := fs.String("format", "text", "")
	threshold := fs.Float64("threshold", compare.DefaultThreshold*100, "")
	resultsDir := fs.String("results", "results", "")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, diffUsage)
		return 0
	}
	switch {
	case err != nil:
	case len(pos) != 2:
		err = fmt.Errorf("want BASE and HEAD, got %d argument(s)", len(pos))
	case !slices.Contains(compare.Formats, *format):
		err = fmt.Errorf("--format %q: want %s", *format, strings.Join(compare.Formats, ", "))
	case !(*threshold > 0 && *threshold < 1000):
		err = fmt.Errorf("--threshold %v: want a percentage above 0", *threshold)
	}
	if err != nil {
		fmt.Fprintf(stderr, "matrix diff: %v\n\n%s", err, diffUsage)
		return 2
	}
	var runs [2]*results.RunData
	var picked [2]string
	for i, arg := range pos {
		r, err := results.Resolve(ctx, arg, *resultsDir, "")
		if err != nil {
			fmt.Fprintf(stderr, "matrix diff: %v\n", err)
			return 2
		}
		if r.Picked != "" {
			fmt.Fprintf(stderr, "matrix diff: %s\n", r.Picked)
		}
		picked[i] = r.Picked
		if runs[i], err = results.ReadRun(r.Dir); err != nil {
			fmt.Fprintf(stderr, "matrix diff: %v\n", err)
			return 2
		}
	}
	res := compare.Diff(runs[0], runs[1], compare.Options{Threshold: *threshold / 100})
	res.Base.Picked, res.Head.Picked = picked[0], picked[1]
	if err := compare.Render(stdout, res, *format); err != nil {
		fmt.Fprintf(stderr, "matrix diff: %v\n", err)
		return 2
	}
	if res.Regressions > 0 {
		return 1
	}
	return 0
}

// newFlagSet returns a flag set that reports errors to its caller instead
// of printing them.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments, and returns the positional ones. "--" ends
// the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at "--" after consuming it; everything after is
		// positional.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
