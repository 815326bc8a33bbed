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
	"github.com/matrixbench/matrix/internal/report"
	"github.com/matrixbench/matrix/internal/runner"
)

// Exit codes of run and rerun.
const (
	exitOK          = 0
	exitFailedCells = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// listFlags collects a repeatable string flag.
type listFlags []string

func (l *listFlags) String() string     { return strings.Join(*l, ",") }
func (l *listFlags) Set(v string) error { *l = append(*l, v); return nil }

// runFlags are the flags shared by run, rerun and list.
type runFlags struct {
	req    runner.Request
	failOn string
	fs     *flag.FlagSet
}

func newRunFlags(name string, stderr io.Writer) *runFlags {
	f := &runFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	fs := f.fs
	fs.SetOutput(stderr)
	r := &f.req
	fs.StringVar(&r.MatrixPath, "matrix", "", "matrix file (default matrix.yaml, or the run's for --resume and rerun)")
	fs.StringVar(&r.Profile, "profile", "", "profile name (default the file's first, or the run's for --resume and rerun)")
	fs.StringVar(&r.Runtime, "runtime", "", "auto, docker or process (default auto, or the run's for --resume and rerun)")
	fs.Var((*listFlags)(&r.Filter.Servers), "server", "only this server (repeatable)")
	fs.Var((*listFlags)(&r.Filter.Scenarios), "scenario", "only this scenario (repeatable)")
	fs.Var((*listFlags)(&r.Filter.CellGlobs), "cell", "only cells matching this scenario/server glob (repeatable)")
	fs.StringVar(&r.TargetHost, "target-host", "", "address the load generator connects to (servers on another machine; default the run's for --resume and rerun)")
	fs.DurationVar(&r.Budget, "budget", 0, "refuse a run estimated to take longer than this")
	fs.IntVar(&r.Procs, "procs", 0, "GOMAXPROCS of the load generator (default 1, which leaves the other core to the server, or the run's for --resume and rerun)")
	return f
}

// addFailOn adds --fail-on, the flag of the commands that run cells.
func (f *runFlags) addFailOn() {
	f.fs.StringVar(&f.failOn, "fail-on", failOnSuspect, "cells that make the exit code 1: suspect (dnf, suspect or interrupted cells) or dnf (only cells without a result: dnf or interrupted)")
}

// cmdRun is `matrix run`.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newRunFlags("run", stderr)
	f.addFailOn()
	f.fs.StringVar(&f.req.OutDir, "out", "results", "directory of run directories")
	f.fs.StringVar(&f.req.Resume, "resume", "", "run directory whose unfinished cells (missing, dnf, interrupted) to run")
	f.fs.StringVar(&f.req.Shard, "shard", "", "run shard K/N of the cells (also from MATRIX_SHARD or JOB_COMPLETION_INDEX+MATRIX_SHARD_COUNT)")
	f.fs.BoolVar(&f.req.StrictHost, "strict-host", false, "refuse to run when the host gate warns (another busy process, a powersave governor, little free disk, leftovers of earlier runs)")
	f.fs.StringVar(&f.req.Heartbeat, "heartbeat", "", "file rewritten at every repeat's start and end, for a watchdog (JSON: state, last and current cell, time)")
	f.fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: matrix run [flags]\n\nRuns every selected cell and writes results/<run-id>/. Exit 0 all ok, 1 dnf or suspect cells (only dnf with --fail-on dnf), 2 bad usage or matrix, 130 interrupted.")
		f.fs.PrintDefaults()
	}
	if err := f.fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if f.fs.NArg() > 0 {
		fmt.Fprintf(stderr, "matrix run: unexpected argument %q\n", f.fs.Arg(0))
		return exitUsage
	}
	if f.req.Shard == "" && f.req.Resume == "" {
		if k, n, ok, err := matrix.ShardFromEnv(os.Getenv); err != nil {
			fmt.Fprintf(stderr, "matrix run: %v\n", err)
			return exitUsage
		} else if ok {
			f.req.Shard = fmt.Sprintf("%d/%d", k, n)
		}
	}
	if f.req.MatrixPath == "" && f.req.Resume == "" {
		f.req.MatrixPath = "matrix.yaml"
	}
	return execute(ctx, f, "run", stdout, stderr)
}

// cmdRerun is `matrix rerun RUN-DIR`.
func cmdRerun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newRunFlags("rerun", stderr)
	f.addFailOn()
	f.fs.BoolVar(&f.req.Failed, "failed", false, "every cell that is not ok")
	f.fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: matrix rerun RUN-DIR [--server NAME] [--scenario NAME] [--cell GLOB] [--failed]\n\nRuns the selected cells of an existing run again, into the same run; the replaced results are kept under attempts. The rerun measures as the run did: runtime, profile, target host and --procs come from its manifest, and a flag naming another value is refused, as is a run measured by another load generator version.")
		f.fs.PrintDefaults()
	}
	dir, rest := splitFirstArg(args)
	if err := f.fs.Parse(rest); err != nil {
		return flagExit(err)
	}
	if dir == "" && f.fs.NArg() == 1 {
		dir = f.fs.Arg(0)
	}
	if dir == "" {
		fmt.Fprintln(stderr, "matrix rerun: missing the run directory")
		return exitUsage
	}
	if f.req.Filter.Empty() && !f.req.Failed {
		fmt.Fprintln(stderr, "matrix rerun: select cells with --server, --scenario, --cell or --failed")
		return exitUsage
	}
	f.req.Rerun = dir
	return execute(ctx, f, "rerun", stdout, stderr)
}

// execute prepares and runs a session and maps its outcome to an exit code.
func execute(ctx context.Context, f *runFlags, name string, stdout, stderr io.Writer) int {
	if err := checkFailOn(f.failOn); err != nil {
		fmt.Fprintf(stderr, "matrix %s: %v\n", name, err)
		return exitUsage
	}
	f.req.Out = stdout
	f.req.Command = append([]string{"matrix"}, os.Args[1:]...)
	if isTerminal(stderr) {
		f.req.Live = stderr
	}
	s, err := runner.Prepare(ctx, f.req)
	if err != nil {
		fmt.Fprintf(stderr, "matrix %s: %v\n", name, err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "run %s: %d cells, profile %s\n", s.Run.Dir, len(s.Cells), s.Profile.Name)
	out, err := s.Execute(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "matrix %s: %v\n", name, err)
		return exitFailedCells
	}
	if err := report.WriteRun(context.WithoutCancel(ctx), s.Run.Dir, ""); err != nil {
		fmt.Fprintf(stderr, "matrix %s: writing the report: %v\n", name, err)
	} else {
		fmt.Fprintf(stdout, "report: %s/report.html\n", s.Run.Dir)
	}
	printSummary(stdout, s.Run, s.Manifest)
	switch {
	case out.Interrupted:
		fmt.Fprintf(stdout, "interrupted: resume with  matrix run --resume %s\n", s.Run.Dir)
		return exitInterrupted
	case cellsFailed(out.Counts, f.failOn):
		return exitFailedCells
	}
	return exitOK
}

// cmdList is `matrix list`.
func cmdList(_ context.Context, args []string, stdout, stderr io.Writer) int {
	f := newRunFlags("list", stderr)
	shard := f.fs.String("shard", "", "list shard K/N")
	if err := f.fs.Parse(args); err != nil {
		return flagExit(err)
	}
	m, p, cells, err := loadCells(f.req, *shard)
	if err != nil {
		fmt.Fprintf(stderr, "matrix list: %v\n", err)
		return exitUsage
	}
	for _, c := range cells {
		sc := p.Apply(c.Scenario)
		fmt.Fprintf(stdout, "%-36s %-4s %s %s conns=%d", c.ID(), sc.Protocol, sc.Method, sc.Path, sc.Connections)
		if sc.Streams > 0 {
			fmt.Fprintf(stdout, " streams=%d", sc.Streams)
		}
		if c := sc.Capacity; c != nil {
			w, d := c.StepTimes(p)
			fmt.Fprintf(stdout, " capacity %s, up to %d steps of %v+%v", objectiveText(c), c.MaxSteps, w, d)
		}
		fmt.Fprintln(stdout)
	}
	est := matrix.Estimate(cells, p, matrix.DefaultOverhead)
	fmt.Fprintf(stdout, "\n%s: %d servers, %d scenarios\nprofile %s: %s\n", m.Path, countServers(cells), countScenarios(cells), p.Name, est)
	return exitOK
}

// loadCells loads the matrix and selects cells as run would.
func loadCells(req runner.Request, shard string) (*matrix.Matrix, matrix.Profile, []matrix.Cell, error) {
	if req.MatrixPath == "" {
		req.MatrixPath = "matrix.yaml"
	}
	m, err := matrix.Load(req.MatrixPath)
	if err != nil {
		return nil, matrix.Profile{}, nil, err
	}
	p, err := m.Profile(req.Profile)
	if err != nil {
		return nil, p, nil, err
	}
	cells, err := m.Cells(req.Filter)
	if err != nil || shard == "" {
		return m, p, cells, err
	}
	k, n, err := matrix.ParseShard(shard)
	if err != nil {
		return m, p, nil, err
	}
	cells, err = matrix.Shard(cells, k, n, p, matrix.DefaultOverhead)
	return m, p, cells, err
}

func countServers(cells []matrix.Cell) int {
	seen := map[string]bool{}
	for _, c := range cells {
		seen[c.Server.Name] = true
	}
	return len(seen)
}

func countScenarios(cells []matrix.Cell) int {
	seen := map[string]bool{}
	for _, c := range cells {
		seen[c.Scenario.Name] = true
	}
	return len(seen)
}

// cmdValidate is `matrix validate [FILE]`.
func cmdValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("matrix", "matrix.yaml", "matrix file")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if fs.NArg() > 0 {
		*path = fs.Arg(0)
	}
	m, err := matrix.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	cells, err := m.Cells(matrix.Filter{})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "%s: valid: %d servers, %d scenarios, %d profiles, %d cells (sha256 %.12s)\n",
		m.Path, len(m.Servers), len(m.Scenarios), len(m.Profiles), len(cells), m.SHA256)
	return exitOK
}

// cmdCheck is `matrix check`.
func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newRunFlags("check", stderr)
	if err := f.fs.Parse(args); err != nil {
		return flagExit(err)
	}
	req := f.req
	req.Out = stdout
	m, p, _, err := loadCells(req, "")
	if err != nil {
		fmt.Fprintf(stderr, "matrix check: %v\n", err)
		return exitUsage
	}
	if req.TargetHost != "" {
		p.TargetHost = req.TargetHost
	}
	s, err := runner.OpenRuntime(ctx, req)
	if err != nil {
		fmt.Fprintf(stderr, "matrix check: %v\n", err)
		return exitUsage
	}
	defer s.Close()
	logDir, err := os.MkdirTemp("", "matrix-check-")
	if err != nil {
		fmt.Fprintf(stderr, "matrix check: %v\n", err)
		return exitUsage
	}
	defer os.RemoveAll(logDir)
	res, err := runner.Check(ctx, m, p, s, req.Filter.Servers, logDir, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "matrix check: %v\n", err)
		if runner.IsUsage(err) {
			return exitUsage
		}
		return exitFailedCells
	}
	failed := 0
	for _, r := range res {
		if len(r.Problems) > 0 {
			failed++
		}
	}
	fmt.Fprintf(stdout, "%d of %d server/protocol pairs conform\n", len(res)-failed, len(res))
	if failed > 0 {
		return exitFailedCells
	}
	return exitOK
}

// splitFirstArg takes a leading positional argument off args.
func splitFirstArg(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// flagExit maps a flag parsing error to an exit code: 0 for -h.
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}
