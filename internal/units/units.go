// Package units writes measured quantities for people: latencies and
// other times, request rates, counts and relative changes. Every command
// and page that shows a figure formats it here, so that the same quantity
// reads the same in `matrix load`, `matrix diff`, `matrix history` and the
// report.
//
// Times and rates are shown with three significant digits: the noise
// between repeats is larger than what a fourth digit would say. Counts
// are shown whole.
package units

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Duration formats a time in nanoseconds (a latency, CPU time) with three
// significant digits in the unit that suits it: "850ns", "24.5µs",
// "1.56ms", "2.50s". Below a microsecond it shows whole nanoseconds, the
// resolution of the clocks measured with, and from 1000s whole seconds.
// Zero is "0"; NaN or an infinity is "-".
func Duration(ns float64) string {
	switch {
	case math.IsNaN(ns) || math.IsInf(ns, 0):
		return "-"
	case ns < 0:
		return "-" + Duration(-ns)
	case ns == 0:
		return "0"
	case ns >= 999.5e9:
		// Whole seconds: three digits would print 1234s as 1230s.
		return strconv.FormatFloat(ns/1e9, 'f', 0, 64) + "s"
	}
	ns = round3(ns)
	switch {
	case ns >= 1e9:
		return sig3(ns/1e9) + "s"
	case ns >= 1e6:
		return sig3(ns/1e6) + "ms"
	case ns >= 1e3:
		return sig3(ns/1e3) + "µs"
	}
	return strconv.FormatFloat(ns, 'f', 0, 64) + "ns"
}

// Rate formats a rate, such as requests per second, with three
// significant digits and a k or M suffix: "987", "12.3k", "1.23M". NaN or
// an infinity is "-".
func Rate(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return "-"
	case x < 0:
		return "-" + Rate(-x)
	}
	x = round3(x)
	switch {
	case x >= 1e6:
		return sig3(x/1e6) + "M"
	case x >= 1e3:
		return sig3(x/1e3) + "k"
	}
	return sig3(x)
}

// Count formats a whole number with thousands separators: "1,234,567".
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	digits := strings.TrimPrefix(s, "-")
	var b strings.Builder
	if len(digits) < len(s) {
		b.WriteByte('-')
	}
	for i, ch := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return b.String()
}

// Change formats a relative change (a fraction: -0.3 is 30 % less) as a
// signed percentage, with one decimal below 10 %: "+2.1%", "-30%". NaN or
// an infinity is "?": there was nothing to compare with.
func Change(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "?"
	}
	p := x * 100
	if math.Abs(p) < 10 {
		return fmt.Sprintf("%+.1f%%", p)
	}
	return fmt.Sprintf("%+.0f%%", p)
}

// round3 rounds x > 0 to three significant digits, so that the unit is
// chosen for the number printed (999.7µs prints as 1.00ms, not 1000µs).
func round3(x float64) float64 {
	if x <= 0 {
		return x
	}
	p := math.Pow10(2 - int(math.Floor(math.Log10(x))))
	return math.Round(x*p) / p
}

// sig3 prints x, rounded by round3 and below 1000, with three
// significant digits and no exponent. It rounds x again before taking its
// magnitude: a quotient such as 0.1 may land a hair under its power of
// ten.
func sig3(x float64) string {
	digits := 2
	if x > 0 {
		digits = max(0, 2-int(math.Floor(math.Log10(round3(x)))))
	}
	return strconv.FormatFloat(x, 'f', digits, 64)
}
