package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/matrixbench/matrix/internal/compare"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/units"
)

// heatRow makes the heatmap cells of one scenario (ins has one entry per
// server, nil where the matrix has no such cell). Only ok cells are
// ranked: a suspect figure is shown, marked, but not put in order.
func heatRow(ins []*cellInput, deltas map[string]*compare.CellDiff) []HeatCell {
	out := make([]HeatCell, len(ins))
	var ranked []int
	for i, in := range ins {
		if in == nil {
			continue
		}
		hc := HeatCell{ID: in.id, InMatrix: true, Status: "no result"}
		if c := in.res; c != nil {
			hc.Status, hc.Reason = string(c.Status), string(c.Reason)
			if c.Summary != nil {
				hc.RPS = units.Rate(c.Summary.MedianRPS) + " req/s"
				hc.P99 = "p99 " + units.Duration(float64(c.Summary.LatencyNs.P99))
			}
			if c.Status == results.StatusOK && c.Summary != nil {
				ranked = append(ranked, i)
			}
			if c.Status != results.StatusOK {
				hc.Anchor = anchorOf(in)
				hc.Hover = hoverOf(in)
			}
		}
		if d := deltas[in.id]; d != nil {
			hc.Delta, hc.DeltaClass = deltaOf(d)
		}
		out[i] = hc
	}
	slices.SortStableFunc(ranked, func(a, b int) int {
		return cmp.Compare(ins[b].res.Summary.MedianRPS, ins[a].res.Summary.MedianRPS)
	})
	for r, i := range ranked {
		out[i].Rank, out[i].Of = r+1, len(ranked)
		out[i].Background, out[i].Foreground = rankColour(r, len(ranked))
	}
	return out
}

// hoverOf is the text shown over a failed cell: status, reason, detail
// and the end of the log, bounded so a tooltip stays readable.
func hoverOf(in *cellInput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", in.res.Status, in.res.Reason)
	if d := strings.TrimSpace(in.res.Detail); d != "" {
		b.WriteString("\n" + lastLines(d, 6, 600))
	}
	if in.logTail != "" {
		b.WriteString("\n--- end of " + in.logName + " ---\n" + lastLines(in.logTail, 12, 1200))
	}
	b.WriteString("\n(click for the full tail)")
	return b.String()
}

// lastLines returns the last n lines of s, at most max bytes of them.
func lastLines(s string, n, max int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	s = strings.Join(lines, "\n")
	if len(s) > max {
		s = "..." + strings.ToValidUTF8(s[len(s)-max:], "")
	}
	return s
}

// deltaOf is the change of a cell from the base run, for the heatmap.
func deltaOf(d *compare.CellDiff) (text, class string) {
	switch d.Kind {
	case compare.NewDNF:
		return "new dnf", "bad"
	case compare.Fixed:
		return "fixed", "good"
	case compare.MethodChanged:
		return "method changed", "muted"
	case compare.NoFigures:
		if d.Base.Status == "" {
			return "new cell", "muted"
		}
		return "", ""
	}
	if d.RPS == nil {
		return d.Transition(), "muted"
	}
	text = "vs base: " + pctOrTilde(d.RPS) + " req/s, " + pctOrTilde(d.P99) + " p99"
	switch d.Kind {
	case compare.Regressed:
		class = "bad"
	case compare.Improved:
		class = "good"
	default:
		class = "muted"
	}
	return text, class
}

// pctOrTilde is "~" for no significant change, else the change.
func pctOrTilde(e *compare.Estimate) string {
	if e == nil {
		return "?"
	}
	if e.Unchanged() {
		return "~"
	}
	return units.Change(e.Change)
}

// rankColour colours rank r (0 is the fastest) of n on a diverging blue,
// pale yellow, red scale (ColorBrewer RdYlBu, readable with the common
// colour blindnesses) and picks black or white text for contrast. The
// rank is also printed, so colour is never the only cue.
func rankColour(r, n int) (bg, fg string) {
	if n == 1 {
		// Nothing to rank against: a neutral colour, not "fastest".
		return "#dde6ee", "#111111"
	}
	stops := [][3]float64{{44, 123, 182}, {171, 217, 233}, {255, 255, 191}, {253, 174, 97}, {215, 25, 28}}
	pos := float64(r) / float64(n-1) * float64(len(stops)-1)
	i := min(int(pos), len(stops)-2)
	f := pos - float64(i)
	var c [3]float64
	for k := range c {
		c[k] = stops[i][k] + f*(stops[i+1][k]-stops[i][k])
	}
	bg = fmt.Sprintf("#%02x%02x%02x", int(math.Round(c[0])), int(math.Round(c[1])), int(math.Round(c[2])))
	// Relative luminance (sRGB, roughly): white text on the dark ends.
	lum := (0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]) / 255
	if lum < 0.5 {
		return bg, "#ffffff"
	}
	return bg, "#111111"
}

// detailOf is a cell's line in the table of figures.
func detailOf(c *results.Cell) Detail {
	d := Detail{ID: c.ID(), Status: string(c.Status)}
	if c.Reason != "" {
		d.Status += " (" + string(c.Reason) + ")"
	}
	d.Build = strings.TrimSpace(c.ServerInfo.Framework + " " + c.ServerInfo.Version)
	s := c.Summary
	if s == nil {
		return d
	}
	ns := func(v int64) string { return units.Duration(float64(v)) }
	d.RPS = units.Rate(s.MedianRPS)
	if len(s.RPS) > 1 {
		d.RPSRange = units.Rate(slices.Min(s.RPS)) + " - " + units.Rate(slices.Max(s.RPS))
	}
	d.Repeats = fmt.Sprint(s.Repeats)
	if len(c.Repeats) != s.Repeats {
		d.Repeats = fmt.Sprintf("%d of %d", s.Repeats, len(c.Repeats))
	}
	l := s.LatencyNs
	d.P50, d.P90, d.P99, d.P999, d.Max = ns(l.P50), ns(l.P90), ns(l.P99), ns(l.P999), ns(l.Max)
	d.Errors = fmt.Sprintf("%.2f%%", 100*s.ErrorRatio)
	if s.DominantError != "" {
		d.Errors += " " + string(s.DominantError)
	}
	if s.ServerCPUSeconds >= 0 {
		d.ServerCPU = units.Duration(s.ServerCPUSeconds * 1e9)
	}
	if s.PeakRSSBytes > 0 {
		d.PeakRSS = fmt.Sprintf("%.1f MiB", float64(s.PeakRSSBytes)/(1<<20))
	}
	if s.ClientCPUSeconds >= 0 && s.Requests > 0 && s.Repeats > 0 {
		// Median client CPU of a repeat over the mean requests of one.
		perReq := s.ClientCPUSeconds / (float64(s.Requests) / float64(s.Repeats))
		d.ClientCost = units.Duration(perReq * 1e9)
	}
	d.Protocol = s.Protocol
	return d
}
