package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/runtime"
)

// UsageError is a problem with what the user asked for (flags, matrix,
// budget): nothing ran. The CLI exits 2 on it.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErr(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Request is one `matrix run` or `matrix rerun` as the user asked for it.
//
// A resume or rerun measures as the run it completes did: MatrixPath,
// Profile, Runtime, TargetHost and Procs left unset take the run's
// values, and set to another value are refused.
type Request struct {
	// MatrixPath is the matrix file; for a resume or rerun, empty means
	// the path recorded in the run's manifest.
	MatrixPath string
	// Profile names the profile; empty means the file's first (or, for a
	// resume or rerun, the run's).
	Profile string
	// Runtime is auto, docker or process; empty means auto (or, for a
	// resume or rerun, the run's).
	Runtime string
	Filter  matrix.Filter
	// OutDir is where a new run's directory is made (results/).
	OutDir string
	// Resume, when set, is a run directory whose unfinished cells to run.
	Resume string
	// Rerun, when set, is a run directory whose selected cells to run
	// again, keeping their old results as earlier attempts.
	Rerun string
	// Failed selects, for a rerun, every cell that is not ok.
	Failed bool
	// Shard is "K/N" or empty.
	Shard string
	// TargetHost is the address the load generator connects to; empty
	// means the profile's (or, for a resume or rerun, the run's).
	TargetHost string
	// Procs is the load generator's GOMAXPROCS; 0 means DefaultProcs (or,
	// for a resume or rerun, the run's).
	Procs int
	// Budget, when positive, refuses a run estimated to take longer.
	Budget time.Duration
	// Command is the command line, recorded in the manifest.
	Command []string
	// CacheDir is the runtimes' build cache; empty means the default.
	CacheDir string
	// StrictHost refuses the run when the host gate warns (another busy
	// process, a powersave governor, little free disk, leftovers).
	StrictHost bool
	Output
}

// Session is a prepared run: the options of its execution (the matrix,
// cells, runtime and run directory) and the request it was prepared from.
type Session struct {
	Options
	req Request
	// method is what the run a resume or rerun completes recorded about
	// how it measured; nil for a new run.
	method *method
	// leftovers are the servers of dead runners the runtime removed.
	leftovers []string
	// hostCheck is what the host gate saw.
	hostCheck *results.HostCheck
}

// Prepare checks a request and prepares its run without running a cell:
// the matrix is loaded and validated, the cells selected, the budget
// checked, the runtime chosen (and said on the first line of output),
// leftovers of dead runners removed, and the run directory made or opened.
// A resume or rerun takes the method of the run it completes (see
// Request) and is refused when asked to measure another way.
func Prepare(ctx context.Context, req Request) (*Session, error) {
	s := newSession(req)
	prevMan, err := s.openExisting()
	if err != nil {
		return nil, err
	}
	if err := s.loadMatrix(); err != nil {
		return nil, err
	}
	if err := s.selectCells(prevMan); err != nil {
		return nil, err
	}
	if err := s.checkBudget(); err != nil {
		return nil, err
	}
	if err := s.Matrix.CheckPaths(s.Cells); err != nil {
		return nil, &UsageError{Err: err}
	}
	if err := s.checkLimits(); err != nil {
		return nil, err
	}
	if err := s.openRuntime(ctx); err != nil {
		return nil, err
	}
	if err := s.gateHost(ctx); err != nil {
		s.Runtime.Close()
		return nil, err
	}
	if s.Profile.TargetHost == "" {
		s.Profile.TargetHost = engineHost(ctx, s.Runtime)
	}
	s.chooseReference(prevMan == nil)
	if err := s.openRun(prevMan); err != nil {
		s.Runtime.Close()
		return nil, err
	}
	return s, nil
}

// loadMatrix loads the matrix file and its profile. A resume or rerun
// measures with the run's target host, and refuses a profile whose values
// changed since the run.
func (s *Session) loadMatrix() error {
	m, err := matrix.Load(s.req.MatrixPath)
	if err != nil {
		return &UsageError{Err: err}
	}
	s.Matrix = m
	if s.Profile, err = m.Profile(s.req.Profile); err != nil {
		return &UsageError{Err: err}
	}
	if s.method != nil {
		if err := s.method.checkProfile(m.Path, s.Profile); err != nil {
			return err
		}
		s.Profile.TargetHost = s.req.TargetHost
	} else if s.req.TargetHost != "" {
		s.Profile.TargetHost = s.req.TargetHost
	}
	return nil
}

// newSession returns the session of req before anything is prepared.
func newSession(req Request) *Session {
	if req.Out == nil {
		req.Out = io.Discard
	}
	return &Session{Options: Options{Rerun: req.Rerun != "", Output: req.Output}, req: req}
}

// selectCells picks the cells to run: the filtered, sharded matrix for a
// new run; the unfinished ones for a resume; the selected ones for a rerun.
func (s *Session) selectCells(prev *results.Manifest) error {
	req := s.req
	all, err := s.Matrix.Cells(req.Filter)
	if err != nil {
		return &UsageError{Err: err}
	}
	if prev != nil && prev.Matrix.SHA256 != s.Matrix.SHA256 {
		fmt.Fprintf(req.Out, "note: %s changed since run %s was made (sha256 %.12s, now %.12s)\n",
			s.Matrix.Path, prev.RunID, prev.Matrix.SHA256, s.Matrix.SHA256)
	}
	switch {
	case req.Resume != "":
		pending, err := s.Run.Pending(prev.CellIDs())
		if err != nil {
			return fmt.Errorf("runner: %w", err)
		}
		all = keep(all, pending)
	case req.Rerun != "":
		ids := prev.CellIDs()
		if req.Failed {
			var failed []string
			for _, ref := range prev.Cells {
				if ref.Status != results.StatusOK {
					failed = append(failed, ref.ID)
				}
			}
			ids = failed
		}
		all = keep(all, ids)
		if len(all) == 0 {
			return usageErr("rerun %s: no cell of the run matches the selection", req.Rerun)
		}
	case req.Shard != "":
		k, n, err := matrix.ParseShard(req.Shard)
		if err != nil {
			return &UsageError{Err: err}
		}
		if all, err = matrix.Shard(all, k, n, s.Profile, matrix.DefaultOverhead); err != nil {
			return &UsageError{Err: err}
		}
	}
	s.Cells = all
	return nil
}

// keep returns the cells whose IDs are in ids, in matrix order.
func keep(cells []matrix.Cell, ids []string) []matrix.Cell {
	var out []matrix.Cell
	for _, c := range cells {
		if slices.Contains(ids, c.ID()) {
			out = append(out, c)
		}
	}
	return out
}

// checkBudget refuses a run that cannot fit its budget rather than
// silently dropping cells.
func (s *Session) checkBudget() error {
	budget := s.req.Budget
	if budget == 0 {
		budget = s.Profile.Budget
	}
	if budget <= 0 {
		return nil
	}
	est := matrix.Estimate(s.Cells, s.Profile, matrix.DefaultOverhead)
	if est.Total > budget {
		return usageErr("the run does not fit the budget of %v: %s; select fewer cells (--server, --scenario, --cell, --shard) or a shorter profile", budget, est)
	}
	return nil
}

// openRuntime chooses the runtime, says which on the first line of
// output, and removes what dead runners left behind.
func (s *Session) openRuntime(ctx context.Context) error {
	opts := runtime.Options{CacheDir: s.req.CacheDir}
	name := s.req.Runtime
	if name == "" {
		name = runtime.NameAuto
	}
	var why string
	var err error
	switch {
	case name == runtime.NameAuto:
		s.Runtime, why, err = runtime.Auto(ctx, opts)
	case s.method != nil:
		s.Runtime, err = runtime.New(ctx, name, opts)
		why = "the run's, as its manifest records"
	default:
		s.Runtime, err = runtime.New(ctx, name, opts)
		why = "asked for with --runtime"
	}
	if err != nil {
		return usageErr("%v", err)
	}
	if err := s.checkEngine(ctx); err != nil {
		s.Runtime.Close()
		return err
	}
	fmt.Fprintf(s.Out, "runtime: %s (%s)\n", s.Runtime.Name(), why)
	removed, err := s.Runtime.Cleanup(ctx)
	for _, r := range removed {
		fmt.Fprintf(s.Out, "removed a leftover of a runner that is gone: %s\n", r)
	}
	s.leftovers = removed
	if err != nil {
		fmt.Fprintf(s.Out, "warning: cleaning up leftovers: %v\n", err)
	}
	return nil
}

// checkEngine refuses, for a resume or rerun, an engine other than the
// run's.
func (s *Session) checkEngine(ctx context.Context) error {
	if s.method == nil || s.Runtime.Name() != runtime.NameDocker {
		return nil
	}
	info, err := s.Runtime.Info(ctx)
	if err != nil {
		return usageErr("%v", err)
	}
	return s.method.checkEndpoint(info.Endpoint)
}

// openRun makes the run directory (or reopens it) and its manifest.
func (s *Session) openRun(prev *results.Manifest) error {
	now := time.Now()
	commit, dirty := gitState(s.Matrix.Dir)
	if s.Run == nil {
		short := commit
		if len(short) > 7 {
			short = short[:7]
		}
		run, err := results.Create(s.req.OutDir, results.NewRunID(now, short))
		if err != nil {
			return usageErr("%v", err)
		}
		s.Run = run
		s.Manifest = results.NewManifest(run.ID, now, s.Matrix, s.Profile, s.Cells)
		s.Manifest.Filters = results.Filters{Servers: s.req.Filter.Servers, Scenarios: s.req.Filter.Scenarios, Cells: s.req.Filter.CellGlobs}
		if s.req.Shard != "" {
			k, n, _ := matrix.ParseShard(s.req.Shard)
			s.Manifest.Shard = &results.Shard{K: k, N: n}
		}
		s.Manifest.Git = results.GitInfo{Commit: commit, Dirty: dirty}
		s.Manifest.Loadgen = &results.LoadgenInfo{GOMAXPROCS: s.req.Procs}
		s.Manifest.HostCheck = s.hostCheck
	} else {
		if _, err := s.Run.RemoveTemp(); err != nil {
			return fmt.Errorf("runner: %w", err)
		}
		s.Manifest = prev
		s.Manifest.State = results.StateRunning
		if s.Manifest.Loadgen == nil {
			s.Manifest.Loadgen = &results.LoadgenInfo{GOMAXPROCS: s.req.Procs}
		}
	}
	s.Manifest.Command = s.req.Command
	info, _ := s.Runtime.Info(context.Background())
	if info.Warning != "" {
		fmt.Fprintf(s.Out, "warning: %s\n", info.Warning)
	}
	s.Manifest.Runtime = runtimeInfo(s.Runtime.Name(), info, s.Profile.TargetHost)
	return nil
}

// gateHost runs the host gate (checkHost) before anything is measured.
func (s *Session) gateHost(ctx context.Context) error {
	dir := s.req.OutDir
	if s.Run != nil {
		dir = s.Run.Dir
	}
	hc, err := checkHost(ctx, dir, s.leftovers, s.req.StrictHost, func(line string) { fmt.Fprintln(s.Out, line) })
	s.hostCheck = hc
	return err
}

// chooseReference picks the run's reference cell (referenceCell). A
// resume or rerun measures none; the run keeps the reference it measured.
func (s *Session) chooseReference(newRun bool) {
	if newRun {
		s.Reference = referenceCell(s.Matrix, s.Profile, s.Cells)
	}
}

// referenceCell returns the reference cell of a run of cells under p: the
// profile's, else the first closed-loop cell of the run (a rated cell's
// req/s follows its rate, not the machine); nil when the profile turns the
// reference off or there is no such cell.
func referenceCell(m *matrix.Matrix, p matrix.Profile, cells []matrix.Cell) *matrix.Cell {
	if p.Reference == matrix.ReferenceOff {
		return nil
	}
	if p.Reference != "" {
		all, err := m.Cells(matrix.Filter{})
		if err != nil {
			return nil
		}
		cells = all
	}
	for _, c := range cells {
		if (p.Reference == "" || c.ID() == p.Reference) && !c.Scenario.Rated() && !c.Scenario.Searched() {
			return &c
		}
	}
	return nil
}

// Execute runs the session's cells and closes its runtime.
func (s *Session) Execute(ctx context.Context) (Outcome, error) {
	defer s.Runtime.Close()
	return New(s.Options).Execute(ctx)
}

// gitState returns the commit of the checkout holding dir and whether its
// tree has uncommitted changes; empty outside a checkout.
func gitState(dir string) (commit string, dirty bool) {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false
	}
	commit = strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output()
	return commit, err == nil && len(strings.TrimSpace(string(st))) > 0
}

// IsUsage reports whether err is a usage error.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// OpenRuntime chooses the runtime for req as Prepare does, says which, and
// removes leftovers of dead runners.
func OpenRuntime(ctx context.Context, req Request) (runtime.Runtime, error) {
	s := newSession(req)
	if err := s.openRuntime(ctx); err != nil {
		return nil, err
	}
	return s.Runtime, nil
}

// engineHost returns the host of a remote Docker engine's endpoint, where
// its servers listen (host networking), or "" for a local engine.
func engineHost(ctx context.Context, rt runtime.Runtime) string {
	if rt.Name() != runtime.NameDocker {
		return ""
	}
	info, err := rt.Info(ctx)
	if err != nil {
		return ""
	}
	u, err := url.Parse(info.Endpoint)
	if err != nil || u.Scheme != "tcp" {
		return ""
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return ""
	}
	return host
}
