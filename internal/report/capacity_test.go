package report

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/matrixbench/matrix/internal/compare/comparetest"
)

// TestCapacityRow checks that a capacity row is drawn as latency against
// throughput with its objective, and that its heatmap row ranks servers by
// capacity, not by the closed-loop req/s of the chosen steps.
func TestCapacityRow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// alpha is faster closed-loop, beta holds more under the objective.
	cells := []comparetest.Cell{
		{Scenario: "get-simple", Server: "alpha", RPS: 90000, LatencyUs: 300},
		{Scenario: "get-simple", Server: "beta", RPS: 60000, LatencyUs: 400},
		{Scenario: "get-simple-slo-10ms", Server: "alpha", RPS: 30000, LatencyUs: 2000, Capacity: 30000},
		{Scenario: "get-simple-slo-10ms", Server: "beta", RPS: 50000, LatencyUs: 2000, Capacity: 50000},
	}
	run := comparetest.Write(t, dir, comparetest.Run{ID: "r", Commit: "c", Cells: cells, Seed: 1})
	if err := WriteRun(context.Background(), run, ""); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(run, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	html := string(data)
	for _, want := range []string{
		"Latency against throughput (capacity rows)",
		`aria-label="latency against throughput, get-simple-slo-10ms"`,
		`class="limit"`, "objective 10.0ms",
		"beta 50", "capacity under p99 10.0ms",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	rank := func(id string) string {
		m := regexp.MustCompile(`data-cell="` + regexp.QuoteMeta(id) + `"[^>]*>[\s\S]*?#(\d) of`).FindStringSubmatch(html)
		if m == nil {
			t.Fatalf("no rank for %s", id)
		}
		return m[1]
	}
	if rank("get-simple/alpha") != "1" || rank("get-simple-slo-10ms/beta") != "1" || rank("get-simple-slo-10ms/alpha") != "2" {
		t.Errorf("ranks: closed loop alpha %s; capacity beta %s, alpha %s; want 1, 1, 2",
			rank("get-simple/alpha"), rank("get-simple-slo-10ms/beta"), rank("get-simple-slo-10ms/alpha"))
	}
}
