package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// An A/B run (`matrix ab BASE HEAD`) is a directory holding two ordinary
// runs, one per side, measured in one session with their repeats
// interleaved in ABBA order, and ab.json describing the pair:
//
//	<run-id>/ab.json
//	<run-id>/base/manifest.json, <server>/<scenario>.json, logs
//	<run-id>/head/manifest.json, ...
//
// Repeat i of a cell in base and repeat i of the same cell in head ran
// next to each other, so they form a pair. Each side reads like any run
// (`matrix diff <run>/base <run>/head` works, unpaired); `matrix report`
// and `matrix ab` judge the pairs.

// ABFile is the name of an A/B run's own file.
const ABFile = "ab.json"

// The sides' directories in an A/B run.
const (
	ABBaseDir = "base"
	ABHeadDir = "head"
)

// AB describes an A/B run: the content of ab.json.
type AB struct {
	SchemaVersion int       `json:"schema_version"`
	RunID         string    `json:"run_id"`
	State         RunState  `json:"state"`
	Created       time.Time `json:"created"`
	Finished      time.Time `json:"finished,omitzero"`
	Command       []string  `json:"command,omitempty"`
	// Base and Head are the revisions measured.
	Base ABSide `json:"base"`
	Head ABSide `json:"head"`
	// MatrixFile is the matrix file's path in the repository; Repo is the
	// repository's directory.
	MatrixFile string `json:"matrix_file"`
	Repo       string `json:"repo"`
	// Order is the order of each cell's repeats: "ABBA" (A B B A A B ...).
	Order string `json:"order"`
	// Pairs is how many pairs of repeats each cell was measured with.
	Pairs int `json:"pairs"`
	// Threshold is the smallest change (a fraction) the run called, as
	// `matrix ab --threshold` set it; `matrix report` judges with it.
	Threshold float64 `json:"threshold"`
	// Servers are the servers measured; Unchanged those left out because
	// their build inputs and definition are the same at both revisions;
	// Skipped those left out for another reason (absent at one side).
	Servers   []string          `json:"servers"`
	Why       map[string]string `json:"why,omitempty"`
	Unchanged []string          `json:"unchanged,omitempty"`
	Skipped   map[string]string `json:"skipped,omitempty"`
}

// ABSide is one revision of an A/B run.
type ABSide struct {
	// Rev is the revision as given ("main", "HEAD~1", "HEAD").
	Rev string `json:"rev"`
	// Commit is the full commit hash; for the working tree, HEAD's.
	Commit string `json:"commit"`
	// WorkTree is set when the side is the working tree with uncommitted
	// changes.
	WorkTree bool `json:"work_tree,omitempty"`
	// Dir is the side's run directory, relative to the A/B run.
	Dir string `json:"dir"`
}

// IsAB reports whether dir is an A/B run.
func IsAB(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ABFile))
	return err == nil
}

// WriteAB writes ab.json into dir atomically.
func WriteAB(dir string, ab *AB) error {
	ab.SchemaVersion = SchemaVersion
	data, err := json.MarshalIndent(ab, "", "  ")
	if err != nil {
		return fmt.Errorf("results: encoding %s: %w", ABFile, err)
	}
	return WriteFileAtomic(filepath.Join(dir, ABFile), append(data, '\n'), 0o644)
}

// ReadAB reads and checks ab.json in dir.
func ReadAB(dir string) (*AB, error) {
	path := filepath.Join(dir, ABFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("results: %s is not an A/B run (no %s)", dir, ABFile)
	}
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	var ab AB
	if err := json.Unmarshal(data, &ab); err != nil {
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	if err := checkSchema(path, ab.SchemaVersion); err != nil {
		return nil, err
	}
	if ab.Base.Dir != ABBaseDir || ab.Head.Dir != ABHeadDir {
		return nil, fmt.Errorf("results: %s: sides in %q and %q, want %q and %q", path, ab.Base.Dir, ab.Head.Dir, ABBaseDir, ABHeadDir)
	}
	return &ab, nil
}

// ReadABRuns reads both sides of the A/B run in dir.
func ReadABRuns(dir string) (ab *AB, base, head *RunData, err error) {
	if ab, err = ReadAB(dir); err != nil {
		return nil, nil, nil, err
	}
	if base, err = ReadRun(filepath.Join(dir, ab.Base.Dir)); err != nil {
		return nil, nil, nil, err
	}
	if head, err = ReadRun(filepath.Join(dir, ab.Head.Dir)); err != nil {
		return nil, nil, nil, err
	}
	return ab, base, head, nil
}
