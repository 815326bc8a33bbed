package results

import (
	"maps"

	"github.com/matrixbench/matrix/loadgen"
)

// Measurement is what the load generator measured in one repeat, as a
// cell file records it (Repeat.Result). Durations are integer
// nanoseconds.
//
// It mirrors loadgen.Result field for field, with the same Go names, but
// the JSON names are this package's: a change to loadgen's types cannot
// change the file format unseen. MeasurementOf converts; its tests fail
// when loadgen.Result gains a field the converter neither maps nor lists
// as not recorded, or when the encoding of a measurement changes.
type Measurement struct {
	// Requests counts successful responses: complete, with a success
	// status.
	Requests uint64 `json:"requests"`
	// Errors counts failed requests; it is the sum of ErrorsByClass.
	Errors uint64 `json:"errors"`
	// ErrorsByClass splits Errors by loadgen.ErrorClass.
	ErrorsByClass map[loadgen.ErrorClass]uint64 `json:"errors_by_class"`
	// StatusCodes counts complete responses by status code, successes or
	// not.
	StatusCodes map[string]uint64 `json:"status_codes"`
	// RPS is Requests divided by DurationNs.
	RPS float64 `json:"rps"`
	// BytesRead counts response body bytes (after chunked decoding).
	BytesRead uint64 `json:"bytes_read"`
	// LatencyNs summarises the latency of successful responses and of
	// timed-out requests (until they were abandoned); in rated mode from
	// each request's intended start.
	LatencyNs Latency `json:"latency_ns"`
	// Histogram is the latency histogram behind LatencyNs in microseconds,
	// base64 of the compressed HdrHistogram V2 encoding (DecodeHistogram
	// reads it).
	Histogram string `json:"histogram"`
	// Timeseries has one point per second of the measured window.
	Timeseries []Point `json:"timeseries"`
	// ConnectionsOpened counts successful dials, warmup included.
	ConnectionsOpened uint64 `json:"connections_opened"`
	// Reconnects counts dials that replaced a slot's earlier connection,
	// warmup included.
	Reconnects uint64 `json:"reconnects"`
	// Retried counts requests sent again because the server provably had
	// not processed them, warmup included; they are not errors.
	Retried uint64 `json:"retried"`
	// Backlog, in rated mode, counts intended starts never sent because
	// every connection was busy.
	Backlog uint64 `json:"backlog,omitempty"`
	// Protocol is what was actually spoken: "http/1.1", "h2c", "h2" or "h3".
	Protocol loadgen.Protocol `json:"protocol"`
	// QUICVersion is the QUIC version an HTTP/3 connection negotiated
	// (its ALPN is in TLS).
	QUICVersion string `json:"quic_version,omitempty"`
	// ProtocolMismatch is set when the server negotiated another protocol
	// than the one asked for.
	ProtocolMismatch string `json:"protocol_mismatch,omitempty"`
	// TLS is what the run's first TLS handshake negotiated; absent for
	// cleartext and in files written before TLS rows existed.
	TLS *TLS `json:"tls,omitempty"`
	// DurationNs is the length of the measured window as it ran.
	DurationNs int64 `json:"duration_ns"`
	// ClientCPUNs is the load generator's user+sys CPU time during the
	// measured window.
	ClientCPUNs int64 `json:"client_cpu_ns"`
	// Warmup summarises the warmup phase.
	Warmup Phase `json:"warmup"`
	// SlotsHandedOff counts the connection slots an HTTP/1.1 event loop
	// handed to a goroutine of their own (loadgen.Result.SlotsHandedOff).
	SlotsHandedOff uint64 `json:"slots_handed_off,omitempty"`
	// HandOffReason says when and why the event loops handed their slots
	// to goroutines (loadgen.Result.HandOffReason).
	HandOffReason string `json:"hand_off_reason,omitempty"`
	// GoawaysReceived counts HTTP/2 and HTTP/3 GOAWAY frames.
	GoawaysReceived uint64 `json:"goaways_received"`
	// StreamsReset counts HTTP/2 RST_STREAM frames received.
	StreamsReset uint64 `json:"streams_reset"`
	// ServerSettings are the HTTP/2 or HTTP/3 SETTINGS the server sent,
	// by name.
	ServerSettings map[string]uint32 `json:"server_settings,omitempty"`
	// Interrupted is set when the measurement was cancelled before the
	// window ended.
	Interrupted bool `json:"interrupted,omitempty"`
	// EndedEarly says why the load generator stopped before the window
	// ended.
	EndedEarly string `json:"ended_early,omitempty"`
	// LoadgenVersion is loadgen.Version: it identifies the measuring
	// method.
	LoadgenVersion string `json:"loadgen_version"`
	// Config is how the load generator was configured.
	Config MeasurementConfig `json:"config"`
}

// TLS is what a TLS handshake negotiated.
type TLS struct {
	// Version is the protocol version, for example "TLS 1.3".
	Version string `json:"version"`
	// CipherSuite is the IANA name of the cipher suite.
	CipherSuite string `json:"cipher_suite"`
	// ALPN is the protocol the server selected by ALPN (RFC 7301), empty
	// when it selected none.
	ALPN string `json:"alpn"`
}

// Latency is a latency summary in nanoseconds.
type Latency struct {
	Min   int64   `json:"min"`
	Mean  float64 `json:"mean"`
	P50   int64   `json:"p50"`
	P75   int64   `json:"p75"`
	P90   int64   `json:"p90"`
	P99   int64   `json:"p99"`
	P999  int64   `json:"p999"`
	P9999 int64   `json:"p9999"`
	Max   int64   `json:"max"`
}

// Point is one second of a measured window.
type Point struct {
	// Second is the offset of the point from the start of the window.
	Second int `json:"second"`
	// Requests and Errors count what completed during that second.
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// P99Ns is the 99th percentile latency of that second's successes.
	P99Ns int64 `json:"p99_ns"`
}

// Phase summarises the warmup.
type Phase struct {
	Requests   uint64 `json:"requests"`
	Errors     uint64 `json:"errors"`
	DurationNs int64  `json:"duration_ns"`
}

// MeasurementConfig is how the load generator was configured for a
// measurement.
type MeasurementConfig struct {
	URL         string           `json:"url"`
	Method      string           `json:"method"`
	BodyBytes   int              `json:"body_bytes"`
	Protocol    loadgen.Protocol `json:"protocol_requested"`
	Connections int              `json:"connections"`
	Streams     int              `json:"streams,omitempty"`
	WarmupNs    int64            `json:"warmup_ns"`
	DurationNs  int64            `json:"duration_ns"`
	TimeoutNs   int64            `json:"timeout_ns"`
	Close       bool             `json:"close,omitempty"`
	Rate        float64          `json:"rate,omitempty"`
	GOMAXPROCS  int              `json:"gomaxprocs"`
	// EventLoops is how many event loops ran a closed-loop plain
	// HTTP/1.1 measurement; 0 (absent) when every connection had a
	// goroutine of its own.
	EventLoops int `json:"event_loops,omitempty"`
}

// MeasurementOf converts what the load generator returned to its results
// form; nil gives nil. The result shares nothing with r.
func MeasurementOf(r *loadgen.Result) *Measurement {
	if r == nil {
		return nil
	}
	m := &Measurement{
		Requests:          r.Requests,
		Errors:            r.Errors,
		ErrorsByClass:     maps.Clone(r.ErrorsByClass),
		StatusCodes:       maps.Clone(r.StatusCodes),
		RPS:               r.RPS,
		BytesRead:         r.BytesRead,
		LatencyNs:         latencyOf(r.LatencyNs),
		Histogram:         r.Histogram,
		ConnectionsOpened: r.ConnectionsOpened,
		Reconnects:        r.Reconnects,
		Retried:           r.Retried,
		Backlog:           r.Backlog,
		Protocol:          r.Protocol,
		ProtocolMismatch:  r.ProtocolMismatch,
		QUICVersion:       r.QUICVersion,
		DurationNs:        r.DurationNs,
		ClientCPUNs:       r.ClientCPUNs,
		Warmup:            Phase{Requests: r.Warmup.Requests, Errors: r.Warmup.Errors, DurationNs: r.Warmup.DurationNs},
		SlotsHandedOff:    r.SlotsHandedOff,
		HandOffReason:     r.HandOffReason,
		GoawaysReceived:   r.GoawaysReceived,
		StreamsReset:      r.StreamsReset,
		ServerSettings:    maps.Clone(r.ServerSettings),
		Interrupted:       r.Interrupted,
		EndedEarly:        r.EndedEarly,
		LoadgenVersion:    r.LoadgenVersion,
		Config:            configOf(r.Config),
	}
	if r.TLS != nil {
		m.TLS = &TLS{Version: r.TLS.Version, CipherSuite: r.TLS.CipherSuite, ALPN: r.TLS.ALPN}
	}
	if r.Timeseries != nil {
		m.Timeseries = make([]Point, len(r.Timeseries))
		for i, p := range r.Timeseries {
			m.Timeseries[i] = Point{Second: p.Second, Requests: p.Requests, Errors: p.Errors, P99Ns: p.P99Ns}
		}
	}
	return m
}

// latencyOf converts a load generator latency summary to its results form.
func latencyOf(l loadgen.Latency) Latency {
	return Latency{Min: l.Min, Mean: l.Mean, P50: l.P50, P75: l.P75, P90: l.P90,
		P99: l.P99, P999: l.P999, P9999: l.P9999, Max: l.Max}
}

// configOf converts the configuration a load generator result echoes.
func configOf(c loadgen.ResultConfig) MeasurementConfig {
	return MeasurementConfig{
		URL: c.URL, Method: c.Method, BodyBytes: c.BodyBytes, Protocol: c.Protocol,
		Connections: c.Connections, Streams: c.Streams, WarmupNs: c.WarmupNs,
		DurationNs: c.DurationNs, TimeoutNs: c.TimeoutNs, Close: c.Close, Rate: c.Rate,
		GOMAXPROCS: c.GOMAXPROCS, EventLoops: c.EventLoops,
	}
}
