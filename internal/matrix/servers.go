package matrix

import (
	"regexp"

	"go.yaml.in/yaml/v3"
)

// servers decodes the servers list.
func (p *parser) servers(n *yaml.Node, field string) []Server {
	var out []Server
	p.sequence(n, field, func(_ int, v *yaml.Node, f string) {
		out = append(out, p.server(v, f))
	})
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		p.errorf(n, field, "must list at least one server")
	}
	return out
}

// capRE matches a Linux capability name, with or without the CAP_ prefix.
var capRE = regexp.MustCompile(`^[A-Z_]+$`)

// server decodes one server and checks its fields against each other.
func (p *parser) server(n *yaml.Node, field string) Server {
	s := Server{Pos: pos(n)}
	var protoNode *yaml.Node
	keys := p.mapping(n, field, map[string]fieldFunc{
		"name": func(v *yaml.Node, f string) {
			if p.name(v, f) {
				s.Name = v.Value
			}
		},
		"protocols": func(v *yaml.Node, f string) {
			protoNode = v
			seen := map[Protocol]bool{}
			p.sequence(v, f, func(_ int, item *yaml.Node, f string) {
				pr := p.protocol(item, f)
				if pr == "" {
					return
				}
				if seen[pr] {
					p.errorf(item, f, "protocol %s listed twice", pr)
					return
				}
				seen[pr] = true
				s.Protocols = append(s.Protocols, pr)
			})
		},
		"build":   func(v *yaml.Node, f string) { s.Build = p.build(v, f) },
		"image":   func(v *yaml.Node, f string) { s.Image = p.str(v, f) },
		"process": func(v *yaml.Node, f string) { s.Process = p.process(v, f) },
		"ready":   func(v *yaml.Node, f string) { s.Ready = p.ready(v, f) },
		"cpus":    func(v *yaml.Node, f string) { s.CPUs = p.cpuset(v, f) },
		"memory":  func(v *yaml.Node, f string) { s.Memory = p.size(v, f) },
		"cap_add": func(v *yaml.Node, f string) {
			s.CapAdd = p.strList(v, f)
			for i, c := range s.CapAdd {
				if !capRE.MatchString(c) {
					p.errorf(v.Content[i], f, "capability %q must be a name like NET_ADMIN", clip(c))
				}
			}
		},
		"env":       func(v *yaml.Node, f string) { s.Env = p.strMap(v, f) },
		"framework": func(v *yaml.Node, f string) { s.Framework = p.str(v, f) },
		"version":   func(v *yaml.Node, f string) { s.Version = p.str(v, f) },
	})
	if keys == nil {
		return s
	}
	if _, ok := keys["name"]; !ok {
		p.errorf(n, join(field, "name"), "missing; every server needs a name")
	}
	if _, ok := keys["protocols"]; !ok {
		p.errorf(n, join(field, "protocols"), "missing; list the protocols the server speaks (h1, h1s, h2c, h2)")
	} else if len(s.Protocols) == 0 && protoNode != nil && protoNode.Kind == yaml.SequenceNode && len(protoNode.Content) == 0 {
		p.errorf(protoNode, join(field, "protocols"), "must list at least one protocol")
	}
	if s.Ready.Timeout == 0 {
		s.Ready.Timeout = DefaultReadyTimeout
	}
	if s.Ready.Path == "" {
		s.Ready.Path = "/"
	}
	p.serverSources(s, n, field, keys)
	return s
}

// serverSources checks that s says how to get its program: a build or an
// image for the docker runtime, a process (or a Go build the runner
// compiles) for the process runtime.
func (p *parser) serverSources(s Server, n *yaml.Node, field string, keys map[string]*yaml.Node) {
	_, hasBuild := keys["build"]
	_, hasImage := keys["image"]
	_, hasProcess := keys["process"]
	switch {
	case hasBuild && hasImage:
		p.errorf(keys["image"], join(field, "image"), "a server has a build or an image, not both")
	case !hasBuild && !hasImage && !hasProcess:
		p.errorf(n, field, "server %q has no way to run: give build {go: DIR} or {dockerfile: DIR}, image, or process {command: [...]}", s.Name)
	}
	if s.Process != nil && len(s.Process.Command) == 0 && (s.Build == nil || s.Build.Go == "") {
		p.errorf(keys["process"], join(field, "process.command"), "missing; only a server with build {go: DIR} may leave it out (the built binary runs)")
	}
}

// build decodes a build mapping: exactly one of go and dockerfile.
func (p *parser) build(n *yaml.Node, field string) *Build {
	b := &Build{}
	keys := p.mapping(n, field, map[string]fieldFunc{
		"go":         func(v *yaml.Node, f string) { b.Go, b.Pos = p.str(v, f), pos(v) },
		"dockerfile": func(v *yaml.Node, f string) { b.Dockerfile, b.Pos = p.str(v, f), pos(v) },
	})
	if keys == nil {
		return nil
	}
	if len(keys) != 1 {
		p.errorf(n, field, "must have exactly one of go: DIR or dockerfile: DIR")
	}
	return b
}

// process decodes a process mapping.
func (p *parser) process(n *yaml.Node, field string) *Process {
	pr := &Process{}
	keys := p.mapping(n, field, map[string]fieldFunc{
		"command": func(v *yaml.Node, f string) { pr.Command = p.strList(v, f) },
		"env":     func(v *yaml.Node, f string) { pr.Env = p.strMap(v, f) },
		"dir":     func(v *yaml.Node, f string) { pr.Dir, pr.DirPos = p.str(v, f), pos(v) },
	})
	if keys == nil {
		return nil
	}
	return pr
}

// ready decodes a ready mapping.
func (p *parser) ready(n *yaml.Node, field string) Ready {
	var r Ready
	p.mapping(n, field, map[string]fieldFunc{
		"path":    func(v *yaml.Node, f string) { r.Path = p.path(v, f) },
		"timeout": func(v *yaml.Node, f string) { r.Timeout = p.duration(v, f, false) },
	})
	return r
}
