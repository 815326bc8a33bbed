package compare

import (
	"math"
	"testing"
)

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{FormatRPS(987), "987"},
		{FormatRPS(99995), "100k"},
		{FormatRPS(12345), "12.3k"},
		{FormatRPS(1234567), "1.23M"},
		{FormatRPS(0.5), "0.500"},
		{FormatRPS(math.NaN()), "-"},
		{FormatNs(850_000), "850µs"},
		{FormatNs(1_234_000), "1.23ms"},
		{FormatNs(999_700), "1.00ms"},
		{FormatNs(2.05e9), "2.05s"},
		{FormatPct(-0.301), "-30%"},
		{FormatPct(0.021), "+2.1%"},
		{FormatPct(math.NaN()), "?"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
