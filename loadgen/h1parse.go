package loadgen

import (
	"bytes"
	"errors"
	"io"
	"net"
)

// h1BufSize is the read buffer of one HTTP/1.1 connection. A response's
// status line and each of its header lines must fit in it; bodies stream
// through it. 32 KiB bounds the read system calls for large bodies while
// keeping a thousand connections under 32 MiB.
const h1BufSize = 32 << 10

// protocolError is a response that breaks RFC 9112. Its values are
// constants, so returning one allocates nothing.
type protocolError string

func (e protocolError) Error() string { return "loadgen: malformed HTTP/1.1 response: " + string(e) }

const (
	errStatusLine    protocolError = "bad status line"
	errHeaderLine    protocolError = "bad header field line"
	errLineTooLong   protocolError = "status or header line longer than the read buffer"
	errContentLength protocolError = "bad or conflicting Content-Length"
	errChunk         protocolError = "bad chunked encoding"
	errSwitching     protocolError = "101 Switching Protocols to a request that asked for no upgrade"
)

// h1Reader is the read side of one connection: a fixed buffer refilled by
// one Read at a time, from which responses are parsed in place. It never
// allocates after newH1Reader.
type h1Reader struct {
	conn     net.Conn
	buf      []byte
	r, w     int   // the unread bytes are buf[r:w]
	received int64 // bytes read from conn, for telling "no byte at all" apart
	// try makes the parser use only the buffered bytes: where it would
	// read, it returns errNeedMore without having changed the buffer, and
	// the caller rewinds r to the response's start (h1direct.go).
	try bool
}

func newH1Reader() h1Reader { return h1Reader{buf: make([]byte, h1BufSize)} }

// reset points the reader at a new connection and drops buffered bytes.
func (rd *h1Reader) reset(c net.Conn) {
	rd.conn, rd.r, rd.w, rd.received = c, 0, 0, 0
}

// fill reads once from the connection into the free end of the buffer,
// first moving unread bytes to its front.
func (rd *h1Reader) fill() error {
	if rd.try {
		return errNeedMore
	}
	if rd.r == rd.w {
		rd.r, rd.w = 0, 0
	} else if rd.r > 0 {
		rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r = 0
	}
	if rd.w == len(rd.buf) {
		return errLineTooLong
	}
	n, err := rd.conn.Read(rd.buf[rd.w:])
	rd.w += n
	rd.received += int64(n)
	if n > 0 {
		return nil // a pending error returns again on the next Read
	}
	if err == nil {
		return io.ErrNoProgress
	}
	return err
}

// line returns the next line without its terminator. RFC 9112 2.2 lets a
// recipient accept a bare LF as a line terminator; this one does. The line
// aliases the buffer and is valid until the next read.
func (rd *h1Reader) line() ([]byte, error) {
	for {
		if i := bytes.IndexByte(rd.buf[rd.r:rd.w], '\n'); i >= 0 {
			l := rd.buf[rd.r : rd.r+i]
			rd.r += i + 1
			if n := len(l); n > 0 && l[n-1] == '\r' {
				l = l[:n-1]
			}
			return l, nil
		}
		if err := rd.fill(); err != nil {
			return nil, err
		}
	}
}

// discard consumes n body bytes. An EOF before the last one is
// io.ErrUnexpectedEOF: the body was truncated.
func (rd *h1Reader) discard(n int64) error {
	for {
		if avail := int64(rd.w - rd.r); n <= avail {
			rd.r += int(n)
			return nil
		} else if rd.try {
			return errNeedMore
		} else {
			n -= avail
		}
		rd.r, rd.w = 0, 0
		if err := rd.fill(); err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
}

// discardToEOF consumes a close-delimited body (RFC 9112 6.3 item 8) and
// returns its length.
func (rd *h1Reader) discardToEOF() (int64, error) {
	if rd.try {
		return 0, errNeedMore
	}
	n := int64(rd.w - rd.r)
	for {
		rd.r, rd.w = 0, 0
		before := rd.received
		if err := rd.fill(); err != nil {
			if err == io.EOF {
				return n, nil
			}
			return n, err
		}
		n += rd.received - before
	}
}

// h1Response is what readResponse learned about one response.
type h1Response struct {
	status int
	body   int64 // body bytes after chunked decoding
	close  bool  // the connection must not carry another request
}

// h1Head is the framing information of one response head.
type h1Head struct {
	status    int
	http10    bool
	length    int64 // Content-Length, or -1
	te        bool  // Transfer-Encoding present
	chunked   bool  // its final coding is chunked
	close     bool  // Connection: close
	keepAlive bool  // Connection: keep-alive (for HTTP/1.0)
}

// readResponse reads one complete response to a request (a HEAD request
// when head is set), skipping 1xx interim responses, and discards its body.
func (rd *h1Reader) readResponse(head bool) (h1Response, error) {
	var h h1Head
	for {
		var err error
		if h, err = rd.readHead(); err != nil {
			return h1Response{}, err
		}
		if h.status >= 200 {
			break
		}
		// RFC 9110 15.2: a 1xx response is interim; the final one
		// follows. 101 would switch protocols, which was never asked for.
		if h.status == 101 {
			return h1Response{}, errSwitching
		}
	}
	res := h1Response{status: h.status, close: h.close || (h.http10 && !h.keepAlive)}
	var err error
	switch {
	case head || h.status == 204 || h.status == 304:
		// RFC 9112 6.3 item 1: these responses end at the empty line,
		// whatever their header fields say.
	case h.te && h.chunked:
		res.body, err = rd.readChunked()
		// RFC 9112 6.1: Transfer-Encoding with Content-Length smells of
		// smuggling; do not trust the connection any further.
		res.close = res.close || h.length >= 0
	case h.te:
		// RFC 9112 6.3 item 4: a response whose final coding is not
		// chunked is delimited by the connection's close.
		res.body, err = rd.discardToEOF()
		res.close = true
	case h.length >= 0:
		res.body = h.length
		err = rd.discard(h.length)
	default:
		res.body, err = rd.discardToEOF()
		res.close = true
	}
	return res, err
}

// readHead reads a status line and header section (RFC 9112 4 and 5).
func (rd *h1Reader) readHead() (h1Head, error) {
	h := h1Head{length: -1}
	l, err := rd.line()
	if err != nil {
		return h, err
	}
	if h.status, h.http10, err = parseStatusLine(l); err != nil {
		return h, err
	}
	for {
		if l, err = rd.line(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return h, err
		}
		if len(l) == 0 {
			return h, nil
		}
		if err := h.field(l); err != nil {
			return h, err
		}
	}
}

// parseStatusLine parses "HTTP/1.x SSS reason" (RFC 9112 4).
func parseStatusLine(l []byte) (status int, http10 bool, err error) {
	if len(l) < 12 || string(l[:7]) != "HTTP/1." || l[8] != ' ' || (len(l) > 12 && l[12] != ' ') {
		return 0, false, errStatusLine
	}
	for _, c := range l[9:12] {
		if c < '0' || c > '9' {
			return 0, false, errStatusLine
		}
		status = status*10 + int(c-'0')
	}
	// RFC 9110 15: status codes are 100 to 599.
	if status < 100 || status > 599 || l[7] < '0' || l[7] > '9' {
		return 0, false, errStatusLine
	}
	return status, l[7] == '0', nil
}

// field interprets one header field line; only the fields that frame the
// message matter here.
func (h *h1Head) field(l []byte) error {
	if l[0] == ' ' || l[0] == '\t' {
		// obs-fold (RFC 9112 5.2): a continuation of the previous
		// field's value, which framing fields never need.
		return nil
	}
	colon := bytes.IndexByte(l, ':')
	if colon <= 0 {
		return errHeaderLine
	}
	for _, c := range l[:colon] {
		if c == ' ' || c == '\t' {
			// RFC 9112 5.1: no whitespace between field name and colon.
			return errHeaderLine
		}
	}
	name, value := l[:colon], trimOWS(l[colon+1:])
	switch {
	case equalFold(name, "content-length"):
		n, err := parseContentLength(value)
		if err != nil || (h.length >= 0 && h.length != n) {
			return errContentLength
		}
		h.length = n
	case equalFold(name, "transfer-encoding"):
		// Codings apply in order; only the final one decides the framing
		// (RFC 9112 6.3 item 4), and a later field line extends the list.
		h.te = true
		h.chunked = equalFold(lastToken(value), "chunked")
	case equalFold(name, "connection"):
		for len(value) > 0 {
			var tok []byte
			tok, value = nextToken(value)
			switch {
			case equalFold(tok, "close"):
				h.close = true
			case equalFold(tok, "keep-alive"):
				h.keepAlive = true
			}
		}
	}
	return nil
}

// parseContentLength parses a Content-Length value, accepting a list of
// identical values as RFC 9110 8.6 allows a recipient to.
func parseContentLength(v []byte) (int64, error) {
	n := int64(-1)
	for len(v) > 0 {
		var tok []byte
		tok, v = nextToken(v)
		if len(tok) == 0 || len(tok) > 18 {
			return 0, errContentLength
		}
		var m int64
		for _, c := range tok {
			if c < '0' || c > '9' {
				return 0, errContentLength
			}
			m = m*10 + int64(c-'0')
		}
		if n >= 0 && m != n {
			return 0, errContentLength
		}
		n = m
	}
	if n < 0 {
		return 0, errContentLength
	}
	return n, nil
}

// readChunked consumes a chunked body and its trailer section (RFC 9112 7.1)
// and returns the decoded length.
func (rd *h1Reader) readChunked() (int64, error) {
	var total int64
	for {
		l, err := rd.line()
		if err != nil {
			return total, unexpected(err)
		}
		size, err := parseChunkSize(l)
		if err != nil {
			return total, err
		}
		if size == 0 {
			break
		}
		if err := rd.discard(size); err != nil {
			return total, err
		}
		total += size
		if l, err = rd.line(); err != nil {
			return total, unexpected(err)
		}
		if len(l) != 0 {
			return total, errChunk
		}
	}
	// The trailer section ends with an empty line (RFC 9112 7.1.2).
	for {
		l, err := rd.line()
		if err != nil {
			return total, unexpected(err)
		}
		if len(l) == 0 {
			return total, nil
		}
	}
}

// parseChunkSize parses "HEX [BWS ; chunk-ext]" (RFC 9112 7.1.1).
func parseChunkSize(l []byte) (int64, error) {
	var n int64
	i := 0
	for ; i < len(l); i++ {
		c := l[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			goto rest
		}
		if i >= 15 {
			return 0, errChunk // over 2^60: not a body a benchmark sends
		}
		n = n<<4 | int64(d)
	}
rest:
	if i == 0 {
		return 0, errChunk
	}
	if r := trimOWS(l[i:]); len(r) > 0 && r[0] != ';' {
		return 0, errChunk
	}
	return n, nil
}

// unexpected turns an EOF inside a message into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// trimOWS trims optional whitespace (SP and HTAB, RFC 9110 5.6.3).
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// nextToken splits a comma-separated list (RFC 9110 5.6.1) into its first
// element, trimmed, and the rest.
func nextToken(v []byte) (tok, rest []byte) {
	if i := bytes.IndexByte(v, ','); i >= 0 {
		return trimOWS(v[:i]), v[i+1:]
	}
	return trimOWS(v), nil
}

// lastToken returns the last element of a comma-separated list, trimmed.
func lastToken(v []byte) []byte {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return trimOWS(v)
}

// equalFold reports whether b equals the lower-case ASCII string s, ignoring
// ASCII case, without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
