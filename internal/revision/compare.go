package revision

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"unicode"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/runtime"
)

// Comparison says which servers differ between the two sides of a Pair.
type Comparison struct {
	// Changed lists, in selection order, the servers whose build inputs
	// or definition differ.
	Changed []string
	// Unchanged lists, in selection order, the servers that build from
	// the same files and are defined the same at both sides.
	Unchanged []string
	// Skipped maps each server of the default selection that exists at
	// one side only to why it cannot be compared.
	Skipped map[string]string
	// Why maps each changed server to what differs, one entry per
	// difference: "build.go ./servers/a: files differ",
	// "definition: env, process".
	Why map[string][]string
}

// Compare compares the servers called names at both sides or, when names
// is empty, every server of the head matrix (in its order) followed by
// those that exist at the base only.
//
// A server is changed when the content of its build directory (build.go,
// build.dockerfile) differs, by the hash the build cache keys on
// (runtime.InputHash), or when its definition in the matrix file differs,
// positions aside. A server without a build (an image, a process command)
// is compared by its definition only: the files its command reads are not
// hashed.
//
// A named server missing at a side is an error; in the default selection
// it is skipped. A directory of a compared server (build.go,
// build.dockerfile, process.dir) that resolves outside the repository is
// an error: the two sides would share it, or it would not exist in a
// checkout. So is a build directory that cannot be hashed.
func (p *Pair) Compare(names []string) (*Comparison, error) {
	c := &Comparison{Skipped: map[string]string{}, Why: map[string][]string{}}
	var errs []error
	for _, name := range p.selection(names) {
		b, inBase := p.BaseMatrix.Server(name)
		h, inHead := p.HeadMatrix.Server(name)
		switch {
		case inBase && inHead:
		case len(names) > 0:
			errs = append(errs, p.missing(name, inBase, inHead))
			continue
		case inHead:
			c.Skipped[name] = fmt.Sprintf("does not exist at %s", p.Base)
			continue
		default:
			c.Skipped[name] = fmt.Sprintf("does not exist at %s", p.Head)
			continue
		}
		why, err := p.compareServer(b, h)
		switch {
		case err != nil:
			errs = append(errs, err)
		case len(why) > 0:
			c.Changed = append(c.Changed, name)
			c.Why[name] = why
		default:
			c.Unchanged = append(c.Unchanged, name)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// selection returns names without repeats or, when it is empty, the
// default selection.
func (p *Pair) selection(names []string) []string {
	var sel []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			sel = append(sel, n)
		}
	}
	if len(names) > 0 {
		for _, n := range names {
			add(n)
		}
		return sel
	}
	for _, s := range p.HeadMatrix.Servers {
		add(s.Name)
	}
	for _, s := range p.BaseMatrix.Servers {
		add(s.Name)
	}
	return sel
}

// missing is the error for a named server absent from a side or both.
func (p *Pair) missing(name string, inBase, inHead bool) error {
	switch {
	case inHead:
		return fmt.Errorf("server %q does not exist at %s", name, p.Base)
	case inBase:
		return fmt.Errorf("server %q does not exist at %s", name, p.Head)
	default:
		return fmt.Errorf("server %q does not exist at %s or at %s", name, p.Base, p.Head)
	}
}

// compareServer returns what differs between the base and head
// definitions of one server.
func (p *Pair) compareServer(b, h matrix.Server) ([]string, error) {
	if err := p.inRepo(p.Base, p.BaseMatrix, b); err != nil {
		return nil, err
	}
	if err := p.inRepo(p.Head, p.HeadMatrix, h); err != nil {
		return nil, err
	}
	var why []string
	if fields := definitionDiff(b, h); len(fields) > 0 {
		why = append(why, "definition: "+strings.Join(fields, ", "))
	}
	bin, hin := buildInputs(b), buildInputs(h)
	if len(bin) != len(hin) || len(bin) == 0 || bin[0].field != hin[0].field {
		// A different kind of build shows in the definition already.
		return why, nil
	}
	bh, err := inputHash(p.Base, p.BaseMatrix, b.Name, bin[0])
	if err != nil {
		return nil, err
	}
	hh, err := inputHash(p.Head, p.HeadMatrix, h.Name, hin[0])
	if err != nil {
		return nil, err
	}
	if bh != hh {
		why = append(why, fmt.Sprintf("%s %s: files differ", hin[0].field, hin[0].path))
	}
	return why, nil
}

// input is a directory a server's definition names.
type input struct {
	field string // "build.go", "build.dockerfile", "process.dir"
	path  string // as written, relative to the matrix file's directory
}

// buildInputs returns the build directory of s, if it has one.
func buildInputs(s matrix.Server) []input {
	switch {
	case s.Build == nil:
		return nil
	case s.Build.Go != "":
		return []input{{"build.go", s.Build.Go}}
	case s.Build.Dockerfile != "":
		return []input{{"build.dockerfile", s.Build.Dockerfile}}
	}
	return nil
}

// inputs returns every directory s names.
func inputs(s matrix.Server) []input {
	in := buildInputs(s)
	if s.Process != nil && s.Process.Dir != "" {
		in = append(in, input{"process.dir", s.Process.Dir})
	}
	return in
}

// inRepo checks that every directory s names at side resolves inside the
// side's checkout, symbolic links followed where the path exists.
func (p *Pair) inRepo(side Side, m *matrix.Matrix, s matrix.Server) error {
	for _, in := range inputs(s) {
		if filepath.IsAbs(in.path) {
			return fmt.Errorf("server %q at %s: %s %q is an absolute path, the same directory at both revisions; write it relative to the matrix file, inside the repository %s",
				s.Name, side, in.field, in.path, p.Repo)
		}
		if where, ok := p.leadsTo(side, m.Resolve(in.path)); !ok {
			return fmt.Errorf("server %q at %s: %s %q is outside the repository %s (it leads to %s); each revision must use its own files",
				s.Name, side, in.field, in.path, p.Repo, where)
		}
	}
	return nil
}

// leadsTo reports whether full lies inside the checkout of side, following
// symbolic links where the path exists, and if not, where it leads, in the
// user's repository rather than in a temporary checkout.
func (p *Pair) leadsTo(side Side, full string) (string, bool) {
	rel, ok := within(side.Dir, full)
	if !ok {
		return filepath.Join(p.Repo, filepath.FromSlash(rel)), false
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", true // a missing directory is reported by the hash or the run
	}
	if _, ok := within(side.Dir, real); !ok {
		return real, false
	}
	return "", true
}

// within returns path relative to root, slash-separated, and whether it
// lies inside root.
func within(root, path string) (string, bool) {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return "", false
	}
	rel = filepath.ToSlash(rel)
	return rel, rel != ".." && !strings.HasPrefix(rel, "../")
}

// inputHash hashes the build directory in of server name at side.
func inputHash(side Side, m *matrix.Matrix, name string, in input) (string, error) {
	dir := m.Resolve(in.path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("server %q at %s: %s %q is not a directory there", name, side, in.field, in.path)
	}
	h, err := runtime.InputHash(dir)
	if err != nil {
		return "", fmt.Errorf("server %q at %s: %s %s: %w", name, side, in.field, in.path, err)
	}
	return h, nil
}

// definitionDiff returns the matrix-file keys of the fields in which a
// and b differ, positions aside.
func definitionDiff(a, b matrix.Server) []string {
	va, vb := canonical(reflect.ValueOf(a)), canonical(reflect.ValueOf(b))
	var keys []string
	for i := 0; i < va.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			keys = append(keys, snake(va.Type().Field(i).Name))
		}
	}
	return keys
}

// posType is the type of positions, which say where a thing is written,
// not what it is.
var posType = reflect.TypeFor[matrix.Pos]()

// canonical returns a copy of v with every position zeroed and every empty
// map or slice nil, so that DeepEqual compares meaning. It works by type,
// so a field added to matrix.Server later is compared without a change
// here.
func canonical(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := 0; i < v.NumField(); i++ {
			f := out.Field(i)
			if !f.CanSet() {
				continue
			}
			if f.Type() == posType {
				f.SetZero()
				continue
			}
			f.Set(canonical(f))
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(canonical(v.Elem()))
		return c
	case reflect.Map, reflect.Slice:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
	}
	return v
}

// snake turns a Go field name into the matrix file's key: CapAdd is
// cap_add, CPUs is cpus.
func snake(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && unicode.IsLower(rs[i-1]) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
