package loadgen

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"golang.org/x/net/http2/hpack"
)

// QPACK (RFC 9204) as the HTTP/3 client needs it. We announce
// SETTINGS_QPACK_MAX_TABLE_CAPACITY 0 (the default, RFC 9204 5), so the
// server may not insert into a dynamic table, and every field section we
// receive refers to the static table only: a Required Insert Count other
// than 0, or any dynamic reference, is QPACK_DECOMPRESSION_FAILED
// (RFC 9204 2.2.3). Our requests are encoded once per run, with static
// references and literals, never touching a dynamic table either.

// QPACK static table indexes we use (RFC 9204 Appendix A).
const (
	qpAuthority     = 0  // :authority ""
	qpPathRoot      = 1  // :path /
	qpContentLength = 4  // content-length 0
	qpMethodConnect = 15 // :method CONNECT, first of the :method entries
	qpSchemeHTTPS   = 23 // :scheme https
	qpStatus103     = 24 // :status 103, first of the :status entries
	qpUserAgent     = 95 // user-agent ""
	// qpStaticSize is the number of static table entries (0 to 98).
	qpStaticSize = 99
)

// qpMethods are the :method values with a static entry of their own.
var qpMethods = [...]string{"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"}

// qpStatusOf returns the :status value of static entry i, or 0 when the
// entry's name is not :status (RFC 9204 Appendix A).
func qpStatusOf(i uint64) int {
	switch {
	case i >= 24 && i <= 28:
		return [...]int{103, 200, 304, 404, 503}[i-24]
	case i >= 63 && i <= 71:
		return [...]int{100, 204, 206, 302, 400, 403, 421, 425, 500}[i-63]
	}
	return 0
}

// qpIsStatusName reports whether static entry i is named :status.
func qpIsStatusName(i uint64) bool { return qpStatusOf(i) != 0 }

// appendQPInt appends v as an integer with an n-bit prefix (RFC 9204
// 4.1.1, which is RFC 7541 5.1), the prefix's high bits set to flags.
func appendQPInt(b []byte, flags byte, n uint, v uint64) []byte {
	limit := uint64(1)<<n - 1
	if v < limit {
		return append(b, flags|byte(v))
	}
	b = append(b, flags|byte(limit))
	v -= limit
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendQPIndexed appends an indexed field line of the static table
// (RFC 9204 4.5.2: 1 T=1 index).
func appendQPIndexed(b []byte, i uint64) []byte { return appendQPInt(b, 0xc0, 6, i) }

// appendQPNameRef appends a literal field line with a static name
// reference (RFC 9204 4.5.4: 01 N T=1 index) and a value without Huffman
// coding.
func appendQPNameRef(b []byte, i uint64, value string) []byte {
	b = appendQPInt(b, 0x50, 4, i)
	b = appendQPInt(b, 0, 7, uint64(len(value)))
	return append(b, value...)
}

// appendQPLiteral appends a literal field line with a literal name
// (RFC 9204 4.5.6: 001 N H name, then H value), without Huffman coding.
func appendQPLiteral(b []byte, name, value string) []byte {
	b = appendQPInt(b, 0x20, 3, uint64(len(name)))
	b = append(b, name...)
	b = appendQPInt(b, 0, 7, uint64(len(value)))
	return append(b, value...)
}

// h3RequestFields returns the request's encoded field section (RFC 9114
// 4.3.1, RFC 9204 4.5), the same for every request of the run.
func h3RequestFields(cfg *Config, tg *target) []byte {
	// Required Insert Count 0 and Delta Base 0 (RFC 9204 4.5.1).
	b := []byte{0, 0}
	authority := tg.authority
	for _, h := range cfg.Headers {
		if strings.EqualFold(h.Name, "host") {
			authority = h.Value // :authority replaces Host (RFC 9114 4.3.1)
		}
	}
	m := cfg.method()
	methodDone := false
	for i, name := range qpMethods {
		if m == name {
			b = appendQPIndexed(b, uint64(qpMethodConnect+i))
			methodDone = true
		}
	}
	if !methodDone {
		b = appendQPNameRef(b, qpMethodConnect, m)
	}
	b = appendQPIndexed(b, qpSchemeHTTPS)
	b = appendQPNameRef(b, qpAuthority, authority)
	if tg.path == "/" {
		b = appendQPIndexed(b, qpPathRoot)
	} else {
		b = appendQPNameRef(b, qpPathRoot, tg.path)
	}
	hasUA := false
	for _, h := range cfg.Headers {
		name := strings.ToLower(h.Name)
		switch name {
		case "host", "content-length":
			continue
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			// Connection-specific fields make a request malformed
			// (RFC 9114 4.2).
			continue
		case "te":
			if !strings.EqualFold(strings.TrimSpace(h.Value), "trailers") {
				continue
			}
		case "user-agent":
			hasUA = true
		}
		b = appendQPLiteral(b, name, h.Value)
	}
	if len(cfg.Body) > 0 || m == "POST" || m == "PUT" || m == "PATCH" {
		b = appendQPNameRef(b, qpContentLength, strconv.Itoa(len(cfg.Body)))
	}
	if !hasUA {
		b = appendQPNameRef(b, qpUserAgent, "matrix-loadgen/"+Version)
	}
	return b
}

var (
	errQPDynamic   = errors.New("qpack: dynamic table reference, but its capacity is 0")
	errQPTruncated = errors.New("qpack: truncated field section")
	errQPIndex     = errors.New("qpack: static table index out of range")
)

// qpStatus decodes a response field section (RFC 9204 4.5) and returns its
// :status: 0 if it has none, -1 if it is malformed (not three digits, not
// first, or repeated: RFC 9114 4.3). Only :status values (and literal
// names) are ever Huffman-decoded, into the scratch buffer huff. An error is
// QPACK_DECOMPRESSION_FAILED, a connection error (RFC 9204 2.2.3).
func qpStatus(p []byte, huff *bytes.Buffer) (int, error) {
	ric, p, ok := hpackInt(8, p)
	if !ok {
		return 0, errQPTruncated
	}
	if ric != 0 {
		return 0, errQPDynamic
	}
	if _, p, ok = hpackInt(7, p); !ok { // Delta Base; meaningless without a table
		return 0, errQPTruncated
	}
	status := 0
	for n := 0; len(p) > 0; n++ {
		v, isStatus, rest, err := qpField(p, huff)
		if err != nil {
			return 0, err
		}
		p = rest
		if !isStatus {
			continue
		}
		// Pseudo-header fields come first, and :status exactly once
		// (RFC 9114 4.3, 4.3.2).
		if n != 0 || status != 0 {
			status = -1
			continue
		}
		status = v
	}
	return status, nil
}

// qpField decodes one field line. It returns the status when the field is
// :status (-1 when the value is malformed).
func qpField(p []byte, huff *bytes.Buffer) (status int, isStatus bool, rest []byte, err error) {
	b := p[0]
	var idx uint64
	var ok bool
	switch {
	case b&0x80 != 0: // indexed field line (4.5.2)
		if b&0x40 == 0 {
			return 0, false, p, errQPDynamic
		}
		if idx, p, ok = hpackInt(6, p); !ok {
			return 0, false, p, errQPTruncated
		}
		if idx >= qpStaticSize {
			return 0, false, p, errQPIndex
		}
		s := qpStatusOf(idx)
		return s, s != 0, p, nil
	case b&0xc0 == 0x40: // literal with name reference (4.5.4)
		if b&0x10 == 0 {
			return 0, false, p, errQPDynamic
		}
		if idx, p, ok = hpackInt(4, p); !ok {
			return 0, false, p, errQPTruncated
		}
		if idx >= qpStaticSize {
			return 0, false, p, errQPIndex
		}
		isStatus = qpIsStatusName(idx)
	case b&0xe0 == 0x20: // literal with literal name (4.5.6)
		h := b&0x08 != 0
		n, q, ok := hpackInt(3, p)
		if !ok || n > uint64(len(q)) {
			return 0, false, p, errQPTruncated
		}
		name := q[:n]
		p = q[n:]
		if h {
			if name, err = huffman(huff, name); err != nil {
				return 0, false, p, err
			}
		}
		isStatus = string(name) == ":status"
	default: // post-base forms (4.5.3, 4.5.5) refer to the dynamic table
		return 0, false, p, errQPDynamic
	}
	value, h, rest, err := hpackString(p)
	if err != nil {
		return 0, false, p, errQPTruncated
	}
	if !isStatus {
		return 0, false, rest, nil
	}
	if h {
		if value, err = huffman(huff, value); err != nil {
			return 0, false, rest, err
		}
	}
	return parseStatus(value), true, rest, nil
}

// huffman decodes s (RFC 7541 Appendix B, which QPACK shares: RFC 9204
// 4.1.2) into scratch.
func huffman(scratch *bytes.Buffer, s []byte) ([]byte, error) {
	scratch.Reset()
	if _, err := hpack.HuffmanDecode(scratch, s); err != nil {
		return nil, errHPACKHuffman
	}
	return scratch.Bytes(), nil
}
