// Package h1test provides real HTTP/1.1 servers for testing the load
// generator: raw TCP servers whose handlers misbehave on purpose, a
// responder that allocates nothing (for allocation and CPU measurements),
// and a private nginx instance.
package h1test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Hello is the canonical 13-byte response body.
const Hello = "Hello, World!"

// OK is a keep-alive 200 response carrying Hello.
const OK = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\n" + Hello

// Server is a TCP server on 127.0.0.1 that runs Handler on every accepted
// connection, each in its own goroutine, and closes the connection when the
// handler returns.
type Server struct {
	// URL is "http://127.0.0.1:port/".
	URL string
	// Addr is "127.0.0.1:port".
	Addr string

	// Accepted counts accepted connections; Requests counts requests
	// read through Conn.ReadRequest.
	Accepted, Requests atomic.Int64

	ln      net.Listener
	handler func(*Conn)
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	stopped bool
}

// Start starts a server running handler and stops it when the test ends.
func Start(t testing.TB, handler func(*Conn)) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("h1test: listen: %v", err)
	}
	s := &Server{ln: ln, handler: handler, conns: map[net.Conn]struct{}{}}
	s.Addr = ln.Addr().String()
	s.URL = "http://" + s.Addr + "/"
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.Accepted.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.forget(c)
			s.handler(&Conn{Conn: c, R: bufio.NewReader(c), srv: s})
		}()
	}
}

func (s *Server) forget(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Close stops accepting, closes every open connection, and waits for the
// handlers to return. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	s.stopped = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Conn is one accepted connection.
type Conn struct {
	net.Conn
	R   *bufio.Reader
	srv *Server
	// N counts the requests read on this connection.
	N int
}

// Request is the part of a request the handlers look at.
type Request struct {
	Method, Target string
	Header         map[string]string // lower-case names
	// Body is the request body, or nil when it is larger than
	// MaxKeptBody: then only BodyLen says how long it was.
	Body    []byte
	BodyLen int
}

// MaxKeptBody is the largest request body ReadRequest keeps; larger ones
// are read and discarded, so that upload tests do not churn memory.
const MaxKeptBody = 1 << 20

// ReadRequest reads one request with its Content-Length body.
func (c *Conn) ReadRequest() (*Request, error) {
	line, err := c.R.ReadString('\n')
	if err != nil {
		return nil, err
	}
	f := strings.Fields(line)
	if len(f) != 3 || !strings.HasPrefix(f[2], "HTTP/1.") {
		return nil, fmt.Errorf("h1test: bad request line %q", line)
	}
	r := &Request{Method: f[0], Target: f[1], Header: map[string]string{}}
	for {
		line, err = c.R.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("h1test: bad header line %q", line)
		}
		r.Header[strings.ToLower(name)] = strings.TrimSpace(value)
	}
	if cl := r.Header["content-length"]; cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil {
			return nil, fmt.Errorf("h1test: bad Content-Length %q", cl)
		}
		r.BodyLen = n
		if n > MaxKeptBody {
			if _, err := c.R.Discard(n); err != nil {
				return nil, err
			}
		} else {
			r.Body = make([]byte, n)
			if _, err := io.ReadFull(c.R, r.Body); err != nil {
				return nil, err
			}
		}
	}
	c.N++
	c.srv.Requests.Add(1)
	return r, nil
}

// WriteString writes s to the connection.
func (c *Conn) WriteString(s string) error {
	_, err := io.WriteString(c.Conn, s)
	return err
}

// Serve answers every request on the connection with resp until the client
// closes or a write fails.
func (c *Conn) Serve(resp string) {
	for {
		if _, err := c.ReadRequest(); err != nil {
			return
		}
		if c.WriteString(resp) != nil {
			return
		}
	}
}

// Respond returns a handler that answers every request with resp.
func Respond(resp string) func(*Conn) {
	return func(c *Conn) { c.Serve(resp) }
}

// Fast returns a handler for measuring the client: it answers every
// request, as soon as the request's empty line arrives, with resp, and
// allocates nothing per request. Requests must have no body.
func Fast(resp string) func(*Conn) {
	return func(c *Conn) {
		out := []byte(resp)
		buf := make([]byte, 16<<10)
		// state counts the bytes of "\r\n\r\n" matched so far, across
		// reads.
		state := 0
		for {
			n, err := c.Conn.Read(buf)
			if err != nil {
				return
			}
			for _, b := range buf[:n] {
				switch {
				case b == "\r\n\r\n"[state]:
					state++
				case b == '\r':
					state = 1
				default:
					state = 0
				}
				if state == 4 {
					state = 0
					c.srv.Requests.Add(1)
					if _, err := c.Conn.Write(out); err != nil {
						return
					}
				}
			}
		}
	}
}
