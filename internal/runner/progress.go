package runner

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/loadgen"
)

// live replaces the live status line, when there is a terminal to show it.
func (r *Runner) live(line string) {
	if r.opt.Live == nil {
		return
	}
	fmt.Fprintf(r.opt.Live, "\r\033[K%s", line)
}

// progressFunc returns the load generator's progress callback for a cell:
// the live line with cell i/N, elapsed time, ETA and the current req/s.
func (r *Runner) progressFunc(c matrix.Cell, idx int) func(loadgen.Progress) {
	if r.opt.Live == nil {
		return nil
	}
	return func(p loadgen.Progress) {
		phase := "measure"
		if p.Warmup {
			phase = "warmup"
		}
		r.live(fmt.Sprintf("[%d/%d] %s %s %4.0fs  %.0f req/s  %d errors  elapsed %s  eta %s",
			r.done+1, len(r.opt.Cells), c.ID(), phase, p.Elapsed.Seconds(), p.RPS, p.Errors,
			time.Since(r.start).Round(time.Second), r.eta()))
	}
}

// eta estimates the time left from the average time per finished cell.
func (r *Runner) eta() string {
	if r.done == 0 {
		return "?"
	}
	per := time.Since(r.start) / time.Duration(r.done)
	left := len(r.opt.Cells)*max(r.opt.Profile.Repeat, 1) - r.done
	return (per * time.Duration(max(left, 0))).Round(time.Second).String()
}

// reportCell prints one line for a finished cell.
func (r *Runner) reportCell(cr *results.Cell) {
	r.live("")
	line := fmt.Sprintf("%s[%d/%d] %-32s %-8s", r.sidePrefix(), r.done, len(r.opt.Cells), cr.ID(), cr.Status)
	if s := cr.Summary; s != nil && s.Repeats > 0 {
		line += fmt.Sprintf(" %10.0f req/s  p99 %-9s errors %d", s.MedianRPS,
			time.Duration(s.LatencyNs.P99).Round(time.Microsecond), s.Errors)
	}
	if cr.Reason != "" {
		line += fmt.Sprintf("  %s: %s", cr.Reason, firstLine(cr.Detail))
	}
	fmt.Fprintln(r.opt.Out, line)
}

// sidePrefix starts the lines of one side of a same-run A/B.
func (r *Runner) sidePrefix() string {
	if r.opt.Side == "" {
		return ""
	}
	return r.opt.Side + " "
}

// printTable prints the matrix: scenarios as rows, servers as columns,
// median req/s in ok cells and the status and reason elsewhere.
func (r *Runner) printTable() {
	r.live("")
	var servers []string
	seen := map[string]bool{}
	for _, c := range r.opt.Cells {
		if !seen[c.Server.Name] {
			seen[c.Server.Name] = true
			servers = append(servers, c.Server.Name)
		}
	}
	tw := tabwriter.NewWriter(r.opt.Out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\nreq/s\t%s\t\n", strings.Join(servers, "\t"))
	var rowName string
	row := map[string]string{}
	flush := func() {
		if rowName == "" {
			return
		}
		cols := make([]string, len(servers))
		for i, s := range servers {
			cols[i] = row[s]
			if cols[i] == "" {
				cols[i] = "-"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t\n", rowName, strings.Join(cols, "\t"))
	}
	for _, c := range r.opt.Cells {
		if c.Scenario.Name != rowName {
			flush()
			rowName, row = c.Scenario.Name, map[string]string{}
		}
		row[c.Server.Name] = cellText(r.cells[c.ID()], r.prev[c.ID()])
	}
	flush()
	tw.Flush()
	fmt.Fprintf(r.opt.Out, "\nresults: %s\n", r.opt.Run.Dir)
}

// cellText is a cell of the printed table.
func cellText(cr, prev *results.Cell) string {
	if cr == nil {
		cr = prev
	}
	switch {
	case cr == nil:
		return "-"
	case cr.Status == results.StatusOK && cr.Summary != nil:
		return fmt.Sprintf("%.0f", cr.Summary.MedianRPS)
	case cr.Status == results.StatusSuspect && cr.Summary != nil:
		return fmt.Sprintf("%.0f?", cr.Summary.MedianRPS)
	case cr.Reason != "":
		return strings.ToUpper(string(cr.Status)) + ":" + string(cr.Reason)
	}
	return strings.ToUpper(string(cr.Status))
}

// firstLine returns the first line of s, shortened.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}
