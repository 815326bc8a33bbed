package loadgen

import (
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func TestLatencyOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		us   []int64
		want Latency
	}{
		{"empty", nil, Latency{}},
		{"one", []int64{250}, Latency{Min: 250_000, Mean: 250_000, P50: 250_000, P75: 250_000, P90: 250_000,
			P99: 250_000, P999: 250_000, P9999: 250_000, Max: 250_000}},
		// 1..1000 µs, each once: exact at 3 significant figures.
		{"uniform", upTo(1000), Latency{Min: 1_000, Mean: 500_500, P50: 500_000, P75: 750_000, P90: 900_000,
			P99: 990_000, P999: 999_000, P9999: 1_000_000, Max: 1_000_000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hdrhistogram.New(histLowest, histHighest, histSigFigs)
			for _, v := range tc.us {
				if err := h.RecordValue(v); err != nil {
					t.Fatal(err)
				}
			}
			if got := LatencyOf(h); got != tc.want {
				t.Errorf("LatencyOf = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// upTo returns 1..n.
func upTo(n int64) []int64 {
	var out []int64
	for v := int64(1); v <= n; v++ {
		out = append(out, v)
	}
	return out
}
