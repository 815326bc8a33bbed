package matrix

import (
	"fmt"
	"path"

	"go.yaml.in/yaml/v3"
)

// validate checks what needs the whole file: unique names, references
// between scenarios, and that every exclude glob removes something.
func (p *parser) validate(m *Matrix) {
	seen := map[string]Pos{}
	for i, s := range m.Servers {
		if first, dup := seen[s.Name]; dup {
			p.errorAt(s.Pos, fmt.Sprintf("servers[%d].name", i), "duplicate server name %q (first at line %d)", s.Name, first.Line)
		}
		seen[s.Name] = s.Pos
	}
	scen := map[string]int{}
	for i, s := range m.Scenarios {
		f := fmt.Sprintf("scenarios[%d]", i)
		if first, dup := scen[s.Name]; dup {
			p.errorAt(s.Pos, f+".name", "duplicate scenario name %q (first at line %d)", s.Name, m.Scenarios[first].Pos.Line)
			continue
		}
		scen[s.Name] = i
		if s.SaturationFrom != "" {
			p.checkSaturation(m, i, scen)
		}
	}
	all := m.pairs()
	for i, g := range m.Exclude {
		if !anyMatch(g, all) {
			p.errorf(p.excludeNodes[i], fmt.Sprintf("exclude[%d]", i), "%q matches no scenario/server pair (e.g. %s)", g, example(all))
		}
	}
	p.checkRatedBases(m)
	p.checkReferences(m)
	if len(p.errs) == 0 && len(m.cells()) == 0 {
		p.errorf(nil, "", "the matrix has no cell: no server speaks a scenario's protocol, or exclude removes everything")
	}
}

// checkReferences checks that each profile's reference is a cell of the
// matrix: a closed-loop one, whose req/s says how fast the machine is.
func (p *parser) checkReferences(m *Matrix) {
	ids := map[string]Cell{}
	for _, c := range m.cells() {
		ids[c.ID()] = c
	}
	for _, r := range p.refNodes {
		ref := r.node.Value
		if ref == ReferenceOff || ref == "" {
			continue
		}
		c, ok := ids[ref]
		switch {
		case !ok:
			p.errorf(r.node, r.field, "%q is not a cell of the matrix (scenario/server, e.g. %s), or %q", clip(ref), example(m.pairs()), ReferenceOff)
		case c.Scenario.Rated() || c.Scenario.Searched():
			p.errorf(r.node, r.field, "%q is a rated cell; the reference must run closed-loop so that its req/s follows the machine's speed", ref)
		}
	}
}

// errorAt records a problem at a stored position.
func (p *parser) errorAt(at Pos, field, format string, args ...any) {
	p.errorf(&yaml.Node{Line: at.Line, Column: at.Column}, field, format, args...)
}

// checkSaturation checks the saturation_from of scenario i: an earlier
// closed-loop scenario of the same protocol, so that in every repeat the
// saturation rate has been measured before the rated row runs.
func (p *parser) checkSaturation(m *Matrix, i int, earlier map[string]int) {
	s := m.Scenarios[i]
	f := fmt.Sprintf("scenarios[%d].saturation_from", i)
	j, ok := earlier[s.SaturationFrom]
	switch {
	case s.SaturationFrom == s.Name:
		p.errorAt(s.Pos, f, "a rated row cannot take its saturation rate from itself")
	case !ok:
		if _, later := m.Scenario(s.SaturationFrom); later {
			p.errorAt(s.Pos, f, "scenario %q must come before %q (its rate is measured first)", s.SaturationFrom, s.Name)
		} else {
			p.errorAt(s.Pos, f, "no scenario named %q", s.SaturationFrom)
		}
	case m.Scenarios[j].OpenLoop():
		p.errorAt(s.Pos, f, "scenario %q is rated itself; the saturation rate comes from a closed-loop row", s.SaturationFrom)
	case m.Scenarios[j].Protocol != s.Protocol:
		p.errorAt(s.Pos, f, "scenario %q speaks %s, not %s", s.SaturationFrom, m.Scenarios[j].Protocol, s.Protocol)
	}
}

// checkRatedBases refuses a rated cell whose saturation cell is excluded:
// it could never get its rate.
func (p *parser) checkRatedBases(m *Matrix) {
	cells := m.cells()
	have := make(map[string]bool, len(cells))
	for _, c := range cells {
		have[c.ID()] = true
	}
	for _, c := range cells {
		if base, ok := c.Needs(); ok && !have[base] {
			p.errorAt(c.Scenario.Pos, "exclude", "cell %s is excluded but the rated cell %s takes its saturation rate from it", base, c.ID())
		}
	}
}

// anyMatch reports whether glob g matches one of ids.
func anyMatch(g string, ids []string) bool {
	for _, id := range ids {
		if ok, _ := matchGlob(g, id); ok {
			return true
		}
	}
	return false
}

// example returns one cell id for messages.
func example(ids []string) string {
	if len(ids) == 0 {
		return "none exist"
	}
	return ids[0]
}

// matchGlob matches a "scenario/server" glob; "*" does not cross "/".
func matchGlob(g, id string) (bool, error) {
	return path.Match(g, id)
}
