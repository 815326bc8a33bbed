package results

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes data atomically to the file name at the top of the run
// directory, for what is made from the results (report.html,
// summary.md). The name must be a plain file name and not the manifest's:
// the manifest and the cells' files have their own writers.
func (r *Run) WriteFile(name string, data []byte) error {
	if name != filepath.Base(name) || !filepath.IsLocal(name) || name == ManifestFile {
		return fmt.Errorf("results: %q is not a name for a file of its own in a run directory", name)
	}
	return WriteFileAtomic(filepath.Join(r.Dir, name), data, 0o644)
}

// OpenLog opens a log file named by a result (a path relative to the run
// directory, such as Repeat.Log). A name that would lead outside the run
// directory is refused rather than opened: it comes from a file anyone
// may have edited.
func (r *Run) OpenLog(name string) (*os.File, error) {
	rel := filepath.FromSlash(name)
	if !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("results: log path %q is outside the run directory; not read", name)
	}
	f, err := os.Open(filepath.Join(r.Dir, rel))
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	return f, nil
}
