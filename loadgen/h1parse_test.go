package loadgen

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

// socketPair returns the two ends of a loopback TCP connection.
func socketPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// parseOver sends wire from a real socket's server end, closing it
// afterwards when closeAfter is set, and parses one response on the client
// end with a read buffer of bufSize bytes (0: the default).
func parseOver(t *testing.T, wire string, head, closeAfter bool, bufSize int) (h1Response, error) {
	t.Helper()
	client, server := socketPair(t)
	go func() {
		// Write in small pieces so that lines straddle reads.
		for len(wire) > 0 {
			n := min(len(wire), 7)
			if _, err := io.WriteString(server, wire[:n]); err != nil {
				return
			}
			wire = wire[n:]
		}
		if closeAfter {
			server.Close()
		}
	}()
	rd := newH1Reader()
	if bufSize > 0 {
		rd.buf = make([]byte, bufSize)
	}
	rd.reset(client)
	return rd.readResponse(head)
}

func TestReadResponse(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!"
	tests := []struct {
		name       string
		wire       string
		head       bool
		closeAfter bool
		bufSize    int
		want       h1Response
		wantErr    error // nil, io.ErrUnexpectedEOF, or a protocolError
	}{
		{name: "content-length", wire: ok, want: h1Response{status: 200, body: 13}},
		{name: "empty body", wire: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", want: h1Response{status: 200}},
		{name: "404 with body", wire: "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found", want: h1Response{status: 404, body: 9}},
		{name: "no reason phrase", wire: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", want: h1Response{status: 200, body: 2}},
		{name: "bare LF", wire: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", want: h1Response{status: 200, body: 2}},
		{name: "field names any case", wire: "HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh:2\r\nCONNECTION:   Close  \r\n\r\nok", want: h1Response{status: 200, body: 2, close: true}},
		{name: "identical length list", wire: "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", want: h1Response{status: 200, body: 2}},
		{name: "repeated identical length", wire: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", want: h1Response{status: 200, body: 2}},
		{name: "obs-fold ignored", wire: "HTTP/1.1 200 OK\r\nX-A: a\r\n  folded\r\nContent-Length: 2\r\n\r\nok", want: h1Response{status: 200, body: 2}},
		{name: "connection close", wire: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", want: h1Response{status: 200, body: 2, close: true}},
		{name: "connection token list", wire: "HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 2\r\n\r\nok", want: h1Response{status: 200, body: 2, close: true}},
		{name: "HEAD ignores Content-Length", wire: "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n", head: true, want: h1Response{status: 200}},
		{name: "HEAD ignores chunked", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", head: true, want: h1Response{status: 200}},
		{name: "204 has no body", wire: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", want: h1Response{status: 204}},
		{name: "304 has no body", wire: "HTTP/1.1 304 Not Modified\r\nContent-Length: 13\r\n\r\n", want: h1Response{status: 304}},
		{name: "100 then 200", wire: "HTTP/1.1 100 Continue\r\n\r\n" + ok, want: h1Response{status: 200, body: 13}},
		{name: "100 and 103 then 200", wire: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + ok, want: h1Response{status: 200, body: 13}},
		{name: "101 unasked", wire: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", wantErr: errSwitching},
		{name: "chunked", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n8\r\n, World!\r\n0\r\n\r\n", want: h1Response{status: 200, body: 13}},
		{name: "chunked with extensions, upper-case hex and trailers", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\nA ; name=v\r\n0123456789\r\n1;x\r\n!\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n", want: h1Response{status: 200, body: 11}},
		{name: "chunked wins over Content-Length and closes", wire: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", want: h1Response{status: 200, body: 2, close: true}},
		{name: "close-delimited", wire: "HTTP/1.1 200 OK\r\n\r\nHello, World!", closeAfter: true, want: h1Response{status: 200, body: 13, close: true}},
		{name: "close-delimited empty", wire: "HTTP/1.1 200 OK\r\n\r\n", closeAfter: true, want: h1Response{status: 200, close: true}},
		{name: "non-chunked coding is close-delimited", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", closeAfter: true, want: h1Response{status: 200, body: 3, close: true}},
		{name: "HTTP/1.0 closes by default", wire: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", want: h1Response{status: 200, body: 2, close: true}},
		{name: "HTTP/1.0 keep-alive", wire: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", want: h1Response{status: 200, body: 2}},
		{name: "body bigger than the buffer", wire: "HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n" + strings.Repeat("x", 300), bufSize: 64, want: h1Response{status: 200, body: 300}},
		{name: "chunk bigger than the buffer", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n12c\r\n" + strings.Repeat("x", 300) + "\r\n0\r\n\r\n", bufSize: 64, want: h1Response{status: 200, body: 300}},

		{name: "truncated body", wire: "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello", closeAfter: true, wantErr: io.ErrUnexpectedEOF},
		{name: "truncated head", wire: "HTTP/1.1 200 OK\r\nContent-Len", closeAfter: true, wantErr: io.ErrUnexpectedEOF},
		{name: "truncated chunk", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHel", closeAfter: true, wantErr: io.ErrUnexpectedEOF},
		{name: "missing last chunk", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n", closeAfter: true, wantErr: io.ErrUnexpectedEOF},
		{name: "not HTTP", wire: "SSH-2.0-OpenSSH_9.2\r\n", wantErr: errStatusLine},
		{name: "HTTP/2 status line", wire: "HTTP/2 200 OK\r\n\r\n", wantErr: errStatusLine},
		{name: "status 600", wire: "HTTP/1.1 600 Nope\r\n\r\n", wantErr: errStatusLine},
		{name: "status 99", wire: "HTTP/1.1 099 Nope\r\n\r\n", wantErr: errStatusLine},
		{name: "status not digits", wire: "HTTP/1.1 2x0 OK\r\n\r\n", wantErr: errStatusLine},
		{name: "no colon", wire: "HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\nok", wantErr: errHeaderLine},
		{name: "space before colon", wire: "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", wantErr: errHeaderLine},
		{name: "conflicting lengths", wire: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", wantErr: errContentLength},
		{name: "conflicting length list", wire: "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok", wantErr: errContentLength},
		{name: "negative length", wire: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: errContentLength},
		{name: "empty length", wire: "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", wantErr: errContentLength},
		{name: "bad chunk size", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", wantErr: errChunk},
		{name: "chunk size garbage after digits", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nHello\r\n0\r\n\r\n", wantErr: errChunk},
		{name: "chunk data overruns", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n", wantErr: errChunk},
		{name: "line longer than buffer", wire: "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("a", 100) + "\r\n\r\n", bufSize: 64, wantErr: errLineTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOver(t, tt.wire, tt.head, tt.closeAfter, tt.bufSize)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestReadResponseKeepsNextBytes checks that bytes after one response stay
// buffered for the next, and that the reader does not block waiting for a
// body that a HEAD or 204 response cannot have.
func TestReadResponseKeepsNextBytes(t *testing.T) {
	wire := "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n" // a HEAD response
	client, server := socketPair(t)
	if _, err := io.WriteString(server, wire); err != nil {
		t.Fatal(err)
	}
	rd := newH1Reader()
	rd.reset(client)
	for i, want := range []h1Response{{status: 204}, {status: 200, body: 3}, {status: 200}} {
		got, err := rd.readResponse(i == 2)
		if err != nil || got != want {
			t.Fatalf("response %d: got %+v, %v; want %+v", i, got, err, want)
		}
	}
	if rd.r != rd.w {
		t.Errorf("%d bytes left unread", rd.w-rd.r)
	}
	if rd.received != int64(len(wire)) {
		t.Errorf("received %d bytes, want %d", rd.received, len(wire))
	}
}

func TestParseChunkSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"a", 10, true}, {"FF", 255, true}, {"10 ; ext=1", 16, true}, {"10\t;ext", 16, true},
		{"fffffffffffffff", 0xfffffffffffffff, true},
		{"", 0, false}, {";ext", 0, false}, {"1g", 0, false}, {"ffffffffffffffff", 0, false}, {"1 2", 0, false},
	}
	for _, tt := range tests {
		got, err := parseChunkSize([]byte(tt.in))
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseChunkSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestEncodeH1Request(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"GET", Config{URL: "http://127.0.0.1:8080/a?b=c"},
			"GET /a?b=c HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: matrix-loadgen/" + Version + "\r\n\r\n"},
		{"POST with body and headers", Config{URL: "http://h/", Method: "POST", Body: []byte("abc"),
			Headers: []Header{{"X-A", "1"}, {"Content-Length", "99"}, {"User-Agent", "me"}}},
			"POST / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nUser-Agent: me\r\nContent-Length: 3\r\n\r\nabc"},
		{"empty PUT states its length", Config{URL: "http://h/", Method: "PUT"},
			"PUT / HTTP/1.1\r\nHost: h\r\nUser-Agent: matrix-loadgen/" + Version + "\r\nContent-Length: 0\r\n\r\n"},
		{"own Host, close", Config{URL: "http://h/", Close: true, Headers: []Header{{"host", "example.com"}}},
			"GET / HTTP/1.1\r\nUser-Agent: matrix-loadgen/" + Version + "\r\nhost: example.com\r\nConnection: close\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := newTarget(&tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(encodeH1Request(&tt.cfg, tg)); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
