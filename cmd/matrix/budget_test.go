package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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
  short: {duration: 1s}
  tight: {duration: 1s, budget: 2s}
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

// TestDefaultMatrixBudget checks the repository's matrix.yaml: `matrix
// list` prints at least 12 columns and 12 rows with an estimate, the
// nightly profile carries a budget that the estimate fits, and a budget
// below the estimate is refused with the estimate in the message and
// nothing started.
func TestDefaultMatrixBudget(t *testing.T) {
	t.Parallel()
	mf := filepath.Join("..", "..", "matrix.yaml")
	code, stdout, stderr := captureRun("list", "--matrix", mf, "--profile", "nightly")
	sizes := regexp.MustCompile(`(\d+) servers, (\d+) scenarios\nprofile nightly: \d+ cells x 3 repeats, estimated `).FindStringSubmatch(stdout)
	if code != exitOK || sizes == nil {
		t.Fatalf("list: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if servers, _ := strconv.Atoi(sizes[1]); servers < 12 {
		t.Errorf("the nightly matrix has %d columns, want at least 12", servers)
	}
	if scenarios, _ := strconv.Atoi(sizes[2]); scenarios < 12 {
		t.Errorf("the nightly matrix has %d rows, want at least 12", scenarios)
	}
	m, err := matrix.Load(mf)
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
	out := filepath.Join(t.TempDir(), "results")
	code, stdout, stderr = captureRun("run", "--matrix", mf, "--profile", "nightly", "--budget", "1h", "--out", out)
	if code != exitUsage || !strings.Contains(stderr, "does not fit the budget of 1h0m0s") || !strings.Contains(stderr, "x 3 repeats, estimated ") {
		t.Fatalf("run --budget 1h: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused run made %s (%v)", out, err)
	}
}
