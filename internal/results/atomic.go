package results

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// MaxFileSize bounds the manifest and cell files a reader accepts. A cell
// of the nightly profile is a few hundred kilobytes (histograms and time
// series of every repeat); the bound keeps a wrong file from exhausting
// memory.
const MaxFileSize = 64 << 20

// WriteFileAtomic writes data to path with permissions perm so that a
// crash at any moment leaves either the previous content or the new one:
// the data goes to a temporary file in the same directory (so the rename
// cannot cross filesystems), is synced, renamed over path, and the
// directory is synced so the rename itself survives a power loss. On
// error the temporary file is removed and path is left as it was.
//
// The temporary file is named ".<base>.tmp-<random>", the pattern
// Run.RemoveTemp looks for, so that one left by a crash inside a run
// directory is cleaned up when the run is resumed.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("results: syncing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("results: closing %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("results: renaming into %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory so that entries created or renamed in it are
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("results: syncing directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("results: syncing directory %s: %w", dir, err)
	}
	return nil
}

// errTooLarge is returned for files over MaxFileSize.
var errTooLarge = errors.New("file too large")

// readFile reads path, refusing files over MaxFileSize.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("results: reading %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("results: %s: %w (over %d bytes)", path, errTooLarge, MaxFileSize)
	}
	return data, nil
}
