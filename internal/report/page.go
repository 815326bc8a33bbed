package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/matrixbench/matrix/internal/compare"
	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/units"
)

// Page is everything report.html shows, in plain values: the template only
// lays it out (and escapes every string).
type Page struct {
	RunID string
	// Counts sums the cells up by status, best first ("7 ok", "1 dnf").
	Counts     []string
	Servers    []string
	Rows       []Row
	Plots      []Plot
	Details    []Detail
	Failures   []Failure
	Provenance []KV
	// Diff is set when the report compares with a base run.
	Diff *DiffView

	// CapacityPlots draw each capacity row's latency against throughput.
	CapacityPlots []Plot
}

// KV is one line of the provenance.
type KV struct{ Key, Value string }

// Row is one scenario of the heatmap.
type Row struct {
	Scenario string
	// Spec describes the scenario as run ("h1 GET / 64 conns").
	Spec  string
	Cells []HeatCell
}

// HeatCell is one cell of the heatmap.
type HeatCell struct {
	ID string
	// InMatrix is false where the matrix has no such cell (the server
	// does not speak the protocol, or the cell is excluded).
	InMatrix bool
	Status   string
	Reason   string
	RPS, P99 string
	// Rank is the cell's place by req/s among the scenario's ok cells
	// (1 is the fastest), 0 when not ranked; Of is how many were ranked.
	Rank, Of int
	// Background and Foreground colour the cell by rank.
	Background, Foreground string
	// Hover is the reason and the log tail, shown on hover.
	Hover string
	// Anchor links to the failure's details ("" when there are none).
	Anchor string
	// Delta and DeltaClass show the change from the base run.
	Delta, DeltaClass string
}

// Detail is one line of the table of every cell's figures.
type Detail struct {
	ID, Status                  string
	RPS, RPSRange, Repeats      string
	P50, P90, P99, P999, Max    string
	Errors, ServerCPU, PeakRSS  string
	ClientCost, Protocol, Build string
}

// Failure is a cell that is not ok, with what is known about why.
type Failure struct {
	Anchor, ID, Status, Reason, Detail string
	// LogName is the log the tail comes from, relative to the run.
	LogName string
	LogTail string
}

// cellInput is what the page is built from for one cell; res is nil when
// the run lists the cell but has no result for it.
type cellInput struct {
	id, scenario, server string
	// index is the cell's position in the run, for in-page links.
	index            int
	res              *results.Cell
	logName, logTail string
}

// build lays out the page of run; diff is nil without a base run.
func build(run *results.RunData, logs func(*results.Cell) (string, string), diff *compare.Result) *Page {
	p := &Page{RunID: run.Manifest.RunID, Servers: run.Servers(), Provenance: provenance(run.Manifest)}
	byID := map[string]*cellInput{}
	for i, id := range run.IDs {
		sc, sv, _ := matrix.SplitID(id)
		in := &cellInput{id: id, scenario: sc, server: sv, index: i, res: run.Cells[id]}
		if in.res != nil && in.res.Status != results.StatusOK {
			in.logName, in.logTail = logs(in.res)
		}
		byID[id] = in
	}
	var deltas map[string]*compare.CellDiff
	if diff != nil {
		p.Diff = diffView(diff)
		deltas = map[string]*compare.CellDiff{}
		for i := range diff.Cells {
			deltas[diff.Cells[i].ID] = &diff.Cells[i]
		}
	}
	counts := map[results.Status]int{}
	for _, sc := range run.Scenarios() {
		row := Row{Scenario: sc}
		var ins []*cellInput
		for _, sv := range p.Servers {
			ins = append(ins, byID[matrix.CellID(sc, sv)])
		}
		row.Cells = heatRow(ins, deltas)
		for _, in := range ins {
			if in == nil {
				continue
			}
			if in.res == nil {
				counts[""]++
				continue
			}
			counts[in.res.Status]++
			if row.Spec == "" {
				row.Spec = specOf(in.res.ScenarioAsRun)
			}
			p.Details = append(p.Details, detailOf(in.res))
			if in.res.Status != results.StatusOK {
				p.Failures = append(p.Failures, failureOf(in, anchorOf(in)))
			}
		}
		p.Rows = append(p.Rows, row)
		if plot, ok := plotOf(sc, ins); ok {
			p.Plots = append(p.Plots, plot)
		}
		if plot, ok := capacityPlotOf(sc, ins); ok {
			p.CapacityPlots = append(p.CapacityPlots, plot)
		}
	}
	p.Counts = countLines(counts)
	return p
}

// anchorOf is the in-page link of a cell's failure details, made from its
// position in the run: names joined by any separator could collide.
func anchorOf(in *cellInput) string {
	return fmt.Sprintf("cell-%d", in.index)
}

// countLines turns status counts into "3 ok", best status first.
func countLines(counts map[results.Status]int) []string {
	var out []string
	for _, s := range results.Statuses {
		if n := counts[s]; n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, s))
		}
	}
	if n := counts[""]; n > 0 {
		out = append(out, fmt.Sprintf("%d without result", n))
	}
	return out
}

// specOf describes a scenario as run in a few words.
func specOf(s results.ScenarioSpec) string {
	parts := []string{s.Protocol, s.Method, s.Path}
	if s.BodySize > 0 {
		parts = append(parts, fmt.Sprintf("body %d B", s.BodySize))
	}
	parts = append(parts, fmt.Sprintf("%d conns", s.Connections))
	if s.Streams > 1 {
		parts = append(parts, fmt.Sprintf("x %d streams", s.Streams))
	}
	if s.Close {
		parts = append(parts, "close")
	}
	if s.Rate > 0 {
		parts = append(parts, fmt.Sprintf("at %s req/s", units.Rate(s.Rate)))
	}
	if c := s.Capacity; c != nil {
		parts = append(parts, "capacity under"+objectiveOf(c))
	}
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " ")
}

// failureOf describes a cell that is not ok.
func failureOf(in *cellInput, anchor string) Failure {
	return Failure{
		Anchor: anchor, ID: in.id, Status: string(in.res.Status), Reason: string(in.res.Reason),
		Detail: in.res.Detail, LogName: in.logName, LogTail: in.logTail,
	}
}
