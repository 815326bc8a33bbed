package report

import (
	"fmt"
	"math"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/units"
)

// Plot is the latency percentile chart of one scenario, laid out in SVG
// user units. The x axis is the percentile on a logarithmic scale of
// 1/(1-q), as HdrHistogram's plots draw it: each decade to the right is
// one more nine (90 %, 99 %, 99.9 %...).
type Plot struct {
	Scenario      string
	Width, Height int
	// Left, Top, Right and Bottom bound the plotting area.
	Left, Top, Right, Bottom float64
	// LegendX and LegendX2 place the legend's line samples.
	LegendX, LegendX2 float64
	XTicks, YTicks    []Tick
	Series            []Series
	// Notes say what could not be drawn.
	Notes []string
	// XLabel names the x axis; empty means "percentile".
	XLabel string
	// LimitY, when LimitLabel is set, places a horizontal line: a capacity
	// row's latency objective.
	LimitY     float64
	LimitLabel string
}

// Tick is one labelled grid line.
type Tick struct {
	Pos   float64
	Label string
}

// Series is one server's curve.
type Series struct {
	Server string
	Colour string
	// Dashed marks a suspect cell's curve.
	Dashed bool
	// Points is the polyline's points attribute.
	Points string
	// LegendY places the legend entry; Label is its text.
	LegendY float64
	Label   string
}

// palette is Okabe and Ito's colour-blind safe set (without its yellow,
// which vanishes on white); a server keeps its colour in every plot.
var palette = []string{"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"}

// Plot geometry: the legend goes right of the plotting area.
const (
	plotW, plotH     = 660, 280
	padL, padR       = 60, 200
	padT, padB       = 14, 38
	pointsPerDecade  = 24
	maxDecades       = 6
	minDecades       = 2
	legendLineHeight = 16
)

// curve is one decoded histogram waiting to be drawn.
type curve struct {
	server  string
	index   int
	suspect bool
	h       *hdrhistogram.Histogram
	// limit is the last x the data supports: log10 of the count, where
	// the percentile reaches the single slowest request.
	limit float64
	p99   float64
}

// plotOf draws the merged histograms of a scenario's cells (ins has one
// entry per server, nil where the matrix has no cell).
func plotOf(scenario string, ins []*cellInput) (Plot, bool) {
	p := Plot{Scenario: scenario, Width: plotW, Height: plotH,
		Left: padL, Top: padT, Right: plotW - padR, Bottom: plotH - padB,
		LegendX: plotW - padR + 14, LegendX2: plotW - padR + 36}
	var curves []curve
	for i, in := range ins {
		if in == nil || in.res == nil || in.res.Summary == nil || in.res.Summary.Histogram == "" {
			continue
		}
		h, err := results.DecodeHistogram(in.res.Summary.Histogram)
		if err != nil || h.TotalCount() == 0 {
			p.Notes = append(p.Notes, fmt.Sprintf("%s: no latency histogram (%v)", in.server, err))
			continue
		}
		curves = append(curves, curve{server: in.server, index: i, h: h,
			suspect: in.res.Status != results.StatusOK,
			limit:   math.Log10(float64(h.TotalCount())),
			p99:     float64(h.ValueAtQuantile(99)) * 1000})
	}
	if len(curves) == 0 {
		return p, false
	}
	xmax := float64(minDecades)
	ymax := 1.0
	for _, c := range curves {
		xmax = max(xmax, math.Min(math.Ceil(c.limit), maxDecades))
	}
	for _, c := range curves {
		for _, pt := range samplePoints(c, xmax) {
			ymax = max(ymax, pt[1])
		}
	}
	step := niceStep(ymax / 5)
	ymax = math.Ceil(ymax/step) * step
	sx := func(x float64) float64 { return p.Left + x/xmax*(p.Right-p.Left) }
	sy := func(y float64) float64 { return p.Bottom - y/ymax*(p.Bottom-p.Top) }
	for d := 0; d <= int(xmax); d++ {
		p.XTicks = append(p.XTicks, Tick{Pos: sx(float64(d)), Label: percentileLabel(d)})
	}
	for y := 0.0; y <= ymax+step/2; y += step {
		p.YTicks = append(p.YTicks, Tick{Pos: sy(y), Label: units.Duration(y * 1000)})
	}
	for k, c := range curves {
		var pts []string
		for _, pt := range samplePoints(c, xmax) {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(pt[0]), sy(pt[1])))
		}
		label := fmt.Sprintf("%s (p99 %s)", c.server, units.Duration(c.p99))
		if c.suspect {
			label += " suspect"
		}
		p.Series = append(p.Series, Series{
			Server: c.server, Colour: palette[c.index%len(palette)], Dashed: c.suspect || c.index >= len(palette),
			Points: strings.Join(pts, " "), LegendY: p.Top + 10 + float64(k*legendLineHeight), Label: label,
		})
	}
	return p, true
}

// samplePoints returns (x, latency in µs) along a curve, up to the data's
// limit or xmax, whichever comes first.
func samplePoints(c curve, xmax float64) [][2]float64 {
	end := math.Min(c.limit, xmax)
	var out [][2]float64
	for i := 0; ; i++ {
		x := float64(i) / pointsPerDecade
		if x > end {
			x = end
		}
		q := 1 - math.Pow(10, -x)
		out = append(out, [2]float64{x, float64(c.h.ValueAtQuantile(100 * q))})
		if x >= end {
			return out
		}
	}
}

// percentileLabel names the percentile d decades to the right: 0 %, 90 %,
// 99 %, 99.9 %...
func percentileLabel(d int) string {
	switch d {
	case 0:
		return "0%"
	case 1:
		return "90%"
	case 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", d-2) + "%"
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}
