// Package h2test provides real HTTP/2 servers for testing the load
// generator: a server written on x/net/http2's Framer that misbehaves on
// purpose in the ways real servers do (docs/hostile-servers.md rows 5-21) while
// checking that its client keeps every rule of RFC 9113, and private
// nginx and nghttpd instances.
package h2test

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// StatusEncoding chooses how a response's :status field is HPACK-encoded
// (RFC 7541 6).
type StatusEncoding int

const (
	// StatusDefault lets x/net's hpack.Encoder choose: an indexed static
	// entry for 200, 204, 206, 304, 400, 404 and 500; otherwise a
	// Huffman-coded literal added to the dynamic table, referenced by index
	// on later responses.
	StatusDefault StatusEncoding = iota
	// StatusPlain is a literal without indexing, static name, raw value.
	StatusPlain
	// StatusHuffman is a literal without indexing, static name,
	// Huffman-coded value.
	StatusHuffman
	// StatusLiteralName is a literal without indexing whose name is
	// itself a literal string.
	StatusLiteralName
)

// Request is what the server read of one request.
type Request struct {
	Conn     int64  // ordinal of the connection on the server, from 1
	Seq      int    // ordinal of the stream on its connection, from 1
	N        int64  // ordinal of the request on the server, from 1
	StreamID uint32 //
	Method   string
	Path     string
	// ContentLength is the content-length field, or -1.
	ContentLength int
	// BodyLen counts the request body bytes received.
	BodyLen int
}

// Response describes how the server answers one request.
type Response struct {
	Status   int
	Encoding StatusEncoding
	// Interim are 1xx status codes sent, each in a header block of its
	// own, before the final response (RFC 9113 8.1).
	Interim []int
	// Body is the number of body bytes, sent in Frames DATA frames (one
	// when zero), no larger than the client's SETTINGS_MAX_FRAME_SIZE.
	Body   int
	Frames int
	// Pad adds that many bytes of padding to every DATA frame.
	Pad uint8
	// EmptyEnd ends the stream with an empty DATA frame.
	EmptyEnd bool
	// Trailers ends the stream with a trailer block.
	Trailers bool
	// SplitHeaders sends every header block as a HEADERS frame followed by
	// CONTINUATION frames of a few bytes each.
	SplitHeaders bool
	// Delay postpones the response.
	Delay time.Duration
	// Never leaves the request unanswered.
	Never bool
	// Reset answers with RST_STREAM and this code instead of a response.
	Reset http2.ErrCode
}

// Config configures a Server. The zero value answers every request with
// 200 and a 13-byte body and enforces the protocol's default limits.
type Config struct {
	// Settings is the server's SETTINGS frame in its connection preface;
	// the limits in it are enforced.
	Settings []http2.Setting
	// EarlyWindowUpdate, when positive, is sent as a WINDOW_UPDATE on
	// stream 0 right after the server's SETTINGS, before the client's
	// SETTINGS is acknowledged (Kestrel; docs/hostile-servers.md row 6).
	EarlyWindowUpdate uint32
	// DelayAck acknowledges the client's SETTINGS only when the first
	// request arrives.
	DelayAck bool
	// NoConnCredit never returns connection-level credit for request
	// bodies: the client can upload no more than the initial 65535 bytes
	// plus EarlyWindowUpdate per connection.
	NoConnCredit bool
	// GoawayAfter sends a graceful GOAWAY once that many streams have
	// been opened on a connection, answers the streams up to it, and
	// closes the connection (nginx keepalive_requests; row 7).
	GoawayAfter int
	// GoawayBelow makes that GOAWAY's last-stream-id the stream opened
	// GoawayBelow streams earlier: the streams above it, received but not
	// yet answered, are dropped unanswered, as not processed (RFC 9113
	// 6.8). With delayed responses, the client then has streams to retry.
	GoawayBelow int
	// CloseAfter closes the connection without GOAWAY once that many
	// streams have been opened on it and the last one answered (row 8).
	CloseAfter int
	// MidSettings is sent as a second SETTINGS frame once MidSettingsAfter
	// streams have been opened on a connection; its limits are enforced
	// once the client acknowledges it (RFC 9113 6.5.3).
	MidSettings      []http2.Setting
	MidSettingsAfter int
	// PingEvery sends a PING once every that many streams on a
	// connection; the client must acknowledge each (RFC 9113 6.7).
	PingEvery int
	// Respond chooses each response; nil answers 200 with 13 bytes.
	Respond func(Request) Response
}

// Stats are the server's counters.
type Stats struct {
	Conns      int64 // connections accepted
	Requests   int64 // requests processed (streams not refused or ignored)
	Responses  int64 // responses completed (END_STREAM sent)
	Resets     int64 // streams the server reset
	BodyBytes  int64 // response body bytes sent
	Uploaded   int64 // request body bytes received
	Goaways    int64 // GOAWAY frames sent
	Dropped    int64 // streams dropped unanswered above a GOAWAY's last-stream-id
	MaxOpen    int64 // most streams open at once on one connection
	Pings      int64 // PING frames sent
	PingAcks   int64 // PING acknowledgements received, with the data sent
	Violations int64 // protocol violations by the client
	// Reason is the first violation, in words.
	Reason string
}

// Server is an HTTP/2 server (prior knowledge, cleartext) on 127.0.0.1.
type Server struct {
	// URL is "http://127.0.0.1:port/", Addr "127.0.0.1:port".
	URL, Addr string

	cfg Config
	ln  net.Listener
	wg  sync.WaitGroup

	conns, requests, responses, resets, bodyBytes, uploaded, goaways, dropped atomic.Int64
	pings, pingAcks                                                           atomic.Int64
	maxOpen, violations                                                       atomic.Int64

	mu      sync.Mutex
	reason  string
	live    map[*conn]struct{}
	stopped bool
	n       atomic.Int64 // requests, for Request.N
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := Listen(cfg)
	if err != nil {
		t.Fatalf("h2test: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Listen starts a server on a free 127.0.0.1 port.
func Listen(cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{cfg: cfg, ln: ln, live: map[*conn]struct{}{}}
	s.Addr = ln.Addr().String()
	s.URL = "http://" + s.Addr + "/"
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := newConn(s, nc, s.conns.Add(1))
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.live[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.live, c)
			s.mu.Unlock()
		}()
	}
}

// Close stops the server and waits until every connection is closed and
// every goroutine has returned.
func (s *Server) Close() {
	s.mu.Lock()
	s.stopped = true
	for c := range s.live {
		c.kill()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	reason := s.reason
	s.mu.Unlock()
	return Stats{
		Conns: s.conns.Load(), Requests: s.requests.Load(), Responses: s.responses.Load(),
		Resets: s.resets.Load(), BodyBytes: s.bodyBytes.Load(), Uploaded: s.uploaded.Load(),
		Goaways: s.goaways.Load(), Dropped: s.dropped.Load(), MaxOpen: s.maxOpen.Load(),
		Pings: s.pings.Load(), PingAcks: s.pingAcks.Load(), Violations: s.violations.Load(),
		Reason: reason,
	}
}

// violation records a client's breach of the protocol.
func (s *Server) violation(format string, args ...any) {
	s.violations.Add(1)
	s.mu.Lock()
	if s.reason == "" {
		s.reason = fmt.Sprintf(format, args...)
	}
	s.mu.Unlock()
}

// noteOpen raises MaxOpen to n.
func (s *Server) noteOpen(n int64) {
	for {
		m := s.maxOpen.Load()
		if n <= m || s.maxOpen.CompareAndSwap(m, n) {
			return
		}
	}
}

// respond returns the response to r.
func (s *Server) respond(r Request) Response {
	if s.cfg.Respond == nil {
		return Response{Status: 200, Body: 13}
	}
	return s.cfg.Respond(r)
}

// errClosed reports a connection the server chose to close.
var errClosed = errors.New("h2test: connection closed by the server")
