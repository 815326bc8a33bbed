package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matrixbench/matrix/internal/compare/comparetest"
	"github.com/matrixbench/matrix/internal/results"
)

// compareRuns writes a base run and a head run whose "beta" column is
// scaled by factor and returns the results directory.
func compareRuns(t *testing.T, factor float64, headDNF bool) string {
	t.Helper()
	dir := t.TempDir()
	mk := func(f float64, dnf bool) []comparetest.Cell {
		var cells []comparetest.Cell
		for _, sc := range []string{"get", "post"} {
			for _, sv := range []string{"alpha", "beta"} {
				c := comparetest.Cell{Scenario: sc, Server: sv, RPS: 50000, LatencyUs: 400}
				if sv == "beta" {
					c.RPS *= f
				}
				if dnf && c.ID() == "post/alpha" {
					c.Status, c.Reason = results.StatusDNF, results.ReasonDied
				}
				cells = append(cells, c)
			}
		}
		return cells
	}
	comparetest.Write(t, dir, comparetest.Run{ID: "base", Commit: "b", Cells: mk(1, false), Seed: 1})
	comparetest.Write(t, dir, comparetest.Run{ID: "head", Commit: "h", Cells: mk(factor, headDNF), Seed: 2,
		Created: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)})
	return dir
}

func captureRun(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = dispatch(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDiffExitCodes(t *testing.T) {
	t.Parallel()
	same := compareRuns(t, 1, false)
	slow := compareRuns(t, 0.7, false)
	dnf := compareRuns(t, 1, true)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"unchanged", []string{"diff", "base", "head", "--results", same}, 0, "no regression in 4 cells", ""},
		{"slower", []string{"diff", "--results", slow, "base", "head"}, 1, "2 of 4 cells REGRESSED", ""},
		{"looser threshold", []string{"diff", "--results", slow, "--threshold", "40", "base", "head"}, 0, "no regression", ""},
		{"new dnf", []string{"diff", "--results", dnf, "base", "head", "--format", "markdown"}, 1, "| **NEW DNF** | post/alpha |", ""},
		{"json", []string{"diff", "--results", slow, "base", "head", "--format=json"}, 1, `"regressions": 2`, ""},
		{"run dirs", []string{"diff", filepath.Join(same, "base"), filepath.Join(same, "head")}, 0, "no regression", ""},
		{"one arg", []string{"diff", "base"}, 2, "", "want BASE and HEAD"},
		{"bad format", []string{"diff", "--results", same, "base", "head", "--format", "html"}, 2, "", "--format"},
		{"bad threshold", []string{"diff", "--results", same, "base", "head", "--threshold", "-1"}, 2, "", "--threshold"},
		{"unknown flag", []string{"diff", "--nope", "base", "head"}, 2, "", "flag provided but not defined"},
		{"no such run", []string{"diff", "--results", same, "base", "no-such-rev-xyz"}, 2, "", "not a run directory"},
		{"help", []string{"diff", "-h"}, 0, "Usage: matrix diff", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := captureRun(tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
		})
	}
}

func TestReportAndHistoryCommands(t *testing.T) {
	t.Parallel()
	dir := compareRuns(t, 0.7, true)
	code, stdout, stderr := captureRun("report", "--results", dir, "head", "--base", "base")
	if code != 0 || !strings.Contains(stdout, "report.html") {
		t.Fatalf("report: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"report.html", "summary.md"} {
		if _, err := os.Stat(filepath.Join(dir, "head", f)); err != nil {
			t.Error(err)
		}
	}
	if code, _, stderr := captureRun("report", "--results", dir); code != 2 || !strings.Contains(stderr, "want one RUN") {
		t.Errorf("report without RUN: exit %d, %s", code, stderr)
	}
	code, stdout, stderr = captureRun("history", "--results", dir, "--last", "5")
	if code != 0 || !strings.Contains(stdout, "post/alpha  .X") || !strings.Contains(stdout, "BROKEN for 1 run (died)") {
		t.Errorf("history: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, _ := captureRun("history", "--last", "-1"); code != 2 {
		t.Errorf("history --last -1: exit %d, want 2", code)
	}
}
