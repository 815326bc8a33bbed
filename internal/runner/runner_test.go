package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
)

const oneScenario = "  - {name: get, protocol: h1, method: GET, path: /, connections: 4}\n"

// runMatrix prepares and executes a request against the process runtime.
func runMatrix(t *testing.T, ctx context.Context, req Request) (*Session, Outcome, string) {
	t.Helper()
	var out syncBuffer
	req.Out = &out
	req.Runtime = "process"
	req.CacheDir = filepath.Join(t.TempDir(), "cache")
	if req.OutDir == "" && req.Resume == "" && req.Rerun == "" {
		req.OutDir = t.TempDir()
	}
	s, err := Prepare(ctx, req)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	o, err := s.Execute(ctx)
	if err != nil {
		t.Fatalf("Execute: %v\n%s", err, out.String())
	}
	return s, o, out.String()
}

// syncBuffer is a bytes.Buffer safe for the runner's writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// onWrite, when set, sees every write.
	onWrite func(string)
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.onWrite != nil {
		s.onWrite(string(p))
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// assertNoServerLeft checks that every server process the test started is
// gone.
func assertNoServerLeft(t *testing.T, pidDir string) {
	t.Helper()
	entries, err := os.ReadDir(pidDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, _ := strconv.Atoi(e.Name())
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("server process %d outlived the runner", pid)
		}
	}
}

// clientBound reports whether c is suspect only because the load
// generator was the bottleneck: on 2 cores under the race detector a test
// cell may be, and it has still measured what the test asks about.
func clientBound(c *results.Cell) bool {
	return c.Status == results.StatusSuspect && c.Reason == results.ReasonClientBound
}

func readCell(t *testing.T, s *Session, server, scenario string) *results.Cell {
	t.Helper()
	c, err := s.Run.ReadCell(server, scenario)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCellStatuses(t *testing.T) {
	tests := []struct {
		mode, scenarios string
		want            results.Status
		reasons         []results.Reason
		detail          string
	}{
		{"good", oneScenario, results.StatusOK, []results.Reason{""}, ""},
		{"exit", oneScenario, results.StatusDNF, []results.Reason{results.ReasonStartFailed, results.ReasonDied}, "cannot open config file"},
		{"nolisten", oneScenario, results.StatusDNF, []results.Reason{results.ReasonNotReady}, "not ready after 2s"},
		{"good", "  - {name: get, protocol: h1, method: GET, path: /error, connections: 4}\n",
			results.StatusDNF, []results.Reason{results.ReasonAllErrors}, "status"},
		{"close", "  - {name: get, protocol: h1, method: GET, path: /, connections: 4, close: true, error_budget: 0.5}\n",
			results.StatusOK, []results.Reason{""}, ""},
		{"die", oneScenario, results.StatusDNF, []results.Reason{results.ReasonDied}, "out of memory"},
		{"nonconformant", oneScenario, results.StatusDNF, []results.Reason{results.ReasonNonconformant}, "GET /json"},
	}
	for _, tt := range tests {
		t.Run(tt.mode+strings.Fields(tt.scenarios)[10], func(t *testing.T) {
			path, pids := writeMatrix(t, map[string]string{"srv": tt.mode}, tt.scenarios)
			start := time.Now()
			s, o, out := runMatrix(t, context.Background(), Request{MatrixPath: path})
			took := time.Since(start)
			c := readCell(t, s, "srv", "get")
			if c.Status != tt.want || !containsReason(tt.reasons, c.Reason) || !strings.Contains(c.Detail, tt.detail) {
				t.Errorf("cell: %s/%s %q, want %s/%v containing %q\n%s", c.Status, c.Reason, c.Detail, tt.want, tt.reasons, tt.detail, out)
			}
			if o.Counts[tt.want] != 1 {
				t.Errorf("outcome counts %v", o.Counts)
			}
			if tt.want == results.StatusOK && (c.Summary == nil || c.Summary.Requests == 0) {
				t.Errorf("ok cell without successes: %+v", c.Summary)
			}
			if tt.mode == "nolisten" && took > 2*time.Second+time.Second+2*time.Second {
				// Ready timeout plus a second, plus the stop: a dead server
				// must not cost a whole cell.
				t.Errorf("not-ready cell took %v", took)
			}
			man, err := s.Run.ReadManifest()
			if err != nil || man.State != results.StateFinished || man.Cells[0].Status != tt.want {
				t.Errorf("manifest: %v %+v", err, man)
			}
			assertNoServerLeft(t, pids)
		})
	}
}

func containsReason(list []results.Reason, r results.Reason) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

func TestInterruptAndResume(t *testing.T) {
	path, pids := writeMatrix(t, map[string]string{"a": "good", "b": "good", "c": "good"}, oneScenario)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	out.onWrite = func(s string) {
		if strings.HasPrefix(s, "[1/3]") {
			cancel() // like a SIGINT while the second cell starts
		}
	}
	outDir := t.TempDir()
	s, err := Prepare(ctx, Request{MatrixPath: path, Runtime: "process", OutDir: outDir, Output: Output{Out: &out}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.Execute(ctx)
	if err != nil || !o.Interrupted {
		t.Fatalf("interrupted run: %v %+v", err, o)
	}
	if o.Counts[results.StatusOK] != 1 || o.Counts[results.StatusInterrupted] != 2 {
		t.Fatalf("counts after interrupt: %v\n%s", o.Counts, out.String())
	}
	man, _ := s.Run.ReadManifest()
	if man.State != results.StateInterrupted {
		t.Errorf("manifest state %s", man.State)
	}
	first := readCell(t, s, "a", "get")

	s2, o2, out2 := runMatrix(t, context.Background(), Request{Resume: s.Run.Dir})
	if len(s2.Cells) != 2 || o2.Counts[results.StatusOK] != 2 {
		t.Fatalf("resume ran %d cells, counts %v\n%s", len(s2.Cells), o2.Counts, out2)
	}
	if strings.Contains(out2, "get/a ") {
		t.Errorf("resume ran the finished cell again:\n%s", out2)
	}
	again := readCell(t, s2, "a", "get")
	if !again.Finished.Equal(first.Finished) {
		t.Errorf("the finished cell changed on resume")
	}
	man2, _ := s2.Run.ReadManifest()
	for _, c := range man2.Cells {
		if !results.Final(c.Status) {
			t.Errorf("cell %s not final after resume: %s", c.ID, c.Status)
		}
	}
	assertNoServerLeft(t, pids)
}

func TestRerunColumnKeepsHistory(t *testing.T) {
	scen := oneScenario + "  - {name: json, protocol: h1, method: GET, path: /json, connections: 2}\n"
	path, pids := writeMatrix(t, map[string]string{"a": "good", "b": "good"}, scen)
	s, _, _ := runMatrix(t, context.Background(), Request{MatrixPath: path})
	before := readCell(t, s, "b", "get")
	untouched := readCell(t, s, "a", "get")

	s2, o, out := runMatrix(t, context.Background(), Request{Rerun: s.Run.Dir, Filter: matrix.Filter{Servers: []string{"a"}}})
	if len(s2.Cells) != 2 || o.Counts[results.StatusOK] != 2 {
		t.Fatalf("rerun of column a ran %d cells: %v\n%s", len(s2.Cells), o.Counts, out)
	}
	after := readCell(t, s2, "a", "get")
	if after.Attempt != 2 || len(after.Attempts) != 1 || !after.Attempts[0].Finished.Equal(untouched.Finished) {
		t.Errorf("rerun cell: attempt %d with %d earlier attempts", after.Attempt, len(after.Attempts))
	}
	if b := readCell(t, s2, "b", "get"); !b.Finished.Equal(before.Finished) || b.Attempt != 1 {
		t.Errorf("column b changed on a rerun of column a")
	}
	man, _ := s2.Run.ReadManifest()
	if len(man.Cells) != 4 {
		t.Errorf("manifest lists %d cells, want 4", len(man.Cells))
	}
	assertNoServerLeft(t, pids)
}

func TestInterleavedRepeats(t *testing.T) {
	path, pids := writeMatrix(t, map[string]string{"a": "good", "b": "good"}, oneScenario)
	s, _, _ := runMatrix(t, context.Background(), Request{MatrixPath: path, Profile: "twice"})
	a, b := readCell(t, s, "a", "get"), readCell(t, s, "b", "get")
	if len(a.Repeats) != 2 || len(b.Repeats) != 2 || a.Status != results.StatusOK {
		t.Fatalf("repeats: a %d b %d, status %s", len(a.Repeats), len(b.Repeats), a.Status)
	}
	// Every cell once, then every cell again.
	if !(a.Repeats[0].Finished.Before(b.Repeats[0].Started) && b.Repeats[0].Finished.Before(a.Repeats[1].Started)) {
		t.Errorf("repeats not interleaved: a1 %v b1 %v a2 %v", a.Repeats[0].Started, b.Repeats[0].Started, a.Repeats[1].Started)
	}
	if a.Summary == nil || len(a.Summary.RPS) != 2 {
		t.Errorf("summary should cover both repeats: %+v", a.Summary)
	}
	assertNoServerLeft(t, pids)
}

func TestBrokenMatricesRunNothing(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"unknown key", "version: 1\nprofiles: {q: {duration: 1s}}\nservers:\n  - {name: a, protocols: [h1], process: {command: [x]}, colour: red}\nscenarios:\n  - {name: s, protocol: h1}\n", "colour"},
		{"duplicate name", "version: 1\nprofiles: {q: {duration: 1s}}\nservers:\n  - {name: a, protocols: [h1], process: {command: [x]}}\n  - {name: a, protocols: [h1], process: {command: [x]}}\nscenarios:\n  - {name: s, protocol: h1}\n", "duplicate"},
		{"unknown protocol", "version: 1\nprofiles: {q: {duration: 1s}}\nservers:\n  - {name: a, protocols: [h4], process: {command: [x]}}\nscenarios:\n  - {name: s, protocol: h1}\n", "h4"},
		{"negative duration", "version: 1\nprofiles: {q: {duration: -1s}}\nservers:\n  - {name: a, protocols: [h1], process: {command: [x]}}\nscenarios:\n  - {name: s, protocol: h1}\n", "duration"},
		{"path name", "version: 1\nprofiles: {q: {duration: 1s}}\nservers:\n  - {name: ../x, protocols: [h1], process: {command: [x]}}\nscenarios:\n  - {name: s, protocol: h1}\n", "../x"},
		{"exclude matches nothing", "version: 1\nprofiles: {q: {duration: 1s}}\nservers:\n  - {name: a, protocols: [h1], process: {command: [x]}}\nscenarios:\n  - {name: s, protocol: h1}\nexclude: [nope/a]\n", "nope/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "bad.yaml")
			os.WriteFile(path, []byte(tt.body), 0o644)
			out := filepath.Join(dir, "results")
			_, err := Prepare(context.Background(), Request{MatrixPath: path, Runtime: "process", OutDir: out, Output: Output{Out: &bytes.Buffer{}}})
			if err == nil || !IsUsage(err) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "bad.yaml:") {
				t.Fatalf("error %v, want a usage error naming bad.yaml and %q", err, tt.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a run directory was made for an invalid matrix")
			}
		})
	}
}
