package revision

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestOpenErrors checks the requests Open refuses, that each error names
// what is wrong, and that a refused request leaves nothing behind.
func TestOpenErrors(t *testing.T) {
	cases := []struct {
		name       string
		setup      func(r *repo) (matrixPath string)
		base, head string
		want       []string // substrings of the error; "{repo}" is the repository
	}{
		{name: "unknown base", base: "nope", head: "HEAD",
			want: []string{`unknown revision "nope" in {repo}`}},
		{name: "unknown head", base: "main", head: "main~5",
			want: []string{`unknown revision "main~5" in {repo}`}},
		{name: "revision like a flag", base: "--output=/tmp/x", head: "HEAD",
			want: []string{`unknown revision "--output=/tmp/x"`}},
		{name: "empty revision", base: "", head: "HEAD",
			want: []string{`unknown revision ""`}},
		{name: "matrix missing at base", base: "v0", head: "HEAD",
			setup: func(r *repo) string {
				r.git("rm", "-q", "matrix.yaml")
				r.commit("no matrix")
				r.git("tag", "v0")
				r.write(map[string]string{"matrix.yaml": fixture})
				r.commit("matrix again")
				return ""
			},
			want: []string{"matrix.yaml does not exist at BASE v0 ("}},
		{name: "matrix missing at head, in a subdirectory", base: "v1", head: "main",
			setup: func(r *repo) string {
				r.git("mv", "matrix.yaml", "bench.yaml")
				r.commit("renamed")
				r.git("tag", "v1", "HEAD~1")
				return filepath.Join(r.dir, "sub", "..", "matrix.yaml")
			},
			want: []string{"matrix.yaml does not exist at HEAD main ("}},
		{name: "dirty tree as base", base: "HEAD", head: "main",
			setup: func(r *repo) string {
				r.edit("servers/a/main.go", "{}", "{ }")
				return ""
			},
			want: []string{`BASE "HEAD" with uncommitted changes in {repo} is ambiguous`, "commit or stash"}},
		{name: "untracked build file as base", base: "@", head: "main",
			setup: func(r *repo) string {
				r.write(map[string]string{"servers/b/new.go": "package main\n"})
				return ""
			},
			want: []string{`BASE "@" with uncommitted changes`}},
		{name: "matrix invalid at base", base: "v0", head: "main",
			setup: func(r *repo) string {
				r.edit("matrix.yaml", "version: 1", "version: 1\nbogus: 2")
				r.commit("broken")
				r.git("tag", "v0")
				r.edit("matrix.yaml", "version: 1\nbogus: 2", "version: 1")
				r.commit("fixed")
				return ""
			},
			want: []string{"at BASE v0 (", ": matrix.yaml:"}},
		{name: "matrix file in no repository", base: "HEAD", head: "HEAD",
			setup: func(r *repo) string {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "matrix.yaml"), []byte(fixture), 0o644); err != nil {
					t.Fatal(err)
				}
				return filepath.Join(dir, "matrix.yaml")
			},
			want: []string{"matrix.yaml is not in a git repository"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			path := filepath.Join(r.dir, "matrix.yaml")
			if tc.setup != nil {
				if p := tc.setup(r); p != "" {
					path = p
				}
			}
			p, err := Open(context.Background(), path, tc.base, tc.head)
			if err == nil {
				p.Close()
				t.Fatalf("Open(%q, %q) succeeded", tc.base, tc.head)
			}
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "{repo}", r.dir); !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			t.Logf("%v", err)
			if strings.Contains(err.Error(), "matrix-ab-") {
				t.Errorf("error names a temporary checkout: %v", err)
			}
			assertClean(t, r)
		})
	}
}

// TestOpenWorkTree checks when the literal HEAD means the working tree.
func TestOpenWorkTree(t *testing.T) {
	cases := []struct {
		name     string
		head     string
		change   func(r *repo)
		workTree bool
		changed  []string
	}{
		{"tracked change", "HEAD", func(r *repo) {
			r.edit("servers/a/main.go", "{}", "{ println(2) }")
		}, true, []string{"a"}},
		{"staged change, @", "@", func(r *repo) {
			r.edit("servers/a/main.go", "{}", "{ println(2) }")
			r.git("add", "servers/a/main.go")
		}, true, []string{"a"}},
		{"matrix definition", "HEAD", func(r *repo) {
			r.edit("matrix.yaml", "MODE: fast", "MODE: slow")
		}, true, []string{"b"}},
		{"untracked file in a build directory", "HEAD", func(r *repo) {
			r.write(map[string]string{"servers/b/extra/data.json": "{}"})
		}, true, []string{"b"}},
		{"untracked file elsewhere", "HEAD", func(r *repo) {
			r.write(map[string]string{"notes/todo.txt": "x"})
		}, false, nil},
		{"ignored file in a build directory", "HEAD", func(r *repo) {
			r.write(map[string]string{"servers/a/server.bin": "x"})
		}, false, nil},
		{"tracked change, head named by branch", "main", func(r *repo) {
			r.edit("servers/a/main.go", "{}", "{ println(2) }")
		}, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			tc.change(r)
			p := r.open("main", tc.head)
			if p.Head.WorkTree != tc.workTree || p.Base.WorkTree {
				t.Fatalf("head %+v, want WorkTree %v", p.Head, tc.workTree)
			}
			if p.Head.Commit != r.git("rev-parse", "HEAD") {
				t.Errorf("head commit %s, want HEAD's", p.Head.Commit)
			}
			if got := p.Head.Dir == r.dir; got != tc.workTree {
				t.Errorf("head dir %s, repository %s", p.Head.Dir, r.dir)
			}
			if s := p.Head.String(); strings.Contains(s, "working tree") != tc.workTree {
				t.Errorf("head is named %q", s)
			}
			c, err := p.Compare(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Changed, tc.changed) {
				t.Errorf("changed %v (%v), want %v", c.Changed, c.Why, tc.changed)
			}
		})
	}
}

// TestCloseLeavesNothing checks that the checkouts are gone from git's
// list and from the disk after Close, also when the second checkout fails.
func TestCloseLeavesNothing(t *testing.T) {
	r := newRepo(t)
	p, err := Open(context.Background(), filepath.Join(r.dir, "matrix.yaml"), "main", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if n := r.worktrees(); n != 3 {
		t.Errorf("%d worktrees while open, want 3", n)
	}
	for _, s := range []Side{p.Base, p.Head} {
		if _, err := os.Stat(s.Matrix); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	assertClean(t, r)
	if _, err := os.Stat(p.Base.Dir); !os.IsNotExist(err) {
		t.Errorf("%s after Close: %v", p.Base.Dir, err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// A filter that fails makes the checkout of the second commit fail
	// after the first has been made.
	base := r.git("rev-parse", "HEAD")
	r.write(map[string]string{".gitattributes": "servers/b/* filter=boom\n"})
	head := r.commit("filtered")
	r.git("config", "filter.boom.smudge", "false")
	r.git("config", "filter.boom.required", "true")
	p, err = Open(context.Background(), filepath.Join(r.dir, "matrix.yaml"), base, head)
	if err == nil {
		p.Close()
		t.Fatal("Open succeeded with a failing checkout")
	}
	if !strings.Contains(err.Error(), "checking out HEAD "+head[:12]) {
		t.Errorf("error does not name the side: %v", err)
	}
	assertClean(t, r)
}

// assertClean fails when the repository has a worktree besides its own or
// a temporary checkout is on the disk.
func assertClean(t *testing.T, r *repo) {
	t.Helper()
	if n := r.worktrees(); n != 1 {
		t.Errorf("%d worktrees left:\n%s", n, r.git("worktree", "list"))
	}
	if left := checkouts(os.TempDir()); len(left) > 0 {
		t.Errorf("temporary checkouts left: %v", left)
	}
}
