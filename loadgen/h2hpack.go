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
