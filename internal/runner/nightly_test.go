package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/runner"
)

// nightlyMatrix is the matrix of the nightly test's repository at its first
// commit: go-stdlib on h1 and h2c, and a second column that the second
// commit breaks.
const nightlyMatrix = `version: 1
profiles:
  quick: {warmup: 200ms, duration: 1s, reference: none, interference: 64}
servers:
  - name: go-stdlib
    protocols: [h1, h2c]
    build: {go: ./servers/go-stdlib}
  - name: victim
    protocols: [h1]
%s
scenarios:
  - {name: get-simple, protocol: h1, connections: 4}
  - {name: get-simple-h2, protocol: h2c, connections: 2, streams: 4}
`

const (
	victimWorks  = "    build: {go: ./servers/go-stdlib}"
	victimBroken = `    process: {command: ["false"]}`
)

// scriptResult is how a run of the script ended.
type scriptResult struct {
	code int
	out  string
}

// nightlyRepo is a git repository holding scripts/nightly.sh, a copy of
// servers/go-stdlib and a matrix, for the script to run in.
type nightlyRepo struct {
	t       *testing.T
	dir     string
	results string
	env     []string
}

// TestNightlyScript runs scripts/nightly.sh end to end on a quick profile
// with the process runtime, in a repository of its own with two commits:
// a first nightly run (no base: exit 0), a second one at a newer commit
// whose matrix process is killed with SIGKILL mid-run (the script exits
// non-zero and says to resume), a third invocation that resumes that run
// directory instead of starting over, finishes every cell, diffs against
// the first run and exits 1 on the new dnf. The heartbeat and the
// watchdog are checked along the way.
func TestNightlyScript(t *testing.T) {
	for _, tool := range []string{"bash", "git", "jq", "flock", "setsid"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("MATRIX_REQUIRE_PEERS") == "1" {
				t.Fatalf("scripts/nightly.sh needs %s (MATRIX_REQUIRE_PEERS=1)", tool)
			}
			t.Skipf("scripts/nightly.sh needs %s", tool)
		}
	}
	r := newNightlyRepo(t)
	r.commit(victimWorks, "first")

	// 1. The first nightly: nothing to compare with, every cell ok.
	code, out := r.script(context.Background())
	if code != 0 || !strings.Contains(out, "nothing to compare with") {
		t.Fatalf("first nightly: exit %d, want 0\n%s", code, out)
	}
	first := r.runs()
	if len(first) != 1 || first[0].Manifest.State != results.StateFinished {
		t.Fatalf("first nightly: runs %+v", first)
	}
	r.wantBeat("passed")

	// 2. A newer commit breaks the victim; its nightly is killed in the
	// middle of its last cell.
	r.commit(victimBroken, "second")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan scriptResult, 1)
	go func() {
		code, out := r.script(ctx)
		done <- scriptResult{code, out}
	}()
	pid := r.awaitCell("get-simple-h2/go-stdlib", done)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing matrix run (pid %d): %v", pid, err)
	}
	res := <-done
	if res.code == 0 || !strings.Contains(res.out, "run this script again to resume") {
		t.Fatalf("killed nightly: exit %d, want non-zero and a word on resuming\n%s", res.code, res.out)
	}
	killed := r.newRun(first)
	man := readManifest(t, killed)
	if man.State != results.StateRunning {
		t.Fatalf("killed run %s: state %s, want running (killed runs cannot say otherwise)", killed, man.State)
	}
	okCell := readCell(t, killed, "go-stdlib", "get-simple")
	r.wantBeat("failed")
	r.watchdog(pid, "running", 0, 1, "process "+strconv.Itoa(pid)+" is gone")

	// 3. The next invocation resumes the killed run, finishes it and
	// reports the new dnf against the first run.
	code, out = r.script(context.Background())
	if code != 1 || !strings.Contains(out, "resuming "+killed) || !strings.Contains(out, "NEW DNF    get-simple/victim  ok -> dnf") {
		t.Fatalf("resumed nightly: exit %d, want 1, a resume of %s and the new dnf\n%s", code, killed, out)
	}
	if !strings.Contains(out, "base: "+first[0].Dir) {
		t.Errorf("resumed nightly did not compare with the first run %s:\n%s", first[0].Dir, out)
	}
	if runs := r.runs(); len(runs) != 2 {
		t.Fatalf("%d runs after the resume, want 2 (the resume made a new run?)", len(runs))
	}
	man = readManifest(t, killed)
	if man.State != results.StateFinished {
		t.Errorf("resumed run: state %s, want finished", man.State)
	}
	// go-stdlib may be suspect on a busy machine, never dnf; the victim
	// is dnf.
	for _, c := range man.Cells {
		okish := c.Status == results.StatusOK || c.Status == results.StatusSuspect
		if c.Server == "victim" && c.Status != results.StatusDNF || c.Server != "victim" && !okish {
			t.Errorf("resumed run: cell %s is %s (%s)", c.ID, c.Status, c.Reason)
		}
	}
	if len(man.Cells) != 3 {
		t.Errorf("resumed run lists %d cells, want 3", len(man.Cells))
	}
	if again := readCell(t, killed, "go-stdlib", "get-simple"); !again.Started.Equal(okCell.Started) || again.Attempt != okCell.Attempt {
		t.Errorf("the resume ran the finished cell get-simple/go-stdlib again (started %v, then %v)", okCell.Started, again.Started)
	}
	if b := r.wantBeat("regressed"); b.Run != killed {
		t.Errorf("heartbeat names run %q, want %q", b.Run, killed)
	}

	// 4. The watchdog: a finished script is not stalled; a live runner
	// with a fresh beat is not; a silent one is.
	r.watchdog(0, "", 0, 0, "state regressed")
	r.watchdog(os.Getpid(), "running", 0, 0, "last beat")
	r.watchdog(os.Getpid(), "running", time.Hour, 1, "STALLED: no beat for")
}

func newNightlyRepo(t *testing.T) *nightlyRepo {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	r := &nightlyRepo{t: t, dir: filepath.Join(tmp, "repo"), results: filepath.Join(tmp, "results")}
	bin := filepath.Join(tmp, "matrix")
	build := exec.Command("go", "build", "-o", bin, "./cmd/matrix")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building matrix: %v\n%s", err, out)
	}
	for _, f := range []string{"scripts/nightly.sh", "servers/go-stdlib/go.mod", "servers/go-stdlib/main.go"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(r.dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "MATRIX_SHARD", "JOB_COMPLETION_INDEX", "MATRIX_SHARD_COUNT", "PROFILE", "RESULTS", "HEARTBEAT", "THRESHOLD", "MATRIX_BIN":
		default:
			r.env = append(r.env, kv)
		}
	}
	r.env = append(r.env, "PROFILE=quick", "RESULTS="+r.results, "MATRIX_BIN="+bin,
		"GIT_AUTHOR_NAME=nightly", "GIT_AUTHOR_EMAIL=nightly@example.invalid",
		"GIT_COMMITTER_NAME=nightly", "GIT_COMMITTER_EMAIL=nightly@example.invalid")
	r.git("init", "-q")
	return r
}

// commit writes the matrix with the victim's lines and commits everything.
func (r *nightlyRepo) commit(victim, msg string) {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, "matrix.yaml"), []byte(strings.Replace(nightlyMatrix, "%s", victim, 1)), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.git("add", ".")
	r.git("commit", "-q", "-m", msg)
}

func (r *nightlyRepo) git(args ...string) {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = r.dir, r.env
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// script runs scripts/nightly.sh with the process runtime and returns its
// exit status and output.
func (r *nightlyRepo) script(ctx context.Context) (int, string) {
	cmd := exec.CommandContext(ctx, filepath.Join(r.dir, "scripts", "nightly.sh"), "--runtime", "process")
	cmd.Env = r.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		r.t.Errorf("running nightly.sh: %v", err)
		return -1, out.String()
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

func (r *nightlyRepo) heartbeatPath() string {
	return filepath.Join(r.results, "nightly.heartbeat.json")
}

// awaitCell waits until the runner's heartbeat says cell is running and
// returns the runner's pid. The script ending first fails the test.
func (r *nightlyRepo) awaitCell(cell string, done <-chan scriptResult) int {
	r.t.Helper()
	for {
		select {
		case res := <-done:
			r.t.Fatalf("the nightly script ended (exit %d) before cell %s started:\n%s", res.code, cell, res.out)
		case <-time.After(10 * time.Millisecond):
		}
		b, err := runner.ReadHeartbeat(r.heartbeatPath())
		if err == nil && b.State == results.StateRunning && b.Current != nil && b.Current.Cell == cell {
			if b.Last == nil || b.RepeatsDone < 1 {
				r.t.Fatalf("heartbeat at %s names no finished repeat: %+v", cell, b)
			}
			return b.PID
		}
	}
}

// wantBeat checks the heartbeat's state.
func (r *nightlyRepo) wantBeat(state string) *runner.Heartbeat {
	r.t.Helper()
	b, err := runner.ReadHeartbeat(r.heartbeatPath())
	if err != nil {
		r.t.Fatal(err)
	}
	if string(b.State) != state || b.Time.IsZero() {
		r.t.Errorf("heartbeat: state %q at %v, want %q", b.State, b.Time, state)
	}
	return b
}

// watchdog runs nightly.sh --watchdog 600 against the current heartbeat,
// or, with a state, against one written for pid that many seconds old,
// and checks its exit status and output.
func (r *nightlyRepo) watchdog(pid int, state string, age time.Duration, code int, says string) {
	r.t.Helper()
	if state != "" {
		data, err := json.Marshal(runner.Heartbeat{PID: pid, Run: "x", State: results.RunState(state), Time: time.Now().Add(-age).UTC()})
		if err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(r.heartbeatPath(), data, 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(r.dir, "scripts", "nightly.sh"), "--watchdog", "600")
	cmd.Env = r.env
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != code || !strings.Contains(string(out), says) {
		r.t.Errorf("watchdog (pid %d, %q, %v old): exit %d, want %d and %q\n%s", pid, state, age, cmd.ProcessState.ExitCode(), code, says, out)
	}
}

// runs lists the runs under the results directory.
func (r *nightlyRepo) runs() []results.RunRef {
	r.t.Helper()
	runs, err := results.List(r.results)
	if err != nil {
		r.t.Fatal(err)
	}
	return runs
}

// newRun returns the directory of the one run not among before.
func (r *nightlyRepo) newRun(before []results.RunRef) string {
	r.t.Helper()
	var found []string
	for _, run := range r.runs() {
		old := false
		for _, b := range before {
			old = old || b.Dir == run.Dir
		}
		if !old {
			found = append(found, run.Dir)
		}
	}
	if len(found) != 1 {
		r.t.Fatalf("new runs %v, want one", found)
	}
	return found[0]
}

func readManifest(t *testing.T, dir string) *results.Manifest {
	t.Helper()
	run, err := results.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := run.ReadManifest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readCell(t *testing.T, dir, server, scenario string) *results.Cell {
	t.Helper()
	run, err := results.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := run.ReadCell(server, scenario)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
