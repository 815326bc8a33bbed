package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/matrixbench/matrix/internal/compare"
	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/units"
)

// writeSummary writes summary.md: the run in a few lines and the matrix as
// a markdown table, for CI logs and job summaries; with a diff, the diff
// in its markdown form.
func writeSummary(w io.Writer, run *results.RunData, diff *compare.Result) error {
	ew := &errWriter{w: w}
	m := run.Manifest
	fmt.Fprintf(ew, "# matrix run %s\n\n", md(m.RunID))
	commit := m.Git.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if m.Git.Dirty {
		commit += " (dirty)"
	}
	fmt.Fprintf(ew, "commit %s, profile %s (%s x %d), runtime %s, host %s (%d cores), state %s\n\n",
		md(orDash(commit)), md(m.Profile.Name), dur(m.Profile.DurationNs), m.Profile.Repeat,
		md(m.Runtime.Name), md(m.Host.CPUModel), m.Host.Cores, m.State)
	counts := map[results.Status]int{}
	for _, id := range run.IDs {
		counts[run.Status(id)]++
	}
	fmt.Fprintf(ew, "%d cells: %s\n\n", len(run.IDs), strings.Join(countLines(counts), ", "))
	servers := run.Servers()
	fmt.Fprintf(ew, "| scenario | %s |\n|---|%s\n", joinMD(servers, " | "), strings.Repeat("--:|", len(servers)))
	for _, sc := range run.Scenarios() {
		cells := []string{md(sc)}
		for _, sv := range servers {
			cells = append(cells, summaryCell(run, matrix.CellID(sc, sv)))
		}
		fmt.Fprintf(ew, "| %s |\n", strings.Join(cells, " | "))
	}
	var failed []string
	for _, id := range run.IDs {
		if c := run.Cells[id]; c != nil && c.Status != results.StatusOK {
			failed = append(failed, fmt.Sprintf("- `%s` %s (%s): %s", id, c.Status, md(string(c.Reason)), md(lastLines(c.Detail, 1, 200))))
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(ew, "\nNot ok:\n\n%s\n", strings.Join(failed, "\n"))
	}
	fmt.Fprintf(ew, "\nreq/s is the median of the repeats, p99 from their merged latency histograms; see report.html.\n")
	if diff != nil {
		fmt.Fprintln(ew)
		if err := compare.Render(ew, diff, "markdown"); err != nil {
			return err
		}
	}
	return ew.err
}

// summaryCell is one cell of the summary table.
func summaryCell(run *results.RunData, id string) string {
	c := run.Cells[id]
	switch {
	case c == nil && contains(run.IDs, id):
		return "no result"
	case c == nil:
		return ""
	case c.Status == results.StatusDNF:
		return "**DNF** " + md(string(c.Reason))
	case c.Summary == nil:
		return md(string(c.Status) + " " + string(c.Reason))
	}
	s := fmt.Sprintf("%s req/s, p99 %s", units.Rate(c.Summary.MedianRPS), units.Duration(float64(c.Summary.LatencyNs.P99)))
	if c.Status != results.StatusOK {
		s = "*" + string(c.Status) + ": " + md(string(c.Reason)) + "* " + s
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// md escapes text from results for a markdown table.
func md(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "&", "&amp;", "<", "&lt;", "*", `\*`, "_", `\_`, "`", "'", "[", `\[`).Replace(s)
}

func joinMD(xs []string, sep string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = md(x)
	}
	return strings.Join(out, sep)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errWriter remembers the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	_, e.err = e.w.Write(p)
	return len(p), nil
}
