package matrix

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// head is a valid start of a matrix; cases append servers and scenarios.
// Its lines are numbered so that expected positions below can be checked
// by eye: profiles are lines 2-3, "servers:" is line 4.
const head = `version: 1
profiles:
  quick: {warmup: 1s, duration: 3s}
servers:
`

// okServer and okScenario complete head into a valid matrix.
const (
	okServer   = "  - {name: a, protocols: [h1], build: {go: ./a}}\n"
	okScenario = "scenarios:\n  - {name: s, protocol: h1, connections: 2}\n"
)

func TestParseIssueExample(t *testing.T) {
	m, err := Load("testdata/issue-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells, err := m.Cells(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"get-simple/go-stdlib", "get-simple/my-proc", "churn-close/go-stdlib", "churn-close/my-proc", "post-64k-h2/go-stdlib"}
	if got := ids(cells); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("cells = %v, want %v", got, want)
	}
	sc, _ := m.Scenario("churn-close")
	if !sc.Close || sc.ErrorBudget != 0.5 || sc.Connections != 32 {
		t.Errorf("churn-close = %+v", sc)
	}
	post, _ := m.Scenario("post-64k-h2")
	if post.BodySize != 65536 || post.Streams != 100 || post.Method != "POST" || post.Protocol != H2C {
		t.Errorf("post-64k-h2 = %+v", post)
	}
	p, err := m.Profile("nightly")
	if err != nil || p.Warmup != 10*time.Second || p.Duration != 35*time.Second || p.Repeat != 3 || p.Cooldown != 5*time.Second || p.Scale != 1 {
		t.Errorf("nightly = %+v, %v", p, err)
	}
	if _, err := m.Profile("weekly"); err == nil || !strings.Contains(err.Error(), `no profile named "weekly" (profiles: quick, nightly)`) {
		t.Errorf("unknown profile: %v", err)
	}
	if def, _ := m.Profile(""); def.Name != "quick" {
		t.Errorf("default profile = %q, want quick (the first)", def.Name)
	}
	srv, _ := m.Server("my-proc")
	if srv.Ready.Timeout != 10*time.Second || srv.Process == nil || srv.Process.Command[0] != "sh" {
		t.Errorf("my-proc = %+v", srv)
	}
	if len(m.SHA256) != 64 || !filepath.IsAbs(m.Dir) {
		t.Errorf("SHA256 %q, Dir %q", m.SHA256, m.Dir)
	}
}

func TestParseRootMatrix(t *testing.T) {
	m, err := Load("../../matrix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"quick", "nightly"} {
		if _, err := m.Profile(name); err != nil {
			t.Error(err)
		}
	}
	cells, err := m.Cells(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) < 2*len(m.Servers) {
		t.Errorf("only %d cells for %d servers", len(cells), len(m.Servers))
	}
	for _, s := range m.Servers {
		if s.Build == nil || s.Build.Go == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(m.Dir, s.Build.Go, "go.mod")); err != nil {
			t.Errorf("server %s: build dir: %v", s.Name, err)
		}
	}
}

func TestParseFull(t *testing.T) {
	m, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	big, _ := m.Profile("big")
	want := Profile{Name: "big", Warmup: 10 * time.Second, Duration: 35 * time.Second, Repeat: 3,
		Cooldown: 5 * time.Second, Scale: 2.5, CPUs: "1", LoadgenCPUs: "0", Memory: 512 << 20,
		TargetHost: "10.0.0.2", Budget: 2 * time.Hour, Pos: big.Pos}
	if big != want {
		t.Errorf("profile big = %+v\nwant %+v", big, want)
	}
	s, _ := m.Server("both")
	if s.Memory != 1<<30 || s.Ready.Path != "/json" || s.Env["EMPTY"] != "" || s.Env["HOST"] != "127.0.0.1" ||
		s.Process.Env["GOGC"] != "200" || s.Process.Dir != "./servers" || s.CapAdd[0] != "NET_ADMIN" ||
		len(s.Protocols) != 3 || s.Framework != "net/http" || s.Version != "go1.26" {
		t.Errorf("server both = %+v", s)
	}
	get, _ := m.Scenario("get")
	if len(get.Headers) != 2 || get.Headers[0] != (Header{"Accept", "*/*"}) || get.Headers[1].Name != "X-Trace" {
		t.Errorf("headers = %v (order must be kept)", get.Headers)
	}
	post, _ := m.Scenario("post")
	if post.BodySize != 4096 || post.ExpectStatus != 200 || post.Timeout != 2*time.Second || post.Streams != 10 {
		t.Errorf("post = %+v", post)
	}
	rated, _ := m.Scenario("rated")
	if !rated.Rated() || rated.SaturationFrom != "get" {
		t.Errorf("rated = %+v", rated)
	}
	slo, _ := m.Scenario("slo")
	wantCap := Capacity{P99: 10 * time.Millisecond, P999: 50 * time.Millisecond, ErrorBudget: 0.02, Start: 0.25,
		Step: 3 * time.Second, StepWarmup: 0, MaxSteps: 8}
	if !slo.Searched() || *slo.Capacity != wantCap || slo.SaturationFrom != "get" {
		t.Errorf("slo capacity = %+v, want %+v", slo.Capacity, wantCap)
	}
	probe, _ := m.Scenario("slo-probe")
	wantCap = Capacity{P999: time.Millisecond, Start: DefaultCapacityStart, Step: DefaultCapacityStep,
		StepWarmup: DefaultCapacityStepWarmup, MaxSteps: DefaultCapacitySteps}
	if !probe.Searched() || *probe.Capacity != wantCap {
		t.Errorf("slo-probe capacity = %+v, want %+v (defaults; its own error budget 0 wins over the row's)", probe.Capacity, wantCap)
	}
	if got := big.Apply(get).Connections; got != 20 {
		t.Errorf("scaled connections = %d, want 20", got)
	}
	one, _ := m.Scenario("one")
	if got := big.Apply(one).Connections; got != 1 {
		t.Errorf("fixed_connections scaled to %d", got)
	}
	if got := big.Apply(post); got.Connections != 5 || got.Streams != 10 {
		t.Errorf("h2 scaled = %d conns x %d streams, want 5 x 10 (streams never scale)", got.Connections, got.Streams)
	}
	if big.ServerCPUs(s) != "0-1" || big.ServerCPUs(Server{}) != "1" || big.ServerMemory(Server{}) != 512<<20 {
		t.Error("server overrides of the profile's cpus/memory")
	}
}

// TestParseBroken checks that each broken matrix fails with a message
// naming the file, line, column and field.
func TestParseBroken(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error, in any order
	}{
		{"unknown top key", head + okServer + okScenario + "colour: red\n",
			[]string{`m.yaml:8:1: colour: unknown key "colour"`}},
		{"unknown scenario key", head + okServer + "scenarios:\n  - {name: s, protocol: h1, conections: 2}\n",
			[]string{`m.yaml:7:29: scenarios[0].conections: unknown key "conections" (allowed: `}},
		{"unknown profile key", "version: 1\nprofiles:\n  quick: {duration: 3s, repeats: 2}\nservers:\n" + okServer + okScenario,
			[]string{`m.yaml:3:25: profiles.quick.repeats: unknown key`}},
		{"duplicate server", head + okServer + "  - {name: a, protocols: [h1], image: x}\n" + okScenario,
			[]string{`m.yaml:6:5: servers[1].name: duplicate server name "a" (first at line 5)`}},
		{"duplicate scenario", head + okServer + okScenario + "  - {name: s, protocol: h1}\n",
			[]string{`m.yaml:8:5: scenarios[1].name: duplicate scenario name "s" (first at line 7)`}},
		{"duplicate key", head + okServer + "scenarios:\n  - {name: s, protocol: h1, protocol: h2c}\n",
			[]string{`m.yaml:7:29: scenarios[0].protocol: repeated key (first at line 7)`}},
		{"unknown protocol", head + okServer + "scenarios:\n  - {name: s, protocol: h4}\n",
			[]string{`m.yaml:7:25: scenarios[0].protocol: unknown protocol "h4" (want h1, h1s, h2c, h2 or h3)`}},
		{"close with h3", head + okServer + "scenarios:\n  - {name: s, protocol: h3, close: true}\n",
			[]string{`m.yaml:7:29: scenarios[0].close: is HTTP/1.1 only; h3 has no Connection: close`}},
		{"unknown server protocol", head + "  - {name: a, protocols: [h1, spdy], image: x}\n" + okScenario,
			[]string{`m.yaml:5:31: servers[0].protocols[1]: unknown protocol "spdy"`}},
		{"negative duration", "version: 1\nprofiles:\n  quick: {warmup: -1s, duration: 3s}\nservers:\n" + okServer + okScenario,
			[]string{`m.yaml:3:19: profiles.quick.warmup: must be positive, got -1s`}},
		{"zero duration", "version: 1\nprofiles:\n  quick: {duration: 0s}\nservers:\n" + okServer + okScenario,
			[]string{`m.yaml:3:21: profiles.quick.duration: must be positive, got 0s`}},
		{"bare number duration", "version: 1\nprofiles:\n  quick: {duration: 5}\nservers:\n" + okServer + okScenario,
			[]string{`profiles.quick.duration: must be a duration like 1s or 500ms, got "5"`}},
		{"negative connections", head + okServer + "scenarios:\n  - {name: s, protocol: h1, connections: -3}\n",
			[]string{`m.yaml:7:42: scenarios[0].connections: must be at least 1, got -3`}},
		{"path name", head + "  - {name: ../x, protocols: [h1], image: x}\n" + okScenario,
			[]string{`m.yaml:5:12: servers[0].name: name "../x" must match [a-z0-9][a-z0-9._-]*`}},
		{"upper-case name", head + okServer + "scenarios:\n  - {name: Get, protocol: h1}\n",
			[]string{`scenarios[0].name: name "Get" must match`}},
		{"reserved name", head + "  - {name: manifest.json, protocols: [h1], image: x}\n" + okScenario,
			[]string{`servers[0].name: name "manifest.json" is reserved`}},
		{"exclude matches nothing", head + okServer + okScenario + "exclude: [\"s/b\", \"s/a\"]\n",
			[]string{`m.yaml:8:11: exclude[0]: "s/b" matches no scenario/server pair`}},
		{"exclude not a cell glob", head + okServer + okScenario + "exclude: [\"a\"]\n",
			[]string{`m.yaml:8:11: exclude[0]: must be a "scenario/server" glob, got "a"`}},
		{"no way to run", head + "  - {name: a, protocols: [h1]}\n" + okScenario,
			[]string{`m.yaml:5:5: servers[0]: server "a" has no way to run`}},
		{"build and image", head + "  - {name: a, protocols: [h1], build: {go: .}, image: x}\n" + okScenario,
			[]string{`servers[0].image: a server has a build or an image, not both`}},
		{"process without command", head + "  - {name: a, protocols: [h1], image: x, process: {dir: .}}\n" + okScenario,
			[]string{`servers[0].process.command: missing`}},
		{"build with two sources", head + "  - {name: a, protocols: [h1], build: {go: ., dockerfile: .}}\n" + okScenario,
			[]string{`servers[0].build: must have exactly one of go: DIR or dockerfile: DIR`}},
		{"close with h2c", head + okServer + "scenarios:\n  - {name: s, protocol: h2c, close: true}\n",
			[]string{`m.yaml:7:30: scenarios[0].close: is HTTP/1.1 only; h2c has no Connection: close`}},
		{"streams with h1", head + okServer + "scenarios:\n  - {name: s, protocol: h1, streams: 4}\n",
			[]string{`scenarios[0].streams: is HTTP/2 and HTTP/3 only`}},
		{"forbidden header", head + okServer + "scenarios:\n  - {name: s, protocol: h1, headers: {Host: x}}\n",
			[]string{`scenarios[0].headers.Host: may not be set`}},
		{"reference not a cell", "version: 1\nprofiles:\n  quick: {duration: 3s, reference: s/b}\nservers:\n" + okServer + okScenario,
			[]string{`m.yaml:3:36: profiles.quick.reference: "s/b" is not a cell of the matrix`}},
		{"reference rated", "version: 1\nprofiles:\n  quick: {duration: 3s, reference: r/a}\nservers:\n" + okServer + okScenario +
			"  - {name: r, protocol: h1, rate_fraction: 0.5, saturation_from: s}\n",
			[]string{`profiles.quick.reference: "r/a" is a rated cell`}},
		{"interference not positive", "version: 1\nprofiles:\n  quick: {duration: 3s, interference: 0}\nservers:\n" + okServer + okScenario,
			[]string{`profiles.quick.interference: must be a number of cores above 0, got 0`}},
		{"error budget over 1", head + okServer + "scenarios:\n  - {name: s, protocol: h1, error_budget: 5}\n",
			[]string{`scenarios[0].error_budget: must be between 0 and 1, got 5`}},
		{"rated without base", head + okServer + "scenarios:\n  - {name: s, protocol: h1, rate_fraction: 0.5}\n",
			[]string{`scenarios[0].rate_fraction: a rated row needs saturation_from`}},
		{"rated base later", head + okServer + "scenarios:\n  - {name: r, protocol: h1, rate_fraction: 0.5, saturation_from: s}\n  - {name: s, protocol: h1}\n",
			[]string{`scenarios[0].saturation_from: scenario "s" must come before "r"`}},
		{"rated base excluded", head + okServer + okScenario + "  - {name: r, protocol: h1, rate_fraction: 0.5, saturation_from: s}\nexclude: [s/a]\n",
			[]string{`cell s/a is excluded but the rated cell r/a takes its saturation rate from it`}},
		{"alias", head + okServer + "scenarios:\n  - &x {name: s, protocol: h1}\n  - *x\n",
			[]string{`scenarios[1]: YAML aliases are not supported`}},
		{"wrong version", "version: 2\nprofiles:\n  quick: {duration: 3s}\nservers:\n" + okServer + okScenario,
			[]string{`m.yaml:1:10: version: unsupported version 2`}},
		{"servers not a list", "version: 1\nprofiles:\n  quick: {duration: 3s}\nservers: {a: 1}\n" + okScenario,
			[]string{`m.yaml:4:10: servers: must be a list, got a mapping`}},
		{"profiles a list", "version: 1\nprofiles: [quick]\nservers:\n" + okServer + okScenario,
			[]string{`m.yaml:2:11: profiles: must be a mapping of profile names to profiles, got a list`}},
		{"bad cpuset", "version: 1\nprofiles:\n  quick: {duration: 3s, cpus: \"0-x\"}\nservers:\n" + okServer + okScenario,
			[]string{`profiles.quick.cpus: must be a cpuset like 1, 0-1 or 0,2-3, got "0-x"`}},
		{"bad target host", "version: 1\nprofiles:\n  quick: {duration: 3s, target_host: \"http://x:80/\"}\nservers:\n" + okServer + okScenario,
			[]string{`profiles.quick.target_host: must be a host name or IP address without scheme or port`}},
		{"bad scale", "version: 1\nprofiles:\n  quick: {duration: 3s, scale: 0}\nservers:\n" + okServer + okScenario,
			[]string{`profiles.quick.scale: must be above 0 and at most 1000, got 0`}},
		{"scale not a number", "version: 1\nprofiles:\n  quick: {duration: 3s, scale: lots}\nservers:\n" + okServer + okScenario,
			[]string{`profiles.quick.scale: must be a number, got "lots"`}},
		{"close not a bool", head + okServer + "scenarios:\n  - {name: s, protocol: h1, close: yes please}\n",
			[]string{`scenarios[0].close: must be true or false, got "yes please"`}},
		{"path without slash", head + okServer + "scenarios:\n  - {name: s, protocol: h1, path: index.html}\n",
			[]string{`scenarios[0].path: must be a path starting with /`}},
		{"ready path with space", head + "  - {name: a, protocols: [h1], image: x, ready: {path: / x}}\n" + okScenario,
			[]string{`servers[0].ready.path: must be a path starting with /`}},
		{"bad method", head + okServer + "scenarios:\n  - {name: s, protocol: h1, method: \"GE T\"}\n",
			[]string{`scenarios[0].method: method "GE T" is not an HTTP token`}},
		{"body with GET", head + okServer + "scenarios:\n  - {name: s, protocol: h1, body_size: 10}\n",
			[]string{`scenarios[0].body_size: a GET request carries no body`}},
		{"status out of range", head + okServer + "scenarios:\n  - {name: s, protocol: h1, expect_status: 700}\n",
			[]string{`scenarios[0].expect_status: must be an HTTP status code (100-599), got 700`}},
		{"rate and fraction", head + okServer + okScenario + "  - {name: r, protocol: h1, rate: 10, rate_fraction: 0.5, saturation_from: s}\n",
			[]string{`scenarios[1].rate: rate and rate_fraction are exclusive`}},
		{"saturation without fraction", head + okServer + okScenario + "  - {name: r, protocol: h1, saturation_from: s}\n",
			[]string{`scenarios[1].saturation_from: only a rated row (rate_fraction) or a capacity row takes saturation_from`}},
		{"saturation unknown", head + okServer + okScenario + "  - {name: r, protocol: h1, rate_fraction: 0.5, saturation_from: zz}\n",
			[]string{`scenarios[1].saturation_from: no scenario named "zz"`}},
		{"saturation self", head + okServer + okScenario + "  - {name: r, protocol: h1, rate_fraction: 0.5, saturation_from: r}\n",
			[]string{`scenarios[1].saturation_from: a rated row cannot take its saturation rate from itself`}},
		{"saturation other protocol", head + "  - {name: a, protocols: [h1, h2c], image: x}\n" + okScenario + "  - {name: r, protocol: h2c, rate_fraction: 0.5, saturation_from: s}\n",
			[]string{`scenarios[1].saturation_from: scenario "s" speaks h1, not h2c`}},
		{"saturation from rated", head + okServer + "scenarios:\n  - {name: s, protocol: h1, rate: 100}\n  - {name: r, protocol: h1, rate_fraction: 0.5, saturation_from: s}\n",
			[]string{`scenario "s" is rated itself`}},
		{"capacity without objective", head + okServer + okScenario + "  - {name: c, protocol: h1, capacity: {step: 1s}}\n",
			[]string{`m.yaml:8:39: scenarios[1].capacity: needs a latency objective`}},
		{"capacity bad p99", head + okServer + okScenario + "  - {name: c, protocol: h1, capacity: {p99: 10}}\n",
			[]string{`m.yaml:8:45: scenarios[1].capacity.p99: must be a duration like 1s or 500ms, got "10"`}},
		{"capacity unknown key", head + okServer + okScenario + "  - {name: c, protocol: h1, capacity: {p95: 10ms}}\n",
			[]string{`m.yaml:8:40: scenarios[1].capacity.p95: unknown key "p95"`}},
		{"capacity with rate", head + okServer + okScenario + "  - {name: c, protocol: h1, rate: 100, capacity: {p99: 10ms}}\n",
			[]string{`scenarios[1].rate: a capacity row searches its rate; rate does not go with capacity`}},
		{"capacity budget", head + okServer + okScenario + "  - {name: c, protocol: h1, capacity: {p99.9: 10ms, error_budget: 2}}\n",
			[]string{`scenarios[1].capacity.error_budget: must be between 0 and 1, got 2`}},
		{"capacity steps", head + okServer + okScenario + "  - {name: c, protocol: h1, capacity: {p99: 1ms, max_steps: 1}}\n",
			[]string{`scenarios[1].capacity.max_steps: must be at least 2, got 1`}},
		{"capacity from capacity", head + okServer + okScenario + "  - {name: c, protocol: h1, capacity: {p99: 1ms}}\n  - {name: d, protocol: h1, saturation_from: c, capacity: {p99: 1ms}}\n",
			[]string{`scenarios[2].saturation_from: scenario "c" is rated itself`}},
		{"reference capacity", "version: 1\nprofiles:\n  quick: {duration: 3s, reference: c/a}\nservers:\n" + okServer + okScenario +
			"  - {name: c, protocol: h1, capacity: {p99: 10ms}}\n",
			[]string{`profiles.quick.reference: "c/a" is a rated cell`}},
		{"no cell", head + "  - {name: a, protocols: [h2c], image: x}\n" + okScenario,
			[]string{`m.yaml: the matrix has no cell`}},
		{"bad capability", head + "  - {name: a, protocols: [h1], image: x, cap_add: [net_admin]}\n" + okScenario,
			[]string{`servers[0].cap_add: capability "net_admin" must be a name like NET_ADMIN`}},
		{"header value with newline", head + okServer + "scenarios:\n  - {name: s, protocol: h1, headers: {X-A: \"a\\r\\nb: c\"}}\n",
			[]string{`scenarios[0].headers.X-A: value must not contain CR, LF or NUL`}},
		{"missing sections", "version: 1\n", []string{`profiles: missing`, `servers: missing`, `scenarios: missing`}},
		{"empty", "", []string{`m.yaml: the file is empty`}},
		{"syntax", "version: 1\nprofiles: [\n", []string{`m.yaml:2: invalid YAML`}},
		{"two documents", head + okServer + okScenario + "---\nversion: 1\n", []string{`more than one YAML document`}},
		{"several errors at once", head + "  - {name: A, protocols: [h9], image: x}\n" + "scenarios:\n  - {name: s, protocol: h1, connections: 0}\n",
			[]string{`servers[0].name: name "A"`, `servers[0].protocols[0]: unknown protocol "h9"`, `scenarios[0].connections: must be at least 1, got 0`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("m.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded (%d servers); want errors %q", len(m.Servers), tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
			var e *Error
			if !errors.As(err, &e) || e.File != "m.yaml" {
				t.Errorf("error %v is not a *matrix.Error naming the file", err)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	for in, want := range map[string]int64{"65536": 65536, "4k": 4096, "4KiB": 4096, "512m": 512 << 20, "1g": 1 << 30, "1GB": 1 << 30, "0": 0, "7b": 7} {
		y := head + okServer + "scenarios:\n  - {name: s, protocol: h1, method: POST, body_size: " + in + "}\n"
		m, err := Parse("m.yaml", []byte(y))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := m.Scenarios[0].BodySize; got != want {
			t.Errorf("body_size %s = %d, want %d", in, got, want)
		}
	}
	for _, in := range []string{"-1", "1.5k", "1x", "99999999999999999999", "9000000000000t"} {
		y := head + okServer + "scenarios:\n  - {name: s, protocol: h1, method: POST, body_size: " + in + "}\n"
		if _, err := Parse("m.yaml", []byte(y)); err == nil || !strings.Contains(err.Error(), "body_size") {
			t.Errorf("body_size %s: err = %v, want a body_size error", in, err)
		}
	}
}

// ids returns the IDs of cells.
func ids(cells []Cell) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = c.ID()
	}
	return out
}

// TestDocExample checks that the example in docs/matrix-file.md validates.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/matrix-file.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Example\n\n```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml example in docs/matrix-file.md")
	}
	m, err := Parse("docs/matrix-file.md", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := m.Profile("nightly"); p.Budget != 8*time.Hour {
		t.Errorf("budget = %v", p.Budget)
	}
	cells, err := m.Cells(Filter{})
	if err != nil || len(cells) != 9 {
		t.Errorf("cells = %v, %v; want 9", ids(cells), err)
	}
}

func TestCheckPaths(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"good", "nomod", "ctx"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "good", "go.mod"), []byte("module x\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "ctx", "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	y := `version: 1
profiles: {q: {duration: 1s}}
servers:
  - {name: good, protocols: [h1], build: {go: ./good}}
  - {name: nomod, protocols: [h1], build: {go: ./nomod}}
  - {name: missing, protocols: [h1], build: {go: ./missing}}
  - {name: docker, protocols: [h1], build: {dockerfile: ./ctx}, process: {command: [x], dir: ./nowhere}}
scenarios:
  - {name: s, protocol: h1}
`
	path := filepath.Join(dir, "matrix.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cells, _ := m.Cells(Filter{})
	err = m.CheckPaths(cells)
	if err == nil {
		t.Fatal("CheckPaths found nothing")
	}
	for _, want := range []string{
		path + ":5:48: servers[1].build.go: ./nomod has no go.mod",
		path + ":6:50: servers[2].build.go: directory ./missing: no such file or directory",
		":7:94: servers[3].process.dir: directory ./nowhere",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\nlacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "servers[0]") || strings.Contains(err.Error(), "build.dockerfile") {
		t.Errorf("good paths reported: %v", err)
	}
	only, _ := m.Cells(Filter{Servers: []string{"good"}})
	if err := m.CheckPaths(only); err != nil {
		t.Errorf("CheckPaths of the good server: %v", err)
	}
}
