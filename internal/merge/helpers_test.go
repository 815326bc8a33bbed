package merge

import (
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/loadgen"
)

// histogramOf encodes latencies (microseconds) as loadgen does.
func histogramOf(t testing.TB, us ...int64) string {
	t.Helper()
	h := hdrhistogram.New(1, 60_000_000, 3)
	for _, v := range us {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return string(enc)
}

// resultOf returns the measurement of a loadgen Result with the given
// figures.
func resultOf(t testing.TB, rps float64, requests uint64, us ...int64) *results.Measurement {
	return results.MeasurementOf(&loadgen.Result{
		Requests: requests, RPS: rps,
		ErrorsByClass:     map[loadgen.ErrorClass]uint64{loadgen.ClassStatus: 0},
		StatusCodes:       map[string]uint64{"200": requests},
		Histogram:         histogramOf(t, us...),
		Protocol:          loadgen.ProtocolH1,
		ConnectionsOpened: 4,
		DurationNs:        int64(time.Second),
		ClientCPUNs:       int64(500 * time.Millisecond),
		LoadgenVersion:    loadgen.Version,
	})
}

// sampleCell returns a complete cell result of two repeats, summarised as
// the runner does.
func sampleCell(t testing.TB, server, scenario string) *results.Cell {
	start := time.Date(2026, 11, 25, 20, 45, 0, 0, time.UTC)
	reps := []results.Repeat{
		{Index: 1, Status: results.StatusOK, Result: resultOf(t, 1000, 1000, 100, 200, 300), ServerCPUSeconds: 0.9, PeakRSSBytes: 10 << 20,
			TimingsNs: results.Timings{Build: 5e9, Start: 1e6, Ready: 2e7, Stop: 3e6}, Log: results.LogFile(server, scenario, 1, 1),
			Started: start, Finished: start.Add(2 * time.Second)},
		{Index: 2, Status: results.StatusOK, Result: resultOf(t, 1200, 1200, 150, 250), ServerCPUSeconds: 1.1, PeakRSSBytes: 12 << 20},
	}
	sum, err := results.Summarize(reps)
	if err != nil {
		t.Fatal(err)
	}
	return &results.Cell{
		Server: server, Scenario: scenario,
		ScenarioAsRun: results.ScenarioSpec{Name: scenario, Protocol: "h1", Method: "GET", Path: "/", Connections: 8, Streams: 1,
			ErrorBudget: 0.05, TimeoutNs: 1e10, Headers: []results.Header{{Name: "Accept", Value: "*/*"}}},
		ServerInfo: results.ServerInfo{Framework: "net/http", Version: "go1.26", BuildHash: "abc"},
		Runtime:    "process", Status: results.StatusOK, Attempt: 1, Started: start, Finished: start.Add(time.Minute),
		Repeats: reps, Summary: sum, Logs: []string{reps[0].Log},
	}
}
