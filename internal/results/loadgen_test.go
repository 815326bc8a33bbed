package results

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/matrixbench/matrix/loadgen"
)

// TestSummarizeRealResults summarises two real load generator runs against
// a real server: the merged histogram must hold every measured request of
// both, whatever encoding the load generator uses for it.
func TestSummarizeRealResults(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "Hello, World!")
	}))
	defer srv.Close()
	var reps []Repeat
	for i := 1; i <= 2; i++ {
		res, err := loadgen.Run(context.Background(), loadgen.Config{
			URL: srv.URL + "/", Protocol: loadgen.ProtocolH1, Connections: 2, Duration: time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests == 0 {
			t.Fatalf("repeat %d measured nothing: %+v", i, res)
		}
		reps = append(reps, Repeat{Index: i, Status: StatusOK, Result: MeasurementOf(res), ServerCPUSeconds: -1})
	}
	s, err := Summarize(reps)
	if err != nil {
		t.Fatal(err)
	}
	h, err := DecodeHistogram(s.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	// Timed-out requests enter the histogram too; there are none here.
	want := int64(reps[0].Result.Requests + reps[1].Result.Requests)
	if h.TotalCount() != want || s.Requests != uint64(want) {
		t.Errorf("merged histogram holds %d values, summary %d requests; want %d", h.TotalCount(), s.Requests, want)
	}
	if s.LatencyNs.P50 <= 0 || s.LatencyNs.P50 > s.LatencyNs.P99 || s.LatencyNs.P99 > s.LatencyNs.Max {
		t.Errorf("latency = %+v", s.LatencyNs)
	}
	if s.Protocol != "http/1.1" || s.ServerCPUSeconds != -1 {
		t.Errorf("protocol %q, server cpu %v", s.Protocol, s.ServerCPUSeconds)
	}
}
