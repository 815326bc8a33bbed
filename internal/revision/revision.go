// Package revision checks out two git revisions of the repository that
// holds a matrix file and says which servers differ between them, for
// `matrix ab BASE HEAD`: both revisions are built and measured in one run,
// on the same machine, so the difference between their numbers is the
// difference between their code.
//
// Each committed revision is checked out into a temporary linked worktree
// (`git worktree add --detach`), so a run made there records the commit as
// any run does; Pair.Close removes them. The literal revision "HEAD" (or
// "@") means the working tree itself when it differs from the HEAD commit
// in a way a build would see; see Open.
//
// Errors are written to follow "matrix ab: " on the command line: they
// name the revision, the file or the server, and how to fix the request.
package revision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
)

// Roles of the two sides, as messages name them.
const (
	RoleBase = "BASE"
	RoleHead = "HEAD"
)

// Side is one of the two revisions.
type Side struct {
	// Role is RoleBase or RoleHead.
	Role string
	// Rev is the revision as given: a branch, a tag, HEAD~1, a hash.
	Rev string
	// Commit is the full hash Rev resolves to. For the working tree it is
	// the commit HEAD points at, which the tree differs from.
	Commit string
	// WorkTree is set when the side is the repository's working tree,
	// uncommitted changes included, rather than a clean checkout.
	WorkTree bool
	// Dir is the root of the side's checkout: a temporary worktree, or the
	// repository itself for the working tree.
	Dir string
	// Matrix is the matrix file in Dir.
	Matrix string
}

// String names the side for messages: "BASE main (1a2b3c4d5e6f)",
// "HEAD 1a2b3c4d5e6f", "HEAD working tree (1a2b3c4d5e6f + uncommitted changes)".
func (s Side) String() string {
	short := s.Commit
	if len(short) > 12 {
		short = short[:12]
	}
	switch {
	case s.WorkTree:
		return fmt.Sprintf("%s working tree (%s + uncommitted changes)", s.Role, short)
	case strings.HasPrefix(s.Commit, s.Rev):
		return fmt.Sprintf("%s %s", s.Role, short)
	default:
		return fmt.Sprintf("%s %s (%s)", s.Role, s.Rev, short)
	}
}

// Pair is two revisions of a matrix's repository, checked out and with
// their matrix files loaded. Close it to remove the checkouts; the
// matrices' paths point into them.
type Pair struct {
	// Repo is the root of the repository's working tree, symbolic links
	// resolved.
	Repo string
	// MatrixFile is the matrix file's path relative to Repo,
	// slash-separated.
	MatrixFile string
	// Base and Head are the two sides.
	Base, Head Side
	// BaseMatrix and HeadMatrix are the matrix file loaded at each side.
	BaseMatrix, HeadMatrix *matrix.Matrix

	tmp   string   // holds the temporary checkouts
	added []string // worktrees this Pair asked git to add
}

// Open resolves base and head in the repository holding the matrix file at
// matrixPath, checks each out and loads its matrix.
//
// A revision that is literally "HEAD" or "@" is the working tree when the
// tree differs from the HEAD commit: a tracked file changed (staged or
// not), the matrix file untracked, or an untracked file that is not
// ignored inside a build directory of the working tree's matrix (a build
// reads every file there, so it would be measured). Untracked files
// elsewhere and ignored files do not count; with no such difference
// "HEAD" is a clean checkout of the HEAD commit like any other revision.
// As head that gives Head.WorkTree; as base it is refused, since "the
// state before my change" is then ambiguous.
//
// Errors come before anything is checked out where they can: a matrix
// file in no git repository, an unknown revision, the working tree named
// as base, the matrix file missing at a revision. On any error nothing is
// left behind.
func Open(ctx context.Context, matrixPath, base, head string) (p *Pair, err error) {
	p, err = locate(ctx, matrixPath)
	if err != nil {
		return nil, err
	}
	sweepStale(ctx, p.Repo)
	p.Base = Side{Role: RoleBase, Rev: base}
	p.Head = Side{Role: RoleHead, Rev: head}
	if err := p.resolve(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			if cerr := p.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("cleaning up: %w", cerr))
			}
			p = nil
		}
	}()
	for _, s := range []*Side{&p.Base, &p.Head} {
		if err := p.checkout(ctx, s); err != nil {
			return p, err
		}
	}
	if p.BaseMatrix, err = load(p.Base); err != nil {
		return p, err
	}
	if p.HeadMatrix, err = load(p.Head); err != nil {
		return p, err
	}
	return p, nil
}

// locate finds the repository holding the matrix file at matrixPath.
func locate(ctx context.Context, matrixPath string) (*Pair, error) {
	abs, err := filepath.Abs(matrixPath)
	if err != nil {
		return nil, fmt.Errorf("matrix file %s: %w", matrixPath, err)
	}
	// Resolve links so the file's path relative to the root is the path
	// git knows it by.
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return nil, fmt.Errorf("matrix file %s: %w", matrixPath, err)
	}
	root, err := topLevel(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("matrix file %s is not in a git repository, so it has no revisions (%v)", matrixPath, err)
	}
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, fmt.Errorf("repository of %s: %w", matrixPath, err)
	}
	rel, err := filepath.Rel(root, filepath.Join(dir, filepath.Base(abs)))
	if err != nil {
		return nil, fmt.Errorf("matrix file %s: %w", matrixPath, err)
	}
	return &Pair{Repo: root, MatrixFile: filepath.ToSlash(rel)}, nil
}

// isWorkTreeRev reports whether rev may mean the working tree.
func isWorkTreeRev(rev string) bool { return rev == "HEAD" || rev == "@" }

// resolve finds both sides' commits, decides whether "HEAD" is the working
// tree, and checks that the matrix file exists at both sides.
func (p *Pair) resolve(ctx context.Context) error {
	for _, s := range []*Side{&p.Base, &p.Head} {
		c, err := revParse(ctx, p.Repo, s.Rev)
		if errors.Is(err, errUnknown) {
			return fmt.Errorf("unknown revision %q in %s", s.Rev, p.Repo)
		}
		if err != nil {
			return fmt.Errorf("%s %q: %w", s.Role, s.Rev, err)
		}
		s.Commit = c
	}
	if isWorkTreeRev(p.Base.Rev) || isWorkTreeRev(p.Head.Rev) {
		changed, err := p.workTreeChanged(ctx)
		if err != nil {
			return err
		}
		if changed && isWorkTreeRev(p.Base.Rev) {
			return fmt.Errorf("BASE %q with uncommitted changes in %s is ambiguous: commit or stash them, or name the commit to compare against (HEAD~1, main, a hash)",
				p.Base.Rev, p.Repo)
		}
		p.Head.WorkTree = changed && isWorkTreeRev(p.Head.Rev)
	}
	for _, s := range []*Side{&p.Base, &p.Head} {
		if s.WorkTree {
			if _, err := os.Stat(filepath.Join(p.Repo, filepath.FromSlash(p.MatrixFile))); err != nil {
				return fmt.Errorf("%s does not exist in the working tree of %s", p.MatrixFile, p.Repo)
			}
		} else if !isBlob(ctx, p.Repo, s.Commit, p.MatrixFile) {
			return fmt.Errorf("%s does not exist at %s", p.MatrixFile, s)
		}
	}
	return nil
}

// workTreeChanged reports whether the working tree differs from the HEAD
// commit in a way that matters (see Open).
func (p *Pair) workTreeChanged(ctx context.Context) (bool, error) {
	changes, err := status(ctx, p.Repo)
	if err != nil {
		return false, fmt.Errorf("status of %s: %w", p.Repo, err)
	}
	watched := []string{p.MatrixFile}
	// A matrix that does not load names no directory; it is loaded again
	// at each side, which reports the problem.
	if m, err := matrix.Load(filepath.Join(p.Repo, filepath.FromSlash(p.MatrixFile))); err == nil {
		for _, s := range m.Servers {
			for _, in := range buildInputs(s) {
				if rel, ok := within(p.Repo, m.Resolve(in.path)); ok {
					watched = append(watched, rel)
				}
			}
		}
	}
	for _, c := range changes {
		if !c.untracked {
			return true, nil
		}
		for _, w := range watched {
			if overlaps(c.path, w) {
				return true, nil
			}
		}
	}
	return false, nil
}

// overlaps reports whether the slash-separated paths a and b (a directory
// may end in "/") are the same or one holds the other.
func overlaps(a, b string) bool {
	a, b = strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/")
	if a == "." || b == "." || a == b {
		return true
	}
	return strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// checkout gives s a directory: the repository for the working tree, a
// new detached worktree of its commit otherwise.
func (p *Pair) checkout(ctx context.Context, s *Side) error {
	if s.WorkTree {
		s.Dir = p.Repo
		s.Matrix = filepath.Join(s.Dir, filepath.FromSlash(p.MatrixFile))
		return nil
	}
	if p.tmp == "" {
		// The pid in the name lets a later Open remove what a runner
		// killed before its Close left behind (sweepStale).
		tmp, err := os.MkdirTemp("", fmt.Sprintf("matrix-ab-%d-", os.Getpid()))
		if err != nil {
			return fmt.Errorf("checking out %s: %w", s, err)
		}
		p.tmp = tmp
		// Resolved, so paths under it compare with resolved paths.
		if p.tmp, err = filepath.EvalSymlinks(tmp); err != nil {
			p.tmp = tmp
			return fmt.Errorf("checking out %s: %w", s, err)
		}
	}
	dir := filepath.Join(p.tmp, strings.ToLower(s.Role))
	// Recorded before git runs: a checkout that fails half-way still has
	// to be removed.
	p.added = append(p.added, dir)
	// No hooks: a post-checkout hook of the user's is not ours to run in
	// a scratch checkout.
	if _, err := git(ctx, p.Repo, "-c", "core.hooksPath="+os.DevNull, "worktree", "add", "--detach", dir, s.Commit); err != nil {
		return fmt.Errorf("checking out %s: %w", s, err)
	}
	s.Dir = dir
	s.Matrix = filepath.Join(dir, filepath.FromSlash(p.MatrixFile))
	return nil
}

// load loads the matrix file of s.
func load(s Side) (*matrix.Matrix, error) {
	m, err := matrix.Load(s.Matrix)
	if err != nil {
		msg := err.Error()
		if !s.WorkTree {
			// Name the file as it is in the repository, not in the
			// temporary checkout, which is gone by the time anyone reads
			// the message.
			msg = strings.ReplaceAll(msg, s.Dir+string(filepath.Separator), "")
		}
		return nil, &loadError{msg: fmt.Sprintf("at %s: %s", s, msg), err: err}
	}
	return m, nil
}

// loadError is a matrix file's error at a side, its message rewritten.
type loadError struct {
	msg string
	err error
}

func (e *loadError) Error() string { return e.msg }
func (e *loadError) Unwrap() error { return e.err }

// Close removes the temporary checkouts, from git's list of worktrees and
// from the disk. It is safe to call more than once; the matrices' paths
// are dangling afterwards.
func (p *Pair) Close() error {
	// Cleanup must happen even when the context of the run was cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	stale := false
	for _, dir := range p.added {
		if _, err := git(ctx, p.Repo, "worktree", "remove", "--force", dir); err != nil {
			stale = true
			errs = append(errs, err)
		}
	}
	p.added = nil
	if p.tmp != "" {
		if err := os.RemoveAll(p.tmp); err != nil {
			return errors.Join(append(errs, err)...)
		}
		p.tmp = ""
	}
	if !stale {
		return nil
	}
	// A worktree git could not remove (or only half added) is a
	// directory now gone; prune drops its entry. Prune is not run
	// otherwise because it also drops the entries of the user's own
	// worktrees whose directories are missing, such as one on an
	// unmounted disk.
	if _, err := git(ctx, p.Repo, "worktree", "prune"); err != nil {
		return errors.Join(append(errs, err)...)
	}
	return nil
}
