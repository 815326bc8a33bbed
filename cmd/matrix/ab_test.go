package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matrixbench/matrix/internal/compare"
	"github.com/matrixbench/matrix/internal/results"
)

// abServer is the throwaway repository's server: the matrix contract over
// HTTP/1.1, with a fixed amount of hashing per request (rounds of SHA-256
// over 32 bytes), so that a commit changing "rounds" changes its CPU per
// request by a known ratio.
const abServer = `package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
)

const rounds = %d

func work() byte {
	var sum [32]byte
	for i := 0; i < rounds; i++ {
		sum = sha256.Sum256(sum[:])
	}
	return sum[0]
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-version" {
		fmt.Println("abtest", rounds)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"text/plain"}
		if work() == 1 {
			w.Header()["X-Rare"] = []string{"1"}
		}
		io.WriteString(w, "Hello, World!")
	})
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		work()
		w.Header()["Content-Type"] = []string{"application/json"}
		io.WriteString(w, ` + "`" + `{"message":"Hello, World!"}` + "`" + `)
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		work()
		io.WriteString(w, strconv.FormatInt(n, 10))
	})
	if err := http.ListenAndServe(os.Getenv("HOST")+":"+os.Getenv("PORT"), mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// abMatrix runs the server pinned to CPU 1 and the load generator to CPU 0,
// so that the server's CPU per request sets the pace.
const abMatrix = `version: 1
profiles:
  ab: {warmup: 300ms, duration: 1500ms, cpus: "1", loadgen_cpus: "0"}
  ab-long: {warmup: 300ms, duration: 2500ms, cpus: "1", loadgen_cpus: "0"}
servers:
  - {name: abtest, protocols: [h1], build: {go: ./server}}
scenarios:
  - {name: get, protocol: h1, method: GET, path: /, connections: 16}
  - {name: get-json, protocol: h1, method: GET, path: /json, connections: 16}
  - {name: post-4k, protocol: h1, method: POST, path: /upload, body_size: 4096, connections: 16}
`

// abRepo makes a git repository holding the server (with rounds as given)
// and the matrix, committed; it returns the repository's directory.
func abRepo(t *testing.T, rounds int) string {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "server"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "server", "go.mod"), []byte("module abtest\n\ngo 1.26\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "server", "main.go"), []byte(fmt.Sprintf(abServer, rounds)), 0o644))
	must(os.WriteFile(filepath.Join(dir, "matrix.yaml"), []byte(abMatrix), 0o644))
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "base")
	return dir
}

// abCommit commits the server with rounds changed.
func abCommit(t *testing.T, dir string, rounds int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "server", "main.go"), []byte(fmt.Sprintf(abServer, rounds)), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "commit", "-q", "-am", fmt.Sprintf("rounds %d", rounds))
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// cpuPerRequest is the server's own CPU per request over a side's
// measured windows: the true cost the A/B should find.
func cpuPerRequest(run *results.RunData, id string) float64 {
	var cpu, reqs float64
	for _, r := range run.Cells[id].Repeats {
		if r.Summarised() && r.ServerCPUSeconds > 0 {
			cpu += r.ServerCPUSeconds
			reqs += float64(r.Result.Requests)
		}
	}
	return cpu / reqs
}

// TestABFindsRegressions commits a change that costs the server more CPU
// per request and checks that `matrix ab HEAD~1 HEAD` calls it: about 20 %
// on every row, about 5 % at least on the GET rows. The detected change is
// logged beside the true one (the server's own CPU per request).
//
// It runs alone in make test (a pinned, CPU-bound server measured while
// other packages' tests run would be judged on their noise).
func TestABFindsRegressions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to int
		mustFind []string // cells that must be REGRESSED
		args     []string
	}{
		{"20pct", 2000, 2500, []string{"get/abtest", "get-json/abtest", "post-4k/abtest"}, nil},
		// A change of about 5 % needs tighter intervals: the GET rows
		// alone, 20 pairs of 2.5 s windows (8 pairs of 1.5 s missed one
		// row in one run of three; 12 pairs missed one row in 3 runs of
		// 6 with the HTTP/1.1 event loops, each time with an interval
		// of about 7 points whose near end fell inside the ±2 % band).
		{"5pct", 2000, 2130, []string{"get/abtest", "get-json/abtest"},
			[]string{"--scenario", "get", "--scenario", "get-json", "--profile", "ab-long", "--repeat", "20"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := abRepo(t, tc.from)
			abCommit(t, repo, tc.to)
			out := filepath.Join(t.TempDir(), "results")
			code, stdout, stderr := captureRun(append([]string{"ab", "HEAD~1", "HEAD", "--matrix", filepath.Join(repo, "matrix.yaml"),
				"--runtime", "process", "--out", out}, tc.args...)...)
			if code != exitFailedCells {
				t.Fatalf("exit %d, want 1 (regressed)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			dirs, _ := filepath.Glob(filepath.Join(out, "*", results.ABFile))
			if len(dirs) != 1 {
				t.Fatalf("A/B runs %v, want one", dirs)
			}
			_, base, head, err := results.ReadABRuns(filepath.Dir(dirs[0]))
			if err != nil {
				t.Fatal(err)
			}
			res := compare.Diff(base, head, compare.Options{Paired: true})
			kinds := map[string]compare.Kind{}
			for _, c := range res.Cells {
				kinds[c.ID] = c.Kind
				if c.RPS == nil {
					continue
				}
				trueChange := cpuPerRequest(head, c.ID)/cpuPerRequest(base, c.ID) - 1
				t.Logf("%s: %s; req/s %+.1f%% [%+.1f%%, %+.1f%%] p=%.3f; server CPU per request %+.1f%%",
					c.ID, c.Kind, 100*c.RPS.Change, 100*c.RPS.CILo, 100*c.RPS.CIHi, c.RPS.P, 100*trueChange)
			}
			for _, id := range tc.mustFind {
				if kinds[id] != compare.Regressed {
					t.Errorf("%s: %s, want regressed\n%s", id, kinds[id], stdout)
				}
			}
			if !strings.Contains(stdout, "REGRESSED") || !strings.Contains(stdout, "pairs of adjacent repeats (ABBA order)") {
				t.Errorf("the verdict does not say REGRESSED or how it judged:\n%s", stdout)
			}
		})
	}
}

// TestABBadInput checks that each mistake is refused before anything runs,
// with exit 2 and a message naming it.
func TestABBadInput(t *testing.T) {
	t.Parallel()
	repo := abRepo(t, 10)
	mf := filepath.Join(repo, "matrix.yaml")
	dirty := abRepo(t, 10)
	if err := os.WriteFile(filepath.Join(dirty, "server", "main.go"), []byte(fmt.Sprintf(abServer, 11)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown revision", []string{"ab", "nope", "HEAD", "--matrix", mf}, `unknown revision "nope"`},
		{"dirty tree as BASE", []string{"ab", "HEAD", "HEAD", "--matrix", filepath.Join(dirty, "matrix.yaml")}, "uncommitted changes"},
		{"server absent", []string{"ab", "HEAD", "HEAD", "--matrix", mf, "--server", "zzz"}, `server "zzz" does not exist`},
		{"one revision", []string{"ab", "HEAD", "--matrix", mf}, "want BASE and HEAD"},
		{"too few pairs", []string{"ab", "HEAD", "HEAD", "--matrix", mf, "--repeat", "0"}, "--repeat 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "results")
			code, stdout, stderr := captureRun(append(tc.args, "--out", out)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d (want 2), stderr does not say %q\nstdout:\n%s\nstderr:\n%s", code, tc.want, stdout, stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a refused A/B made %s", out)
			}
		})
	}
	// Nothing changed and no server named: nothing to measure, exit 0.
	code, stdout, stderr := captureRun("ab", "HEAD", "HEAD", "--matrix", mf, "--out", filepath.Join(t.TempDir(), "r"))
	if code != exitOK || !strings.Contains(stdout, "nothing to measure") || !strings.Contains(stdout, "unchanged between the revisions, not measured: abtest") {
		t.Errorf("A/A without --server: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestHogIsInterference runs the same commit twice, the second time with a
// CPU hog on the server's core during the first part of the run: the
// hogged cells are suspect (interference), figures kept, and `matrix diff`
// of the two runs calls nothing REGRESSED. It runs alone in make test, as
// TestABFindsRegressions does.
func TestHogIsInterference(t *testing.T) {
	repo := abRepo(t, 2000)
	mf := filepath.Join(repo, "matrix.yaml")
	out := filepath.Join(t.TempDir(), "results")
	// Three repeats give each run a noise floor.
	args := []string{"run", "--matrix", mf, "--profile", "ab", "--runtime", "process", "--out", out}
	mf3 := filepath.Join(repo, "matrix3.yaml")
	if err := os.WriteFile(mf3, []byte(strings.Replace(abMatrix, `loadgen_cpus: "0"}`, `loadgen_cpus: "0", repeat: 3}`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	args[2] = mf3
	code, stdout, stderr := captureRun(args...)
	if code != exitOK {
		t.Fatalf("quiet run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// The hog spins on CPU 1, the server's, for the first 12 s of the
	// second run: long enough to outlast a repeat measured again. It is
	// started by a shell that exits at once, so that it is nobody's child
	// here, as another user's process would be (the host gate passes over
	// the runner's own children: its servers).
	b, err := exec.Command("sh", "-c", "taskset -c 1 sh -c 'while :; do :; done' >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Fatalf("starting the hog: %v", err)
	}
	hogPID, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("the hog's pid %q: %v", b, err)
	}
	stopHog := func() { syscall.Kill(hogPID, syscall.SIGKILL) }
	defer stopHog()
	// The host gate names the hog; --strict-host refuses to run beside it.
	code, stdout, stderr = captureRun(append(slices.Clone(args), "--strict-host")...)
	if code != exitUsage || !strings.Contains(stdout, "warning: host: busy: pid") || !strings.Contains(stderr, "--strict-host: the host is not quiet") {
		t.Errorf("--strict-host beside a hog: exit %d, want 2 naming the busy process\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	go func() { <-time.After(12 * time.Second); stopHog() }()
	code, stdout, stderr = captureRun(args...)
	t.Logf("hogged run:\n%s", stdout)
	if code != exitFailedCells || !strings.Contains(stdout, "interference") {
		t.Fatalf("hogged run: exit %d, want 1 with suspect (interference) cells\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	runs, _ := filepath.Glob(filepath.Join(out, "*", "manifest.json"))
	if len(runs) != 2 {
		t.Fatalf("runs %v, want 2", runs)
	}
	for i, m := range runs {
		run, err := results.ReadRun(filepath.Dir(m))
		if err != nil {
			t.Fatal(err)
		}
		// The hogged run's floor leaves its hogged cells out: their spread
		// is the hog's.
		n := run.Manifest.Noise
		wantCells := 3
		if i == 1 {
			wantCells = 3 - interferedCells(run)
		}
		if n == nil || n.Reference == nil || len(n.Reference.Samples) != 3 || n.Cells != wantCells || n.Floor <= 0 {
			t.Errorf("run %d: noise %+v, want %d cells with a floor and a reference measured 3 times", i+1, n, wantCells)
		}
		if i == 1 {
			c := run.Cells["get/abtest"]
			if c == nil || c.Reason != results.ReasonInterference || !c.Repeats[0].Interference.Remeasured || c.Repeats[0].Interference.Cores <= 0.1 {
				t.Errorf("hogged get/abtest: %+v, want suspect (interference) with its first repeat measured again", c)
			}
		}
	}
	code, stdout, stderr = captureRun("diff", filepath.Dir(runs[0]), filepath.Dir(runs[1]))
	t.Logf("diff:\n%s", stdout)
	if code != exitOK || strings.Contains(stdout, "REGRESSED") || !strings.Contains(stdout, "other work on the host interfered") {
		t.Errorf("diff: exit %d, want 0 with the hogged repeats left out\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// interferedCells counts a run's cells marked suspect (interference).
func interferedCells(run *results.RunData) int {
	n := 0
	for _, c := range run.Cells {
		if c.Reason == results.ReasonInterference {
			n++
		}
	}
	return n
}
