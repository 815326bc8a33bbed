package results

import (
	"reflect"
	"slices"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
)

// Cell is the result of one server under one scenario: the content of
// <server>/<scenario>.json. Durations are integer nanoseconds.
type Cell struct {
	SchemaVersion int    `json:"schema_version"`
	RunID         string `json:"run_id"`
	Server        string `json:"server"`
	Scenario      string `json:"scenario"`
	// ScenarioAsRun is the scenario after profile scaling, with the rate a
	// rated row actually used: what was measured, not what was asked.
	ScenarioAsRun ScenarioSpec `json:"scenario_as_run"`
	ServerInfo    ServerInfo   `json:"server_info"`
	// Runtime names the runtime that ran the server ("process", "docker").
	Runtime string `json:"runtime"`
	Status  Status `json:"status"`
	// Reason is empty for ok cells.
	Reason Reason `json:"reason,omitempty"`
	// Detail is free text for people: the dominant error class, the
	// build error, the tail of the server's log.
	Detail string `json:"detail,omitempty"`
	// Attempt numbers this result among the attempts at the cell, from 1.
	Attempt  int       `json:"attempt"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Repeats holds every repeat that ran, failed ones included.
	Repeats []Repeat `json:"repeats"`
	// Summary is nil when no repeat measured anything.
	Summary *Summary `json:"summary,omitempty"`
	// Logs are the server's log files, relative to the run directory.
	Logs []string `json:"logs,omitempty"`
	// LogTruncated is set when a log hit its cap (the newest part is kept).
	LogTruncated bool `json:"log_truncated,omitempty"`
	// Attempts are the earlier results this one replaced (oldest first),
	// kept whole when a cell is rerun; their own Attempts are empty.
	Attempts []Cell `json:"attempts,omitempty"`
}

// ID returns the cell's "scenario/server" ID.
func (c *Cell) ID() string { return matrix.CellID(c.Scenario, c.Server) }

// Supersede makes next the attempt after prev: prev (with its own earlier
// attempts moved out) is appended to next.Attempts, and next.Attempt
// follows prev's. Use it when rerunning a cell that has a result.
func Supersede(prev, next *Cell) {
	old := *prev
	old.Attempts = nil
	next.Attempts = append(slices.Clone(prev.Attempts), old)
	next.Attempt = max(prev.Attempt, len(next.Attempts)) + 1
}

// Repeat is one measurement of a cell, in the order the repeats ran.
type Repeat struct {
	// Index numbers the repeat from 1.
	Index    int       `json:"index"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Status and Reason classify this repeat alone; the cell's status
	// combines them.
	Status Status `json:"status"`
	Reason Reason `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Result is what the load generator measured (MeasurementOf its
	// loadgen.Result); nil when it never ran (the server failed to start
	// or become ready).
	Result *Measurement `json:"result,omitempty"`
	// TLSCA is, for a TLS row, the lowercase hex SHA-256 of the CA
	// certificate the server's chain was verified against (made fresh for
	// each execution of the run; the manifest lists them).
	TLSCA string `json:"tls_ca_sha256,omitempty"`
	// ServerCPUSeconds is the server's user+system CPU time during the
	// measured window; negative when it could not be sampled.
	ServerCPUSeconds float64 `json:"server_cpu_seconds"`
	// PeakRSSBytes is the server's largest resident set seen; 0 when it
	// could not be sampled.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// TimingsNs are how long each step around the measurement took.
	TimingsNs Timings `json:"timings_ns"`
	// Log is the server's log of this repeat, relative to the run directory.
	Log          string `json:"log,omitempty"`
	LogTruncated bool   `json:"log_truncated,omitempty"`
	// ExitCode is the server's exit status when it exited on its own
	// (negative for a signal), nil while it ran to the end.
	ExitCode *int `json:"exit_code,omitempty"`
	// Interference is what the rest of the host used during the measured
	// window; nil when it could not be sampled.
	Interference *Interference `json:"interference,omitempty"`
	// Capacity is a capacity row's search: every step and the one chosen
	// (whose measurement is Result). Nil for other rows.
	Capacity *Capacity `json:"capacity,omitempty"`
}

// Timings are the durations of the steps of one repeat in nanoseconds.
// Build is 0 when a cached build was reused.
type Timings struct {
	Build int64 `json:"build"`
	Start int64 `json:"start"`
	Ready int64 `json:"ready"`
	Stop  int64 `json:"stop"`
}

// ServerInfo describes what ran in the column.
type ServerInfo struct {
	Framework string `json:"framework,omitempty"`
	Version   string `json:"version,omitempty"`
	// Artifact is the binary path (process) or image id (docker).
	Artifact string `json:"artifact,omitempty"`
	// Image is the image tag (docker).
	Image string `json:"image,omitempty"`
	// BuildHash is the hash of the inputs the artifact was built from.
	BuildHash string `json:"build_hash,omitempty"`
	// CPUs is the cpuset the server was pinned to; empty when unpinned.
	CPUs        string `json:"cpus,omitempty"`
	MemoryBytes int64  `json:"memory_bytes,omitempty"`
	// Extra holds what the runtime reported (Go version, image size...).
	Extra map[string]string `json:"extra,omitempty"`
}

// ScenarioSpec is a scenario as written to results: matrix.Scenario's
// fields with stable JSON names.
type ScenarioSpec struct {
	Name             string   `json:"name"`
	Protocol         string   `json:"protocol"`
	Method           string   `json:"method"`
	Path             string   `json:"path"`
	BodySize         int64    `json:"body_size"`
	Headers          []Header `json:"headers,omitempty"`
	Connections      int      `json:"connections"`
	Streams          int      `json:"streams"`
	FixedConnections bool     `json:"fixed_connections,omitempty"`
	Close            bool     `json:"close,omitempty"`
	ErrorBudget      float64  `json:"error_budget"`
	ExpectStatus     int      `json:"expect_status,omitempty"`
	TimeoutNs        int64    `json:"timeout_ns"`
	// Rate is the fixed rate asked for or, for a rated row, the rate it
	// ran at (RateFraction of the saturation rate).
	Rate           float64 `json:"rate,omitempty"`
	RateFraction   float64 `json:"rate_fraction,omitempty"`
	SaturationFrom string  `json:"saturation_from,omitempty"`
	// SaturationRPS is the saturation rate a rated row's Rate came from.
	SaturationRPS float64 `json:"saturation_rps,omitempty"`
	// Capacity is a capacity row's objective and search settings.
	Capacity *CapacitySpec `json:"capacity,omitempty"`
}

// Header is one request header field.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ScenarioOf converts a matrix scenario (normally after
// matrix.Profile.Apply) to its results form. A capacity row's Capacity is
// left to CapacitySpecOf, which needs the profile.
func ScenarioOf(s matrix.Scenario) ScenarioSpec {
	out := ScenarioSpec{
		Name: s.Name, Protocol: string(s.Protocol), Method: s.Method, Path: s.Path,
		BodySize: s.BodySize, Connections: s.Connections, Streams: s.Streams,
		FixedConnections: s.FixedConnections, Close: s.Close, ErrorBudget: s.ErrorBudget,
		ExpectStatus: s.ExpectStatus, TimeoutNs: int64(s.Timeout), Rate: s.Rate,
		RateFraction: s.RateFraction, SaturationFrom: s.SaturationFrom,
	}
	for _, h := range s.Headers {
		out.Headers = append(out.Headers, Header{Name: h.Name, Value: h.Value})
	}
	return out
}

// SameMethod reports whether a and b describe the same measurement, so
// that their figures may be compared. Rate is left out for rated rows,
// whose rate follows the server's own saturation rate.
func (a ScenarioSpec) SameMethod(b ScenarioSpec) bool {
	if a.RateFraction > 0 {
		a.Rate, b.Rate, a.SaturationRPS, b.SaturationRPS = 0, 0, 0, 0
	}
	if len(a.Headers) == 0 && len(b.Headers) == 0 {
		a.Headers, b.Headers = nil, nil
	}
	return reflect.DeepEqual(a, b)
}
