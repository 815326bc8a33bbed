package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/units"
)

// statusMark is the one-character mark of a status in a history line.
var statusMark = map[results.Status]string{
	results.StatusOK: ".", results.StatusSuspect: "s", results.StatusDNF: "X",
	results.StatusInterrupted: "i", results.StatusSkipped: "k", "": "-",
}

// sparks are the bars of a req/s trend, lowest first.
var sparks = []rune("▁▂▃▄▅▆▇█")

// minSpan is the smallest relative range a trend's bars span, so that
// run-to-run noise of a percent or two does not fill the whole scale.
const minSpan = 0.10

// WriteText writes the history as a table: the runs, then one line per
// cell with its status sequence and req/s trend, oldest run on the left.
func (h *History) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	for _, u := range h.Unreadable {
		fmt.Fprintf(ew, "left out (unreadable): %s\n", u)
	}
	if len(h.Runs) == 0 {
		fmt.Fprintln(ew, "no runs")
		return ew.err
	}
	fmt.Fprintf(ew, "%d runs, oldest first:\n", len(h.Runs))
	for i, r := range h.Runs {
		commit := r.Commit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		if r.Dirty {
			commit += " (dirty)"
		}
		fmt.Fprintf(ew, "  %2d  %s  %s\n", i+1, r.ID, commit)
	}
	fmt.Fprintln(ew, "\nstatus per run: . ok  s suspect  X dnf  i interrupted  k skipped  - no result")
	fmt.Fprintf(ew, "trend: median req/s per run, bars spanning the cell's range (at least %.0f%% of its mean)\n\n", minSpan*100)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "cell\tstatus\treq/s trend\tfirst\tlast\tchange\t")
	for _, c := range h.Cells {
		first, last := firstLast(c.RPS, c.Statuses)
		change := ""
		if figures(c.RPS) >= 2 && !math.IsNaN(last) && first > 0 {
			change = units.Change(last/first - 1)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, marks(c.Statuses), trend(c.RPS),
			units.Rate(first), units.Rate(last), change, c.note())
	}
	tw.Flush()
	return ew.err
}

// note flags a broken or flaky cell.
func (c *CellHistory) note() string {
	var parts []string
	if c.BrokenFor > 0 {
		run := "runs"
		if c.BrokenFor == 1 {
			run = "run"
		}
		s := fmt.Sprintf("BROKEN for %d %s", c.BrokenFor, run)
		if r := c.Reasons[len(c.Reasons)-1]; r != "" && c.Statuses[len(c.Statuses)-1] == results.StatusDNF {
			s += " (" + string(r) + ")"
		}
		parts = append(parts, s)
	}
	if c.Flaky {
		parts = append(parts, fmt.Sprintf("FLAKY: %d changes between finishing and not", c.Changes))
	}
	for _, st := range c.Steps {
		parts = append(parts, fmt.Sprintf("STEP %s at run %d (%s -> %s req/s), commits %s..%s",
			units.Change(st.Change), st.Index+1, units.Rate(st.Before), units.Rate(st.After),
			shortCommit(st.LastBefore), shortCommit(st.FirstAfter)))
	}
	return strings.Join(parts, "; ")
}

// shortCommit abbreviates a commit hash as git does by default; a run
// outside a checkout has none.
func shortCommit(c string) string {
	if c == "" {
		return "?"
	}
	if len(c) > 7 {
		return c[:7]
	}
	return c
}

// marks is the status sequence of a cell.
func marks(sts []results.Status) string {
	var b strings.Builder
	for _, s := range sts {
		m, ok := statusMark[s]
		if !ok {
			m = "?"
		}
		b.WriteString(m)
	}
	return b.String()
}

// trend draws req/s values as bars; a run without figures is a space.
func trend(xs []float64) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	var sum float64
	var n int
	for _, x := range xs {
		if !math.IsNaN(x) {
			lo, hi, sum, n = math.Min(lo, x), math.Max(hi, x), sum+x, n+1
		}
	}
	if n == 0 {
		return strings.Repeat(" ", len(xs))
	}
	if mean := sum / float64(n); hi-lo < minSpan*mean {
		mid := (hi + lo) / 2
		lo, hi = mid-minSpan*mean/2, mid+minSpan*mean/2
	}
	var b strings.Builder
	for _, x := range xs {
		if math.IsNaN(x) {
			b.WriteRune(' ')
			continue
		}
		i := int(math.Round((x - lo) / (hi - lo) * float64(len(sparks)-1)))
		b.WriteRune(sparks[max(0, min(len(sparks)-1, i))])
	}
	return b.String()
}

// firstLast returns the first req/s figure of a cell and its figure in
// the latest run that has a result for it (NaN when that run has none: a
// broken cell has no "last" rate).
func firstLast(xs []float64, sts []results.Status) (first, last float64) {
	first, last = math.NaN(), math.NaN()
	for i, x := range xs {
		if !math.IsNaN(x) && math.IsNaN(first) {
			first = x
		}
		if sts[i] != "" {
			last = x
		}
	}
	return first, last
}

// figures counts the runs with a req/s figure.
func figures(xs []float64) int {
	n := 0
	for _, x := range xs {
		if !math.IsNaN(x) {
			n++
		}
	}
	return n
}
