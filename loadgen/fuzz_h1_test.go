package loadgen

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeSeeds rewrites the committed seed corpora of the fuzz targets in this
// package from the seed tables (go test -run 'Fuzz' -writeseeds).
var writeSeeds = flag.Bool("writeseeds", false, "write the fuzz seed tables to testdata/fuzz")

// Per-input bounds of the fuzz targets. A parser that needs longer than
// fuzzHang for a few kilobytes from memory is stuck, not slow; fuzzAlloc is
// far above what any input legitimately costs (the h2 connection's fixed
// buffers and header-block limit) and far below what trusting a length
// field from the wire would allocate.
const (
	fuzzHang  = 10 * time.Second
	fuzzAlloc = 8 << 20
	// h1FuzzMaxResponses bounds the responses parsed from one input, as
	// a connection would carry them one after another.
	h1FuzzMaxResponses = 64
)

// h1Seed is one seed of FuzzH1Response.
type h1Seed struct {
	name    string
	wire    string
	head    bool
	bufSize uint16 // the read buffer: 0 for the real one, else 64 plus this modulo 4096
	chunk   uint16 // the server writes 1 + chunk%4096 bytes at a time
}

var h1Seeds = []h1Seed{
	{name: "content-length", wire: "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!"},
	{name: "keep-alive-three", wire: strings.Repeat("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 3), chunk: 6},
	{name: "chunked-ext-trailers", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\nA ; name=v\r\n0123456789\r\n1;x\r\n!\r\n0\r\nX-Checksum: 1\r\n\r\n", chunk: 2},
	{name: "chunked-bigger-than-buffer", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n12c\r\n" + strings.Repeat("x", 300) + "\r\n0\r\n\r\n", bufSize: 1},
	{name: "close-delimited", wire: "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nHello, World!", chunk: 4},
	{name: "te-not-chunked", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc"},
	{name: "te-and-cl", wire: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	{name: "head", wire: "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", head: true},
	{name: "interim", wire: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	{name: "switching", wire: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"},
	{name: "no-body-statuses", wire: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{name: "http10", wire: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nokHTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"},
	{name: "connection-list", wire: "HTTP/1.1 503 Busy\r\nconnection: Upgrade,  CLOSE \r\ncontent-length: 2, 2\r\n\r\nno"},
	{name: "bare-lf-obs-fold", wire: "HTTP/1.1 200 OK\nX-A: a\n  folded\nContent-Length: 2\n\nok"},
	{name: "long-line", wire: "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("a", 100) + "\r\nContent-Length: 0\r\n\r\n", bufSize: 1},
	{name: "huge-length", wire: "HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999\r\n\r\nabc"},
	{name: "huge-chunk", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\nabc"},
	{name: "conflicting-lengths", wire: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"},
	{name: "not-http", wire: "SSH-2.0-OpenSSH_9.2\r\n"},
	{name: "empty", wire: ""},
}

// FuzzH1Response feeds arbitrary bytes, as a server would send them over one
// keep-alive connection before closing it, to the HTTP/1.1 response parser,
// in pieces of any size, along both paths the client reads responses by:
// the ordinary one, which reads from the connection as it parses, and the
// direct one (h1direct.go), which parses only whole buffered responses and
// hands the rest back to the ordinary path. It checks that the parser never
// panics, returns once the bytes are exhausted, allocates nothing in
// proportion to what the wire claims, accepts only possible responses (a
// final status, no more body than the bytes sent), and that both paths
// read the same responses and fail with the same errors.
func FuzzH1Response(f *testing.F) {
	for _, s := range h1Seeds {
		f.Add([]byte(s.wire), s.head, s.bufSize, s.chunk)
	}
	if *writeSeeds {
		for _, s := range h1Seeds {
			writeSeed(f, "FuzzH1Response", s.name, []byte(s.wire), s.head, s.bufSize, s.chunk)
		}
	}
	f.Fuzz(func(t *testing.T, wire []byte, head bool, bufSize, chunk uint16) {
		size, n := h1BufSize, 1+int(chunk)%4096
		if bufSize > 0 {
			size = 64 + int(bufSize)%4096
		}
		var ordinary, direct []h1Outcome
		alloc := allocated()
		bounded(t, fuzzHang, func() {}, func() {
			ordinary = parseOrdinary(wire, head, size, n)
			direct = parseDirect(wire, head, size, n)
		})
		if a := allocated() - alloc; a > fuzzAlloc {
			t.Errorf("parsing %d bytes allocated %d bytes", len(wire), a)
		}
		var body int64
		for i, o := range ordinary {
			if o.err != nil {
				checkH1Error(t, o.err)
				continue
			}
			if o.res.status < 200 || o.res.status > 599 {
				t.Errorf("response %d: accepted status %d", i, o.res.status)
			}
			if o.res.body < 0 {
				t.Errorf("response %d: body of %d bytes", i, o.res.body)
			}
			if body += o.res.body; body > int64(len(wire)) {
				t.Errorf("response %d: %d body bytes so far from %d bytes on the wire", i, body, len(wire))
			}
		}
		if !slices.Equal(ordinary, direct) {
			t.Errorf("the ordinary path read %+v\nthe direct path read   %+v", ordinary, direct)
		}
	})
}

// h1Outcome is what reading one response gave.
type h1Outcome struct {
	res h1Response
	err error
}

// parseOrdinary reads responses from wire as the ordinary path does, with a
// read buffer of size bytes, the connection delivering n bytes per read,
// until an error or a response that closes the connection.
func parseOrdinary(wire []byte, head bool, size, n int) []h1Outcome {
	rd := newH1Reader()
	rd.buf = make([]byte, size)
	rd.reset(&chunkConn{data: wire, n: n})
	var outs []h1Outcome
	for len(outs) < h1FuzzMaxResponses {
		res, err := rd.readResponse(head)
		outs = append(outs, h1Outcome{res, err})
		if err != nil || res.close {
			break
		}
	}
	return outs
}

// parseDirect reads responses from wire as the direct path does
// (h1Slot.send and h1Slot.receive): before each request the buffer is
// compacted; after each read the parser tries the buffered bytes alone
// (h1Reader.try) and rewinds when they are not a whole response; a full
// buffer or the connection's close hands the response to the ordinary
// path, which parses it again from its start.
func parseDirect(wire []byte, head bool, size, n int) []h1Outcome {
	conn := &chunkConn{data: wire, n: n}
	rd := newH1Reader()
	rd.buf = make([]byte, size)
	rd.reset(conn)
	var outs []h1Outcome
	for len(outs) < h1FuzzMaxResponses {
		if rd.r == rd.w {
			rd.r, rd.w = 0, 0
		} else if rd.r > 0 {
			rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
			rd.r = 0
		}
		mark := rd.r
		o := h1Outcome{err: errNeedMore}
		for o.err == errNeedMore {
			if rd.w == len(rd.buf) {
				rd.r = mark
				o.res, o.err = rd.readResponse(head)
				break
			}
			k, _ := conn.Read(rd.buf[rd.w:])
			if k == 0 {
				if rd.w > mark {
					rd.r = mark
					o.res, o.err = rd.readResponse(head)
				} else {
					o.err = io.EOF
				}
				break
			}
			rd.w += k
			rd.try = true
			o.res, o.err = rd.readResponse(head)
			rd.try = false
			if o.err == errNeedMore {
				rd.r = mark
			}
		}
		outs = append(outs, o)
		if o.err != nil || o.res.close {
			break
		}
	}
	return outs
}

// checkH1Error fails the test unless err is one the driver classifies: the
// connection ended, or the response broke the protocol.
func checkH1Error(t *testing.T, err error) {
	t.Helper()
	var pe protocolError
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &pe):
	default:
		t.Errorf("unexpected error %T: %v", err, err)
	}
}

// chunkConn is the client end of a connection whose server sent data and
// closed it: each Read returns at most n of the bytes not yet read, as
// they arrive in pieces from a socket, then io.EOF. The parser only reads;
// any other method of the connection would panic on the nil Conn.
type chunkConn struct {
	net.Conn
	data []byte
	n    int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p, c.data[:min(c.n, len(c.data))])
	c.data = c.data[k:]
	return k, nil
}

// serveChunks writes wire to c n bytes at a time, as a server's writes
// arrive in pieces; it stops when the client has gone.
func serveChunks(c net.Conn, wire []byte, n int) {
	for len(wire) > 0 {
		k := min(n, len(wire))
		if _, err := c.Write(wire[:k]); err != nil {
			return
		}
		wire = wire[k:]
	}
}

// bounded runs f and fails the test if it has not returned after limit.
// It then calls unblock, which must make a blocked f return (by closing
// its connection); if f still does not return, it spins without reading,
// and bounded panics with every goroutine's stack, which stops the fuzzer
// with the input that did it.
func bounded(t *testing.T, limit time.Duration, unblock, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-done:
		return
	case <-timer.C:
	}
	unblock()
	select {
	case <-done:
		t.Fatalf("still waiting for input after %v, with the server gone", limit)
	case <-time.After(limit):
		buf := make([]byte, 1<<20)
		panic(fmt.Sprintf("loadgen fuzz: no return %v after the connection closed (a loop that does not read):\n%s",
			limit, buf[:runtime.Stack(buf, true)]))
	}
}

// allocated returns the bytes allocated on the heap by the process so far.
// runtime/metrics reads it without stopping the world, which
// runtime.ReadMemStats would do at a tenth of the fuzzing speed.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// writeSeed writes one seed corpus entry in the format of go test fuzz v1.
func writeSeed(f *testing.F, target, name string, args ...any) {
	f.Helper()
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		default:
			fmt.Fprintf(&b, "%T(%v)\n", v, v)
		}
	}
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(b.String()), 0o644); err != nil {
		f.Fatal(err)
	}
}
