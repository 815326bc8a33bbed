package units

import (
	"math"
	"testing"
)

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		ns   float64
		want string
	}{
		{0, "0"},
		{1, "1ns"},
		{999, "999ns"},
		{999.6, "1.00µs"}, // rounded first, then the unit chosen
		{1000, "1.00µs"},
		{24500, "24.5µs"},
		{31000, "31.0µs"},
		{163000, "163µs"},
		{850_000, "850µs"},
		{999_700, "1.00ms"},
		{1_234_000, "1.23ms"},
		{1_562_000, "1.56ms"},
		{1_940_000, "1.94ms"},
		{99_960_000, "100ms"},
		{2.05e9, "2.05s"},
		{2_500_000_000, "2.50s"},
		{61_000_000_000, "61.0s"},
		{999_400_000_000, "999s"},
		{999_600_000_000, "1000s"},
		{1_234_000_000_000, "1234s"},
		{-1_562_000, "-1.56ms"},
		{math.NaN(), "-"},
		{math.Inf(1), "-"},
	} {
		if got := Duration(tc.ns); got != tc.want {
			t.Errorf("Duration(%v) = %q, want %q", tc.ns, got, tc.want)
		}
	}
}

func TestRate(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want string
	}{
		{0, "0.00"},
		{0.5, "0.500"},
		{987, "987"},
		{999.7, "1.00k"},
		{12345, "12.3k"},
		{89_500, "89.5k"},
		{99995, "100k"},
		{1234567, "1.23M"},
		{-12345, "-12.3k"},
		{math.NaN(), "-"},
		{math.Inf(-1), "-"},
	} {
		if got := Rate(tc.x); got != tc.want {
			t.Errorf("Rate(%v) = %q, want %q", tc.x, got, tc.want)
		}
	}
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0"},
		{999, "999"},
		{1000, "1,000"},
		{123457, "123,457"},
		{1234567, "1,234,567"},
		{-1234, "-1,234"},
		{-123, "-123"},
		{math.MinInt64, "-9,223,372,036,854,775,808"},
	} {
		if got := Count(tc.n); got != tc.want {
			t.Errorf("Count(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestChange(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want string
	}{
		{0, "+0.0%"},
		{0.021, "+2.1%"},
		{-0.05, "-5.0%"},
		{0.0999, "+10.0%"}, // under 10 % before rounding
		{0.1, "+10%"},
		{-0.301, "-30%"},
		{2, "+200%"},
		{math.NaN(), "?"},
		{math.Inf(1), "?"},
	} {
		if got := Change(tc.x); got != tc.want {
			t.Errorf("Change(%v) = %q, want %q", tc.x, got, tc.want)
		}
	}
}
