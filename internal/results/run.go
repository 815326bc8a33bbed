package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
)

// ManifestFile is the name of the manifest in a run directory.
const ManifestFile = "manifest.json"

// filePerm is the permission of the files a run directory holds: anyone
// on the machine may read results, only their owner change them.
const filePerm = 0o644

// runIDTime is the layout of the timestamp that starts a run ID: UTC,
// sortable, and free of characters that need quoting in a shell.
const runIDTime = "20060102T150405Z"

// NewRunID returns the ID of a run started at now from the commit whose
// short hash is shortCommit ("nogit" when empty), such as
// "20261125T204500Z-abc1234".
func NewRunID(now time.Time, shortCommit string) string {
	if shortCommit == "" {
		shortCommit = "nogit"
	}
	return now.UTC().Format(runIDTime) + "-" + shortCommit
}

// runIDRE is the shape of a run ID (also of names given to merged runs).
var runIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Run is one run directory.
type Run struct {
	// Dir is the run directory.
	Dir string
	// ID is the run's ID.
	ID string
}

// Create makes the directory of a new run, id, under resultsDir (created
// if needed). It fails, wrapping fs.ErrExist, if the run already exists.
func Create(resultsDir, id string) (*Run, error) {
	if !runIDRE.MatchString(id) {
		return nil, fmt.Errorf("results: bad run id %q", id)
	}
	if err := os.MkdirAll(resultsDir, 0o755); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	dir := filepath.Join(resultsDir, id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("results: creating run: %w", err)
	}
	if err := syncDir(resultsDir); err != nil {
		return nil, err
	}
	return &Run{Dir: dir, ID: id}, nil
}

// Open opens an existing run directory; its manifest must be readable.
func Open(dir string) (*Run, error) {
	r := &Run{Dir: dir}
	m, err := r.ReadManifest()
	if err != nil {
		return nil, err
	}
	r.ID = m.RunID
	return r, nil
}

// ManifestPath returns the path of the run's manifest.
func (r *Run) ManifestPath() string { return filepath.Join(r.Dir, ManifestFile) }

// CellFile returns the result file of a cell relative to a run directory.
func CellFile(server, scenario string) string {
	return filepath.ToSlash(filepath.Join(server, scenario+".json"))
}

// CellPath returns the path of a cell's result file.
func (r *Run) CellPath(server, scenario string) string {
	return filepath.Join(r.Dir, filepath.FromSlash(CellFile(server, scenario)))
}

// LogFile returns the log file of one repeat of one attempt at a cell,
// relative to the run directory. The attempt is part of the name so that a
// rerun never overwrites the logs its replaced results point to.
func LogFile(server, scenario string, attempt, repeat int) string {
	return fmt.Sprintf("%s/%s.a%d.r%d.log", server, scenario, attempt, repeat)
}

// LogPath returns the path of LogFile, creating the server's directory so
// the runtime can open it.
func (r *Run) LogPath(server, scenario string, attempt, repeat int) (string, error) {
	if err := checkNames(server, scenario); err != nil {
		return "", err
	}
	if err := r.mkServerDir(server); err != nil {
		return "", err
	}
	return filepath.Join(r.Dir, filepath.FromSlash(LogFile(server, scenario, attempt, repeat))), nil
}

// mkServerDir creates the directory of a server's files, syncing the run
// directory so the new entry is durable.
func (r *Run) mkServerDir(server string) error {
	dir := filepath.Join(r.Dir, server)
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("results: %w", err)
	}
	return syncDir(r.Dir)
}

// checkNames refuses names that are not matrix names: they become paths.
func checkNames(server, scenario string) error {
	if !matrix.ValidName(server) {
		return fmt.Errorf("results: bad server name %q", server)
	}
	if !matrix.ValidName(scenario) {
		return fmt.Errorf("results: bad scenario name %q", scenario)
	}
	return nil
}

// WriteManifest writes m atomically, setting its schema version.
func (r *Run) WriteManifest(m *Manifest) error {
	m.SchemaVersion = SchemaVersion
	if m.RunID == "" {
		m.RunID = r.ID
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("results: encoding manifest: %w", err)
	}
	return WriteFileAtomic(r.ManifestPath(), append(data, '\n'), filePerm)
}

// ReadManifest reads and checks the run's manifest.
func (r *Run) ReadManifest() (*Manifest, error) {
	path := r.ManifestPath()
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeManifest(path, data)
}

// WriteCell writes c atomically to its file, setting its schema version
// and run ID.
func (r *Run) WriteCell(c *Cell) error {
	if err := checkNames(c.Server, c.Scenario); err != nil {
		return err
	}
	if !c.Status.Valid() {
		return fmt.Errorf("results: cell %s: invalid status %q", c.ID(), c.Status)
	}
	c.SchemaVersion = SchemaVersion
	c.RunID = r.ID
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("results: encoding cell %s: %w", c.ID(), err)
	}
	if err := r.mkServerDir(c.Server); err != nil {
		return err
	}
	return WriteFileAtomic(r.CellPath(c.Server, c.Scenario), append(data, '\n'), filePerm)
}

// ReadCell reads and checks the result of a cell. A cell without a result
// gives an error wrapping fs.ErrNotExist.
func (r *Run) ReadCell(server, scenario string) (*Cell, error) {
	if err := checkNames(server, scenario); err != nil {
		return nil, err
	}
	path := r.CellPath(server, scenario)
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	c, err := DecodeCell(path, data)
	if err != nil {
		return nil, err
	}
	if c.Server != server || c.Scenario != scenario {
		return nil, fmt.Errorf("results: %s holds cell %s, not %s", path, c.ID(), matrix.CellID(scenario, server))
	}
	return c, nil
}

// RunRef is one run found by List.
type RunRef struct {
	ID  string
	Dir string
	// Manifest is nil when Err is set.
	Manifest *Manifest
	// Err says why the run's manifest could not be read.
	Err error
}

// List returns the runs under resultsDir, oldest first (by the manifest's
// creation time, then ID). A directory without manifest.json is not a run
// and is left out; one whose manifest is broken is listed with Err set.
// A missing resultsDir holds no runs.
func List(resultsDir string) ([]RunRef, error) {
	entries, err := os.ReadDir(resultsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	var out []RunRef
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		r := &Run{Dir: filepath.Join(resultsDir, e.Name()), ID: e.Name()}
		if _, err := os.Stat(r.ManifestPath()); err != nil {
			continue
		}
		m, err := r.ReadManifest()
		ref := RunRef{ID: e.Name(), Dir: r.Dir, Manifest: m, Err: err}
		if m != nil {
			ref.ID = m.RunID
		}
		out = append(out, ref)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ti, tj := created(out[i]), created(out[j])
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// created returns a run's creation time, zero when unknown.
func created(r RunRef) time.Time {
	if r.Manifest == nil {
		return time.Time{}
	}
	return r.Manifest.Created
}

// RemoveTemp removes the temporary files that atomic writes interrupted by
// a crash left in the run directory, and returns their paths. Call it when
// resuming a run, never while another process writes to it.
func (r *Run) RemoveTemp() ([]string, error) {
	var removed []string
	err := filepath.WalkDir(r.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), ".") && strings.Contains(d.Name(), ".tmp-") {
			if err := os.Remove(path); err != nil {
				return err
			}
			removed = append(removed, path)
		}
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("results: removing temporary files: %w", err)
	}
	return removed, nil
}
