package compare

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// FormatRPS formats a rate of requests per second with three significant
// digits: "987", "12.3k", "1.23M".
func FormatRPS(x float64) string {
	x = round3(x)
	switch {
	case math.IsNaN(x):
		return "-"
	case x >= 1e6:
		return sig3(x/1e6) + "M"
	case x >= 1e3:
		return sig3(x/1e3) + "k"
	}
	return sig3(x)
}

// FormatNs formats nanoseconds as a latency with three significant digits:
// "850µs", "1.23ms", "2.05s".
func FormatNs(ns float64) string {
	ns = round3(ns)
	switch {
	case math.IsNaN(ns):
		return "-"
	case ns >= 1e9:
		return sig3(ns/1e9) + "s"
	case ns >= 1e6:
		return sig3(ns/1e6) + "ms"
	case ns >= 1e3:
		return sig3(ns/1e3) + "µs"
	}
	return sig3(ns) + "ns"
}

// round3 rounds x to three significant digits, so that the unit is chosen
// for the number printed (999.7µs prints as 1.00ms).
func round3(x float64) float64 {
	if x <= 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow10(2 - int(math.Floor(math.Log10(x))))
	return math.Round(x*p) / p
}

// sig3 prints x, rounded by round3 and below 1000, with three significant
// digits and no exponent.
func sig3(x float64) string {
	digits := 2
	if x > 0 {
		digits = max(0, 2-int(math.Floor(math.Log10(round3(x)))))
	}
	return strconv.FormatFloat(x, 'f', digits, 64)
}

// FormatPct formats a change (a fraction) as a signed percentage.
func FormatPct(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "?"
	}
	p := x * 100
	if math.Abs(p) < 10 {
		return fmt.Sprintf("%+.1f%%", p)
	}
	return fmt.Sprintf("%+.0f%%", p)
}

// FormatChange formats an estimate's change the benchstat way: "~" when
// the test found no significant difference, else the change; then the
// confidence interval and the p-value, or why no test ran.
func FormatChange(e *Estimate) string {
	if e == nil {
		return ""
	}
	var b strings.Builder
	if e.Unchanged() {
		b.WriteString("~")
	} else {
		b.WriteString(FormatPct(e.Change))
	}
	if !math.IsNaN(e.CILo) {
		fmt.Fprintf(&b, " [%s, %s]", FormatPct(e.CILo), FormatPct(e.CIHi))
		// A level above the one asked for is a wider, safer interval;
		// only a lower one needs saying.
		if e.CILevel < Confidence-0.005 {
			fmt.Fprintf(&b, "@%.0f%%", e.CILevel*100)
		}
	}
	if e.Tested {
		fmt.Fprintf(&b, " p=%s n=%d+%d", formatP(e.P), e.N1, e.N2)
	} else {
		fmt.Fprintf(&b, " (no test, n=%d+%d)", e.N1, e.N2)
	}
	return b.String()
}

// formatP prints a p-value with three decimals.
func formatP(p float64) string {
	if p < 0.001 {
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", p)
}

// CellCount says how many cells: "1 cell", "3 cells".
func CellCount(n int) string {
	if n == 1 {
		return "1 cell"
	}
	return fmt.Sprintf("%d cells", n)
}
