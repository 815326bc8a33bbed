package report

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matrixbench/matrix/internal/compare/comparetest"
	"github.com/matrixbench/matrix/internal/results"
)

// TestWriteAB draws an A/B run as an A/B: titled by its revisions, with the
// paired verdict (a 10 % slower head is called) against the base side.
func TestWriteAB(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cell := func(rps float64) []comparetest.Cell {
		return []comparetest.Cell{{Scenario: "get", Server: "a", RPS: rps, LatencyUs: 100, Repeats: 8, Noise: 0.01}}
	}
	comparetest.Write(t, dir, comparetest.Run{ID: results.ABBaseDir, Commit: "1111111aaaa", Cells: cell(1000)})
	comparetest.Write(t, dir, comparetest.Run{ID: results.ABHeadDir, Commit: "2222222bbbb", Cells: cell(900), Seed: 3})
	ab := &results.AB{RunID: "t-ab", State: results.StateFinished, Order: "ABBA", Pairs: 8, Threshold: 0.02,
		Base: results.ABSide{Rev: "main", Commit: "1111111aaaa", Dir: results.ABBaseDir},
		Head: results.ABSide{Rev: "HEAD", Commit: "2222222bbbb", WorkTree: true, Dir: results.ABHeadDir}}
	if err := results.WriteAB(dir, ab); err != nil {
		t.Fatal(err)
	}
	if err := WriteAB(context.Background(), dir, 0); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# matrix ab t-ab: main (1111111) vs HEAD (2222222, working tree)", "pairs of adjacent repeats", "**REGRESSED**"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	html, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil || !strings.Contains(string(html), "main (1111111) vs HEAD") {
		t.Errorf("report.html is not titled by the revisions (%v)", err)
	}
}
