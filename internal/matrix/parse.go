package matrix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// parse decodes data into m, recording every problem in p.
func (p *parser) parse(m *Matrix, data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(nil, "", "the file is empty")
		} else {
			p.yamlError(err)
		}
		return
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(&extra, "", "more than one YAML document; a matrix is one document")
		return
	} else if !errors.Is(err, io.EOF) {
		p.yamlError(err)
		return
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		p.errorf(&doc, "", "the file is empty")
		return
	}
	root := doc.Content[0]
	keys := p.mapping(root, "", map[string]fieldFunc{
		"version": func(v *yaml.Node, f string) {
			if n, ok := p.integer(v, f); ok && n != Version {
				p.errorf(v, f, "unsupported version %d (this program reads version %d)", n, Version)
			}
			m.Version = Version
		},
		"profiles":  func(v *yaml.Node, f string) { m.Profiles = p.profiles(v, f) },
		"servers":   func(v *yaml.Node, f string) { m.Servers = p.servers(v, f) },
		"scenarios": func(v *yaml.Node, f string) { m.Scenarios = p.scenarios(v, f) },
		"exclude":   func(v *yaml.Node, f string) { p.exclude(m, v, f) },
	})
	if keys == nil {
		return
	}
	for _, k := range []string{"version", "profiles", "servers", "scenarios"} {
		if _, ok := keys[k]; !ok {
			p.errorf(root, k, "missing; a matrix needs version, profiles, servers and scenarios")
		}
	}
}

// yamlLineRE finds the line number in the YAML library's syntax errors.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError records a syntax error with its line when the library gave one.
func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.errorf(&yaml.Node{Line: line}, "", "invalid YAML: %s", m[2])
		return
	}
	p.errorf(nil, "", "invalid YAML: %s", msg)
}

// profiles decodes the profiles mapping, keeping file order.
func (p *parser) profiles(n *yaml.Node, field string) []Profile {
	if !p.kind(n, field, yaml.MappingNode, "a mapping of profile names to profiles") {
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, field, "must define at least one profile")
	}
	var out []Profile
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := join(field, k.Value)
		if !p.name(k, sub) {
			continue
		}
		if line, dup := seen[k.Value]; dup {
			p.errorf(k, sub, "duplicate profile name %q (first at line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, p.profile(k.Value, v, sub))
	}
	return out
}

// profile decodes one profile.
func (p *parser) profile(name string, n *yaml.Node, field string) Profile {
	pr := Profile{Name: name, Repeat: 1, Scale: 1, Pos: pos(n)}
	keys := p.mapping(n, field, map[string]fieldFunc{
		"warmup":   func(v *yaml.Node, f string) { pr.Warmup = p.duration(v, f, true) },
		"duration": func(v *yaml.Node, f string) { pr.Duration = p.duration(v, f, false) },
		"repeat":   func(v *yaml.Node, f string) { pr.Repeat = p.intAtLeast(v, f, 1) },
		"cooldown": func(v *yaml.Node, f string) { pr.Cooldown = p.duration(v, f, true) },
		"scale": func(v *yaml.Node, f string) {
			if s, ok := p.float(v, f); ok && (s <= 0 || s > 1000) {
				p.errorf(v, f, "must be above 0 and at most 1000, got %v", s)
			} else if ok {
				pr.Scale = s
			}
		},
		"cpus":         func(v *yaml.Node, f string) { pr.CPUs = p.cpuset(v, f) },
		"loadgen_cpus": func(v *yaml.Node, f string) { pr.LoadgenCPUs = p.cpuset(v, f) },
		"memory":       func(v *yaml.Node, f string) { pr.Memory = p.size(v, f) },
		"target_host":  func(v *yaml.Node, f string) { pr.TargetHost = p.host(v, f) },
		"budget":       func(v *yaml.Node, f string) { pr.Budget = p.duration(v, f, false) },
		"reference": func(v *yaml.Node, f string) {
			pr.Reference = p.str(v, f)
			p.refNodes = append(p.refNodes, refNode{profile: name, node: v, field: f})
		},
		"interference": func(v *yaml.Node, f string) {
			if c, ok := p.float(v, f); ok && (c <= 0 || c > 1024) {
				p.errorf(v, f, "must be a number of cores above 0, got %v", c)
			} else if ok {
				pr.Interference = c
			}
		},
	})
	if keys != nil {
		if _, ok := keys["duration"]; !ok {
			p.errorf(n, join(field, "duration"), "missing; a profile needs a measured duration")
		}
	}
	return pr
}

// cpusetRE matches a cpuset list such as "1", "0-1" or "0,2-3".
var cpusetRE = regexp.MustCompile(`^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$`)

// cpuset decodes a cpuset list.
func (p *parser) cpuset(n *yaml.Node, field string) string {
	s := p.str(n, field)
	if s != "" && !cpusetRE.MatchString(s) {
		p.errorf(n, field, "must be a cpuset like 1, 0-1 or 0,2-3, got %q", clip(s))
		return ""
	}
	return s
}

// hostRE matches a host name or an IPv4 or bracket-free IPv6 address.
var hostRE = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)

// host decodes a target host (no port, no scheme).
func (p *parser) host(n *yaml.Node, field string) string {
	s := p.str(n, field)
	if s != "" && !hostRE.MatchString(s) {
		p.errorf(n, field, "must be a host name or IP address without scheme or port, got %q", clip(s))
		return ""
	}
	return s
}

// nameRE is the shape of server, scenario and profile names: they become
// file and directory names, so no separators, no leading dot.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// maxNameLen keeps names usable as file names on every filesystem.
const maxNameLen = 64

// reservedNames are names of files at the top of a run directory, which a
// server's directory must not shadow.
var reservedNames = map[string]bool{"manifest.json": true, "report.html": true, "summary.md": true}

// name checks a name node.
func (p *parser) name(n *yaml.Node, field string) bool {
	s := p.str(n, field)
	switch {
	case s == "":
		if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
			p.errorf(n, field, "must not be empty")
		}
		return false
	case !nameRE.MatchString(s):
		p.errorf(n, field, "name %q must match [a-z0-9][a-z0-9._-]* (it becomes a file name)", clip(s))
		return false
	case len(s) > maxNameLen:
		p.errorf(n, field, "name %q is longer than %d characters", clip(s), maxNameLen)
		return false
	case reservedNames[s]:
		p.errorf(n, field, "name %q is reserved for a file of the run directory", s)
		return false
	}
	return true
}

// protocol decodes one protocol name.
func (p *parser) protocol(n *yaml.Node, field string) Protocol {
	s := p.str(n, field)
	switch Protocol(s) {
	case H1, H1S, H2C, H2, H3:
		return Protocol(s)
	case "":
		return ""
	}
	p.errorf(n, field, "unknown protocol %q (want h1, h1s, h2c, h2 or h3)", clip(s))
	return ""
}

// exclude decodes the exclude globs; whether each matches a cell is checked
// once servers and scenarios are known.
func (p *parser) exclude(m *Matrix, n *yaml.Node, field string) {
	p.sequence(n, field, func(_ int, v *yaml.Node, f string) {
		g := p.str(v, f)
		if g == "" {
			return
		}
		if err := checkGlob(g); err != nil {
			p.errorf(v, f, "%v", err)
			return
		}
		m.Exclude = append(m.Exclude, g)
		p.excludeNodes = append(p.excludeNodes, v)
	})
}

// errGlobShape is returned for a cell glob without exactly one "/".
var errGlobShape = errors.New(`must be a "scenario/server" glob`)

// checkGlob checks a "scenario/server" glob's syntax.
func checkGlob(g string) error {
	if bytes.Count([]byte(g), []byte("/")) != 1 {
		return fmt.Errorf("%w, got %q", errGlobShape, clip(g))
	}
	if _, err := matchGlob(g, "x/x"); err != nil {
		return fmt.Errorf("bad glob %q: %v", clip(g), err)
	}
	return nil
}
