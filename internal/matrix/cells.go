package matrix

import (
	"errors"
	"fmt"
	"strings"
)

// Cell is one server under one scenario.
type Cell struct {
	Scenario Scenario
	Server   Server
}

// ID returns "scenario/server", the form exclude and cell globs match.
func (c Cell) ID() string { return CellID(c.Scenario.Name, c.Server.Name) }

// CellID returns the ID of the cell of scenario and server.
func CellID(scenario, server string) string { return scenario + "/" + server }

// SplitID splits a cell ID into scenario and server.
func SplitID(id string) (scenario, server string, ok bool) {
	scenario, server, ok = strings.Cut(id, "/")
	return scenario, server, ok && scenario != "" && server != "" && !strings.Contains(server, "/")
}

// Needs returns the ID of the cell whose median req/s is a rated cell's
// saturation rate, or the rate a capacity cell's search starts from (same
// server, the scenario's SaturationFrom), and false for a cell that needs
// no other.
func (c Cell) Needs() (string, bool) {
	if c.Scenario.SaturationFrom == "" {
		return "", false
	}
	return CellID(c.Scenario.SaturationFrom, c.Server.Name), true
}

// Filter selects part of a matrix's cells. Empty fields select everything;
// a cell is kept when it matches every non-empty field (any of its
// entries): Servers and Scenarios by name, CellGlobs by "scenario/server"
// glob.
type Filter struct {
	Servers   []string
	Scenarios []string
	CellGlobs []string
}

// Empty reports whether f selects every cell.
func (f Filter) Empty() bool {
	return len(f.Servers) == 0 && len(f.Scenarios) == 0 && len(f.CellGlobs) == 0
}

// Cells returns the cells f selects, in scenario order then server order:
// every server with every scenario whose protocol it speaks, minus the
// exclude globs. A filter naming an unknown server or scenario, a glob that
// matches no cell, or filters that together select nothing, are errors.
//
// Cells does not add the saturation cells that rated cells need (see
// Cell.Needs); the runner decides whether to run them or read them from
// the run.
func (m *Matrix) Cells(f Filter) ([]Cell, error) {
	all := m.cells()
	var errs []error
	for _, name := range f.Servers {
		if _, ok := m.Server(name); !ok {
			errs = append(errs, fmt.Errorf("matrix: %s: no server named %q (servers: %s)", m.Path, name, m.serverNames()))
		}
	}
	for _, name := range f.Scenarios {
		if _, ok := m.Scenario(name); !ok {
			errs = append(errs, fmt.Errorf("matrix: %s: no scenario named %q (scenarios: %s)", m.Path, name, m.scenarioNames()))
		}
	}
	ids := make([]string, len(all))
	for i, c := range all {
		ids[i] = c.ID()
	}
	for _, g := range f.CellGlobs {
		if err := checkGlob(g); err != nil {
			errs = append(errs, fmt.Errorf("matrix: cell filter: %w", err))
		} else if !anyMatch(g, ids) {
			errs = append(errs, fmt.Errorf("matrix: %s: cell filter %q matches no cell", m.Path, g))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []Cell
	for _, c := range all {
		if f.match(c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("matrix: %s: the filters select no cell", m.Path)
	}
	return out, nil
}

// match reports whether c passes f.
func (f Filter) match(c Cell) bool {
	return (len(f.Servers) == 0 || contains(f.Servers, c.Server.Name)) &&
		(len(f.Scenarios) == 0 || contains(f.Scenarios, c.Scenario.Name)) &&
		(len(f.CellGlobs) == 0 || matchesAny(f.CellGlobs, c.ID()))
}

// matchesAny reports whether one of globs matches id.
func matchesAny(globs []string, id string) bool {
	for _, g := range globs {
		if ok, _ := matchGlob(g, id); ok {
			return true
		}
	}
	return false
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Excluded reports whether one of the matrix's exclude globs matches the
// cell ID id ("scenario/server").
func (m *Matrix) Excluded(id string) bool { return matchesAny(m.Exclude, id) }

// cells returns every cell after exclusions.
func (m *Matrix) cells() []Cell {
	var out []Cell
	for _, sc := range m.Scenarios {
		for _, sv := range m.Servers {
			if !sv.Speaks(sc.Protocol) {
				continue
			}
			c := Cell{Scenario: sc, Server: sv}
			if !m.Excluded(c.ID()) {
				out = append(out, c)
			}
		}
	}
	return out
}

// pairs returns "scenario/server" for every scenario and server, whatever
// their protocols: the space an exclude glob must hit. (An exclude of a
// pair that has no cell anyway, because the server does not speak the
// scenario's protocol, is harmless and keeps the example valid;
// one naming no scenario or server at all is a typo.)
func (m *Matrix) pairs() []string {
	var out []string
	for _, sc := range m.Scenarios {
		for _, sv := range m.Servers {
			out = append(out, CellID(sc.Name, sv.Name))
		}
	}
	return out
}

// serverNames lists the servers for messages.
func (m *Matrix) serverNames() string {
	names := make([]string, len(m.Servers))
	for i, s := range m.Servers {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// scenarioNames lists the scenarios for messages.
func (m *Matrix) scenarioNames() string {
	names := make([]string, len(m.Scenarios))
	for i, s := range m.Scenarios {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// ValidName reports whether s is a valid server, scenario or profile name:
// [a-z0-9][a-z0-9._-]*, at most 64 characters, and not a name reserved for
// a file of a run directory.
func ValidName(s string) bool {
	return nameRE.MatchString(s) && len(s) <= maxNameLen && !reservedNames[s]
}
