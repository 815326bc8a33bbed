package results

import (
	"encoding/json"
	"fmt"

	"github.com/matrixbench/matrix/internal/matrix"
)

// checkSchema checks a file's schema_version.
func checkSchema(name string, v int) error {
	switch {
	case v == 0:
		return fmt.Errorf("results: %s: no schema_version: not a matrix results file", name)
	case v < 0:
		return fmt.Errorf("results: %s: invalid schema_version %d", name, v)
	case v > SchemaVersion:
		return fmt.Errorf("results: %s: schema_version %d is newer than this program reads (%d); update matrix", name, v, SchemaVersion)
	}
	return nil
}

// DecodeCell parses and checks a cell file's contents; name is used in
// errors.
func DecodeCell(name string, data []byte) (*Cell, error) {
	var c Cell
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("results: %s: %w", name, err)
	}
	if err := checkSchema(name, c.SchemaVersion); err != nil {
		return nil, err
	}
	if err := checkCell(&c); err != nil {
		return nil, fmt.Errorf("results: %s: %w", name, err)
	}
	for i := range c.Attempts {
		if err := checkCell(&c.Attempts[i]); err != nil {
			return nil, fmt.Errorf("results: %s: attempts[%d]: %w", name, i, err)
		}
		if len(c.Attempts[i].Attempts) > 0 {
			return nil, fmt.Errorf("results: %s: attempts[%d] has attempts of its own", name, i)
		}
	}
	return &c, nil
}

// checkCell checks the fields every reader relies on.
func checkCell(c *Cell) error {
	if err := checkNames(c.Server, c.Scenario); err != nil {
		return err
	}
	if !c.Status.Valid() {
		return fmt.Errorf("cell %s: invalid status %q", c.ID(), c.Status)
	}
	for i, r := range c.Repeats {
		if r.Status != "" && !r.Status.Valid() {
			return fmt.Errorf("cell %s: repeats[%d]: invalid status %q", c.ID(), i, r.Status)
		}
	}
	return nil
}

// DecodeManifest parses and checks a manifest's contents; name is used in
// errors.
func DecodeManifest(name string, data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("results: %s: %w", name, err)
	}
	if err := checkSchema(name, m.SchemaVersion); err != nil {
		return nil, err
	}
	if !runIDRE.MatchString(m.RunID) {
		return nil, fmt.Errorf("results: %s: bad run_id %q", name, m.RunID)
	}
	switch m.State {
	case StateRunning, StateFinished, StateInterrupted:
	default:
		return nil, fmt.Errorf("results: %s: invalid state %q", name, m.State)
	}
	if m.Shard != nil && (m.Shard.N < 1 || m.Shard.K < 1 || m.Shard.K > m.Shard.N) {
		return nil, fmt.Errorf("results: %s: invalid shard %d/%d", name, m.Shard.K, m.Shard.N)
	}
	seen := make(map[string]bool, len(m.Cells))
	for i, c := range m.Cells {
		if err := checkRef(c); err != nil {
			return nil, fmt.Errorf("results: %s: cells[%d]: %w", name, i, err)
		}
		if seen[c.ID] {
			return nil, fmt.Errorf("results: %s: cells[%d]: cell %s listed twice", name, i, c.ID)
		}
		seen[c.ID] = true
	}
	return &m, nil
}

// checkRef checks one manifest entry: consistent names, a known status,
// and a file that is where CellFile puts it (never outside the run).
func checkRef(c CellRef) error {
	if err := checkNames(c.Server, c.Scenario); err != nil {
		return err
	}
	if c.ID != matrix.CellID(c.Scenario, c.Server) {
		return fmt.Errorf("id %q does not match scenario %q and server %q", c.ID, c.Scenario, c.Server)
	}
	if c.Status != "" && !c.Status.Valid() {
		return fmt.Errorf("cell %s: invalid status %q", c.ID, c.Status)
	}
	if c.File != CellFile(c.Server, c.Scenario) {
		return fmt.Errorf("cell %s: file %q, want %q", c.ID, c.File, CellFile(c.Server, c.Scenario))
	}
	return nil
}
