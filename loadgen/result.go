package loadgen

import (
	"crypto/tls"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// ErrorClass names one kind of failed request. Every failed request is
// counted in exactly one class.
type ErrorClass string

// The error classes, in the order they are reported.
const (
	// ClassConnect: the TCP connection could not be opened (refused,
	// unreachable, dial timeout).
	ClassConnect ErrorClass = "connect"
	// ClassTLS: the TLS handshake failed, the server's certificate chain
	// did not verify (unknown authority, expired, wrong host name), or the
	// handshake timed out.
	ClassTLS ErrorClass = "tls"
	// ClassRead: the connection failed while the response was being read.
	ClassRead ErrorClass = "read"
	// ClassWrite: the connection failed while the request was being written.
	ClassWrite ErrorClass = "write"
	// ClassTimeout: no complete response within Config.Timeout.
	ClassTimeout ErrorClass = "timeout"
	// ClassProtocol: the server broke the protocol (malformed response,
	// HTTP/2 stream or connection error, RST_STREAM).
	ClassProtocol ErrorClass = "protocol"
	// ClassStatus: a complete response whose status is not a success.
	ClassStatus ErrorClass = "status"
)

// ErrorClasses lists every class in reporting order.
var ErrorClasses = [...]ErrorClass{ClassConnect, ClassTLS, ClassRead, ClassWrite, ClassTimeout, ClassProtocol, ClassStatus}

// Result is what one Run measured. Durations are integer nanoseconds. Only
// the measured window counts in the top-level figures; the warmup is
// summarised in Warmup.
type Result struct {
	// Requests counts successful responses: complete, with a success status.
	Requests uint64 `json:"requests"`
	// Errors counts failed requests; it is the sum of ErrorsByClass.
	Errors uint64 `json:"errors"`
	// ErrorsByClass splits Errors by ErrorClass; every class is present.
	ErrorsByClass map[ErrorClass]uint64 `json:"errors_by_class"`
	// StatusCodes counts complete responses by status code, successes or not.
	StatusCodes map[string]uint64 `json:"status_codes"`
	// RPS is Requests divided by DurationNs.
	RPS float64 `json:"rps"`
	// BytesRead counts response body bytes (after chunked decoding).
	BytesRead uint64 `json:"bytes_read"`
	// LatencyNs summarises the latency of successful responses and of
	// timed-out requests (the time until they were abandoned), so that a
	// stalled server shows in the tail instead of vanishing from it. In
	// rated mode latency counts from each request's intended start.
	LatencyNs Latency `json:"latency_ns"`
	// Histogram is the latency histogram behind LatencyNs in microseconds,
	// base64 of the compressed HdrHistogram V2 encoding.
	Histogram string `json:"histogram"`
	// Timeseries has one point per second of the measured window.
	Timeseries []Point `json:"timeseries"`
	// ConnectionsOpened counts successful dials during the warmup and the
	// measured window (the connections of the warmup carry on into the
	// window).
	ConnectionsOpened uint64 `json:"connections_opened"`
	// Reconnects counts the dials, during the warmup and the measured
	// window, that replaced a slot's earlier connection: announced closes,
	// GOAWAYs and failures alike.
	Reconnects uint64 `json:"reconnects"`
	// Retried counts requests sent again because the server had provably not
	// processed them (a kept-alive connection closed before any response
	// byte, RFC 9112 9.3.1; streams above a GOAWAY's last-stream-id,
	// RFC 9113 6.8), during the warmup and the measured window. A retried
	// request is not an error.
	Retried uint64 `json:"retried"`
	// Backlog, in rated mode, counts the intended starts due before the end
	// of the run that were never sent because every connection was busy:
	// a server slower than the rate shows here and in the latency tail,
	// never as a silently lower rate.
	Backlog uint64 `json:"backlog,omitempty"`
	// Protocol is what was actually spoken: "http/1.1", "h2c", "h2" or "h3".
	Protocol Protocol `json:"protocol"`
	// QUICVersion is the QUIC version the first HTTP/3 connection
	// negotiated (for example "v1"); its ALPN is in TLS, as for TLS rows.
	QUICVersion string `json:"quic_version,omitempty"`
	// ProtocolMismatch is set when the caller asked for one protocol and the
	// server negotiated another (for example h2 requested, http/1.1 by ALPN).
	ProtocolMismatch string `json:"protocol_mismatch,omitempty"`
	// TLS is what the run's first successful TLS handshake negotiated; nil
	// for cleartext runs and for runs that never completed a handshake.
	TLS *TLSInfo `json:"tls,omitempty"`
	// DurationNs is the length of the measured window as it ran.
	DurationNs int64 `json:"duration_ns"`
	// ClientCPUNs is this process's user+sys CPU time during the measured window.
	ClientCPUNs int64 `json:"client_cpu_ns"`
	// Warmup summarises the warmup phase.
	Warmup Phase `json:"warmup"`
	// SlotsHandedOff counts the connection slots that the HTTP/1.1 event
	// loops (Config.EventLoops) handed to goroutines of their own. The
	// loops hand every slot over, with its request in flight, once one
	// meets something other than a whole response, a keep-alive, an
	// announced close or a timeout: a failed dial, a response larger than
	// the read buffer or delimited by the close, a request the socket
	// could not take whole, an error. The run then measures on at a
	// goroutine's cost per request.
	SlotsHandedOff uint64 `json:"slots_handed_off,omitempty"`
	// HandOffReason says when, in the run, and why the loops handed their
	// slots over; empty when they did not.
	HandOffReason string `json:"hand_off_reason,omitempty"`
	// GoawaysReceived counts GOAWAY frames (HTTP/2 and HTTP/3).
	GoawaysReceived uint64 `json:"goaways_received"`
	// StreamsReset counts streams the server reset: HTTP/2 RST_STREAM
	// frames, HTTP/3 (QUIC) RESET_STREAM frames.
	StreamsReset uint64 `json:"streams_reset"`
	// ServerSettings are the HTTP/2 or HTTP/3 SETTINGS the server sent, by
	// name, as last received.
	ServerSettings map[string]uint32 `json:"server_settings,omitempty"`
	// Interrupted is set when the context was cancelled before the measured
	// window ended; the figures cover what was measured until then.
	Interrupted bool `json:"interrupted,omitempty"`
	// EndedEarly says why the load generator stopped before the window
	// ended, for example that no connection could ever be opened.
	EndedEarly string `json:"ended_early,omitempty"`
	// LoadgenVersion is Version.
	LoadgenVersion string `json:"loadgen_version"`
	// Config echoes the parameters the run used.
	Config ResultConfig `json:"config"`
}

// TLSInfo is what a TLS handshake negotiated.
type TLSInfo struct {
	// Version is the protocol version, for example "TLS 1.3".
	Version string `json:"version"`
	// CipherSuite is the IANA name of the cipher suite, for example
	// "TLS_AES_128_GCM_SHA256".
	CipherSuite string `json:"cipher_suite"`
	// ALPN is the application protocol the server selected (RFC 7301):
	// "h2", "http/1.1", or empty when it selected none.
	ALPN string `json:"alpn"`
}

// tlsInfoOf summarises a completed handshake.
func tlsInfoOf(cs tls.ConnectionState) *TLSInfo {
	return &TLSInfo{
		Version:     tls.VersionName(cs.Version),
		CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
		ALPN:        cs.NegotiatedProtocol,
	}
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

// LatencyOf summarises a latency histogram recorded in microseconds (as
// Result.Histogram holds it) in nanoseconds; an empty histogram gives the
// zero Latency. Programs that merge the histograms of several Results
// should summarise the merged one with it, never average the percentiles.
func LatencyOf(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	q := func(p float64) int64 { return h.ValueAtQuantile(p) * 1000 }
	return Latency{
		Min: h.Min() * 1000, Mean: h.Mean() * 1000, Max: h.Max() * 1000,
		P50: q(50), P75: q(75), P90: q(90), P99: q(99), P999: q(99.9), P9999: q(99.99),
	}
}

// Point is one second of the measured window.
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

// ResultConfig is the part of Config that describes how a Result was made.
type ResultConfig struct {
	URL         string   `json:"url"`
	Method      string   `json:"method"`
	BodyBytes   int      `json:"body_bytes"`
	Protocol    Protocol `json:"protocol_requested"`
	Connections int      `json:"connections"`
	Streams     int      `json:"streams,omitempty"`
	WarmupNs    int64    `json:"warmup_ns"`
	DurationNs  int64    `json:"duration_ns"`
	TimeoutNs   int64    `json:"timeout_ns"`
	Close       bool     `json:"close,omitempty"`
	Rate        float64  `json:"rate,omitempty"`
	GOMAXPROCS  int      `json:"gomaxprocs"`
	// EventLoops is how many event loops ran the slots of a closed-loop
	// plain HTTP/1.1 run, each an epoll set of its own; 0 when every slot
	// had a goroutine of its own (TLS, rated runs, other protocols).
	EventLoops int `json:"event_loops,omitempty"`
}
