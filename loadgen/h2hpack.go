package loadgen

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/http2/hpack"
)

// h2RequestBlock returns the request's header block, HPACK-encoded once for
// the whole run (RFC 9113 8.3.1, RFC 7541).
//
// Every field is either an indexed reference to the static table or a
// literal without indexing (RFC 7541 6.1, 6.2.2): the block never adds to
// or refers to the server's dynamic table, so the same bytes are valid on
// every stream of every connection, whatever the server's table holds and
// whatever SETTINGS_HEADER_TABLE_SIZE it announces.
func h2RequestBlock(cfg *Config, tg *target) ([]byte, error) {
	scheme := "http"
	if tg.tls {
		scheme = "https"
	}
	authority := tg.authority
	var extra []hpack.HeaderField
	hasUA := false
	for _, h := range cfg.Headers {
		name := strings.ToLower(h.Name)
		switch name {
		case "host":
			// :authority replaces Host (RFC 9113 8.3.1).
			authority = h.Value
			continue
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			// Connection-specific fields are malformed in HTTP/2
			// (RFC 9113 8.2.2); drop them rather than have every
			// request reset.
			continue
		case "te":
			if !strings.EqualFold(strings.TrimSpace(h.Value), "trailers") {
				continue
			}
		case "content-length":
			continue // set from the body below
		case "user-agent":
			hasUA = true
		}
		extra = append(extra, hpack.HeaderField{Name: name, Value: h.Value})
	}
	fields := []hpack.HeaderField{
		{Name: ":method", Value: cfg.method()},
		{Name: ":scheme", Value: scheme},
		{Name: ":authority", Value: authority},
		{Name: ":path", Value: tg.path},
	}
	fields = append(fields, extra...)
	switch m := cfg.method(); {
	case len(cfg.Body) > 0 || m == "POST" || m == "PUT" || m == "PATCH":
		fields = append(fields, hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(len(cfg.Body))})
	}
	if !hasUA {
		fields = append(fields, hpack.HeaderField{Name: "user-agent", Value: "matrix-loadgen/" + Version})
	}

	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	// A zero-size table makes the encoder write every field that is not a
	// full static match as a literal without indexing. The limit is
	// announced by a table size update in front of the next field; encode
	// one throwaway field so that the update stays out of the reused block.
	enc.SetMaxDynamicTableSizeLimit(0)
	if err := enc.WriteField(fields[0]); err != nil {
		return nil, fmt.Errorf("loadgen: encoding request headers: %w", err)
	}
	buf.Reset()
	for _, f := range fields {
		if err := enc.WriteField(f); err != nil {
			return nil, fmt.Errorf("loadgen: encoding request header %q: %w", f.Name, err)
		}
	}
	return bytes.Clone(buf.Bytes()), nil
}

// hpackStatus reads :status from the first field representation of a
// response header block without decoding the rest, for the common cases:
// an indexed static entry (RFC 7541 Appendix A, indexes 8-14) or a literal
// whose name is a static :status entry, Huffman-coded or not. It reports
// false when the first field is anything else (a dynamic-table reference,
// a literal name); the caller then reads the status from the full decoder.
//
// The full hpack.Decoder still processes every block, so that the dynamic
// table stays right; this only spares it from turning fields the load
// generator never looks at into strings, which would allocate per response.
func hpackStatus(p []byte, scratch *bytes.Buffer) (int, bool) {
	// Dynamic table size updates may precede the first field (RFC 7541 4.2).
	for len(p) > 0 && p[0]&0xe0 == 0x20 {
		var ok bool
		if _, p, ok = hpackInt(5, p); !ok {
			return 0, false
		}
	}
	if len(p) == 0 {
		return 0, false
	}
	var prefix byte
	switch b := p[0]; {
	case b&0x80 != 0: // indexed field (6.1)
		i, _, ok := hpackInt(7, p)
		if !ok || i < 8 || i > 14 {
			return 0, false
		}
		return staticStatus(i), true
	case b&0xc0 == 0x40: // literal with incremental indexing (6.2.1)
		prefix = 6
	case b&0xe0 == 0: // literal without indexing or never indexed (6.2.2, 6.2.3)
		prefix = 4
	default:
		return 0, false
	}
	name, p, ok := hpackInt(prefix, p)
	if !ok || name < 8 || name > 14 || len(p) == 0 {
		return 0, false
	}
	huff := p[0]&0x80 != 0
	n, p, ok := hpackInt(7, p)
	if !ok || n > uint64(len(p)) || n > 8 {
		return 0, false
	}
	v := p[:n]
	if huff {
		scratch.Reset()
		if _, err := hpack.HuffmanDecode(scratch, v); err != nil {
			return 0, false
		}
		v = scratch.Bytes()
	}
	return parseStatus(v), true
}

// staticStatus returns the :status value of static table entries 8-14
// (RFC 7541 Appendix A).
func staticStatus(i uint64) int {
	switch i {
	case 8:
		return 200
	case 9:
		return 204
	case 10:
		return 206
	case 11:
		return 304
	case 12:
		return 400
	case 13:
		return 404
	default:
		return 500
	}
}

// hpackInt decodes an integer with an n-bit prefix (RFC 7541 5.1).
func hpackInt(n byte, p []byte) (uint64, []byte, bool) {
	if len(p) == 0 {
		return 0, p, false
	}
	limit := uint64(1)<<n - 1
	v := uint64(p[0]) & limit
	p = p[1:]
	if v < limit {
		return v, p, true
	}
	for shift := uint(0); len(p) > 0 && shift < 32; shift += 7 {
		b := p[0]
		p = p[1:]
		v += uint64(b&0x7f) << shift
		if b&0x80 == 0 {
			return v, p, true
		}
	}
	return 0, p, false
}

// parseStatus parses a three-digit status code (RFC 9110 15), or returns -1.
func parseStatus(v []byte) int {
	if len(v) != 3 {
		return -1
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
