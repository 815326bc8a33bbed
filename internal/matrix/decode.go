package matrix

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a matrix file.
type Error struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
	// Field is the path of the field, such as "scenarios[2].connections";
	// empty for problems with the file as a whole.
	Field string
	Msg   string
}

// Error formats e as "file:line:column: field: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxErrors bounds how many problems one Parse reports: past that, the file
// is probably not a matrix at all and more lines only bury the first ones.
const maxErrors = 50

// parser walks the YAML node tree of one file and collects every problem.
type parser struct {
	file string
	errs []error
	// excludeNodes are the nodes of Matrix.Exclude, for positions.
	excludeNodes []*yaml.Node
	// refNodes are the profiles' reference cells, checked once every
	// cell is known.
	refNodes []refNode
}

// refNode is a profile's reference field, for its position.
type refNode struct {
	profile string
	node    *yaml.Node
	field   string
}

// errorf records a problem at n (which may be nil) in field.
func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		return
	}
	e := &Error{File: p.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
	if len(p.errs) == maxErrors {
		p.errs = append(p.errs, &Error{File: p.file, Msg: "too many errors; stopping"})
	}
}

// err joins the collected problems, or returns nil.
func (p *parser) err() error {
	return errors.Join(p.errs...)
}

// pos returns n's position.
func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Column: n.Column} }

// fieldFunc decodes the value of one key of a mapping.
type fieldFunc func(v *yaml.Node, field string)

// mapping walks the mapping n, calling fields[key] for every key. Unknown
// and repeated keys are errors reported at the key. It returns the keys
// seen, so callers can check required ones.
func (p *parser) mapping(n *yaml.Node, field string, fields map[string]fieldFunc) map[string]*yaml.Node {
	if !p.kind(n, field, yaml.MappingNode, "a mapping") {
		return nil
	}
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := join(field, k.Value)
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, field, "keys must be plain strings")
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			p.errorf(k, sub, "repeated key (first at line %d)", prev.Line)
			continue
		}
		seen[k.Value] = k
		f, ok := fields[k.Value]
		if !ok {
			p.errorf(k, sub, "unknown key %q%s", k.Value, suggest(k.Value, fields))
			continue
		}
		if v.Kind == yaml.AliasNode {
			p.errorf(v, sub, "YAML aliases are not supported; write the value out")
			continue
		}
		f(v, sub)
	}
	return seen
}

// suggest names the allowed keys, so a typo's fix is on the same line.
func suggest(key string, fields map[string]fieldFunc) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	return " (allowed: " + strings.Join(names, ", ") + ")"
}

// sequence calls f for every item of the sequence n.
func (p *parser) sequence(n *yaml.Node, field string, f func(i int, v *yaml.Node, field string)) {
	if !p.kind(n, field, yaml.SequenceNode, "a list") {
		return
	}
	for i, v := range n.Content {
		sub := fmt.Sprintf("%s[%d]", field, i)
		if v.Kind == yaml.AliasNode {
			p.errorf(v, sub, "YAML aliases are not supported; write the value out")
			continue
		}
		f(i, v, sub)
	}
}

// kind checks that n is of kind k, described as what.
func (p *parser) kind(n *yaml.Node, field string, k yaml.Kind, what string) bool {
	if n.Kind == k {
		return true
	}
	p.errorf(n, field, "must be %s, got %s", what, describe(n))
	return false
}

// describe names what n is, for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(clip(n.Value))
	}
	return "an unexpected node"
}

// clip shortens s for messages.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// scalar checks that n is a non-null scalar.
func (p *parser) scalar(n *yaml.Node, field, what string) bool {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.errorf(n, field, "must be %s, got %s", what, describe(n))
		return false
	}
	return true
}

// str decodes a string. Numbers and booleans are taken as written.
func (p *parser) str(n *yaml.Node, field string) string {
	if !p.scalar(n, field, "a string") {
		return ""
	}
	return n.Value
}

// integer decodes an integer (YAML 1.2 forms: 64, 0x40, 0o100).
func (p *parser) integer(n *yaml.Node, field string) (int64, bool) {
	if !p.scalar(n, field, "an integer") {
		return 0, false
	}
	var v int64
	if n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		p.errorf(n, field, "must be an integer, got %s", describe(n))
		return 0, false
	}
	return v, true
}

// intAtLeast decodes an int no smaller than lo.
func (p *parser) intAtLeast(n *yaml.Node, field string, lo int64) int {
	v, ok := p.integer(n, field)
	if !ok {
		return 0
	}
	if v < lo {
		p.errorf(n, field, "must be at least %d, got %d", lo, v)
		return 0
	}
	if v > math.MaxInt32 {
		p.errorf(n, field, "must be at most %d, got %d", math.MaxInt32, v)
		return 0
	}
	return int(v)
}

// float decodes a finite number.
func (p *parser) float(n *yaml.Node, field string) (float64, bool) {
	if !p.scalar(n, field, "a number") {
		return 0, false
	}
	var v float64
	tag := n.ShortTag()
	if (tag != "!!int" && tag != "!!float") || n.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.errorf(n, field, "must be a number, got %s", describe(n))
		return 0, false
	}
	return v, true
}

// boolean decodes true or false.
func (p *parser) boolean(n *yaml.Node, field string) bool {
	if !p.scalar(n, field, "true or false") {
		return false
	}
	var v bool
	if n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		p.errorf(n, field, "must be true or false, got %s", describe(n))
		return false
	}
	return v
}

// duration decodes a positive Go duration such as 1s, 35s or 500ms. Bare
// numbers are refused: "5" could mean seconds or nanoseconds.
func (p *parser) duration(n *yaml.Node, field string, allowZero bool) time.Duration {
	if !p.scalar(n, field, "a duration like 1s or 500ms") {
		return 0
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil || n.ShortTag() != "!!str" {
		p.errorf(n, field, "must be a duration like 1s or 500ms, got %s", describe(n))
		return 0
	}
	if d < 0 || (d == 0 && !allowZero) {
		p.errorf(n, field, "must be positive, got %s", n.Value)
		return 0
	}
	return d
}

// sizeRE matches a byte size: a number and an optional binary unit.
var sizeRE = regexp.MustCompile(`^([0-9]+)\s*([kKmMgGtT]i?[bB]?|[bB])?$`)

// size decodes a byte count: 65536, or with a binary unit as docker takes
// it (512m, 1g, 4KiB; k, m, g and t are powers of 1024).
func (p *parser) size(n *yaml.Node, field string) int64 {
	if !p.scalar(n, field, "a size like 65536 or 512m") {
		return 0
	}
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(n.Value))
	if m == nil {
		p.errorf(n, field, "must be a size like 65536, 4k or 512m, got %s", describe(n))
		return 0
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	shift := 0
	if m[2] != "" {
		shift = 10 * strings.IndexByte("bkmgt", lower(m[2][0]))
	}
	if err != nil || v > math.MaxInt64>>shift {
		p.errorf(n, field, "size %s is too large", n.Value)
		return 0
	}
	return v << shift
}

// lower returns the ASCII lowercase of c.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// strList decodes a list of non-empty strings.
func (p *parser) strList(n *yaml.Node, field string) []string {
	var out []string
	p.sequence(n, field, func(_ int, v *yaml.Node, f string) {
		if s := p.str(v, f); s != "" {
			out = append(out, s)
		} else if v.Kind == yaml.ScalarNode && v.ShortTag() != "!!null" {
			p.errorf(v, f, "must not be empty")
		}
	})
	return out
}

// strMap decodes a mapping of strings to strings, such as env.
func (p *parser) strMap(n *yaml.Node, field string) map[string]string {
	if !p.kind(n, field, yaml.MappingNode, "a mapping") {
		return nil
	}
	out := make(map[string]string, len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := join(field, k.Value)
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			p.errorf(k, field, "keys must be non-empty strings")
			continue
		}
		if line, dup := seen[k.Value]; dup {
			p.errorf(k, sub, "repeated key (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
			out[k.Value] = ""
			continue
		}
		out[k.Value] = p.str(v, sub)
	}
	return out
}

// join appends key to a field path.
func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}
