package compare

import (
	"fmt"
	"math"
	"strings"

	"github.com/matrixbench/matrix/internal/units"
)

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
		b.WriteString(units.Change(e.Change))
	}
	if e.RawChange != nil {
		fmt.Fprintf(&b, " (raw %s)", units.Change(*e.RawChange))
	}
	if !math.IsNaN(e.CILo) {
		fmt.Fprintf(&b, " [%s, %s]", units.Change(e.CILo), units.Change(e.CIHi))
		// A level above the one asked for is a wider, safer interval;
		// only a lower one needs saying.
		if e.CILevel < Confidence-0.005 {
			fmt.Fprintf(&b, "@%.0f%%", e.CILevel*100)
		}
	}
	switch {
	case e.Paired && e.Tested:
		fmt.Fprintf(&b, " p=%s %d pairs", formatP(e.P), e.N1)
	case e.Paired:
		fmt.Fprintf(&b, " (no test, %d pairs)", e.N1)
	case e.Tested:
		fmt.Fprintf(&b, " p=%s n=%d+%d", formatP(e.P), e.N1, e.N2)
	default:
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
