package matrix

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Resolve returns p made absolute against the matrix file's directory.
func (m *Matrix) Resolve(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(m.Dir, p)
}

// CheckPaths checks, for the servers of cells, that what the files name
// exists: a go.mod in every Go build directory, a Dockerfile in every
// docker build context, the process working directory. Parse does not
// look at the filesystem (a matrix describes); `matrix validate` and
// `matrix run` call this so a wrong path fails before anything runs.
func (m *Matrix) CheckPaths(cells []Cell) error {
	var errs []error
	seen := map[string]bool{}
	for _, c := range cells {
		s := c.Server
		if seen[s.Name] {
			continue
		}
		seen[s.Name] = true
		i := m.serverIndex(s.Name)
		if b := s.Build; b != nil {
			if b.Go != "" {
				errs = append(errs, m.needFile(b.Pos, fmt.Sprintf("servers[%d].build.go", i), b.Go, "go.mod"))
			}
			if b.Dockerfile != "" {
				errs = append(errs, m.needFile(b.Pos, fmt.Sprintf("servers[%d].build.dockerfile", i), b.Dockerfile, "Dockerfile"))
			}
		}
		if s.Process != nil && s.Process.Dir != "" {
			errs = append(errs, m.needFile(s.Process.DirPos, fmt.Sprintf("servers[%d].process.dir", i), s.Process.Dir, ""))
		}
	}
	return errors.Join(errs...)
}

// needFile checks that dir (relative to the matrix) is a directory holding
// file (or just a directory when file is empty).
func (m *Matrix) needFile(at Pos, field, dir, file string) error {
	full := m.Resolve(dir)
	st, err := os.Stat(full)
	switch {
	case err != nil:
		return &Error{File: m.Path, Line: at.Line, Column: at.Column, Field: field, Msg: fmt.Sprintf("directory %s: %v", dir, errors.Unwrap(err))}
	case !st.IsDir():
		return &Error{File: m.Path, Line: at.Line, Column: at.Column, Field: field, Msg: fmt.Sprintf("%s is not a directory", dir)}
	}
	if file == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(full, file)); err != nil {
		return &Error{File: m.Path, Line: at.Line, Column: at.Column, Field: field, Msg: fmt.Sprintf("%s has no %s", dir, file)}
	}
	return nil
}

// serverIndex returns the index of the server called name, or -1.
func (m *Matrix) serverIndex(name string) int {
	for i, s := range m.Servers {
		if s.Name == name {
			return i
		}
	}
	return -1
}
