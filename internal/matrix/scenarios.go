package matrix

import (
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// scenarios decodes the scenarios list.
func (p *parser) scenarios(n *yaml.Node, field string) []Scenario {
	var out []Scenario
	p.sequence(n, field, func(_ int, v *yaml.Node, f string) {
		out = append(out, p.scenario(v, f))
	})
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		p.errorf(n, field, "must list at least one scenario")
	}
	return out
}

// tokenRE is an HTTP token (RFC 9110 5.6.2): methods and field names.
var tokenRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// scenario decodes one scenario and checks its fields against each other.
func (p *parser) scenario(n *yaml.Node, field string) Scenario {
	s := Scenario{Method: "GET", Path: "/", Connections: 1, Streams: 1,
		ErrorBudget: DefaultErrorBudget, Timeout: DefaultTimeout, Pos: pos(n)}
	keys := p.mapping(n, field, map[string]fieldFunc{
		"name": func(v *yaml.Node, f string) {
			if p.name(v, f) {
				s.Name = v.Value
			}
		},
		"protocol": func(v *yaml.Node, f string) { s.Protocol = p.protocol(v, f) },
		"method": func(v *yaml.Node, f string) {
			if m := p.str(v, f); m != "" && !tokenRE.MatchString(m) {
				p.errorf(v, f, "method %q is not an HTTP token", clip(m))
			} else if m != "" {
				s.Method = m
			}
		},
		"path":              func(v *yaml.Node, f string) { s.Path = p.path(v, f) },
		"body_size":         func(v *yaml.Node, f string) { s.BodySize = p.size(v, f) },
		"headers":           func(v *yaml.Node, f string) { s.Headers = p.headers(v, f) },
		"connections":       func(v *yaml.Node, f string) { s.Connections = p.intAtLeast(v, f, 1) },
		"streams":           func(v *yaml.Node, f string) { s.Streams = p.intAtLeast(v, f, 1) },
		"fixed_connections": func(v *yaml.Node, f string) { s.FixedConnections = p.boolean(v, f) },
		"close":             func(v *yaml.Node, f string) { s.Close = p.boolean(v, f) },
		"error_budget": func(v *yaml.Node, f string) {
			if b, ok := p.float(v, f); ok && (b < 0 || b > 1) {
				p.errorf(v, f, "must be between 0 and 1, got %v", b)
			} else if ok {
				s.ErrorBudget = b
			}
		},
		"expect_status": func(v *yaml.Node, f string) {
			if c, ok := p.integer(v, f); ok && (c < 100 || c > 599) {
				p.errorf(v, f, "must be an HTTP status code (100-599), got %d", c)
			} else if ok {
				s.ExpectStatus = int(c)
			}
		},
		"timeout": func(v *yaml.Node, f string) { s.Timeout = p.duration(v, f, false) },
		"rate": func(v *yaml.Node, f string) {
			if r, ok := p.float(v, f); ok && r <= 0 {
				p.errorf(v, f, "must be positive (requests per second), got %v", r)
			} else if ok {
				s.Rate = r
			}
		},
		"rate_fraction": func(v *yaml.Node, f string) {
			if r, ok := p.float(v, f); ok && (r <= 0 || r > 1) {
				p.errorf(v, f, "must be above 0 and at most 1 (a fraction of the saturation rate), got %v", r)
			} else if ok {
				s.RateFraction = r
			}
		},
		"saturation_from": func(v *yaml.Node, f string) {
			if p.name(v, f) {
				s.SaturationFrom = v.Value
			}
		},
		"capacity": func(v *yaml.Node, f string) { s.Capacity = p.capacity(v, f) },
	})
	if keys == nil {
		return s
	}
	p.scenarioRules(&s, n, field, keys)
	return s
}

// scenarioRules checks the fields of one scenario against each other.
func (p *parser) scenarioRules(s *Scenario, n *yaml.Node, field string, keys map[string]*yaml.Node) {
	at := func(key string) (*yaml.Node, string) { return keys[key], join(field, key) }
	if _, ok := keys["name"]; !ok {
		p.errorf(n, join(field, "name"), "missing; every scenario needs a name")
	}
	if _, ok := keys["protocol"]; !ok {
		p.errorf(n, join(field, "protocol"), "missing; give h1, h1s, h2c, h2 or h3")
	}
	multiplexed := s.Protocol == H2 || s.Protocol == H2C || s.Protocol == H3
	if k, f := at("close"); k != nil && s.Close && multiplexed {
		// RFC 9113 8.2.2, RFC 9114 4.2: HTTP/2 and HTTP/3 have no
		// connection-specific header fields; a connection ends with
		// GOAWAY, not "Connection: close".
		p.errorf(k, f, "is HTTP/1.1 only; %s has no Connection: close (RFC 9113 8.2.2, RFC 9114 4.2)", s.Protocol)
	}
	if k, f := at("streams"); k != nil && s.Protocol.HTTP1() {
		p.errorf(k, f, "is HTTP/2 and HTTP/3 only; an %s connection carries one request at a time", s.Protocol)
	}
	if k, f := at("rate"); k != nil && s.RateFraction > 0 {
		p.errorf(k, f, "rate and rate_fraction are exclusive")
	}
	if k, f := at("saturation_from"); k != nil && s.RateFraction == 0 && s.Capacity == nil {
		p.errorf(k, f, "only a rated row (rate_fraction) or a capacity row takes saturation_from")
	}
	if k, f := at("rate_fraction"); k != nil && s.RateFraction > 0 && s.SaturationFrom == "" {
		if _, given := keys["saturation_from"]; !given {
			p.errorf(k, f, "a rated row needs saturation_from: the closed-loop scenario whose req/s is the saturation rate")
		}
	}
	p.capacityRules(s, keys, field)
	if s.BodySize > 0 && (s.Method == "GET" || s.Method == "HEAD") {
		if k, f := at("body_size"); k != nil {
			p.errorf(k, f, "a %s request carries no body (RFC 9110 9.3)", s.Method)
		}
	}
}

// forbiddenHeaders are set by the load generator itself or are
// connection-specific fields that HTTP/2 forbids (RFC 9113 8.2.2).
var forbiddenHeaders = map[string]string{
	"host":              "the load generator sends Host (:authority in HTTP/2)",
	"content-length":    "the load generator sets it from body_size",
	"transfer-encoding": "the load generator sends a fixed-length body",
	"connection":        "use close: true for HTTP/1.1; HTTP/2 forbids it (RFC 9113 8.2.2)",
	"keep-alive":        "connection-specific (RFC 9113 8.2.2)",
	"proxy-connection":  "connection-specific (RFC 9113 8.2.2)",
	"upgrade":           "connection-specific (RFC 9113 8.2.2)",
	"te":                "connection-specific (RFC 9113 8.2.2)",
}

// headers decodes a mapping of header fields, keeping their order.
func (p *parser) headers(n *yaml.Node, field string) []Header {
	if !p.kind(n, field, yaml.MappingNode, "a mapping of header names to values") {
		return nil
	}
	var out []Header
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := join(field, k.Value)
		if k.Kind != yaml.ScalarNode || !tokenRE.MatchString(k.Value) {
			p.errorf(k, field, "header name %s is not an HTTP token", describe(k))
			continue
		}
		lk := strings.ToLower(k.Value)
		if why, bad := forbiddenHeaders[lk]; bad {
			p.errorf(k, sub, "may not be set: %s", why)
			continue
		}
		if line, dup := seen[lk]; dup {
			p.errorf(k, sub, "repeated header (first at line %d)", line)
			continue
		}
		seen[lk] = k.Line
		val := p.str(v, sub)
		if strings.ContainsAny(val, "\r\n\x00") {
			p.errorf(v, sub, "value must not contain CR, LF or NUL (RFC 9110 5.5)")
			continue
		}
		out = append(out, Header{Name: k.Value, Value: val})
	}
	return out
}

// path decodes a request path: origin-form (RFC 9112 3.2.1), no spaces.
func (p *parser) path(n *yaml.Node, field string) string {
	s := p.str(n, field)
	if s == "" {
		return ""
	}
	if s[0] != '/' || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		p.errorf(n, field, "must be a path starting with / without spaces or control characters, got %q", clip(s))
		return ""
	}
	return s
}
