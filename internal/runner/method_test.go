package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/loadgen"
)

// TestRerunKeepsTheRunsMethod reruns a column of a process-runtime run
// with a Docker engine reachable and --runtime left unset: the rerun must
// measure as the run did (process runtime, the run's GOMAXPROCS), not as
// --runtime auto would choose today.
func TestRerunKeepsTheRunsMethod(t *testing.T) {
	needDocker(t)
	path, pids := writeMatrix(t, map[string]string{"a": "good", "b": "good"}, oneScenario)
	var out syncBuffer
	s, err := Prepare(context.Background(), Request{MatrixPath: path, Runtime: "process", Procs: 2,
		OutDir: t.TempDir(), CacheDir: t.TempDir(), Output: Output{Out: &out}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}

	var out2 syncBuffer
	s2, err := Prepare(context.Background(), Request{Rerun: s.Run.Dir, Filter: filterServers("a"),
		CacheDir: t.TempDir(), Output: Output{Out: &out2}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out2.String(), "runtime: process (the run's") {
		t.Errorf("the rerun does not say it keeps the run's runtime:\n%s", out2.String())
	}
	c := readCell(t, s2, "a", "get")
	if c.Runtime != "process" || c.Attempt != 2 || c.Status != results.StatusOK {
		t.Fatalf("rerun cell: runtime %q, attempt %d, %s/%s %q\n%s", c.Runtime, c.Attempt, c.Status, c.Reason, c.Detail, out2.String())
	}
	if c.ServerInfo.Extra["pid"] == "" || c.ServerInfo.Extra["program"] == "" {
		t.Errorf("server info extra %v: want the pid and program of the process", c.ServerInfo.Extra)
	}
	if procs := c.Repeats[0].Result.Config.GOMAXPROCS; procs != 2 {
		t.Errorf("the rerun measured with GOMAXPROCS %d, the run with 2", procs)
	}
	man, err := s2.Run.ReadManifest()
	if err != nil {
		t.Fatal(err)
	}
	if man.Runtime.Name != "process" || man.Loadgen == nil || man.Loadgen.GOMAXPROCS != 2 {
		t.Errorf("manifest after the rerun: runtime %q, loadgen %+v", man.Runtime.Name, man.Loadgen)
	}
	assertNoServerLeft(t, pids)

	// A run recorded as made through another engine is not rerun through
	// this one.
	man.Runtime = results.RuntimeInfo{Name: "docker", Endpoint: "tcp://192.0.2.1:2376"}
	if err := s2.Run.WriteManifest(man); err != nil {
		t.Fatal(err)
	}
	var out3 syncBuffer
	_, err = Prepare(context.Background(), Request{Rerun: s.Run.Dir, Filter: filterServers("a"), Output: Output{Out: &out3}})
	checkErr(t, err, []string{"is not the run's (tcp://192.0.2.1:2376, " + filepath.Join(s.Run.Dir, "manifest.json"), "DOCKER_HOST"})
	if !IsUsage(err) || strings.Contains(out3.String(), "runtime:") {
		t.Errorf("usage error %v, output %q: want a usage error before the runtime is said", IsUsage(err), out3.String())
	}
}

// TestResumeRefusesAnotherLoadgen: a run measured by another version of
// the load generator is neither resumed nor rerun by this one, which would
// measure its remaining cells otherwise.
func TestResumeRefusesAnotherLoadgen(t *testing.T) {
	path, _ := writeMatrix(t, map[string]string{"a": "good"}, oneScenario)
	s, _, _ := runMatrix(t, context.Background(), Request{MatrixPath: path, Profile: "test"})
	man, err := s.Run.ReadManifest()
	if err != nil {
		t.Fatal(err)
	}
	man.LoadgenVersion = "0.0.9"
	if err := s.Run.WriteManifest(man); err != nil {
		t.Fatal(err)
	}
	where := filepath.Join(s.Run.Dir, "manifest.json")
	for _, req := range []Request{{Resume: s.Run.Dir}, {Rerun: s.Run.Dir, Filter: filterServers("a")}} {
		var out syncBuffer
		req.Out = &out
		_, err := Prepare(context.Background(), req)
		checkErr(t, err, []string{"the run was measured by load generator 0.0.9 (" + where + "), this matrix has " + loadgen.Version, "make a new run"})
		if !IsUsage(err) {
			t.Errorf("%v: want a usage error", err)
		}
	}
}

// TestRerunRefusesAnotherMethod checks that a rerun or resume refuses,
// before anything runs, a flag or a matrix file that would measure
// otherwise than the run did, naming both values, and accepts flags equal
// to the run's.
func TestRerunRefusesAnotherMethod(t *testing.T) {
	path, _ := writeMatrix(t, map[string]string{"a": "good"}, oneScenario)
	s, _, _ := runMatrix(t, context.Background(), Request{MatrixPath: path, Profile: "test"})
	dir := s.Run.Dir
	where := "(" + filepath.Join(dir, "manifest.json") + ")"
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// variant writes a copy of the matrix file with old replaced by new.
	variant := func(old, new string) string {
		p := filepath.Join(t.TempDir(), "matrix.yaml")
		if err := os.WriteFile(p, bytes.Replace(orig, []byte(old), []byte(new), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rerun := Request{Rerun: dir, Filter: filterServers("a")}
	with := func(r Request, edit func(*Request)) Request { edit(&r); return r }
	tests := []struct {
		name string
		req  Request
		want []string // fragments of the error; none for an accepted request
	}{
		{"runtime", with(rerun, func(r *Request) { r.Runtime = "docker" }),
			[]string{"--runtime docker contradicts the run's runtime process " + where + "; a rerun measures as the run did"}},
		{"profile", with(rerun, func(r *Request) { r.Profile = "twice" }),
			[]string{"--profile twice contradicts the run's profile test " + where}},
		{"procs", with(rerun, func(r *Request) { r.Procs = 2 }),
			[]string{"--procs 2 contradicts the run's load generator GOMAXPROCS 1 " + where}},
		{"target host", with(rerun, func(r *Request) { r.TargetHost = "10.1.2.3" }),
			[]string{"--target-host 10.1.2.3 contradicts the run's target host (none) " + where}},
		{"resume", Request{Resume: dir, Runtime: "docker"},
			[]string{"--runtime docker contradicts the run's runtime process", "a resume measures as the run did"}},
		{"profile changed", with(rerun, func(r *Request) { r.MatrixPath = variant("duration: 1s, repeat: 1", "duration: 2s, repeat: 1") }),
			[]string{"profile test in ", "now has duration 2s, the run measured with 1s " + where}},
		{"cpuset added", with(rerun, func(r *Request) { r.MatrixPath = variant("repeat: 1,", "repeat: 1, loadgen_cpus: \"0\",") }),
			[]string{"now has loadgen_cpus 0, the run measured with (none)"}},
		{"equal flags", with(rerun, func(r *Request) { r.Runtime, r.Profile, r.Procs = "process", "test", 1 }), nil},
		{"auto", with(rerun, func(r *Request) { r.Runtime = "auto" }), nil},
		{"file changed elsewhere", with(rerun, func(r *Request) { r.MatrixPath = variant("scenarios:", "# a comment\nscenarios:") }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
			if err != nil {
				t.Fatal(err)
			}
			var out syncBuffer
			tt.req.Out = &out
			tt.req.CacheDir = filepath.Join(t.TempDir(), "cache")
			s, err := Prepare(context.Background(), tt.req)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused a rerun measuring as the run did: %v", err)
				}
				defer s.Runtime.Close()
				if s.Runtime.Name() != "process" || s.Profile.Name != "test" || s.Manifest.Loadgen.GOMAXPROCS != 1 {
					t.Errorf("rerun prepared with runtime %s, profile %s, loadgen %+v", s.Runtime.Name(), s.Profile.Name, s.Manifest.Loadgen)
				}
				return
			}
			checkErr(t, err, tt.want)
			if !IsUsage(err) || strings.Contains(out.String(), "runtime:") {
				t.Errorf("usage error %v, output %q: want a usage error before the runtime is chosen", IsUsage(err), out.String())
			}
			if after, _ := os.ReadFile(filepath.Join(dir, "manifest.json")); !bytes.Equal(before, after) {
				t.Errorf("a refused rerun changed the manifest")
			}
		})
	}

	// A run made before the manifest recorded GOMAXPROCS has it in its
	// cells' results.
	man, err := s.Run.ReadManifest()
	if err != nil {
		t.Fatal(err)
	}
	man.Loadgen = nil
	if err := s.Run.WriteManifest(man); err != nil {
		t.Fatal(err)
	}
	_, err = Prepare(context.Background(), with(rerun, func(r *Request) { r.Procs, r.Out = 3, &bytes.Buffer{} }))
	checkErr(t, err, []string{"--procs 3 contradicts the run's load generator GOMAXPROCS 1"})
}

// TestAdoptMergedTargetHosts checks the target host of a run merged from
// shards that sent load to different hosts: a rerun must name one.
func TestAdoptMergedTargetHosts(t *testing.T) {
	m := method{where: "m.json", verb: "a rerun", runtime: "docker", targetHost: "10.0.0.1 | 10.0.0.2", procs: 1}
	tests := []struct {
		asked, want, err string
	}{
		{"", "", "name the one a rerun sends load to with --target-host"},
		{"10.0.0.2", "10.0.0.2", ""},
		{"10.0.0.3", "", "--target-host 10.0.0.3 contradicts the run's target host 10.0.0.1 | 10.0.0.2 (m.json)"},
	}
	for _, tt := range tests {
		req := Request{TargetHost: tt.asked}
		err := m.adopt(&req)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("--target-host %q: error %v, want one saying %q", tt.asked, err, tt.err)
			}
			continue
		}
		if err != nil || req.TargetHost != tt.want || req.Runtime != "docker" || req.Procs != 1 {
			t.Errorf("--target-host %q: %v, request %+v", tt.asked, err, req)
		}
	}
}
