package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// goBuildFlags are the flags every server binary is built with. A static
// binary (no cgo) runs in a FROM-scratch image and on any host; -trimpath
// keeps the build directory out of the binary so the bytes depend only on
// the sources.
const goBuildFlags = "build -trimpath -o"

// goBuilder compiles Go servers into a cache directory keyed by a hash of
// their inputs.
type goBuilder struct {
	cacheDir string

	mu      sync.Mutex
	goBin   string
	version string // "go1.26.8", from the go command that will build
}

// toolchain finds the go command and its version once.
func (g *goBuilder) toolchain(ctx context.Context) (string, string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.version != "" {
		return g.goBin, g.version, nil
	}
	bin, err := exec.LookPath("go")
	if err != nil {
		return "", "", fmt.Errorf("runtime: building Go servers needs the go command: %w", err)
	}
	out, err := exec.CommandContext(ctx, bin, "env", "GOVERSION").Output()
	if err != nil {
		return "", "", fmt.Errorf("runtime: %s env GOVERSION: %w", bin, err)
	}
	g.goBin, g.version = bin, strings.TrimSpace(string(out))
	return g.goBin, g.version, nil
}

// inputHash is the hash of everything that determines the binary built from
// dir for goos/goarch: the module's files (sources, go.mod, go.sum), the Go
// version and the build flags.
func (g *goBuilder) inputHash(ctx context.Context, dir, goos, goarch string) (string, error) {
	_, version, err := g.toolchain(ctx)
	if err != nil {
		return "", err
	}
	return treeHash(dir, "go-build-v1", version, goos, goarch, "CGO_ENABLED=0", goBuildFlags)
}

// build compiles the module in dir to a static binary for goos/goarch and
// returns its path, its input hash, and whether a cached binary was reused.
func (g *goBuilder) build(ctx context.Context, name, dir, goos, goarch string) (path, hash string, reused bool, err error) {
	hash, err = g.inputHash(ctx, dir, goos, goarch)
	if err != nil {
		return "", "", false, err
	}
	path = filepath.Join(g.cacheDir, "bin", fmt.Sprintf("%s-%s-%s-%s", name, goos, goarch, hash[:16]))
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return path, hash, true, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", "", false, fmt.Errorf("runtime: build cache: %w", err)
	}
	// Build to a temporary name and rename: a concurrent runner or a crash
	// never leaves a half-written binary under the final name.
	tmp := fmt.Sprintf("%s.tmp-%d-%s", path, os.Getpid(), randomHex(4))
	defer os.Remove(tmp)
	args := append(strings.Fields(goBuildFlags), tmp, ".")
	cmd := exec.CommandContext(ctx, g.goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOWORK=off", "GOFLAGS=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", "", false, fmt.Errorf("runtime: go build %s in %s: %w\n%s", name, dir, err, lastBytes(out.String(), 4096))
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", "", false, fmt.Errorf("runtime: build cache: %w", err)
	}
	return path, hash, false, nil
}

// treeHash returns the hex SHA-256 of salt and of every file under dir: its
// slash-separated relative path, whether it is executable, and its content
// (a symlink's target for links). Version-control directories, and the
// .git file of a linked worktree or submodule, are skipped.
func treeHash(dir string, salt ...string) (string, error) {
	h := sha256.New()
	for _, s := range salt {
		fmt.Fprintf(h, "salt %q\n", s)
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && (d.Name() == ".git" || d.Name() == ".hg" || d.Name() == ".svn") {
			return filepath.SkipDir
		}
		// A linked worktree or a submodule has a .git file naming its
		// repository's directory: where the tree is, not what it holds.
		if !d.IsDir() && d.Name() == ".git" {
			return nil
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("runtime: hash %s: %w", dir, err)
	}
	sort.Strings(files)
	for _, p := range files {
		if err := hashFile(h, dir, p); err != nil {
			return "", fmt.Errorf("runtime: hash %s: %w", dir, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashFile adds one file of a tree to h.
func hashFile(h io.Writer, dir, p string) error {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "link %q %q\n", filepath.ToSlash(rel), target)
	case fi.Mode().IsRegular():
		fmt.Fprintf(h, "file %q %v %d\n", filepath.ToSlash(rel), fi.Mode()&0o111 != 0, fi.Size())
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
	}
	return nil
}

// lastBytes returns the end of s, at most n bytes.
func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// sha256Hex returns the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
