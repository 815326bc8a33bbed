package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/matrixbench/matrix/internal/compare"
	"github.com/matrixbench/matrix/internal/results"
)

// The test binary doubles as the server the end-to-end tests run: with
// testServerEnv set, TestMain serves the contract on $HOST:$PORT instead
// of testing.
const testServerEnv = "MATRIX_TEST_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(testServerEnv) != "" {
		serveContract()
		return
	}
	os.Exit(m.Run())
}

// serveContract answers the servers' contract: GET / and /json, POST
// /upload with the body's length.
func serveContract() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, World!")
	})
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"message":"Hello, World!"}`)
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, n)
	})
	addr := net.JoinHostPort(os.Getenv("HOST"), os.Getenv("PORT"))
	fmt.Fprintln(os.Stderr, "listening on", addr)
	fmt.Fprintln(os.Stderr, http.ListenAndServe(addr, mux))
}

// writeTestMatrix writes a matrix of two servers (this test binary) and
// one row, and returns its path.
func writeTestMatrix(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	y := "version: 1\nprofiles:\n  test: {warmup: 100ms, duration: 1s, repeat: 1, reference: none, interference: 64}\nservers:\n"
	for _, name := range []string{"alpha", "beta"} {
		y += fmt.Sprintf("  - name: %s\n    protocols: [h1]\n    process: {command: [%q, \"-test.run=^$\"], env: {%s: \"1\"}}\n    ready: {timeout: 5s}\n",
			name, exe, testServerEnv)
	}
	y += "scenarios:\n  - {name: get, protocol: h1, method: GET, path: /, connections: 2}\n"
	path := filepath.Join(t.TempDir(), "matrix.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runDirOf returns the single run directory under out.
func runDirOf(t *testing.T, out string) string {
	t.Helper()
	runs, err := results.List(out)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs under %s: %v %v", out, runs, err)
	}
	return runs[0].Dir
}

// lastLine returns the last line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestMergeRealShards runs a matrix in two shards through the real runner
// and process runtime, merges them, and uses the merged run as one made on
// one machine: diff against an unsharded run sees the same method, resume
// fills a merge with a shard missing, rerun replaces a column.
func TestMergeRealShards(t *testing.T) {
	t.Parallel()
	mpath := writeTestMatrix(t)
	dir := t.TempDir()
	run := func(out string, extra ...string) string {
		t.Helper()
		args := append([]string{"run", "--matrix", mpath, "--profile", "test", "--runtime", "process", "--out", out}, extra...)
		code, stdout, stderr := captureRun(args...)
		if code != 0 {
			t.Fatalf("matrix %v: exit %d\n%s\n%s", args, code, stdout, stderr)
		}
		return runDirOf(t, out)
	}
	shard1 := run(filepath.Join(dir, "shard1"), "--shard", "1/2")
	shard2 := run(filepath.Join(dir, "shard2"), "--shard", "2/2")
	// Shard 2 ran on another machine of the same kind (CI gives every
	// job a new host name).
	r2, _ := results.Open(shard2)
	m2, _ := r2.ReadManifest()
	m2.Host.Hostname = "ci-runner-2"
	if err := r2.WriteManifest(m2); err != nil {
		t.Fatal(err)
	}
	resultsDir := filepath.Join(dir, "results")
	single := run(resultsDir)

	code, stdout, stderr := captureRun("merge", resultsDir, shard2, shard1)
	if code != 0 {
		t.Fatalf("merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	merged := lastLine(stdout)
	if !strings.Contains(stdout, "merged 2 shard(s)") || !strings.Contains(stdout, "2 cells (2 ok)") || filepath.Dir(merged) != resultsDir {
		t.Errorf("merge output:\n%s", stdout)
	}
	// The same files as the one-machine run, report included.
	if a, b := relFiles(t, merged), relFiles(t, single); !slices.Equal(a, b) {
		t.Errorf("merged run files %v\none-machine run files %v", a, b)
	}
	man := readManifest(t, merged)
	if man.Shard != nil || len(man.MergedFrom) != 2 || man.State != results.StateFinished ||
		!strings.Contains(man.Host.Hostname, "ci-runner-2") {
		t.Errorf("merged manifest: shard %v merged_from %v state %s host %q", man.Shard, man.MergedFrom, man.State, man.Host.Hostname)
	}

	// diff sees the same method (one kind of machine), cell for cell.
	code, stdout, stderr = captureRun("diff", single, merged, "--format", "json")
	if code == 2 {
		t.Fatalf("diff: exit 2\n%s", stderr)
	}
	var d struct {
		RunMethod []string `json:"run_method_changes"`
		Cells     []struct {
			ID     string   `json:"id"`
			Kind   string   `json:"kind"`
			Method []string `json:"method_changes"`
		} `json:"cells"`
	}
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.RunMethod) > 0 || len(d.Cells) != 2 {
		t.Errorf("diff: run method changes %v, %d cells", d.RunMethod, len(d.Cells))
	}
	for _, c := range d.Cells {
		if c.Kind == compare.MethodChanged.String() || c.Kind == compare.NoFigures.String() {
			t.Errorf("diff cell %s: %s %v", c.ID, c.Kind, c.Method)
		}
	}

	// History lists the merged run once and leaves out nothing else.
	code, stdout, _ = captureRun("history", "--results", resultsDir)
	if code != 0 || !strings.Contains(stdout, filepath.Base(merged)) {
		t.Errorf("history: exit %d\n%s", code, stdout)
	}

	// A merge without shard 2 lists its cell; resume runs exactly it.
	code, stdout, stderr = captureRun("merge", "--id", "partial", resultsDir, shard1)
	if code != 1 || !strings.Contains(stderr, "missing: shard 2/2 was not given") || !strings.Contains(stderr, "matrix run --resume") {
		t.Fatalf("partial merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	partial := lastLine(stdout)
	missing := m2.CellIDs()[0]
	if !strings.Contains(stderr, "  "+missing+"\n") {
		t.Errorf("partial merge does not list %s:\n%s", missing, stderr)
	}
	code, stdout, stderr = captureRun("run", "--resume", partial, "--runtime", "process")
	if code != 0 || !strings.Contains(stdout, "1 cells") || !strings.Contains(stdout, missing) {
		t.Fatalf("resume of the partial merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, c := range readManifest(t, partial).Cells {
		if c.Status != results.StatusOK {
			t.Errorf("after resume %s is %q", c.ID, c.Status)
		}
	}

	// A column rerun replaces the merged run's cell and keeps the old one.
	code, stdout, stderr = captureRun("rerun", merged, "--server", "alpha", "--runtime", "process")
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s\n%s", code, stdout, stderr)
	}
	mr, _ := results.Open(merged)
	c, err := mr.ReadCell("alpha", "get")
	if err != nil {
		t.Fatal(err)
	}
	if c.Attempt != 2 || len(c.Attempts) != 1 || c.Attempts[0].RunID != mr.ID {
		t.Errorf("rerun cell: attempt %d, %d earlier attempts", c.Attempt, len(c.Attempts))
	}
}

// TestMergeCommand checks the command's refusals and usage.
func TestMergeCommand(t *testing.T) {
	t.Parallel()
	mpath := writeTestMatrix(t)
	dir := t.TempDir()
	// Shards written through package results, as the runner writes them.
	shard := func(k int, commit string) string {
		r, err := results.Create(filepath.Join(dir, fmt.Sprint("s", k)), fmt.Sprintf("20261125T200000Z-abc%d", k))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(mpath)
		h := sha256.Sum256(data)
		sum := hex.EncodeToString(h[:])
		m := &results.Manifest{RunID: r.ID, State: results.StateFinished, Matrix: results.MatrixRef{Path: mpath, SHA256: sum},
			Profile: results.ProfileInfo{Name: "test", DurationNs: 1e9, Repeat: 1, Scale: 1}, Runtime: results.RuntimeInfo{Name: "process"},
			Git: results.GitInfo{Commit: commit}, Host: results.LocalHost(), LoadgenVersion: "x", Shard: &results.Shard{K: k, N: 2},
			Cells: []results.CellRef{results.RefFor([]string{"alpha", "beta"}[k-1], "get")}}
		if err := r.WriteManifest(m); err != nil {
			t.Fatal(err)
		}
		return r.Dir
	}
	s1, s2 := shard(1, "aaaa"), shard(2, "bbbb")
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		args   []string
		code   int
		stderr []string
	}{
		{[]string{"merge", out}, 2, []string{"want OUT and at least one shard DIR"}},
		{[]string{"merge", out, filepath.Join(dir, "nothing")}, 2, []string{"nothing is neither a run directory nor a directory of runs"}},
		{[]string{"merge", out, s1, s2}, 2, []string{"different commits: aaaa and bbbb", s1, s2}},
		{[]string{"merge", out, s1, s1}, 2, []string{"are both shard 1/2"}},
		{[]string{"merge", "--matrix", filepath.Join(dir, "none.yaml"), out, s1}, 2, []string{"none.yaml"}},
		// A directory of runs is every run in it; the cells have no
		// results yet, so the merge is incomplete.
		{[]string{"merge", "--id", "m", out, filepath.Join(dir, "s1")}, 1, []string{"no result: 1 cell(s)", "get/alpha (" + s1 + " (shard 1/2))", "missing: shard 2/2 was not given", "  get/beta\n"}},
	} {
		code, stdout, stderr := captureRun(tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s\n%s", tc.args, code, tc.code, stdout, stderr)
		}
		for _, w := range tc.stderr {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr does not contain %q:\n%s", tc.args, w, stderr)
			}
		}
	}
	if code, stdout, _ := captureRun("merge", "-h"); code != 0 || !strings.Contains(stdout, "Usage: matrix merge") {
		t.Errorf("merge -h: exit %d\n%s", code, stdout)
	}
	runs, _ := results.List(out)
	if len(runs) != 1 || runs[0].ID != "m" {
		t.Errorf("runs under %s after the refused merges: %v", out, runs)
	}
}

// relFiles lists the files of a run directory, relative and sorted.
func relFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func readManifest(t *testing.T, dir string) *results.Manifest {
	t.Helper()
	r, err := results.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.ReadManifest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}
