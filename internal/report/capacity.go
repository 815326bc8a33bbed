package report

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/units"
)

// A capacity row's plot is latency against throughput: for every server,
// the p99 of each rate of its capacity search against that rate (the load
// offered; a step that held achieved at least 95 % of it). The curve is flat while the server keeps up and bends up as it
// nears saturation; the objective is a horizontal line, and the capacity
// is where the curve crosses it.

// capacityPlotOf draws the searches of a capacity row's cells (ins has one
// entry per server, nil where the matrix has no cell); ok is false when
// the row is not a capacity row or no cell searched.
func capacityPlotOf(scenario string, ins []*cellInput) (Plot, bool) {
	p := Plot{Scenario: scenario, Width: plotW, Height: plotH,
		Left: padL, Top: padT, Right: plotW - padR, Bottom: plotH - padB,
		LegendX: plotW - padR + 14, LegendX2: plotW - padR + 36, XLabel: "req/s offered (each rate of the search)"}
	type line struct {
		server string
		index  int
		c      *results.Cell
		steps  []results.CapacityStep
	}
	var lines []line
	var objective int64
	for i, in := range ins {
		if in == nil || in.res == nil || in.res.ScenarioAsRun.Capacity == nil {
			continue
		}
		objective = in.res.ScenarioAsRun.Capacity.P99Ns
		if objective == 0 {
			objective = in.res.ScenarioAsRun.Capacity.P999Ns
		}
		if steps := medianSearch(in.res); len(steps) > 0 {
			lines = append(lines, line{server: in.server, index: i, c: in.res, steps: steps})
		}
	}
	if len(lines) == 0 {
		return p, false
	}
	xmax, ymin, ymax := 1.0, float64(objective), float64(objective)
	for _, l := range lines {
		for _, s := range l.steps {
			xmax = max(xmax, s.RateAsked)
			if s.P99Ns > 0 {
				ymin, ymax = min(ymin, float64(s.P99Ns)), max(ymax, float64(s.P99Ns))
			}
		}
	}
	xstep := niceStep(xmax / 5)
	xmax = math.Ceil(xmax/xstep) * xstep
	// Latency on a log scale, whole decades: a search's p99 spans from
	// tens of microseconds to the backlog's seconds.
	lo, hi := math.Floor(math.Log10(max(ymin, 1000))), math.Ceil(math.Log10(max(ymax, 1000)))
	if hi <= lo {
		hi = lo + 1
	}
	sx := func(x float64) float64 { return p.Left + x/xmax*(p.Right-p.Left) }
	sy := func(ns float64) float64 {
		y := (math.Log10(max(ns, 1)) - lo) / (hi - lo)
		return p.Bottom - min(max(y, 0), 1)*(p.Bottom-p.Top)
	}
	for x := 0.0; x <= xmax+xstep/2; x += xstep {
		p.XTicks = append(p.XTicks, Tick{Pos: sx(x), Label: units.Rate(x)})
	}
	for d := lo; d <= hi; d++ {
		p.YTicks = append(p.YTicks, Tick{Pos: sy(math.Pow(10, d)), Label: units.Duration(math.Pow(10, d))})
	}
	if objective > 0 {
		p.LimitY, p.LimitLabel = sy(float64(objective)), "objective "+units.Duration(float64(objective))
	}
	for k, l := range lines {
		var pts []string
		for _, s := range l.steps {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(s.RateAsked), sy(float64(s.P99Ns))))
		}
		label := l.server + " " + capacityLabel(l.c)
		p.Series = append(p.Series, Series{
			Server: l.server, Colour: palette[l.index%len(palette)], Dashed: l.c.Status != results.StatusOK || l.index >= len(palette),
			Points: strings.Join(pts, " "), LegendY: p.Top + 10 + float64(k*legendLineHeight), Label: label,
		})
	}
	return p, true
}

// objectiveOf is a capacity row's objective: " p99 10ms p99.9 50ms".
func objectiveOf(c *results.CapacitySpec) string {
	s := ""
	if c.P99Ns > 0 {
		s += " p99 " + units.Duration(float64(c.P99Ns))
	}
	if c.P999Ns > 0 {
		s += " p99.9 " + units.Duration(float64(c.P999Ns))
	}
	return s
}

// capacityLabel is a cell's capacity in a legend.
func capacityLabel(c *results.Cell) string {
	if c.Status == results.StatusOK && c.Summary != nil {
		return units.Rate(c.Summary.MedianRPS) + " req/s"
	}
	if c.Reason != "" {
		return string(c.Status) + ": " + string(c.Reason)
	}
	return string(c.Status)
}

// medianSearch returns the steps of the cell's repeat whose capacity is
// the median (the first repeat's when none found one), one per rate (the
// last measurement of a rate measured again, which is its verdict), in
// the order of their rate, so that each server draws one search rather
// than a zigzag of several.
func medianSearch(c *results.Cell) []results.CapacityStep {
	var reps []*results.Capacity
	for _, r := range c.Repeats {
		if r.Capacity != nil && len(r.Capacity.Steps) > 0 {
			reps = append(reps, r.Capacity)
		}
	}
	if len(reps) == 0 {
		return nil
	}
	slices.SortStableFunc(reps, func(a, b *results.Capacity) int { return cmp.Compare(a.CapacityRPS, b.CapacityRPS) })
	last := map[float64]results.CapacityStep{}
	for _, s := range reps[(len(reps)-1)/2].Steps {
		last[s.RateAsked] = s
	}
	steps := slices.Collect(maps.Values(last))
	slices.SortFunc(steps, func(a, b results.CapacityStep) int { return cmp.Compare(a.RateAsked, b.RateAsked) })
	return steps
}
