package results

import (
	"encoding/base64"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/matrixbench/matrix/loadgen"
)

// histogramOf encodes latencies (microseconds) as a loadgen Result does.
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
func resultOf(t testing.TB, rps float64, requests, errs uint64, us ...int64) *Measurement {
	return MeasurementOf(&loadgen.Result{
		Requests: requests, Errors: errs, RPS: rps,
		ErrorsByClass:     map[loadgen.ErrorClass]uint64{loadgen.ClassStatus: errs},
		StatusCodes:       map[string]uint64{"200": requests},
		Histogram:         histogramOf(t, us...),
		Protocol:          loadgen.ProtocolH1,
		ConnectionsOpened: 4,
		DurationNs:        int64(time.Second),
		ClientCPUNs:       int64(500 * time.Millisecond),
		LoadgenVersion:    loadgen.Version,
	})
}

// sampleCell returns a complete cell result.
func sampleCell(t testing.TB, server, scenario string) *Cell {
	start := time.Date(2026, 11, 25, 20, 45, 0, 0, time.UTC)
	reps := []Repeat{
		{Index: 1, Status: StatusOK, Result: resultOf(t, 1000, 1000, 0, 100, 200, 300), ServerCPUSeconds: 0.9, PeakRSSBytes: 10 << 20,
			TimingsNs: Timings{Build: 5e9, Start: 1e6, Ready: 2e7, Stop: 3e6}, Log: LogFile(server, scenario, 1, 1), Started: start, Finished: start.Add(2 * time.Second)},
		{Index: 2, Status: StatusOK, Result: resultOf(t, 1200, 1200, 0, 150, 250), ServerCPUSeconds: 1.1, PeakRSSBytes: 12 << 20},
	}
	sum, err := Summarize(reps)
	if err != nil {
		t.Fatal(err)
	}
	return &Cell{
		Server: server, Scenario: scenario,
		ScenarioAsRun: ScenarioSpec{Name: scenario, Protocol: "h1", Method: "GET", Path: "/", Connections: 8, Streams: 1, ErrorBudget: 0.05, TimeoutNs: 1e10,
			Headers: []Header{{"Accept", "*/*"}}},
		ServerInfo: ServerInfo{Framework: "net/http", Version: "go1.26", BuildHash: "abc"},
		Runtime:    "process", Status: StatusOK, Attempt: 1, Started: start, Finished: start.Add(time.Minute),
		Repeats: reps, Summary: sum, Logs: []string{reps[0].Log},
	}
}

// doubleEncoded returns s base64-encoded once more, as loadgen 0.1.0 wrote
// its histograms.
func doubleEncoded(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
