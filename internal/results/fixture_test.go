package results

import (
	"time"

	"github.com/matrixbench/matrix/loadgen"
)

// fullHistogram is a real histogram of nine latencies, 180 µs to 4.2 ms,
// as loadgen encodes them (kept literal so that the files made from it do
// not depend on the compressor's output).
const fullHistogram = "HISTFAAAADt42pJpmSzMwMAgzgABzFCaEcyZ3M5g/wEi8JyJyZLJkkmVKZHpJiPTXnamtZxMPyWYAAEAAP//264JBg=="

// fullResult returns a load generator result with every field set, nested
// ones included (TestMeasurementCoversResult checks that none is left
// zero): what the converter and the file format tests work from.
func fullResult() *loadgen.Result {
	return &loadgen.Result{
		Requests: 119_842,
		Errors:   23,
		ErrorsByClass: map[loadgen.ErrorClass]uint64{
			loadgen.ClassConnect: 1, loadgen.ClassRead: 2, loadgen.ClassWrite: 3,
			loadgen.ClassTimeout: 7, loadgen.ClassProtocol: 4, loadgen.ClassStatus: 6,
		},
		StatusCodes: map[string]uint64{"200": 119_842, "503": 6},
		RPS:         39_947.333,
		BytesRead:   1_557_946,
		LatencyNs: loadgen.Latency{Min: 180_000, Mean: 913_444.5, P50: 310_000, P75: 900_000, P90: 1_500_000,
			P99: 4_200_000, P999: 4_200_000, P9999: 4_200_000, Max: 4_200_000},
		Histogram: fullHistogram,
		Timeseries: []loadgen.Point{
			{Second: 0, Requests: 39_900, Errors: 20, P99Ns: 4_100_000},
			{Second: 1, Requests: 39_971, Errors: 3, P99Ns: 3_900_000},
			{Second: 2, Requests: 39_971, Errors: 0, P99Ns: 3_800_000},
		},
		ConnectionsOpened: 66,
		Reconnects:        2,
		Retried:           1,
		Backlog:           5,
		Protocol:          loadgen.ProtocolH2C,
		ProtocolMismatch:  "asked for h2, the server spoke h2c",
		TLS:               &loadgen.TLSInfo{Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ALPN: "http/1.1"},
		QUICVersion:       "v1",
		DurationNs:        int64(3 * time.Second),
		ClientCPUNs:       int64(1700 * time.Millisecond),
		Warmup:            loadgen.Phase{Requests: 39_000, Errors: 1, DurationNs: int64(time.Second)},
		SlotsHandedOff:    3,
		HandOffReason:     "after 1.2s of the run: the server closed a connection without announcing it",
		GoawaysReceived:   1,
		StreamsReset:      3,
		ServerSettings:    map[string]uint32{"MAX_CONCURRENT_STREAMS": 100, "INITIAL_WINDOW_SIZE": 65_535},
		Interrupted:       true,
		EndedEarly:        "no connection could be opened after the GOAWAY",
		LoadgenVersion:    "0.1.0",
		Config: loadgen.ResultConfig{
			URL: "http://127.0.0.1:8080/upload", Method: "POST", BodyBytes: 65_536, Protocol: loadgen.ProtocolH2,
			Connections: 64, Streams: 10, WarmupNs: int64(time.Second), DurationNs: int64(3 * time.Second),
			TimeoutNs: int64(10 * time.Second), Close: true, Rate: 40_000, GOMAXPROCS: 2, EventLoops: 2,
		},
	}
}

// fullCell returns a cell whose one repeat holds fullResult, as a cell
// file holds it: testdata/cell-v1.json is this cell, with its summary,
// as schema version 1 wrote it.
func fullCell() *Cell {
	start := time.Date(2026, 11, 25, 20, 45, 0, 0, time.UTC)
	exit := -9
	return &Cell{
		SchemaVersion: 1, RunID: "20261125T204500Z-abc1234", Server: "s1", Scenario: "post-h2",
		ScenarioAsRun: ScenarioSpec{Name: "post-h2", Protocol: "h2c", Method: "POST", Path: "/upload", BodySize: 65_536,
			Connections: 64, Streams: 10, ErrorBudget: 0.05, TimeoutNs: int64(10 * time.Second)},
		ServerInfo: ServerInfo{Framework: "net/http", Version: "go1.26", BuildHash: "abc"},
		Runtime:    "process", Status: StatusSuspect, Reason: ReasonErrorBudget, Detail: "error ratio over the budget",
		Attempt: 1, Started: start, Finished: start.Add(time.Minute),
		Repeats: []Repeat{{Index: 1, Started: start, Finished: start.Add(5 * time.Second), Status: StatusSuspect,
			Reason: ReasonErrorBudget, Result: MeasurementOf(fullResult()), ServerCPUSeconds: 1.25, PeakRSSBytes: 12 << 20,
			TimingsNs: Timings{Build: 5e9, Start: 1e6, Ready: 2e7, Stop: 3e6}, Log: LogFile("s1", "post-h2", 1, 1), ExitCode: &exit}},
		Logs: []string{LogFile("s1", "post-h2", 1, 1)},
	}
}
