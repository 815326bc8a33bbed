package results

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/matrixbench/matrix/internal/matrix"
	"golang.org/x/sys/unix"
)

// Staged is a run written out of sight and published whole: its files go
// to a temporary directory beside the run's, which Publish renames into
// place, so a crash never leaves half a run that looks whole. Programs that
// make a run from other runs (package merge) write through it.
type Staged struct {
	// Run is where the files go until Publish. Its ID is the final run's,
	// so cell files written through it carry the final run ID.
	Run *Run
	// final is the reserved, empty run directory Publish replaces.
	final      *Run
	resultsDir string
	published  bool
}

// CreateStaged reserves the run id under resultsDir (an empty run
// directory, which List ignores until it has a manifest) and returns a
// staging run beside it. Like Create, it fails wrapping fs.ErrExist when
// the run exists. The caller must Publish or Discard it.
func CreateStaged(resultsDir, id string) (*Staged, error) {
	final, err := Create(resultsDir, id)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(resultsDir, "."+id+".stage-*")
	if err != nil {
		os.Remove(final.Dir)
		return nil, fmt.Errorf("results: staging run %s: %w", id, err)
	}
	return &Staged{Run: &Run{Dir: tmp, ID: id}, final: final, resultsDir: resultsDir}, nil
}

// Publish makes the staged files durable and renames them over the
// reserved run directory in one step, and returns the run. On error the
// staged files are left for Discard.
func (s *Staged) Publish() (*Run, error) {
	if err := syncTree(s.Run.Dir); err != nil {
		return nil, err
	}
	// rename(2) replaces an empty directory atomically (os.Rename
	// refuses any directory as the target, so it cannot do this).
	if err := unix.Rename(s.Run.Dir, s.final.Dir); err != nil {
		return nil, fmt.Errorf("results: publishing %s as %s: %w", s.Run.Dir, s.final.Dir, err)
	}
	s.published = true
	if err := syncDir(s.resultsDir); err != nil {
		return nil, err
	}
	return s.final, nil
}

// Discard removes the staged files and the reserved run directory, leaving
// nothing of the run. After a successful Publish it does nothing.
func (s *Staged) Discard() {
	if s.published {
		return
	}
	_ = os.RemoveAll(filepath.Clean(s.Run.Dir))
	_ = os.Remove(s.final.Dir)
}

// syncTree syncs dir and the directories in it, so that the entries made
// in them survive a crash once the tree is renamed into place.
func syncTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := syncDir(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return syncDir(dir)
}

// CellLogs returns the log files of a cell present in the run directory,
// relative to it and sorted: every regular file named as LogFile names
// them, those of repeats a crash cut short (which no result names)
// included. A server without a directory has none.
func (r *Run) CellLogs(server, scenario string) ([]string, error) {
	if err := checkNames(server, scenario); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(r.Dir, server))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("results: %w", err)
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(scenario) + `\.a[0-9]+\.r[0-9]+\.log$`)
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && re.MatchString(e.Name()) {
			out = append(out, server+"/"+e.Name())
		}
	}
	return out, nil
}

// CopyLog copies the log file (relative to the run directories, as
// "<server>/<name>") from the run src into r, creating the server's
// directory, and syncs the copy. The file must not exist in r. It refuses
// a file outside a server's directory, and fails wrapping fs.ErrNotExist
// when src has no such file.
func (r *Run) CopyLog(src *Run, file string) (err error) {
	server, name, _ := strings.Cut(file, "/")
	if !matrix.ValidName(server) || name == "" || filepath.Base(name) != name || !filepath.IsLocal(name) {
		return fmt.Errorf("results: log %q is not a file in a server's directory", file)
	}
	in, err := os.Open(filepath.Join(src.Dir, server, name))
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	defer in.Close()
	if err := r.mkServerDir(server); err != nil {
		return err
	}
	dst := filepath.Join(r.Dir, server, name)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("results: closing %s: %w", dst, cerr)
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("results: copying %s: %w", in.Name(), err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("results: syncing %s: %w", dst, err)
	}
	return nil
}
