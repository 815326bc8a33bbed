package runner

import (
	"context"
	"errors"
	goruntime "runtime"
	"slices"
	"strings"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/revision"
	"github.com/matrixbench/matrix/internal/runtime"
)

// DefaultPairs is how many pairs of repeats `matrix ab` measures each cell
// with: enough for the signed-rank test to reach p < 0.05 (6 pairs can,
// 5 cannot), and an even count so that the ABBA blocks cancel a linear
// drift whole.
const DefaultPairs = 8

// ABRequest is one `matrix ab BASE HEAD` as the user asked for it.
type ABRequest struct {
	// MatrixPath is the matrix file in the working tree; its repository
	// and its path there name the file at each revision.
	MatrixPath string
	// Base and Head are git revisions (Head "HEAD" with uncommitted
	// changes is the working tree).
	Base, Head string
	// Filter selects cells; with no server named, the servers whose build
	// inputs or definition differ between the revisions are measured.
	Filter  matrix.Filter
	Profile string
	Runtime string
	// Pairs is how many pairs of repeats each cell gets; 0 means
	// DefaultPairs.
	Pairs int
	// Threshold is the smallest change called (a fraction), recorded in
	// ab.json for the report.
	Threshold  float64
	OutDir     string
	Procs      int
	StrictHost bool
	Command    []string
	CacheDir   string
	Output
}

// ABSession is a prepared A/B run: both revisions checked out, their cells
// chosen, the runtime open and the run directory made.
type ABSession struct {
	// AB is the run's ab.json.
	AB *results.AB
	// Dir is the A/B run's directory; empty when nothing is measured.
	Dir string
	// Pair is the two checkouts; Close removes them.
	Pair *revision.Pair
	// Nothing is set when no server differs and none was named: there is
	// nothing to measure.
	Nothing    bool
	base, head Options
	runtime    runtime.Runtime
	procs      int
}

// PrepareAB checks an A/B request and prepares its run without measuring:
// bad revisions, a matrix file missing at one revision, a dirty tree named
// as BASE, servers absent at one side or built from outside the
// repository are all usage errors, found before anything runs.
func PrepareAB(ctx context.Context, req ABRequest) (_ *ABSession, err error) {
	if req.Pairs <= 0 {
		req.Pairs = DefaultPairs
	}
	if req.Procs <= 0 {
		req.Procs = DefaultProcs
	}
	pair, err := revision.Open(ctx, req.MatrixPath, req.Base, req.Head)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	s := &ABSession{Pair: pair, procs: req.Procs}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	cmp, err := pair.Compare(req.Filter.Servers)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	s.AB = newAB(req, pair, cmp)
	if len(s.AB.Servers) == 0 {
		s.Nothing = true
		return s, nil
	}
	prof, baseCells, headCells, err := abCells(pair, req, s.AB.Servers)
	if err != nil {
		return nil, err
	}
	sess := newSession(Request{Runtime: req.Runtime, CacheDir: req.CacheDir, OutDir: req.OutDir, StrictHost: req.StrictHost, Output: req.Output})
	if err := sess.openRuntime(ctx); err != nil {
		return nil, err
	}
	s.runtime = sess.Runtime
	if err := sess.gateHost(ctx); err != nil {
		return nil, err
	}
	if prof.TargetHost == "" {
		prof.TargetHost = engineHost(ctx, s.runtime)
	}
	if err := s.makeRun(req, prof, baseCells, headCells, sess.hostCheck); err != nil {
		return nil, err
	}
	return s, nil
}

// newAB describes the A/B run before it is made.
func newAB(req ABRequest, pair *revision.Pair, cmp *revision.Comparison) *results.AB {
	ab := &results.AB{
		Base:       results.ABSide{Rev: pair.Base.Rev, Commit: pair.Base.Commit, WorkTree: pair.Base.WorkTree, Dir: results.ABBaseDir},
		Head:       results.ABSide{Rev: pair.Head.Rev, Commit: pair.Head.Commit, WorkTree: pair.Head.WorkTree, Dir: results.ABHeadDir},
		MatrixFile: pair.MatrixFile, Repo: pair.Repo, Order: "ABBA", Pairs: req.Pairs, Threshold: req.Threshold,
		Command: req.Command, Unchanged: cmp.Unchanged, Skipped: cmp.Skipped,
	}
	ab.Why = map[string]string{}
	for name, why := range cmp.Why {
		ab.Why[name] = strings.Join(why, "; ")
	}
	ab.Servers = cmp.Changed
	if len(req.Filter.Servers) > 0 {
		// Named servers are measured whether they changed or not: an
		// unchanged one is an A/A comparison, which shows the noise.
		ab.Servers = slices.Clone(req.Filter.Servers)
		for _, name := range cmp.Unchanged {
			ab.Why[name] = "unchanged between the revisions (an A/A comparison)"
		}
		ab.Unchanged = nil
	}
	return ab
}

// abCells returns the profile and the cells of each side. Both sides run
// HEAD's scenarios under HEAD's profile, so that what differs between a
// pair is the server alone; the base side's servers are BASE's.
func abCells(pair *revision.Pair, req ABRequest, servers []string) (matrix.Profile, []matrix.Cell, []matrix.Cell, error) {
	prof, err := pair.HeadMatrix.Profile(req.Profile)
	if err != nil {
		return prof, nil, nil, &UsageError{Err: err}
	}
	prof.Repeat = req.Pairs
	f := req.Filter
	f.Servers = servers
	head, err := pair.HeadMatrix.Cells(f)
	if err != nil {
		return prof, nil, nil, &UsageError{Err: err}
	}
	if len(head) == 0 {
		return prof, nil, nil, usageErr("no cell of %s matches the selection", pair.MatrixFile)
	}
	base := make([]matrix.Cell, 0, len(head))
	for _, c := range head {
		srv, ok := pair.BaseMatrix.Server(c.Server.Name)
		if !ok {
			return prof, nil, nil, usageErr("server %q does not exist at %s", c.Server.Name, pair.Base)
		}
		base = append(base, matrix.Cell{Scenario: c.Scenario, Server: srv})
	}
	if err := pair.HeadMatrix.CheckPaths(head); err != nil {
		return prof, nil, nil, &UsageError{Err: err}
	}
	if err := pair.BaseMatrix.CheckPaths(base); err != nil {
		return prof, nil, nil, &UsageError{Err: err}
	}
	return prof, base, head, nil
}

// makeRun makes the A/B run directory, its two sides and their manifests.
func (s *ABSession) makeRun(req ABRequest, prof matrix.Profile, baseCells, headCells []matrix.Cell, hc *results.HostCheck) error {
	now := time.Now()
	id := results.NewRunID(now, "ab-"+short(s.Pair.Base.Commit)+"-"+short(s.Pair.Head.Commit))
	top, err := results.Create(req.OutDir, id)
	if err != nil {
		return usageErr("%v", err)
	}
	s.Dir = top.Dir
	s.AB.RunID, s.AB.State, s.AB.Created = id, results.StateRunning, now.UTC()
	info, _ := s.runtime.Info(context.Background())
	side := func(dir string, m *matrix.Matrix, cells []matrix.Cell, rs revision.Side) (Options, error) {
		run, err := results.Create(top.Dir, dir)
		if err != nil {
			return Options{}, usageErr("%v", err)
		}
		man := results.NewManifest(id+"."+dir, now, m, prof, cells)
		man.Command = req.Command
		man.Git = results.GitInfo{Commit: rs.Commit, Dirty: rs.WorkTree}
		man.Loadgen = &results.LoadgenInfo{GOMAXPROCS: req.Procs}
		man.HostCheck = hc
		man.Filters = results.Filters{Servers: s.AB.Servers, Scenarios: req.Filter.Scenarios, Cells: req.Filter.CellGlobs}
		man.Runtime = runtimeInfo(s.runtime.Name(), info, prof.TargetHost)
		return Options{Matrix: m, Profile: prof, Cells: cells, Runtime: s.runtime, Run: run, Manifest: man, Side: dir, Output: req.Output}, nil
	}
	if s.base, err = side(results.ABBaseDir, s.Pair.BaseMatrix, baseCells, s.Pair.Base); err != nil {
		return err
	}
	if s.head, err = side(results.ABHeadDir, s.Pair.HeadMatrix, headCells, s.Pair.Head); err != nil {
		return err
	}
	s.head.Reference = referenceCell(s.Pair.HeadMatrix, prof, headCells)
	return results.WriteAB(s.Dir, s.AB)
}

// short abbreviates a commit hash.
func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	if commit == "" {
		return "nogit"
	}
	return commit
}

// Execute measures both sides, each cell's repeats in ABBA order (A B, B
// A, A B, B A, ...: pair p runs base first when p is even), so that a
// linear drift of the machine cancels within every two pairs. The two
// servers of a pair are never up at once: each repeat stops its server
// before the next starts. HEAD's side measures the run's reference cell.
func (s *ABSession) Execute(ctx context.Context) (Outcome, error) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(s.procs))
	restore, err := runtime.PinProcess(s.head.Profile.LoadgenCPUs)
	if err != nil {
		return Outcome{}, err
	}
	defer restore()
	rb, rh := New(s.base), New(s.head)
	if err := rb.Begin(ctx); err != nil {
		return Outcome{}, err
	}
	if err := rh.Begin(ctx); err != nil {
		return Outcome{}, err
	}
	stepErr := s.steps(ctx, rb, rh)
	// Both sides end and ab.json is rewritten whatever happened, so that
	// no file is left saying the run is still going.
	ob, errB := rb.End(ctx)
	oh, errH := rh.End(ctx)
	out := Outcome{Counts: map[results.Status]int{}, Interrupted: ob.Interrupted || oh.Interrupted}
	for st, n := range ob.Counts {
		out.Counts[st] += n
	}
	for st, n := range oh.Counts {
		out.Counts[st] += n
	}
	s.AB.State, s.AB.Finished = results.StateFinished, time.Now().UTC()
	if out.Interrupted || stepErr != nil {
		s.AB.State = results.StateInterrupted
	}
	return out, errors.Join(stepErr, errB, errH, results.WriteAB(s.Dir, s.AB))
}

// steps runs every pair of repeats of every cell, each pair in the order
// ABBA gives it, until ctx is done or a result cannot be written.
func (s *ABSession) steps(ctx context.Context, rb, rh *Runner) error {
	pairs := s.AB.Pairs
	for p := 0; p < pairs; p++ {
		for i := range s.head.Cells {
			first, second := rb, rh
			firstCell, secondCell := s.base.Cells[i], s.head.Cells[i]
			if p%2 == 1 {
				first, second, firstCell, secondCell = rh, rb, s.head.Cells[i], s.base.Cells[i]
			}
			for _, st := range []struct {
				r *Runner
				c matrix.Cell
			}{{first, firstCell}, {second, secondCell}} {
				if ctx.Err() != nil {
					return nil
				}
				if err := st.r.Step(ctx, st.c, p+1, i); err != nil {
					return err
				}
			}
		}
		if p+1 == pairs/2 {
			rh.measureReference(ctx, results.RefMiddle)
		}
	}
	return nil
}

// Close stops the runtime (when one was opened) and removes the
// revisions' checkouts.
func (s *ABSession) Close() error {
	if s.runtime != nil {
		s.runtime.Close()
	}
	return s.Pair.Close()
}
