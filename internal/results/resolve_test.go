package results

import (
	"context"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
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

// commitRun describes a finished run of one cell made at a commit.
type commitRun struct {
	id, commit string
	day        int
	dirty      bool
	mergedFrom []string
}

// writeCommitRun writes cr under resultsDir and returns its directory.
func writeCommitRun(t *testing.T, resultsDir string, cr commitRun) string {
	t.Helper()
	r, err := Create(resultsDir, cr.id)
	if err != nil {
		t.Fatal(err)
	}
	m := newManifest(cr.id, time.Date(2026, 1, cr.day, 0, 0, 0, 0, time.UTC))
	m.State, m.Shard, m.MergedFrom = StateFinished, nil, cr.mergedFrom
	m.Git = GitInfo{Commit: cr.commit, Dirty: cr.dirty}
	m.Cells = m.Cells[:1]
	c := sampleCell(t, m.Cells[0].Server, m.Cells[0].Scenario)
	if err := r.WriteCell(c); err != nil {
		t.Fatal(err)
	}
	m.SetCell(RefOf(c))
	if err := r.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
	return r.Dir
}

func TestResolve(t *testing.T) {
	t.Parallel()
	repo, commits := gitRepo(t, 3)
	res := filepath.Join(repo, "results")
	for _, cr := range []commitRun{
		{id: "c0-old", commit: commits[0], day: 1},
		{id: "c0-new", commit: commits[0], day: 2},
		{id: "c0-dirty", commit: commits[0], day: 3, dirty: true},
		{id: "c1-dirty", commit: commits[1], day: 4, dirty: true},
		{id: "c2-shard1", commit: commits[2], day: 5},
		{id: "c2-merged", commit: commits[2], day: 5, mergedFrom: []string{"c2-shard1", "c2-shard2"}},
		{id: "c2-shard2", commit: commits[2], day: 6},
	} {
		writeCommitRun(t, res, cr)
	}

	ctx := context.Background()
	for _, tc := range []struct {
		ref, want, picked string
	}{
		{"HEAD~2", "c0-new", "newest of 3 run(s)"},
		{commits[0][:7], "c0-new", ""},
		{"HEAD~1", "c1-dirty", "dirty tree"},
		{"HEAD", "c2-merged", "newest of 1 run(s)"},
		{filepath.Join(res, "c0-old"), "c0-old", ""},
		{"c0-dirty", "c0-dirty", ""}, // a run id under the results directory
	} {
		got, err := Resolve(ctx, tc.ref, res, repo)
		if err != nil {
			t.Errorf("%s: %v", tc.ref, err)
			continue
		}
		if filepath.Base(got.Dir) != tc.want || !strings.Contains(got.Picked, tc.picked) {
			t.Errorf("%s: picked %s (%q), want %s (%q)", tc.ref, got.Dir, got.Picked, tc.want, tc.picked)
		}
	}
	for _, tc := range []struct{ ref, want string }{
		{"nosuchrev", "not a run directory"},
		{"-x", "not a run directory"},
		{"../x", "not a run directory"},
		{"", "not a run directory"},
	} {
		if _, err := Resolve(ctx, tc.ref, res, repo); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.ref, err, tc.want)
		}
	}
	// A commit git knows but no run was made at.
	empty := filepath.Join(t.TempDir(), "results")
	if _, err := Resolve(ctx, "HEAD", empty, repo); err == nil || !strings.Contains(err.Error(), "no run under") {
		t.Errorf("commit without runs: error %v", err)
	}
	// The resolved run reads whole.
	h, err := Resolve(ctx, "HEAD", res, repo)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ReadRun(h.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Manifest.Git.Commit != commits[2] || d.Status("get/a") != StatusOK {
		t.Errorf("resolved HEAD reads as commit %s, get/a %q", d.Manifest.Git.Commit, d.Status("get/a"))
	}
}

func TestMergedShards(t *testing.T) {
	runs := []RunRef{
		{ID: "a", Manifest: &Manifest{MergedFrom: []string{"s1", "s2"}}},
		{ID: "broken", Err: errTooLarge},
		{ID: "b", Manifest: &Manifest{MergedFrom: []string{"s3"}}},
		{ID: "s1", Manifest: &Manifest{}},
	}
	want := map[string]bool{"s1": true, "s2": true, "s3": true}
	if got := MergedShards(runs); !reflect.DeepEqual(got, want) {
		t.Errorf("MergedShards = %v, want %v", got, want)
	}
}

func TestIsRun(t *testing.T) {
	dir := t.TempDir()
	run := writeCommitRun(t, dir, commitRun{id: "r", commit: "abc", day: 1})
	for _, tc := range []struct {
		dir  string
		want bool
	}{
		{run, true},
		{dir, false},
		{filepath.Join(dir, "nothing"), false},
		{filepath.Join(run, "a"), false},
	} {
		if got := IsRun(tc.dir); got != tc.want {
			t.Errorf("IsRun(%s) = %v, want %v", tc.dir, got, tc.want)
		}
	}
}
