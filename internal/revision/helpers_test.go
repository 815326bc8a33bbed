package revision

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain gives the tests a temporary directory of their own, so that a
// checkout any test leaves behind is found at the end, and keeps the
// machine's git configuration out of the repositories they make.
func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "revision-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", tmp)
	os.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	// No repository above the test directory may be found by accident.
	os.Setenv("GIT_CEILING_DIRECTORIES", tmp)
	code := m.Run()
	if left := checkouts(tmp); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "temporary checkouts left behind: %v\n", left)
		code = 1
	}
	os.RemoveAll(tmp)
	os.Exit(code)
}

// checkouts lists the temporary checkout directories under tmp.
func checkouts(tmp string) []string {
	left, _ := filepath.Glob(filepath.Join(tmp, "matrix-ab-*"))
	return left
}

// fixture is the matrix every test repository starts with: two Go servers,
// an image and a process command.
const fixture = `version: 1
profiles:
  quick: {warmup: 0s, duration: 1s}
servers:
  - name: a
    protocols: [h1]
    build: {go: ./servers/a}
  - name: b
    protocols: [h1]
    build: {go: ./servers/b}
    env: {MODE: fast}
  - name: img
    protocols: [h1]
    image: nginx:local
  - name: proc
    protocols: [h1]
    process: {command: [./run.sh, "{port}"]}
scenarios:
  - {name: get, protocol: h1, connections: 1}
`

// repo is a throwaway git repository.
type repo struct {
	t   *testing.T
	dir string
}

// newRepo makes a repository holding fixture and its servers in one
// commit.
func newRepo(t *testing.T) *repo {
	t.Helper()
	r := &repo{t: t, dir: filepath.Join(t.TempDir(), "repo")}
	if err := os.Mkdir(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("init", "-q", "-b", "main")
	r.git("config", "user.name", "Matrix Test")
	r.git("config", "user.email", "test@matrix.invalid")
	r.git("config", "commit.gpgsign", "false")
	r.write(map[string]string{
		"matrix.yaml":       fixture,
		"run.sh":            "#!/bin/sh\nexec sleep 1000\n",
		"servers/a/go.mod":  "module a\n\ngo 1.22\n",
		"servers/a/main.go": "package main\n\nfunc main() {}\n",
		"servers/b/go.mod":  "module b\n\ngo 1.22\n",
		"servers/b/main.go": "package main\n\nfunc main() { println(\"b\") }\n",
		".gitignore":        "*.bin\n",
	})
	r.commit("fixture")
	return r
}

// git runs git in the repository and returns its output.
func (r *repo) git(args ...string) string {
	r.t.Helper()
	out, err := exec.Command("git", append([]string{"-C", r.dir}, args...)...).CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// write writes files (relative paths to contents) into the working tree.
func (r *repo) write(files map[string]string) {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// edit replaces old by new in the working tree's file name.
func (r *repo) edit(name, old, new string) {
	r.t.Helper()
	p := filepath.Join(r.dir, filepath.FromSlash(name))
	b, err := os.ReadFile(p)
	if err != nil {
		r.t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		r.t.Fatalf("%s does not contain %q", name, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// commit commits everything and returns the commit's hash.
func (r *repo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// open opens base and head of the repository's matrix and closes the pair
// when the test ends.
func (r *repo) open(base, head string) *Pair {
	r.t.Helper()
	p, err := Open(context.Background(), filepath.Join(r.dir, "matrix.yaml"), base, head)
	if err != nil {
		r.t.Fatalf("Open(%s, %s): %v", base, head, err)
	}
	r.t.Cleanup(func() {
		if err := p.Close(); err != nil {
			r.t.Errorf("Close: %v", err)
		}
	})
	return p
}

// worktrees returns the number of worktrees git lists for the repository.
func (r *repo) worktrees() int {
	r.t.Helper()
	return strings.Count(r.git("worktree", "list", "--porcelain"), "worktree ")
}
