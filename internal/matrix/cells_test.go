package matrix

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// gridYAML is a matrix of 3 servers and 4 scenarios for cell tests.
const gridYAML = `version: 1
profiles:
  p: {warmup: 1s, duration: 2s, repeat: 2, cooldown: 1s}
servers:
  - {name: a, protocols: [h1, h2c], build: {go: ./a}}
  - {name: b, protocols: [h1], image: b}
  - {name: c, protocols: [h2c], process: {command: [c]}}
scenarios:
  - {name: get, protocol: h1}
  - {name: post, protocol: h1}
  - {name: get-h2, protocol: h2c}
  - {name: post-h2, protocol: h2c}
exclude: ["post/b"]
`

func grid(t *testing.T) *Matrix {
	t.Helper()
	m, err := Parse("grid.yaml", []byte(gridYAML))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCells(t *testing.T) {
	m := grid(t)
	tests := []struct {
		f    Filter
		want string
	}{
		{Filter{}, "get/a get/b post/a get-h2/a get-h2/c post-h2/a post-h2/c"},
		{Filter{Servers: []string{"a"}}, "get/a post/a get-h2/a post-h2/a"},
		{Filter{Servers: []string{"c", "b"}}, "get/b get-h2/c post-h2/c"},
		{Filter{Scenarios: []string{"get-h2"}}, "get-h2/a get-h2/c"},
		{Filter{Servers: []string{"a"}, Scenarios: []string{"get", "post-h2"}}, "get/a post-h2/a"},
		{Filter{CellGlobs: []string{"*-h2/*"}}, "get-h2/a get-h2/c post-h2/a post-h2/c"},
		{Filter{CellGlobs: []string{"get/*", "*/c"}}, "get/a get/b get-h2/c post-h2/c"},
		{Filter{Servers: []string{"a"}, CellGlobs: []string{"post*/*"}}, "post/a post-h2/a"},
	}
	for _, tt := range tests {
		cells, err := m.Cells(tt.f)
		if err != nil {
			t.Errorf("%+v: %v", tt.f, err)
			continue
		}
		if got := strings.Join(ids(cells), " "); got != tt.want {
			t.Errorf("%+v:\n got %s\nwant %s", tt.f, got, tt.want)
		}
	}
}

func TestCellsFilterErrors(t *testing.T) {
	m := grid(t)
	tests := []struct {
		f    Filter
		want string
	}{
		{Filter{Servers: []string{"zz"}}, `no server named "zz" (servers: a, b, c)`},
		{Filter{Scenarios: []string{"put"}}, `no scenario named "put"`},
		{Filter{CellGlobs: []string{"post/b"}}, `cell filter "post/b" matches no cell`},
		{Filter{CellGlobs: []string{"get"}}, `must be a "scenario/server" glob`},
		{Filter{CellGlobs: []string{"[/a"}}, `bad glob`},
		{Filter{Servers: []string{"b"}, Scenarios: []string{"get-h2"}}, `the filters select no cell`},
	}
	for _, tt := range tests {
		_, err := m.Cells(tt.f)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err = %v, want %q", tt.f, err, tt.want)
		}
	}
}

func TestSplitID(t *testing.T) {
	for id, ok := range map[string]bool{"get/a": true, "get": false, "/a": false, "get/": false, "a/b/c": false} {
		if _, _, got := SplitID(id); got != ok {
			t.Errorf("SplitID(%q) ok = %v, want %v", id, got, ok)
		}
	}
}

func TestEstimate(t *testing.T) {
	m := grid(t)
	cells, _ := m.Cells(Filter{})
	p, _ := m.Profile("p")
	b := Estimate(cells, p, Overhead{Build: 30 * time.Second, Start: 2 * time.Second})
	// 7 cells x 2 repeats = 14 measurements; only a has a build; the
	// reference cell is measured 3 more times (start 2s, warmup 1s,
	// window 2s each).
	want := Breakdown{Cells: 7, Repeats: 2, Builds: 1, Build: 30 * time.Second,
		Readiness: 28 * time.Second, Warmup: 14 * time.Second, Duration: 28 * time.Second,
		Cooldown: 14 * time.Second, Reference: 15 * time.Second, Total: 129 * time.Second}
	if b != want {
		t.Errorf("Estimate = %+v\nwant %+v", b, want)
	}
	if s := b.String(); !strings.Contains(s, "7 cells x 2 repeats, estimated 2m9s") {
		t.Errorf("String() = %q", s)
	}
	p.Reference = ReferenceOff
	if b := Estimate(cells, p, Overhead{Build: 30 * time.Second, Start: 2 * time.Second}); b.Reference != 0 || b.Total != 114*time.Second {
		t.Errorf("with reference: none, Estimate = %+v; want no reference and 1m54s", b)
	}
}

func TestShard(t *testing.T) {
	// A 6 x 5 grid of h1 servers with Go builds, plus a rated row.
	var y strings.Builder
	y.WriteString("version: 1\nprofiles:\n  p: {warmup: 1s, duration: 3s}\nservers:\n")
	for i := range 6 {
		fmt.Fprintf(&y, "  - {name: s%d, protocols: [h1], build: {go: ./s%d}}\n", i, i)
	}
	y.WriteString("scenarios:\n")
	for i := range 5 {
		fmt.Fprintf(&y, "  - {name: r%d, protocol: h1}\n", i)
	}
	y.WriteString("  - {name: rated, protocol: h1, rate_fraction: 0.5, saturation_from: r2}\n")
	m, err := Parse("shard.yaml", []byte(y.String()))
	if err != nil {
		t.Fatal(err)
	}
	cells, _ := m.Cells(Filter{})
	p, _ := m.Profile("")
	o := DefaultOverhead
	for n := 1; n <= 8; n++ {
		seen := map[string]int{}
		var totals []time.Duration
		for k := 1; k <= n; k++ {
			part, err := Shard(cells, k, n, p, o)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Shard(cells, k, n, p, o)
			if strings.Join(ids(part), " ") != strings.Join(ids(again), " ") {
				t.Fatalf("shard %d/%d is not deterministic", k, n)
			}
			for _, c := range part {
				seen[c.ID()]++
			}
			in := map[string]bool{}
			for _, c := range part {
				in[c.ID()] = true
			}
			for _, c := range part {
				if base, ok := c.Needs(); ok && !in[base] {
					t.Errorf("shard %d/%d: rated cell %s without %s", k, n, c.ID(), base)
				}
			}
			totals = append(totals, Estimate(part, p, o).Total)
		}
		for _, c := range cells {
			if seen[c.ID()] != 1 {
				t.Errorf("N=%d: cell %s in %d shards", n, c.ID(), seen[c.ID()])
			}
		}
		if len(seen) != len(cells) {
			t.Errorf("N=%d: %d cells in shards, want %d", n, len(seen), len(cells))
		}
		lo, hi := totals[0], totals[0]
		for _, d := range totals {
			lo, hi = min(lo, d), max(hi, d)
		}
		// Balanced: no shard is more than one column (a build and its
		// cells) plus a cell group longer than the shortest.
		perCell := o.Start + p.Warmup + p.Duration + p.Cooldown
		if hi-lo > o.Build+7*perCell {
			t.Errorf("N=%d: shard estimates %v are unbalanced", n, totals)
		}
	}
	for _, kn := range [][2]int{{0, 2}, {3, 2}, {1, 0}} {
		if _, err := Shard(cells, kn[0], kn[1], p, o); err == nil {
			t.Errorf("Shard(%d/%d) succeeded", kn[0], kn[1])
		}
	}
}

func TestParseShard(t *testing.T) {
	for in, want := range map[string][2]int{"1/1": {1, 1}, "2/4": {2, 4}, " 3/3 ": {3, 3}} {
		k, n, err := ParseShard(in)
		if err != nil || k != want[0] || n != want[1] {
			t.Errorf("ParseShard(%q) = %d, %d, %v", in, k, n, err)
		}
	}
	for _, in := range []string{"", "1", "0/2", "3/2", "a/b", "1/0", "-1/2"} {
		if _, _, err := ParseShard(in); err == nil {
			t.Errorf("ParseShard(%q) succeeded", in)
		}
	}
}

func TestShardFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		env       func(string) string
		k, n      int
		ok, isErr bool
	}{
		{env(), 0, 0, false, false},
		{env(EnvShard, "2/3"), 2, 3, true, false},
		{env(EnvJobIndex, "0", EnvShardCount, "4"), 1, 4, true, false},
		{env(EnvJobIndex, "3", EnvShardCount, "4"), 4, 4, true, false},
		{env(EnvJobIndex, "4", EnvShardCount, "4"), 0, 0, true, true},
		{env(EnvJobIndex, "1"), 0, 0, false, false},
		{env(EnvShard, "x"), 0, 0, true, true},
	}
	for i, tt := range tests {
		k, n, ok, err := ShardFromEnv(tt.env)
		if k != tt.k || n != tt.n || ok != tt.ok || (err != nil) != tt.isErr {
			t.Errorf("case %d: got %d/%d ok=%v err=%v", i, k, n, ok, err)
		}
	}
}
