// Package merge combines the run directories of the shards of one run
// (each made with `matrix run --shard K/N`) into one run directory that
// reads like a run made on one machine.
//
// It reads and writes run directories only through package results, which
// owns their files.
package merge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
)

// Options says how Shards combines shards.
type Options struct {
	// Matrix is the matrix file the shards ran. Its SHA-256 must be the
	// one the shards recorded; its cells, selected with the shards'
	// filters, are the cells the merged run holds, in their order.
	Matrix *matrix.Matrix
	// ID is the merged run's ID. Empty means a new ID made like a run's,
	// from Now and the shards' commit.
	ID string
	// Now is when the merge happens; zero means time.Now().
	Now time.Time
	// Command is recorded as the command line that made the merged run.
	Command []string
	// MixedHosts accepts shards measured on different kinds of machine
	// (CPU model, cores, architecture, kernel, or Docker engine version).
	// Without it such shards are refused: the figures of one matrix would
	// not be comparable with each other. With it the merged run's host
	// lists every kind, so diff flags it against any one-machine run.
	MixedHosts bool
}

// Result is the run Shards made and what it found missing.
type Result struct {
	Run      *results.Run
	Manifest *results.Manifest
	// Shards are the shard directories, in shard order.
	Shards []string
	// MissingShards are the shard numbers (of Manifest.Shards[0].Shard.N)
	// for which no directory was given.
	MissingShards []int
	// Missing are the IDs of the matrix's cells that no shard holds.
	Missing []string
	// NoResult are the cells a shard holds without a result file (the
	// shard stopped before it ran them), as "ID (shard dir)".
	NoResult []string
	// MissingLogs are log files cell results name that were not in their
	// shard, as "file (shard dir)".
	MissingLogs []string
}

// Complete reports whether every cell of the matrix has a result in the
// merged run.
func (r *Result) Complete() bool { return len(r.Missing) == 0 && len(r.NoResult) == 0 }

// shardRun is one shard directory being merged.
type shardRun struct {
	dir string
	run *results.Run
	man *results.Manifest
}

// name names a shard in messages: its directory and its K/N.
func (s *shardRun) name() string {
	if s.man.Shard == nil {
		return s.dir
	}
	return fmt.Sprintf("%s (shard %d/%d)", s.dir, s.man.Shard.K, s.man.Shard.N)
}

// Shards combines the shard run directories dirs into one new run under
// resultsDir, that reads like a run made on one machine: the same files,
// the same manifest fields, every cell of the matrix listed in matrix
// order (those no shard measured without a status, so `matrix run
// --resume` runs them), plus MergedFrom and Shards.
//
// Shards refuses, writing nothing, shards of different matrices, profiles,
// commits, filters, load generator versions or runtimes, shards with the
// same number or different counts, a directory that is not a shard, and a
// cell held by two shards; without opt.MixedHosts also shards measured on
// different kinds of machine. The error names the directories.
//
// The merged run is built in a temporary directory and renamed into place
// at the end, so a crash never leaves half a merged run that looks whole.
func Shards(ctx context.Context, resultsDir string, dirs []string, opt Options) (*Result, error) {
	if opt.Matrix == nil {
		return nil, errors.New("merge: no matrix")
	}
	if len(dirs) == 0 {
		return nil, errors.New("merge: no shard directories")
	}
	shards, err := openShards(dirs)
	if err != nil {
		return nil, err
	}
	if err := checkShards(shards, opt); err != nil {
		return nil, err
	}
	p, err := planMerge(shards, opt.Matrix)
	if err != nil {
		return nil, err
	}
	id := opt.ID
	if id == "" {
		now := opt.Now
		if now.IsZero() {
			now = time.Now()
		}
		id = results.NewRunID(now, shortCommit(shards[0].man.Git.Commit))
	}
	for _, s := range shards {
		if s.man.RunID == id {
			return nil, fmt.Errorf("merge: run id %s is the id of shard %s; history and diff would take the merged run for its own shard", id, s.name())
		}
	}
	man := mergedManifest(id, shards, opt)
	res := &Result{Manifest: man, MissingShards: p.missingShards}
	for _, s := range shards {
		res.Shards = append(res.Shards, s.dir)
	}
	run, err := writeMerged(ctx, resultsDir, id, shards, p, man, res)
	if err != nil {
		return nil, err
	}
	res.Run = run
	return res, nil
}

// openShards opens every directory and reads its manifest, sorted by shard
// number.
func openShards(dirs []string) ([]*shardRun, error) {
	var shards []*shardRun
	var errs []error
	for _, dir := range dirs {
		r, err := results.Open(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m, err := r.ReadManifest()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		shards = append(shards, &shardRun{dir: dir, run: r, man: m})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("merge: %w", errors.Join(errs...))
	}
	slices.SortStableFunc(shards, func(a, b *shardRun) int {
		if a.man.Shard == nil || b.man.Shard == nil {
			return 0
		}
		return cmp.Compare(a.man.Shard.K, b.man.Shard.K)
	})
	return shards, nil
}

// checkShards refuses shards that are not parts of one run of one matrix.
// Every problem is reported, each naming the directories concerned.
func checkShards(shards []*shardRun, opt Options) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, s := range shards {
		if s.man.Shard == nil {
			bad("%s is not a shard: its manifest has no shard (only runs made with --shard K/N can be merged)", s.dir)
		}
		if sha := s.man.Matrix.SHA256; sha != opt.Matrix.SHA256 {
			bad("%s ran a different matrix: sha256 %s, but %s is %s", s.dir, short12(sha), opt.Matrix.Path, short12(opt.Matrix.SHA256))
		}
	}
	if len(errs) > 0 {
		return mergeErr(errs)
	}
	first := shards[0]
	byK := map[int]*shardRun{}
	for _, s := range shards {
		if prev := byK[s.man.Shard.K]; prev != nil {
			bad("%s and %s are both shard %d/%d: give one run per shard", prev.dir, s.dir, s.man.Shard.K, s.man.Shard.N)
		}
		byK[s.man.Shard.K] = s
		if s == first {
			continue
		}
		a, b := first.man, s.man
		if a.Shard.N != b.Shard.N {
			bad("%s and %s split the matrix differently: %d and %d shards", first.name(), s.name(), a.Shard.N, b.Shard.N)
		}
		if pa, pb := profileMethod(a.Profile), profileMethod(b.Profile); !reflect.DeepEqual(pa, pb) {
			bad("%s and %s ran different profiles: %s", first.name(), s.name(), profileDiff(a.Profile, b.Profile))
		}
		if a.Git.Commit != b.Git.Commit {
			bad("%s and %s were made from different commits: %s and %s", first.name(), s.name(), orNone(a.Git.Commit), orNone(b.Git.Commit))
		}
		if !reflect.DeepEqual(normFilters(a.Filters), normFilters(b.Filters)) {
			bad("%s and %s selected different cells: filters %s and %s", first.name(), s.name(), filterString(a.Filters), filterString(b.Filters))
		}
		if a.LoadgenVersion != b.LoadgenVersion {
			bad("%s and %s measured with different load generators: %s and %s", first.name(), s.name(), a.LoadgenVersion, b.LoadgenVersion)
		}
		if !reflect.DeepEqual(a.Loadgen, b.Loadgen) {
			bad("%s and %s ran the load generator differently: %s and %s", first.name(), s.name(), loadgenString(a.Loadgen), loadgenString(b.Loadgen))
		}
		if a.Runtime.Name != b.Runtime.Name {
			bad("%s and %s used different runtimes: %s and %s", first.name(), s.name(), a.Runtime.Name, b.Runtime.Name)
		}
		if !opt.MixedHosts {
			for _, d := range machineDiff(a, b) {
				bad("%s and %s ran on different machines: %s (merge with --mixed-hosts to accept it; diff will flag the merged run)", first.name(), s.name(), d)
			}
		}
	}
	return mergeErr(errs)
}

// mergeErr joins the problems found, nil when there are none.
func mergeErr(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("merge: cannot merge:\n%w", errors.Join(errs...))
}

// profileMethod is a profile without what may differ between the shards
// of one run: the target host, which each machine pair sets for itself.
func profileMethod(p results.ProfileInfo) results.ProfileInfo {
	p.TargetHost = ""
	return p
}

// profileDiff describes how two profiles differ.
func profileDiff(a, b results.ProfileInfo) string {
	if a.Name != b.Name {
		return fmt.Sprintf("%s and %s", a.Name, b.Name)
	}
	return fmt.Sprintf("both %s, but %+v and %+v", a.Name, profileMethod(a), profileMethod(b))
}

// normFilters treats an empty list and no list alike.
func normFilters(f results.Filters) results.Filters {
	for _, l := range []*[]string{&f.Servers, &f.Scenarios, &f.Cells} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return f
}

// filterString formats filters as the flags that made them.
func filterString(f results.Filters) string {
	var parts []string
	for _, v := range f.Servers {
		parts = append(parts, "--server "+v)
	}
	for _, v := range f.Scenarios {
		parts = append(parts, "--scenario "+v)
	}
	for _, v := range f.Cells {
		parts = append(parts, "--cell "+v)
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, " ")
}

// mergePlan is where each cell of the merged run comes from.
type mergePlan struct {
	// ids are the cells of the merged run in matrix order.
	ids []string
	// owner maps a cell ID to the shard that holds it; absent: missing.
	owner         map[string]*shardRun
	missingShards []int
}

// planMerge assigns every cell of the matrix (with the shards' filters) to
// the shard that holds it, refusing cells that are not the matrix's and
// cells two shards hold.
func planMerge(shards []*shardRun, m *matrix.Matrix) (*mergePlan, error) {
	f := shards[0].man.Filters
	cells, err := m.Cells(matrix.Filter{Servers: f.Servers, Scenarios: f.Scenarios, CellGlobs: f.Cells})
	if err != nil {
		return nil, fmt.Errorf("merge: the shards' filters on %s: %w", m.Path, err)
	}
	p := &mergePlan{owner: map[string]*shardRun{}}
	want := map[string]bool{}
	for _, c := range cells {
		p.ids = append(p.ids, c.ID())
		want[c.ID()] = true
	}
	var errs []error
	for _, s := range shards {
		for _, ref := range s.man.Cells {
			if !want[ref.ID] {
				errs = append(errs, fmt.Errorf("%s holds cell %s, which %s with filters %s does not have", s.name(), ref.ID, m.Path, filterString(f)))
				continue
			}
			if prev := p.owner[ref.ID]; prev != nil {
				errs = append(errs, fmt.Errorf("cell %s is in two shards, %s and %s: the shards disagree on how the matrix is split", ref.ID, prev.name(), s.name()))
				continue
			}
			p.owner[ref.ID] = s
		}
	}
	if err := mergeErr(errs); err != nil {
		return nil, err
	}
	n := shards[0].man.Shard.N
	have := map[int]bool{}
	for _, s := range shards {
		have[s.man.Shard.K] = true
	}
	for k := 1; k <= n; k++ {
		if !have[k] {
			p.missingShards = append(p.missingShards, k)
		}
	}
	return p, nil
}

// mergedManifest makes the merged run's manifest, without cells: the
// shards' common fields, the earliest start and the latest end, and the
// machines of every shard (see mergeHosts).
func mergedManifest(id string, shards []*shardRun, opt Options) *results.Manifest {
	first := shards[0].man
	man := &results.Manifest{
		SchemaVersion: results.SchemaVersion, RunID: id, State: results.StateFinished, Created: first.Created,
		Command: opt.Command, Matrix: first.Matrix, Profile: first.Profile,
		Git: first.Git, LoadgenVersion: first.LoadgenVersion, Loadgen: first.Loadgen, Filters: first.Filters,
	}
	var hosts, engines []results.HostInfo
	var rts []results.RuntimeInfo
	var targets []string
	for _, s := range shards {
		m := s.man
		man.MergedFrom = append(man.MergedFrom, m.RunID)
		// Each shard made its own CA for its TLS rows; the cells name theirs.
		man.TLSCAs = append(man.TLSCAs, m.TLSCAs...)
		man.Git.Dirty = man.Git.Dirty || m.Git.Dirty
		if m.Created.Before(man.Created) {
			man.Created = m.Created
		}
		if m.Finished.After(man.Finished) {
			man.Finished = m.Finished
		}
		if m.State != results.StateFinished {
			man.State = results.StateInterrupted
		}
		hosts = append(hosts, m.Host)
		if m.Runtime.EngineHost != nil {
			engines = append(engines, *m.Runtime.EngineHost)
		}
		rts = append(rts, m.Runtime)
		targets = append(targets, m.Profile.TargetHost)
		man.Shards = append(man.Shards, results.MergedShard{
			RunID: m.RunID, Shard: *m.Shard, State: m.State, Created: m.Created, Finished: m.Finished,
			Command: m.Command, Host: m.Host, Runtime: m.Runtime, Cells: m.CellIDs(),
		})
	}
	man.Host = mergeHosts(hosts)
	man.Runtime = mergeRuntimes(rts)
	if len(engines) > 0 {
		h := mergeHosts(engines)
		man.Runtime.EngineHost = &h
	}
	man.Profile.TargetHost = joinDistinct(targets)
	return man
}

// shortCommit returns the 7-character form of a commit hash.
func shortCommit(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}

// short12 shortens a sha256 for messages.
func short12(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return orNone(s)
}

// orNone shows an empty value as "none".
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// loadgenString describes a run's load generator settings for a message.
func loadgenString(l *results.LoadgenInfo) string {
	if l == nil {
		return "(not recorded)"
	}
	return fmt.Sprintf("GOMAXPROCS %d", l.GOMAXPROCS)
}
