package compare_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matrixbench/matrix/internal/compare"
	"github.com/matrixbench/matrix/internal/compare/comparetest"
	"github.com/matrixbench/matrix/internal/results"
)

// gitRepo makes a repository with n commits and returns it and the
// commits' hashes, oldest first.
func gitRepo(t *testing.T, n int) (string, []string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(cmd.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	var commits []string
	for i := range n {
		git("commit", "-q", "--allow-empty", "-m", "c"+string(rune('0'+i)))
		commits = append(commits, git("rev-parse", "HEAD"))
	}
	return dir, commits
}

func TestResolve(t *testing.T) {
	t.Parallel()
	repo, commits := gitRepo(t, 3)
	res := filepath.Join(repo, "results")
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	one := []comparetest.Cell{{Scenario: "get", Server: "s", RPS: 1000, LatencyUs: 100, Repeats: 1}}
	write := func(id, commit string, created time.Time, dirty bool, merged ...string) {
		comparetest.Write(t, res, comparetest.Run{ID: id, Commit: commit, Created: created, Dirty: dirty, Cells: one, MergedFrom: merged})
	}
	write("c0-old", commits[0], day(1), false)
	write("c0-new", commits[0], day(2), false)
	write("c0-dirty", commits[0], day(3), true)
	write("c1-dirty", commits[1], day(4), true)
	write("c2-shard1", commits[2], day(5), false)
	write("c2-merged", commits[2], day(5), false, "c2-shard1", "c2-shard2")
	write("c2-shard2", commits[2], day(6), false)

	ctx := context.Background()
	for _, tc := range []struct {
		arg, want, picked string
	}{
		{"HEAD~2", "c0-new", "newest of 3 run(s)"},
		{commits[0][:7], "c0-new", ""},
		{"HEAD~1", "c1-dirty", "dirty tree"},
		{"HEAD", "c2-merged", "newest of 1 run(s)"},
		{filepath.Join(res, "c0-old"), "c0-old", ""},
		{"c0-dirty", "c0-dirty", ""}, // a run id under the results directory
	} {
		got, err := compare.Resolve(ctx, tc.arg, res, repo)
		if err != nil {
			t.Errorf("%s: %v", tc.arg, err)
			continue
		}
		if filepath.Base(got.Dir) != tc.want || !strings.Contains(got.Picked, tc.picked) {
			t.Errorf("%s: picked %s (%q), want %s (%q)", tc.arg, got.Dir, got.Picked, tc.want, tc.picked)
		}
	}
	for _, tc := range []struct{ arg, want string }{
		{"nosuchrev", "not a run directory"},
		{"-x", "not a run directory"},
		{"../x", "not a run directory"},
	} {
		if _, err := compare.Resolve(ctx, tc.arg, res, repo); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.arg, err, tc.want)
		}
	}
	// A commit git knows but no run was made at.
	empty := filepath.Join(t.TempDir(), "results")
	if _, err := compare.Resolve(ctx, "HEAD", empty, repo); err == nil || !strings.Contains(err.Error(), "no run under") {
		t.Errorf("commit without runs: error %v", err)
	}
	// The resolved runs load and diff.
	b, _ := compare.Resolve(ctx, "HEAD~2", res, repo)
	h, _ := compare.Resolve(ctx, "HEAD", res, repo)
	br, err := compare.Load(b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	hr, err := compare.Load(h.Dir)
	if err != nil {
		t.Fatal(err)
	}
	d := compare.Diff(br, hr, compare.Options{})
	if d.Base.Commit != commits[0] || d.Head.Commit != commits[2] || len(d.Cells) != 1 || d.Cells[0].Head.Status != results.StatusOK {
		t.Errorf("diff of resolved runs: %+v", d)
	}
}
