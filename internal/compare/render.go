package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/units"
)

// Formats lists the output formats of Render.
var Formats = []string{"text", "markdown", "json"}

// Render writes res in format ("text", "markdown" or "json").
func Render(w io.Writer, res *Result, format string) error {
	switch format {
	case "text":
		return renderText(w, res)
	case "markdown":
		return renderMarkdown(w, res)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return fmt.Errorf("unknown format %q (want text, markdown or json)", format)
}

// Verdict is the short word the tables put before a cell.
func (c *CellDiff) Verdict() string {
	switch c.Kind {
	case NewDNF:
		return "NEW DNF"
	case Regressed:
		return "REGRESSED"
	case Fixed:
		return "fixed"
	case StatusChanged:
		return "status"
	case MethodChanged:
		return "method changed"
	case Improved:
		return "improved"
	case NoFigures:
		switch {
		case c.Base.Status == results.StatusDNF && c.Head.Status == results.StatusDNF:
			return "still dnf"
		case c.Base.Status == "":
			return "new cell"
		case c.Head.Status == "":
			return "no result"
		}
		return "no figures"
	}
	return ""
}

// StatusText is the cell's status, or its transition when it changed,
// with the head's reason.
func (c *CellDiff) StatusText() string {
	s := string(c.Head.Status)
	if c.Base.Status != c.Head.Status {
		s = c.Transition()
	}
	if c.Head.Reason != "" {
		s += " (" + string(c.Head.Reason) + ")"
	} else if c.Head.Status == "" && c.Base.Reason != "" {
		s += " (was " + string(c.Base.Reason) + ")"
	}
	return s
}

// row is one line of a diff table.
type row struct {
	verdict, cell, status, rb, rh, rc, pb, ph, pc string
}

// rows returns the table of a diff: a header, the cells, the means.
func rows(res *Result) []row {
	out := []row{{"", "cell", "status", "req/s base", "head", "change", "p99 base", "head", "change"}}
	for i := range res.Cells {
		c := &res.Cells[i]
		r := row{verdict: c.Verdict(), cell: c.ID, status: c.StatusText()}
		if c.RPS != nil {
			r.rb, r.rh, r.rc = units.Rate(c.RPS.Base), units.Rate(c.RPS.Head), FormatChange(c.RPS)
		}
		if c.P99 != nil {
			r.pb, r.ph, r.pc = units.Duration(c.P99.Base), units.Duration(c.P99.Head), FormatChange(c.P99)
		}
		out = append(out, r)
	}
	for _, m := range append(res.Servers, res.Overall) {
		name := "geomean " + m.Server
		if m.Server == "" {
			name = "geomean (all servers)"
		}
		out = append(out, row{
			cell: name, status: CellCount(m.Cells),
			rb: units.Rate(m.RPS.Base), rh: units.Rate(m.RPS.Head), rc: units.Change(m.RPS.Change),
			pb: units.Duration(m.P99.Base), ph: units.Duration(m.P99.Head), pc: units.Change(m.P99.Change),
		})
		if m.Cells == 0 {
			out[len(out)-1].rc, out[len(out)-1].pc = "", ""
		}
	}
	return out
}

func renderText(w io.Writer, res *Result) error {
	bw := &errWriter{w: w}
	header(bw, res, "")
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	for _, r := range rows(res) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.verdict, r.cell, r.status, r.rb, r.rh, r.rc, r.pb, r.ph, r.pc)
	}
	tw.Flush()
	notes(bw, res, "")
	fmt.Fprintln(bw, verdictLine(res))
	return bw.err
}

func renderMarkdown(w io.Writer, res *Result) error {
	bw := &errWriter{w: w}
	fmt.Fprintf(bw, "### matrix diff: %s\n\n", verdictLine(res))
	header(bw, res, "- ")
	fmt.Fprintln(bw)
	for i, r := range rows(res) {
		cells := []string{r.verdict, r.cell, r.status, r.rb, r.rh, r.rc, r.pb, r.ph, r.pc}
		for j := range cells {
			cells[j] = mdEscape(cells[j])
		}
		if i > 0 && (r.verdict == "NEW DNF" || r.verdict == "REGRESSED") {
			cells[0] = "**" + cells[0] + "**"
		}
		if i > 0 && strings.HasPrefix(r.cell, "geomean") {
			cells[1] = "*" + cells[1] + "*"
		}
		fmt.Fprintf(bw, "| %s |\n", strings.Join(cells, " | "))
		if i == 0 {
			fmt.Fprintln(bw, "|---|---|---|--:|--:|---|--:|--:|---|")
		}
	}
	fmt.Fprintln(bw)
	notes(bw, res, "- ")
	return bw.err
}

// mdEscape keeps text from results from breaking a markdown table or
// being read as markup.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "&", "&amp;", "<", "&lt;", "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`)
	return r.Replace(s)
}

// header writes the lines that say what was compared with what.
func header(w io.Writer, res *Result, bullet string) {
	side := func(name string, r RunInfo) {
		commit := r.Commit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		if commit == "" {
			commit = "no commit"
		}
		if r.Dirty {
			commit += " (dirty tree)"
		}
		fmt.Fprintf(w, "%s%s: %s  commit %s  %s\n", bullet, name, r.ID, commit, r.Dir)
	}
	side("base", res.Base)
	side("head", res.Head)
	if res.Paired {
		fmt.Fprintf(w, "%spairs of adjacent repeats (ABBA order); Wilcoxon signed-rank test of the pairs' ratios at alpha %.2f; [lo, hi] = %.0f%% confidence interval of the change; a change is called only when the whole interval lies beyond %s\n",
			bullet, res.Alpha, Confidence*100, pm(res.Band))
	} else {
		fmt.Fprintf(w, "%sthreshold %s; Mann-Whitney U over the repeats at alpha %.2f; \"~\" = no significant difference; [lo, hi] = %.0f%% confidence interval of the change\n",
			bullet, strings.TrimPrefix(units.Change(res.Threshold), "+"), res.Alpha, Confidence*100)
		fmt.Fprintf(w, "%snoise floor: base %s, head %s; changes within %s are never called\n",
			bullet, floorText(res.Noise.Base, res.Noise.BaseRef), floorText(res.Noise.Head, res.Noise.HeadRef), pm(res.Band))
	}
	if b := res.Box; b != nil {
		fmt.Fprintf(w, "%sTHE BOX ITSELF CHANGED SPEED by %s between the runs (reference cell %s, measured at the start, middle and end of each: %s -> %s req/s): each change is normalized by it, raw in brackets, and judged normalized\n",
			bullet, units.Change(b.RPS), b.Cell, units.Rate(b.Base), units.Rate(b.Head))
	}
	if len(res.RunMethod) > 0 {
		fmt.Fprintf(w, "%sTHE RUNS WERE MEASURED DIFFERENTLY (%s): no cell is judged on its figures\n", bullet, strings.Join(res.RunMethod, "; "))
	}
}

// pm writes a band as "±5%".
func pm(band float64) string { return "±" + strings.TrimPrefix(units.Change(band), "+") }

// floorText describes one run's noise floor.
func floorText(n results.Noise, refRange float64) string {
	if n.Floor <= 0 {
		return "unknown (no repeats to measure it)"
	}
	s := strings.TrimPrefix(units.Change(n.Floor), "+")
	if n.Cells > 0 {
		s += fmt.Sprintf(" (median CV %s over %d cells", strings.TrimPrefix(units.Change(n.MedianCV), "+"), n.Cells)
		if refRange > 0 {
			s += fmt.Sprintf(", reference range %s", strings.TrimPrefix(units.Change(refRange), "+"))
		}
		s += ")"
	} else if refRange > 0 {
		s += " (reference range)"
	}
	return s
}

// notes explains flagged cells and untested comparisons after the table.
func notes(w io.Writer, res *Result, bullet string) {
	noTest := map[string]int{}
	for i := range res.Cells {
		c := &res.Cells[i]
		if len(c.Method) > len(res.RunMethod) {
			fmt.Fprintf(w, "%s%s measured differently, left out of the means: %s\n", bullet, c.ID, strings.Join(c.Method[len(res.RunMethod):], "; "))
		}
		switch {
		case c.NotJudged != "":
			fmt.Fprintf(w, "%s%s %s\n", bullet, c.ID, c.NotJudged)
		case c.Interference != "":
			fmt.Fprintf(w, "%s%s: %s\n", bullet, c.ID, c.Interference)
		}
		if c.Kind == NewDNF || (c.Head.Status == results.StatusDNF && c.Head.Detail != "") {
			fmt.Fprintf(w, "%s%s: %s\n", bullet, c.ID, oneLine(c.Head.Detail))
		}
		for _, e := range []*Estimate{c.RPS, c.P99} {
			if e != nil && e.NoTest != "" {
				noTest[e.NoTest]++
			}
		}
	}
	rule := "judged by the threshold, and called only when every head repeat moved beyond every base repeat by more than the threshold (with 2 or more a side)"
	if res.Paired {
		rule = "called only when every pair moved beyond the threshold"
	}
	for msg, n := range noTest {
		fmt.Fprintf(w, "%sno test for %d comparisons (%s): %s\n", bullet, n, msg, rule)
	}
	if n := res.Overall.Excluded; n > 0 {
		fmt.Fprintf(w, "%s%d cells left out of the geometric means (method changed, not ok, or no figures on a side)\n", bullet, n)
	}
}

// verdictLine sums the diff up in one line.
func verdictLine(res *Result) string {
	if res.Regressions == 0 {
		return fmt.Sprintf("no regression in %d cells", len(res.Cells))
	}
	return fmt.Sprintf("%d of %d cells REGRESSED", res.Regressions, len(res.Cells))
}

// oneLine keeps the last line of a detail, shortened: the full text is in
// the cell file.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
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
