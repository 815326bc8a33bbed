package merge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
)

// mergeMatrix is a real matrix: five servers (built and process ones,
// h1 and h2c), five rows (one rated), an exclude.
const mergeMatrix = `version: 1
profiles:
  nightly: {warmup: 10s, duration: 35s, repeat: 2, cooldown: 5s}
  quick: {warmup: 1s, duration: 3s}
servers:
  - {name: s0, protocols: [h1, h2c], build: {go: ./s0}}
  - {name: s1, protocols: [h1, h2c], build: {go: ./s1}}
  - {name: s2, protocols: [h1], build: {go: ./s2}}
  - {name: s3, protocols: [h1], process: {command: [./s3]}}
  - {name: s4, protocols: [h1], process: {command: [./s4]}}
scenarios:
  - {name: get, protocol: h1}
  - {name: json, protocol: h1, path: /json}
  - {name: churn, protocol: h1, close: true, error_budget: 0.5}
  - {name: post-h2, protocol: h2c, method: POST, path: /upload, body_size: 65536, streams: 10}
  - {name: rated, protocol: h1, rate_fraction: 0.5, saturation_from: get}
exclude: ["churn/s4"]
`

// fixture is a real matrix and a result for each of its cells.
type fixture struct {
	m     *matrix.Matrix
	p     matrix.Profile
	cells []matrix.Cell
	// byID holds each cell's result (the same whatever run holds it).
	byID map[string]*results.Cell
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	m, err := matrix.Parse("matrix.yaml", []byte(mergeMatrix))
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{m: m, byID: map[string]*results.Cell{}}
	if fx.p, err = m.Profile("nightly"); err != nil {
		t.Fatal(err)
	}
	if fx.cells, err = m.Cells(matrix.Filter{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range fx.cells {
		fx.byID[c.ID()] = testCell(t, c.Server.Name, c.Scenario.Name)
	}
	return fx
}

// result returns a copy of a cell's result that a run may write.
func (fx *fixture) result(id string) *results.Cell {
	c := *fx.byID[id]
	c.Attempts = slices.Clone(c.Attempts)
	return &c
}

var t0 = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)

// testRun describes a run directory to write as the runner would.
type testRun struct {
	id    string
	shard *results.Shard
	// at is the run's start (default t0).
	at time.Time
	// edit changes the manifest before it is written.
	edit func(*results.Manifest)
}

// writeTestRun writes a run of cells of m under dir: every cell's result
// (the same for a cell whatever run holds it; some dnf, some suspect, one
// rerun with an earlier attempt) and a log per repeat.
func writeTestRun(t *testing.T, dir string, fx *fixture, cells []matrix.Cell, tr testRun) *results.Run {
	t.Helper()
	if tr.at.IsZero() {
		tr.at = t0
	}
	r, err := results.Create(dir, tr.id)
	if err != nil {
		t.Fatal(err)
	}
	p := fx.p
	man := results.NewManifest(r.ID, tr.at, fx.m, p, cells)
	man.Git = results.GitInfo{Commit: "0123456789abcdef0123456789abcdef01234567"}
	man.Runtime = results.RuntimeInfo{Name: "process", Info: map[string]string{"go": "go1.26"}}
	man.Host = results.HostInfo{Hostname: "bench-" + tr.id, CPUModel: "Test CPU @ 3.0GHz", Cores: 2, Kernel: "6.1.0", OS: "linux", Arch: "amd64", GoVersion: "go1.26", MemBytes: 24 << 30}
	man.Command = []string{"matrix", "run", "--profile", p.Name}
	man.Shard = tr.shard
	for _, mc := range cells {
		c := fx.result(mc.ID())
		for i := range c.Attempts {
			c.Attempts[i].RunID = r.ID
		}
		logs := cellLogs(c)
		if mc.ID() == "get/s2" {
			// A repeat cut short leaves a log its result does not name.
			logs = append(logs, results.LogFile("s2", "get", 1, 9))
		}
		for _, l := range logs {
			if err := os.MkdirAll(filepath.Join(r.Dir, c.Server), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(r.Dir, filepath.FromSlash(l)), []byte("log "+l+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.WriteCell(c); err != nil {
			t.Fatal(err)
		}
		man.SetCell(results.RefOf(c))
	}
	man.State, man.Finished = results.StateFinished, tr.at.Add(time.Hour)
	if tr.edit != nil {
		tr.edit(man)
	}
	if err := r.WriteManifest(man); err != nil {
		t.Fatal(err)
	}
	return r
}

// testCell returns the result of a cell, which depends only on the cell.
func testCell(t *testing.T, server, scenario string) *results.Cell {
	c := sampleCell(t, server, scenario)
	for i := range c.Repeats {
		c.Repeats[i].Log = results.LogFile(server, scenario, 1, i+1)
	}
	c.Logs = []string{c.Repeats[0].Log, c.Repeats[1].Log}
	switch matrix.CellID(scenario, server) {
	case "post-h2/s1":
		c.Status, c.Reason, c.Summary = results.StatusDNF, results.ReasonDied, nil
	case "churn/s2":
		c.Status, c.Reason = results.StatusSuspect, results.ReasonErrorBudget
	case "json/s3":
		// Rerun once: the first attempt is kept, under the same run.
		prev := *c
		prev.Status, prev.Reason, prev.Summary = results.StatusDNF, results.ReasonNotReady, nil
		next := *c
		results.Supersede(&prev, &next)
		for i := range next.Repeats {
			next.Repeats[i].Log = results.LogFile(server, scenario, 2, i+1)
		}
		next.Logs = []string{next.Repeats[0].Log, next.Repeats[1].Log}
		c = &next
	}
	return c
}

// writeShards writes the n shards of cells under dir with the runner's
// sharding and returns their directories.
func writeShards(t *testing.T, dir string, fx *fixture, n int, edit func(k int, man *results.Manifest)) []string {
	t.Helper()
	var dirs []string
	for k := 1; k <= n; k++ {
		part, err := matrix.Shard(fx.cells, k, n, fx.p, matrix.DefaultOverhead)
		if err != nil {
			t.Fatal(err)
		}
		tr := testRun{id: fmt.Sprintf("20261125T200000Z-0123456-s%d", k), shard: &results.Shard{K: k, N: n}, at: t0.Add(time.Duration(k) * time.Minute)}
		if edit != nil {
			tr.edit = func(man *results.Manifest) { edit(k, man) }
		}
		dirs = append(dirs, writeTestRun(t, dir, fx, part, tr).Dir)
	}
	return dirs
}

// runFiles returns the files of a run directory, relative, with contents.
func runFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		data, err := os.ReadFile(path)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameAsSingle checks that the run in got reads like the one-machine run
// in want: the same files, the same cells and logs, the same manifest
// fields but for the run's identity, time and origin.
func sameAsSingle(t *testing.T, got, want *results.Run) {
	t.Helper()
	gf, wf := runFiles(t, got.Dir), runFiles(t, want.Dir)
	if a, b := slices.Sorted(mapsKeys(gf)), slices.Sorted(mapsKeys(wf)); !slices.Equal(a, b) {
		t.Fatalf("files differ:\n got %v\nwant %v", a, b)
	}
	gm, err := got.ReadManifest()
	if err != nil {
		t.Fatal(err)
	}
	wm, _ := want.ReadManifest()
	if !reflect.DeepEqual(gm.Cells, wm.Cells) {
		t.Errorf("manifest cells:\n got %+v\nwant %+v", gm.Cells, wm.Cells)
	}
	for _, ref := range wm.Cells {
		gc, err := got.ReadCell(ref.Server, ref.Scenario)
		if err != nil {
			t.Fatal(err)
		}
		wc, _ := want.ReadCell(ref.Server, ref.Scenario)
		if gc.RunID != got.ID {
			t.Errorf("%s: run_id %q, want the merged run's %q", ref.ID, gc.RunID, got.ID)
		}
		for _, a := range gc.Attempts {
			if a.RunID != got.ID {
				t.Errorf("%s: attempt run_id %q, want %q", ref.ID, a.RunID, got.ID)
			}
		}
		norm := func(c *results.Cell) {
			c.RunID = ""
			for i := range c.Attempts {
				c.Attempts[i].RunID = ""
			}
		}
		norm(gc)
		norm(wc)
		if !reflect.DeepEqual(gc, wc) {
			t.Errorf("cell %s differs from the one-machine run's", ref.ID)
		}
	}
	for name, data := range wf {
		if strings.HasSuffix(name, ".log") && !bytes.Equal(gf[name], data) {
			t.Errorf("log %s: %q, want %q", name, gf[name], data)
		}
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"schema_version", gm.SchemaVersion, wm.SchemaVersion}, {"matrix", gm.Matrix, wm.Matrix},
		{"profile", gm.Profile, wm.Profile}, {"git", gm.Git, wm.Git}, {"loadgen_version", gm.LoadgenVersion, wm.LoadgenVersion},
		{"filters", gm.Filters, wm.Filters}, {"state", gm.State, wm.State}, {"runtime", gm.Runtime, wm.Runtime},
		{"shard", gm.Shard, wm.Shard},
		{"machine", machineKey(&gm.Host), machineKey(&wm.Host)},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("manifest %s = %+v, want %+v", f.name, f.got, f.want)
		}
	}
}

func mapsKeys(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestMergeEqualsOneMachineRun(t *testing.T) {
	fx := newFixture(t)
	m, cells := fx.m, fx.cells
	dir := t.TempDir()
	single := writeTestRun(t, filepath.Join(dir, "single"), fx, cells, testRun{id: "20261125T200000Z-0123456"})
	for _, n := range []int{1, 2, 3, 5, 8, len(cells) + 2} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			rd := filepath.Join(dir, fmt.Sprint(n))
			shards := writeShards(t, rd, fx, n, nil)
			// The shards cover every cell exactly once.
			count := map[string]int{}
			for _, d := range shards {
				r, _ := results.Open(d)
				man, err := r.ReadManifest()
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range man.CellIDs() {
					count[id]++
				}
			}
			for _, c := range cells {
				if count[c.ID()] != 1 {
					t.Errorf("cell %s is in %d shards", c.ID(), count[c.ID()])
				}
			}
			if len(count) != len(cells) {
				t.Errorf("shards hold %d cells, the matrix %d", len(count), len(cells))
			}
			// Given in any order.
			slices.Reverse(shards)
			res, err := Shards(context.Background(), rd, shards, Options{Matrix: m, Now: t0.Add(24 * time.Hour), Command: []string{"matrix", "merge"}})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Complete() || len(res.MissingShards) > 0 || len(res.MissingLogs) > 0 {
				t.Errorf("missing %v, no result %v, shards %v, logs %v", res.Missing, res.NoResult, res.MissingShards, res.MissingLogs)
			}
			if want := "20261126T200000Z-0123456"; res.Run.ID != want {
				t.Errorf("run id %s, want %s", res.Run.ID, want)
			}
			sameAsSingle(t, res.Run, single)
			man, _ := res.Run.ReadManifest()
			if len(man.MergedFrom) != n || len(man.Shards) != n || man.MergedFrom[0] != "20261125T200000Z-0123456-s1" {
				t.Errorf("merged_from %v, %d shards", man.MergedFrom, len(man.Shards))
			}
			for i, s := range man.Shards {
				if s.Shard != (results.Shard{K: i + 1, N: n}) || s.Host.Hostname != "bench-"+s.RunID {
					t.Errorf("shards[%d] = %+v", i, s)
				}
			}
			if !man.Created.Equal(t0.Add(time.Minute)) || !man.Finished.Equal(t0.Add(time.Duration(n)*time.Minute+time.Hour)) {
				t.Errorf("created %v finished %v", man.Created, man.Finished)
			}
			if !strings.Contains(man.Host.Hostname, "bench-20261125T200000Z-0123456-s1") {
				t.Errorf("host name %q does not list the shards' machines", man.Host.Hostname)
			}
			// Nothing of the merge is left beside the run.
			entries, _ := os.ReadDir(rd)
			if len(entries) != n+1 {
				t.Errorf("%d entries in %s, want %d shards and the merged run", len(entries), rd, n)
			}
		})
	}
}

func TestMergeMissingShardAndResults(t *testing.T) {
	fx := newFixture(t)
	m, cells := fx.m, fx.cells
	dir := t.TempDir()
	shards := writeShards(t, dir, fx, 3, func(k int, man *results.Manifest) {
		if k == 1 {
			man.State = results.StateInterrupted
		}
	})
	r1, _ := results.Open(shards[0])
	m1, _ := r1.ReadManifest()
	// results.Shard 1 stopped before its last cell: no result file, but a log.
	last := m1.Cells[len(m1.Cells)-1]
	if err := os.Remove(r1.CellPath(last.Server, last.Scenario)); err != nil {
		t.Fatal(err)
	}
	r2, _ := results.Open(shards[1])
	m2, _ := r2.ReadManifest()
	res, err := Shards(context.Background(), dir, []string{shards[0], shards[2]}, Options{Matrix: m, ID: "merged"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.MissingShards, []int{2}) {
		t.Errorf("missing shards %v, want [2]", res.MissingShards)
	}
	if !slices.Equal(res.Missing, m2.CellIDs()) {
		t.Errorf("missing %v, want shard 2's cells %v", res.Missing, m2.CellIDs())
	}
	if len(res.NoResult) != 1 || !strings.HasPrefix(res.NoResult[0], last.ID+" ("+shards[0]) {
		t.Errorf("no result %v, want %s in %s", res.NoResult, last.ID, shards[0])
	}
	if res.Complete() {
		t.Error("Complete with cells missing")
	}
	man, err := res.Run.ReadManifest()
	if err != nil {
		t.Fatal(err)
	}
	if man.State != results.StateInterrupted {
		t.Errorf("state %s, want interrupted", man.State)
	}
	var all []string
	for _, c := range cells {
		all = append(all, c.ID())
	}
	if !slices.Equal(man.CellIDs(), all) {
		t.Errorf("cells %v, want the matrix's %v", man.CellIDs(), all)
	}
	// --resume runs exactly the missing cells, and the dnf ones.
	pending, err := res.Run.Pending(man.CellIDs())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{last.ID: true}
	for _, id := range m2.CellIDs() {
		want[id] = true
	}
	for _, id := range all {
		if id == "post-h2/s1" {
			want[id] = true // dnf
		}
	}
	if len(pending) != len(want) {
		t.Errorf("pending %v, want %v", pending, want)
	}
	for _, id := range pending {
		if !want[id] {
			t.Errorf("%s pending", id)
		}
	}
	// The log of the cell without a result was copied all the same.
	if _, err := os.Stat(filepath.Join(res.Run.Dir, filepath.FromSlash(results.LogFile(last.Server, last.Scenario, 1, 1)))); err != nil {
		t.Errorf("log of the unfinished cell: %v", err)
	}
}

func TestMergeRefuses(t *testing.T) {
	fx := newFixture(t)
	m := fx.m
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	shards := writeShards(t, in, fx, 2, nil)
	r1, _ := results.Open(shards[0])
	first, _ := r1.ReadManifest()
	r2, _ := results.Open(shards[1])
	orig, _ := r2.ReadManifest()
	for _, tc := range []struct {
		name  string
		edit  func(m, first *results.Manifest) // applied to shard 2
		mixed bool
		want  []string
	}{
		{"matrix", func(m, _ *results.Manifest) { m.Matrix.SHA256 = strings.Repeat("f", 64) }, false, []string{"s2", "ran a different matrix: sha256 ffffffffffff, but matrix.yaml is"}},
		{"profile", func(m, _ *results.Manifest) { m.Profile.Name = "quick" }, false, []string{"shard 1/2) and", "s2 (shard 2/2) ran different profiles: nightly and quick"}},
		{"profile-values", func(m, _ *results.Manifest) { m.Profile.DurationNs = 1 }, false, []string{"ran different profiles: both nightly, but"}},
		{"commit", func(m, _ *results.Manifest) { m.Git.Commit = "fedcba" }, false, []string{"were made from different commits: 0123456789abcdef0123456789abcdef01234567 and fedcba"}},
		{"filters", func(m, _ *results.Manifest) { m.Filters.Servers = []string{"s1"} }, false, []string{"selected different cells: filters (none) and --server s1"}},
		{"loadgen", func(m, _ *results.Manifest) { m.LoadgenVersion = "0.0.1" }, false, []string{"different load generators"}},
		{"runtime", func(m, _ *results.Manifest) { m.Runtime.Name = "docker" }, false, []string{"used different runtimes: process and docker"}},
		{"count", func(m, _ *results.Manifest) { m.Shard = &results.Shard{K: 2, N: 3} }, false, []string{"split the matrix differently: 2 and 3 shards"}},
		{"same-number", func(m, _ *results.Manifest) { m.Shard = &results.Shard{K: 1, N: 2} }, false, []string{"s1 and", "s2 are both shard 1/2"}},
		{"not-a-shard", func(m, _ *results.Manifest) { m.Shard = nil }, false, []string{"s2 is not a shard"}},
		{"cpu", func(m, _ *results.Manifest) { m.Host.CPUModel = "Other CPU" }, false, []string{"ran on different machines: load generator host Test CPU @ 3.0GHz x2 amd64 kernel 6.1.0 and Other CPU x2", "--mixed-hosts"}},
		{"kernel", func(m, _ *results.Manifest) { m.Host.Kernel = "6.12.0" }, false, []string{"different machines"}},
		{"engine-host", func(m, _ *results.Manifest) { m.Runtime.EngineHost = &results.HostInfo{CPUModel: "X", Cores: 8} }, false, []string{"engine host none (servers on the load generator's machine) and X x8"}},
		{"engine", func(m, _ *results.Manifest) { m.Runtime.EngineVersion = "24.0.7" }, false, []string{"Docker engine none and 24.0.7"}},
		{"stray-cell", func(m, _ *results.Manifest) { m.SetCell(results.RefFor("s4", "churn")) }, false, []string{"holds cell churn/s4, which matrix.yaml with filters (none) does not have"}},
		{"duplicate", func(m, first *results.Manifest) { m.SetCell(first.Cells[0]) }, false, []string{"is in two shards", "s1 (shard 1/2) and", "s2 (shard 2/2)"}},
		{"cpu-mixed-still-refuses-commit", func(m, _ *results.Manifest) { m.Host.CPUModel = "Other"; m.Git.Commit = "x" }, true, []string{"different commits"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			man, _ := r2.ReadManifest()
			tc.edit(man, first)
			if err := r2.WriteManifest(man); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := r2.WriteManifest(orig); err != nil {
					t.Fatal(err)
				}
			}()
			out := filepath.Join(dir, "out")
			_, err := Shards(context.Background(), out, shards, Options{Matrix: m, MixedHosts: tc.mixed})
			if err == nil {
				t.Fatal("merged")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
			if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused merge left %s: %v", out, err)
			}
		})
	}
}

func TestMergeHosts(t *testing.T) {
	fx := newFixture(t)
	m := fx.m
	dir := t.TempDir()
	shards := writeShards(t, dir, fx, 3, func(k int, man *results.Manifest) {
		man.Runtime.Endpoint = fmt.Sprintf("tcp://10.0.0.%d:2376", k)
		man.Runtime.TargetHost = fmt.Sprintf("10.0.0.%d", k)
		man.Profile.TargetHost = man.Runtime.TargetHost
		man.Runtime.EngineHost = &results.HostInfo{Hostname: fmt.Sprintf("srv%d", k), CPUModel: "Server CPU", Cores: 16, Arch: "amd64", Kernel: "6.1.0", MemBytes: int64(64-k) << 30}
		if k == 3 {
			man.Host.CPUModel = "Other CPU"
			man.Host.GoVersion = "go1.25"
		}
	})
	if _, err := Shards(context.Background(), dir, shards, Options{Matrix: m}); err == nil || !strings.Contains(err.Error(), "different machines") {
		t.Fatalf("merge of mixed hosts: %v", err)
	}
	res, err := Shards(context.Background(), dir, shards[:2], Options{Matrix: m, ID: "same"})
	if err != nil {
		t.Fatal(err)
	}
	man := res.Manifest
	if machineKey(&man.Host) != "Test CPU @ 3.0GHz x2 amd64 kernel 6.1.0" || !sameMachine(man.Runtime.EngineHost, &results.HostInfo{CPUModel: "Server CPU", Cores: 16, Arch: "amd64", Kernel: "6.1.0"}) {
		t.Errorf("host %s, engine host %s", machineKey(&man.Host), machineKey(man.Runtime.EngineHost))
	}
	if man.Runtime.EngineHost.Hostname != "srv1 | srv2" || man.Runtime.EngineHost.MemBytes != 62<<30 {
		t.Errorf("engine host %+v", man.Runtime.EngineHost)
	}
	if man.Runtime.Endpoint != "tcp://10.0.0.1:2376 | tcp://10.0.0.2:2376" || man.Profile.TargetHost != "10.0.0.1 | 10.0.0.2" || man.Runtime.Info["go"] != "go1.26" {
		t.Errorf("runtime %+v, profile target %q", man.Runtime, man.Profile.TargetHost)
	}
	res, err = Shards(context.Background(), dir, shards, Options{Matrix: m, ID: "mixed", MixedHosts: true})
	if err != nil {
		t.Fatal(err)
	}
	if h := res.Manifest.Host; h.CPUModel != "Test CPU @ 3.0GHz | Other CPU" || h.GoVersion != "go1.26 | go1.25" {
		t.Errorf("mixed host %+v", h)
	}
	if got := res.Manifest.Shards[2].Host.CPUModel; got != "Other CPU" {
		t.Errorf("shard 3's own host %q", got)
	}
}

func TestMergeRunID(t *testing.T) {
	fx := newFixture(t)
	m := fx.m
	dir := t.TempDir()
	shards := writeShards(t, dir, fx, 2, nil)
	ctx := context.Background()
	if _, err := Shards(ctx, dir, shards, Options{Matrix: m, ID: "20261125T200000Z-0123456-s2"}); err == nil || !strings.Contains(err.Error(), "is the id of shard") {
		t.Errorf("merge under a shard's id: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "taken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "taken", "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Shards(ctx, dir, shards, Options{Matrix: m, ID: "taken"}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("merge into an existing run: %v, want ErrExist", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "taken", "keep")); err != nil {
		t.Errorf("existing directory damaged: %v", err)
	}
	if _, err := Shards(ctx, dir, shards, Options{Matrix: m, ID: "../x"}); err == nil {
		t.Error("merged under a bad id")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Shards(cctx, dir, shards, Options{Matrix: m, ID: "cancelled"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled merge: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.Name() == "cancelled" {
			t.Errorf("failed merges left %s", e.Name())
		}
	}
}
