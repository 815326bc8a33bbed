package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matrixbench/matrix/internal/matrix"
)

// budgetMatrix is one cell whose server exits at once: a run that gets
// past the budget check ends quickly as dnf (exit 1), which tells it
// apart from a run refused for its budget (exit 2). Its estimate is 2 s
// to start, ready and stop plus the 1 s window: 3 s.
const budgetMatrix = `version: 1
profiles:
  short: {duration: 1s, reference: none}
  tight: {duration: 1s, budget: 2s, reference: none}
servers:
  - name: gone
    protocols: [h1]
    process: {command: ["false"]}
scenarios:
  - {name: get, protocol: h1}
`

// TestRunBudget checks that `matrix run` refuses a run whose estimate is
// over the budget (the flag, else the profile's) before anything runs, and
// lets one that fits run.
func TestRunBudget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mf := filepath.Join(dir, "matrix.yaml")
	if err := os.WriteFile(mf, []byte(budgetMatrix), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		stderr  string
		made    bool // a run directory was made
		noMatch string
	}{
		{"flag under the estimate", []string{"--profile", "short", "--budget", "2999ms"}, exitUsage,
			"does not fit the budget of 2.999s: 1 cells x 1 repeats, estimated 3s", false, ""},
		{"flag equal to the estimate", []string{"--profile", "short", "--budget", "3s"}, exitFailedCells, "", true, "does not fit"},
		{"profile budget", []string{"--profile", "tight"}, exitUsage, "does not fit the budget of 2s", false, ""},
		{"flag over the profile's budget", []string{"--profile", "tight", "--budget", "1h"}, exitFailedCells, "", true, "does not fit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "results")
			args := append([]string{"run", "--matrix", mf, "--runtime", "process", "--out", out}, tc.args...)
			code, stdout, stderr := captureRun(args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d (want %d), stderr does not say %q\nstdout:\n%s\nstderr:\n%s", code, tc.code, tc.stderr, stdout, stderr)
			}
			if tc.noMatch != "" && strings.Contains(stdout+stderr, tc.noMatch) {
				t.Errorf("output mentions %q:\n%s%s", tc.noMatch, stdout, stderr)
			}
			runs, _ := filepath.Glob(filepath.Join(out, "*", "manifest.json"))
			if made := len(runs) > 0; made != tc.made {
				t.Errorf("run directory made: %v, want %v (%v)", made, tc.made, runs)
			}
			if !tc.made && strings.Contains(stdout, "runtime:") {
				t.Errorf("a refused run opened a runtime:\n%s", stdout)
			}
		})
	}
}

// listMatrix has 3 columns (two built from Go sources, one a process) and
// 4 rows under a profile with every time set: 12 cells x 3 repeats, whose
// estimate with matrix.DefaultOverhead (45 s per build, 2 s per start) is
// builds 2 x 45 s = 1m30s, start/ready/stop 36 x 2 s = 1m12s, warmup
// 36 x 2 s = 1m12s, measured 36 x 5 s = 3m0s, cooldown 36 x 1 s = 36s,
// and the reference cell measured 3 more times, 3 x (2 s + 2 s + 5 s) =
// 27s: 7m57s in all.
const listMatrix = `version: 1
profiles:
  p: {warmup: 2s, duration: 5s, repeat: 3, cooldown: 1s}
servers:
  - {name: a, protocols: [h1], build: {go: ./a}}
  - {name: b, protocols: [h1], build: {go: ./b}}
  - {name: c, protocols: [h1], process: {command: ["true"]}}
scenarios:
  - {name: get, protocol: h1}
  - {name: get-close, protocol: h1, close: true}
  - {name: post, protocol: h1, method: POST, body_size: 1024}
  - {name: get-c8, protocol: h1, connections: 8}
`

// TestListEstimate checks that `matrix list` prints the estimator's
// figures, worked out by hand above, and that `matrix run` refuses a
// budget one second under them before anything runs.
func TestListEstimate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mf := filepath.Join(dir, "matrix.yaml")
	if err := os.WriteFile(mf, []byte(listMatrix), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "3 servers, 4 scenarios\nprofile p: 12 cells x 3 repeats, estimated 7m57s (builds 1m30s for 2 servers, start/ready/stop 1m12s, warmup 1m12s, measured 3m0s, cooldown 36s, reference 27s)"
	code, stdout, stderr := captureRun("list", "--matrix", mf)
	if code != exitOK || !strings.Contains(stdout, want) {
		t.Fatalf("list: exit %d, stdout does not say %q\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
	}
	out := filepath.Join(t.TempDir(), "results")
	code, stdout, stderr = captureRun("run", "--matrix", mf, "--budget", "7m56s", "--out", out)
	if code != exitUsage || !strings.Contains(stderr, "does not fit the budget of 7m56s: 12 cells x 3 repeats, estimated 7m57s") {
		t.Fatalf("run --budget 7m56s: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused run made %s (%v)", out, err)
	}
}

// TestNightlyFitsBudget checks the repository's matrix.yaml against its
// own promise, whatever its size: the nightly profile has a budget and the
// estimate of every cell fits it (a matrix that outgrew it must raise the
// budget on purpose, in the same change).
func TestNightlyFitsBudget(t *testing.T) {
	t.Parallel()
	m, err := matrix.Load(filepath.Join("..", "..", "matrix.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Profile("nightly")
	if err != nil {
		t.Fatal(err)
	}
	cells, err := m.Cells(matrix.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if est := matrix.Estimate(cells, p, matrix.DefaultOverhead); p.Budget <= 0 || est.Total > p.Budget {
		t.Errorf("nightly budget %v, estimate %v: the nightly run would be refused (or has no budget)", p.Budget, est.Total)
	}
}
