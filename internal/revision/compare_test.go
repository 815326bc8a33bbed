package revision

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestCompareCommits makes a second commit over the fixture and checks
// which servers Compare finds changed, and why.
func TestCompareCommits(t *testing.T) {
	all := []string{"a", "b", "img", "proc"}
	cases := []struct {
		name    string
		change  func(r *repo)
		changed map[string]string // server -> what Why says
	}{
		{"go source of a", func(r *repo) {
			r.edit("servers/a/main.go", "func main() {}", "func main() { println(1) }")
		}, map[string]string{"a": "build.go ./servers/a: files differ"}},
		{"file added to b", func(r *repo) {
			r.write(map[string]string{"servers/b/static/index.html": "hi\n"})
		}, map[string]string{"b": "build.go ./servers/b: files differ"}},
		{"executable bit in a", func(r *repo) {
			if err := os.Chmod(filepath.Join(r.dir, "servers/a/main.go"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{"a": "build.go ./servers/a: files differ"}},
		{"env of b", func(r *repo) {
			r.edit("matrix.yaml", "MODE: fast", "MODE: slow")
		}, map[string]string{"b": "definition: env"}},
		{"image of img", func(r *repo) {
			r.edit("matrix.yaml", "nginx:local", "nginx:other")
		}, map[string]string{"img": "definition: image"}},
		{"command of proc and cpus of a", func(r *repo) {
			r.edit("matrix.yaml", `"{port}"`, `"{port}", -v`)
			r.edit("matrix.yaml", "build: {go: ./servers/a}", "build: {go: ./servers/a}\n    cpus: \"1\"\n    cap_add: [NET_ADMIN]")
		}, map[string]string{"a": "definition: cpus, cap_add", "proc": "definition: process"}},
		{"script of proc (not compared)", func(r *repo) {
			r.edit("run.sh", "1000", "2000")
		}, nil},
		{"positions only", func(r *repo) {
			r.edit("matrix.yaml", "version: 1\n", "# moved\n\nversion: 1\n")
			r.edit("matrix.yaml", "env: {MODE: fast}", "env:\n      MODE: fast")
		}, nil},
		{"go and env together", func(r *repo) {
			r.edit("servers/b/go.mod", "go 1.22", "go 1.23")
			r.edit("matrix.yaml", "MODE: fast", "MODE: slow, EXTRA: x")
		}, map[string]string{"b": "definition: env; build.go ./servers/b: files differ"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			base := r.git("rev-parse", "HEAD")
			tc.change(r)
			r.commit(tc.name)
			p := r.open(base, "main")
			if p.Head.WorkTree || p.Base.WorkTree {
				t.Errorf("a side is the working tree: %+v %+v", p.Base, p.Head)
			}
			c, err := p.Compare(nil)
			if err != nil {
				t.Fatal(err)
			}
			var wantChanged, wantUnchanged []string
			for _, s := range all {
				if _, ok := tc.changed[s]; ok {
					wantChanged = append(wantChanged, s)
				} else {
					wantUnchanged = append(wantUnchanged, s)
				}
			}
			if !reflect.DeepEqual(c.Changed, wantChanged) || !reflect.DeepEqual(c.Unchanged, wantUnchanged) {
				t.Errorf("changed %v unchanged %v, want %v and %v (why %v)", c.Changed, c.Unchanged, wantChanged, wantUnchanged, c.Why)
			}
			for s, want := range tc.changed {
				if got := strings.Join(c.Why[s], "; "); got != want {
					t.Errorf("why %s = %q, want %q", s, got, want)
				}
			}
			if len(c.Skipped) != 0 {
				t.Errorf("skipped %v", c.Skipped)
			}
		})
	}
}

// TestCompareHeadHeadClean compares a clean tree with itself.
func TestCompareHeadHeadClean(t *testing.T) {
	r := newRepo(t)
	// Untracked files outside every build directory, and ignored files
	// inside one, do not make the tree count as changed.
	r.write(map[string]string{"notes.txt": "todo\n", "servers/a/server.bin": "\x7fELF"})
	p := r.open("HEAD", "HEAD")
	if p.Head.WorkTree || p.Base.Commit != p.Head.Commit {
		t.Fatalf("base %+v head %+v, want the same commit, no working tree", p.Base, p.Head)
	}
	if p.Base.Dir == p.Head.Dir || p.Head.Dir == r.dir {
		t.Errorf("sides share a directory or use the repository: %s %s", p.Base.Dir, p.Head.Dir)
	}
	c, err := p.Compare(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Changed) != 0 || len(c.Unchanged) != 4 {
		t.Errorf("changed %v (%v), unchanged %v; want all 4 unchanged", c.Changed, c.Why, c.Unchanged)
	}
}

// TestCompareAbsent checks servers that exist at one side only.
func TestCompareAbsent(t *testing.T) {
	r := newRepo(t)
	base := r.git("rev-parse", "--short", "HEAD")
	// HEAD adds c and removes proc.
	r.edit("matrix.yaml", "  - name: proc\n    protocols: [h1]\n    process: {command: [./run.sh, \"{port}\"]}\n",
		"  - name: c\n    protocols: [h1]\n    image: c:local\n")
	r.commit("c for proc")
	p := r.open(base, "main")

	c, err := p.Compare(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "img"}; !reflect.DeepEqual(c.Unchanged, want) || len(c.Changed) != 0 {
		t.Errorf("changed %v unchanged %v, want unchanged %v", c.Changed, c.Unchanged, want)
	}
	if got := c.Skipped["c"]; !strings.Contains(got, "does not exist at BASE "+base) {
		t.Errorf("skipped c: %q", got)
	}
	if got := c.Skipped["proc"]; !strings.Contains(got, "does not exist at HEAD main (") {
		t.Errorf("skipped proc: %q", got)
	}

	errs := []struct {
		names []string
		want  string
	}{
		{[]string{"a", "c"}, `server "c" does not exist at BASE ` + base},
		{[]string{"proc"}, `server "proc" does not exist at HEAD main (`},
		{[]string{"zzz"}, `server "zzz" does not exist at BASE ` + base},
		{[]string{"zzz"}, ` or at HEAD main (`},
	}
	for _, tc := range errs {
		c, err := p.Compare(tc.names)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compare(%v) = %+v, %v; want an error saying %q", tc.names, c, err, tc.want)
		}
	}
	c, err = p.Compare([]string{"b", "a", "b"})
	if err != nil || !reflect.DeepEqual(c.Unchanged, []string{"b", "a"}) {
		t.Errorf("Compare(b, a, b) = %+v, %v; want b and a unchanged, in that order", c, err)
	}
}

// TestCompareRefused refuses directories the two sides would share or
// that do not exist.
func TestCompareRefused(t *testing.T) {
	cases := []struct {
		name  string
		setup func(r *repo)
		want  string
		leads string // where the error says the path leads, under the repository's parent
	}{
		{"parent directory", func(r *repo) {
			r.edit("matrix.yaml", "build: {go: ./servers/b}", "build: {go: ../elsewhere}")
		}, `server "b" at BASE main (`, "elsewhere"},
		{"absolute path", func(r *repo) {
			r.edit("matrix.yaml", "build: {go: ./servers/b}", "build: {go: /opt/server}")
		}, `build.go "/opt/server" is an absolute path`, ""},
		{"process dir", func(r *repo) {
			r.edit("matrix.yaml", "process: {command: [./run.sh, \"{port}\"]}", "process: {command: [./run.sh], dir: ../..}")
		}, `server "proc" at BASE main (`, ""},
		{"symbolic link", func(r *repo) {
			r.edit("matrix.yaml", "build: {go: ./servers/b}", "build: {go: ./servers/link}")
			if err := os.Symlink(filepath.Dir(r.dir), filepath.Join(r.dir, "servers/link")); err != nil {
				t.Fatal(err)
			}
		}, "is outside the repository", "."},
		{"build directory missing", func(r *repo) {
			r.edit("matrix.yaml", "build: {go: ./servers/b}", "build: {go: ./servers/none}")
		}, `build.go "./servers/none" is not a directory there`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			tc.setup(r)
			r.commit(tc.name)
			p := r.open("main", "main")
			_, err := p.Compare(nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Compare: %v; want an error saying %q", err, tc.want)
			}
			if tc.leads != "" {
				if leads := filepath.Join(filepath.Dir(r.dir), tc.leads); !strings.Contains(err.Error(), "(it leads to "+leads+")") {
					t.Errorf("the error does not say the path leads to %s: %v", leads, err)
				}
			}
			if strings.Contains(err.Error(), p.Base.Dir) {
				t.Errorf("the error names the temporary checkout %s: %v", p.Base.Dir, err)
			}
		})
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"CPUs": "cpus", "CapAdd": "cap_add", "Env": "env", "Process": "process"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCompareRepositoryRoot compares a server built from the root of the
// repository, where a linked worktree has a .git file of its own.
func TestCompareRepositoryRoot(t *testing.T) {
	r := newRepo(t)
	r.edit("matrix.yaml", "  - name: img\n", "  - name: root\n    protocols: [h1]\n    build: {go: .}\n  - name: img\n")
	r.write(map[string]string{"go.mod": "module root\n\ngo 1.22\n"})
	base := r.commit("root server")
	r.edit("servers/a/main.go", "{}", "{ println(3) }")
	r.commit("a changes")
	for _, head := range []string{base, "main"} {
		p := r.open(base, head)
		c, err := p.Compare([]string{"root", "b"})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		if head == "main" {
			want = []string{"root"} // servers/a is in the root's tree
		}
		if !reflect.DeepEqual(c.Changed, want) {
			t.Errorf("head %s: changed %v (%v), want %v", head, c.Changed, c.Why, want)
		}
	}
}
