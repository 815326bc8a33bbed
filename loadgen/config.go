// Package loadgen is an HTTP/1.1 and HTTP/2 load generator built for
// measuring servers honestly: it never reports a wrong zero, never counts a
// failed response as a success, and spends as little CPU per request as the
// kernel allows, because on a shared machine every microsecond the client
// burns is taken from the server under test.
//
// The package knows nothing of benchmark matrices; one call, Run, drives one
// URL with one Config and returns one Result.
package loadgen

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Version identifies the load generator's measuring method. It is recorded in
// every Result so that results made by different versions can be told apart
// (matrix diff judges no figure across two versions). It changes when the
// way of measuring does: 0.2.0 runs closed-loop plain HTTP/1.1 on event
// loops, whose lower client CPU leaves a shared machine's server more.
const Version = "0.2.0"

// Protocol names the wire protocol a run speaks.
type Protocol string

// Protocols a Config may ask for.
const (
	// ProtocolAuto picks from the URL: HTTP/1.1 for http://, ALPN for https://.
	ProtocolAuto Protocol = ""
	// ProtocolH1 is HTTP/1.1 (RFC 9112), over TLS when the URL is https://.
	ProtocolH1 Protocol = "http/1.1"
	// ProtocolH2C is HTTP/2 over cleartext TCP with prior knowledge (RFC 9113 3.3).
	ProtocolH2C Protocol = "h2c"
	// ProtocolH2 is HTTP/2 over TLS negotiated by ALPN (RFC 9113 3.2).
	ProtocolH2 Protocol = "h2"
	// ProtocolH3 is HTTP/3 over QUIC (RFC 9114, RFC 9000), ALPN "h3".
	ProtocolH3 Protocol = "h3"
)

// Header is one request header field. A slice keeps the order the caller
// gave, which matters to servers that are sensitive to it.
type Header struct {
	Name, Value string
}

// Config describes one load run.
type Config struct {
	// URL is the target, http:// or https://.
	URL string
	// Method is the request method; empty means GET.
	Method string
	// Headers are added to every request after Host (and, for HTTP/2,
	// after the pseudo-header fields).
	Headers []Header
	// Body is sent with every request; its length becomes Content-Length.
	Body []byte
	// Protocol selects the wire protocol; ProtocolAuto decides from the URL.
	Protocol Protocol
	// Connections is the number of connections kept open; at least 1.
	Connections int
	// Streams is the number of concurrent HTTP/2 or HTTP/3 streams per
	// connection, capped by the server's SETTINGS_MAX_CONCURRENT_STREAMS
	// (HTTP/2) or its QUIC stream limit (HTTP/3, RFC 9000 4.6). Ignored by
	// HTTP/1.1. Zero means 1.
	Streams int
	// Warmup is run before the measured window on the same connections; its
	// figures are reported separately in Result.Warmup.
	Warmup time.Duration
	// Duration is the length of the measured window; it must be positive.
	Duration time.Duration
	// Timeout bounds one request from the moment it is sent to the end of
	// its response, and one dial. A request that takes longer is abandoned,
	// counted as a timeout error (its latency enters the histogram), and its
	// connection replaced. Zero means 10 seconds. There is no other
	// deadline: a connection may live as long as the run. (In rated mode the
	// timeout runs from the actual send, not the intended start, so that a
	// backlog shows as latency instead of turning every request into a
	// timeout.)
	Timeout time.Duration
	// Close sends "Connection: close" and opens a new connection for every
	// request (HTTP/1.1 only).
	Close bool
	// Rate, when positive, is the total number of requests per second to
	// schedule at fixed intended times; latency is then measured from the
	// intended time, so a backlog shows as latency (coordinated omission
	// correction). Zero runs closed-loop, as fast as the server answers.
	Rate float64
	// ExpectStatus is the status code counted as a success; zero means any 2xx.
	ExpectStatus int
	// RootCAs are the certificate authorities a TLS server's chain is
	// verified against; nil means the system's roots. The matrix passes
	// the CA it made for the run.
	RootCAs *x509.CertPool
	// InsecureSkipVerify skips TLS certificate verification. The matrix
	// never sets it; `matrix load --insecure` does.
	InsecureSkipVerify bool
	// Progress, when not nil, is called about once per second from a
	// goroutine of its own with the figures so far.
	Progress func(Progress)

	// goroutines runs closed-loop plain HTTP/1.1 with a goroutine per
	// connection instead of the event loops (h1loop.go), so that tests
	// and benchmarks can compare the two.
	goroutines bool
}

// Progress is a snapshot of a running load, passed to Config.Progress.
type Progress struct {
	Elapsed  time.Duration // since the start of the warmup
	Warmup   bool          // still in the warmup
	Requests uint64        // successes in the current phase
	Errors   uint64        // errors in the current phase
	RPS      float64       // successes per second over the last interval
}

// Errors returned by Config.Validate.
var (
	errNoURL = errors.New("loadgen: URL is empty")
)

// Validate reports the first problem with c, or nil.
func (c *Config) Validate() error {
	if c.URL == "" {
		return errNoURL
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("loadgen: URL %q: %w", c.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("loadgen: URL %q: scheme must be http or https", c.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("loadgen: URL %q has no host", c.URL)
	}
	switch c.Protocol {
	case ProtocolAuto, ProtocolH1, ProtocolH2, ProtocolH3:
	case ProtocolH2C:
		if u.Scheme != "http" {
			return fmt.Errorf("loadgen: h2c needs an http:// URL, got %q", c.URL)
		}
	default:
		return fmt.Errorf("loadgen: unknown protocol %q", c.Protocol)
	}
	if c.Protocol == ProtocolH2 && u.Scheme != "https" {
		return fmt.Errorf("loadgen: h2 needs an https:// URL (use h2c for cleartext), got %q", c.URL)
	}
	if c.Protocol == ProtocolH3 && u.Scheme != "https" {
		return fmt.Errorf("loadgen: h3 needs an https:// URL, got %q", c.URL)
	}
	if c.Connections < 1 {
		return fmt.Errorf("loadgen: connections must be at least 1, got %d", c.Connections)
	}
	if c.Streams < 0 {
		return fmt.Errorf("loadgen: streams must not be negative, got %d", c.Streams)
	}
	if c.Duration <= 0 {
		return fmt.Errorf("loadgen: duration must be positive, got %v", c.Duration)
	}
	if m := c.method(); strings.ContainsAny(m, " \t\r\n") {
		return fmt.Errorf("loadgen: invalid method %q", m)
	}
	if c.Warmup < 0 || c.Timeout < 0 || c.Rate < 0 {
		return errors.New("loadgen: warmup, timeout and rate must not be negative")
	}
	if c.Close && c.Protocol != ProtocolAuto && c.Protocol != ProtocolH1 {
		return errors.New("loadgen: close mode is HTTP/1.1 only")
	}
	if c.ExpectStatus != 0 && (c.ExpectStatus < 100 || c.ExpectStatus > 599) {
		return fmt.Errorf("loadgen: expected status %d is not a status code", c.ExpectStatus)
	}
	for _, h := range c.Headers {
		if h.Name == "" || strings.ContainsAny(h.Name, " \t\r\n:") || strings.ContainsAny(h.Value, "\r\n") {
			return fmt.Errorf("loadgen: invalid header %q", h.Name)
		}
	}
	return nil
}

// method returns the request method, defaulting to GET.
func (c *Config) method() string {
	if c.Method == "" {
		return "GET"
	}
	return c.Method
}

// timeout returns the per-request timeout, defaulting to 10 seconds.
func (c *Config) timeout() time.Duration {
	if c.Timeout == 0 {
		return 10 * time.Second
	}
	return c.Timeout
}

// success reports whether status counts as a successful response.
func (c *Config) success(status int) bool {
	if c.ExpectStatus != 0 {
		return status == c.ExpectStatus
	}
	return status >= 200 && status <= 299
}
