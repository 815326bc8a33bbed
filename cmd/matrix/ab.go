package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/matrixbench/matrix/internal/compare"
	"github.com/matrixbench/matrix/internal/report"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/runner"
)

const abUsage = `Usage: matrix ab BASE HEAD [flags]

Measures two git revisions of the repository that holds the matrix file in
one run, to answer "did my commit make it slower?". Each selected server is
built at both revisions from a clean checkout of each (HEAD with uncommitted
changes means the working tree, and the output says so). For every cell the
two servers are measured alternately in ABBA order (A B, B A, A B, ...), never
up at once, with the same profile, cpusets and load generator settings, so
that a drift of the machine cancels. Repeat i of BASE and repeat i of HEAD
form a pair; a cell is judged on its pairs' ratios with the Wilcoxon
signed-rank test, and a change is called only when its whole 95 % confidence
interval lies beyond the threshold.

Without --server, the servers measured are those whose build inputs or
definition differ between the revisions; the unchanged ones are listed.

Flags:
  --matrix F        matrix file (default matrix.yaml)
  --server NAME     measure this server (repeatable)
  --scenario NAME   only this scenario (repeatable)
  --cell GLOB       only cells matching this scenario/server glob (repeatable)
  --profile P       profile (default the file's first); its repeat is replaced by --repeat
  --repeat N        pairs of repeats per cell (default 8; at least 6 let the test fire at alpha 0.05)
  --runtime R       auto, docker or process (default auto)
  --procs N         GOMAXPROCS of the load generator (default 1)
  --out DIR         directory of run directories (default results)
  --format F        text, markdown or json (default text)
  --threshold PCT   smallest change, in percent, that counts (default 2)
  --strict-host     refuse to run when the host gate warns

Results: results/<run-id>/ holds base/ and head/ (each an ordinary run) and
ab.json; docs/results.md describes them. report.html there draws the A/B.

Exit status: 0 nothing regressed; 1 a cell regressed or a new dnf appeared;
2 bad usage (unknown revision, matrix file missing at a revision, a dirty
tree named as BASE, a server absent at a revision or built from outside the
repository); 130 interrupted.
`

// abFlags are the parsed flags of matrix ab.
type abFlags struct {
	req       runner.ABRequest
	format    string
	threshold float64
}

func parseAB(args []string) (*abFlags, error) {
	f := &abFlags{}
	fs := newFlagSet("ab")
	r := &f.req
	fs.StringVar(&r.MatrixPath, "matrix", "matrix.yaml", "")
	fs.Var((*listFlags)(&r.Filter.Servers), "server", "")
	fs.Var((*listFlags)(&r.Filter.Scenarios), "scenario", "")
	fs.Var((*listFlags)(&r.Filter.CellGlobs), "cell", "")
	fs.StringVar(&r.Profile, "profile", "", "")
	fs.IntVar(&r.Pairs, "repeat", runner.DefaultPairs, "")
	fs.StringVar(&r.Runtime, "runtime", "auto", "")
	fs.IntVar(&r.Procs, "procs", runner.DefaultProcs, "")
	fs.StringVar(&r.OutDir, "out", "results", "")
	fs.StringVar(&f.format, "format", "text", "")
	fs.Float64Var(&f.threshold, "threshold", compare.ABThreshold*100, "")
	fs.BoolVar(&r.StrictHost, "strict-host", false, "")
	pos, err := parseInterspersed(fs, args)
	switch {
	case err != nil:
		return nil, err
	case len(pos) != 2:
		return nil, fmt.Errorf("want BASE and HEAD, got %d argument(s)", len(pos))
	case !slices.Contains(compare.Formats, f.format):
		return nil, fmt.Errorf("--format %q: want %s", f.format, strings.Join(compare.Formats, ", "))
	case !(f.threshold > 0 && f.threshold < 1000):
		return nil, fmt.Errorf("--threshold %v: want a percentage above 0", f.threshold)
	case r.Pairs < 1:
		return nil, fmt.Errorf("--repeat %d: want at least 1 pair", r.Pairs)
	case r.Procs < 1:
		return nil, fmt.Errorf("--procs %d: want at least 1", r.Procs)
	}
	r.Base, r.Head = pos[0], pos[1]
	r.Threshold = f.threshold / 100
	return f, nil
}

// cmdAB is `matrix ab BASE HEAD`.
func cmdAB(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseAB(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, abUsage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "matrix ab: %v\n\n%s", err, abUsage)
		return exitUsage
	}
	f.req.Command = append([]string{"matrix"}, os.Args[1:]...)
	// The run's progress goes to stderr when the verdict is asked for as
	// json or markdown, so that stdout is the verdict alone.
	progress := stdout
	if f.format != "text" {
		progress = stderr
	}
	f.req.Out = progress
	if isTerminal(stderr) {
		f.req.Live = stderr
	}
	s, err := runner.PrepareAB(ctx, f.req)
	if err != nil {
		fmt.Fprintf(stderr, "matrix ab: %v\n", err)
		return exitUsage
	}
	defer s.Close()
	describeAB(progress, s.AB)
	if s.Nothing {
		fmt.Fprintln(progress, "nothing to measure: no server's build inputs or definition differ between the revisions; name servers with --server to measure them anyway")
		return exitOK
	}
	fmt.Fprintf(progress, "run %s: %d servers, %d pairs per cell in ABBA order\n", s.Dir, len(s.AB.Servers), s.AB.Pairs)
	out, err := s.Execute(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "matrix ab: %v\n", err)
		return exitFailedCells
	}
	return abVerdict(ctx, s.Dir, f, out, stdout, progress, stderr)
}

// abVerdict judges a finished A/B run, writes its report and maps the
// verdict to the exit code.
func abVerdict(ctx context.Context, dir string, f *abFlags, out runner.Outcome, stdout, progress, stderr io.Writer) int {
	_, base, head, err := results.ReadABRuns(dir)
	if err != nil {
		fmt.Fprintf(stderr, "matrix ab: %v\n", err)
		return exitFailedCells
	}
	res := compare.Diff(base, head, compare.Options{Paired: true, Threshold: f.threshold / 100})
	fmt.Fprintln(progress)
	if err := compare.Render(stdout, res, f.format); err != nil {
		fmt.Fprintf(stderr, "matrix ab: %v\n", err)
		return exitUsage
	}
	if err := report.WriteAB(context.WithoutCancel(ctx), dir, f.threshold/100); err != nil {
		fmt.Fprintf(stderr, "matrix ab: writing the report: %v\n", err)
	} else {
		fmt.Fprintf(progress, "report: %s/%s\n", dir, report.HTMLFile)
	}
	switch {
	case out.Interrupted:
		fmt.Fprintf(progress, "interrupted: the A/B run %s is incomplete; run matrix ab again\n", dir)
		return exitInterrupted
	case res.Regressions > 0:
		return exitFailedCells
	}
	return exitOK
}

// describeAB says what is compared with what, and which servers are left
// out and why.
func describeAB(w io.Writer, ab *results.AB) {
	side := func(name string, s results.ABSide) {
		what := s.Commit
		if len(what) > 12 {
			what = what[:12]
		}
		if s.WorkTree {
			what += " + uncommitted changes (the working tree)"
		}
		fmt.Fprintf(w, "%s: %s  %s\n", name, s.Rev, what)
	}
	side("base", ab.Base)
	side("head", ab.Head)
	for _, name := range ab.Servers {
		if why := ab.Why[name]; why != "" {
			fmt.Fprintf(w, "measuring %s: %s\n", name, why)
		}
	}
	if len(ab.Unchanged) > 0 {
		fmt.Fprintf(w, "unchanged between the revisions, not measured: %s\n", strings.Join(ab.Unchanged, ", "))
	}
	names := make([]string, 0, len(ab.Skipped))
	for n := range ab.Skipped {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "skipped %s: %s\n", n, ab.Skipped[n])
	}
}
