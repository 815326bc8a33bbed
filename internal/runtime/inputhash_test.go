package runtime

import (
	"os"
	"path/filepath"
	"testing"
)

// TestInputHash checks what changes the hash of a tree and what does not.
func TestInputHash(t *testing.T) {
	base := map[string]string{"go.mod": "module x\n", "main.go": "package main\n", "sub/data.txt": "1"}
	cases := []struct {
		name   string
		change func(dir string) error
		same   bool
	}{
		{"nothing", func(string) error { return nil }, true},
		{"content", func(d string) error { return os.WriteFile(filepath.Join(d, "sub/data.txt"), []byte("2"), 0o644) }, false},
		{"new file", func(d string) error { return os.WriteFile(filepath.Join(d, "new.go"), nil, 0o644) }, false},
		{"renamed", func(d string) error { return os.Rename(filepath.Join(d, "sub"), filepath.Join(d, "sub2")) }, false},
		{"executable bit", func(d string) error { return os.Chmod(filepath.Join(d, "main.go"), 0o755) }, false},
		{"symlink target", func(d string) error { return os.Symlink("main.go", filepath.Join(d, "link")) }, false},
		{".git file of a submodule", func(d string) error {
			return os.WriteFile(filepath.Join(d, "sub", ".git"), []byte("gitdir: /elsewhere/.git/worktrees/x\n"), 0o644)
		}, true},
		{".git file of a linked worktree", func(d string) error {
			return os.WriteFile(filepath.Join(d, ".git"), []byte("gitdir: /repo/.git/worktrees/base\n"), 0o644)
		}, true},
		{".git directory", func(d string) error {
			if err := os.Mkdir(filepath.Join(d, ".git"), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(d, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
		}, true},
	}
	want := hashOf(t, t.TempDir(), base, func(string) error { return nil })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := hashOf(t, t.TempDir(), base, tc.change)
			if (got == want) != tc.same {
				t.Errorf("hash %s, unchanged tree %s; want them equal: %v", got, want, tc.same)
			}
		})
	}
}

// hashOf writes files into dir, applies change and returns InputHash(dir).
func hashOf(t *testing.T, dir string, files map[string]string, change func(string) error) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := change(dir); err != nil {
		t.Fatal(err)
	}
	h, err := InputHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
