package h2test

import (
	"bytes"
	"strconv"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// head is what the server needs of a request header block.
type head struct {
	method, scheme, authority, path string
	contentLength                   int // -1 when absent
}

// headers assembles request header blocks from HEADERS and CONTINUATION
// frames (RFC 9113 6.10) and decodes them. A block that neither adds to
// nor refers to the dynamic table decodes the same every time, so when a
// client sends the same such block again (as the load generator does on
// every stream) the last decoding is reused: decoding every request would
// make the server, not the client, the bottleneck of the tests.
type headers struct {
	dec     *hpack.Decoder
	cur     head
	block   []byte
	id      uint32
	end     bool
	last    []byte // the last table-neutral block
	lastVal head
}

func newHeaders() *headers {
	h := &headers{}
	h.dec = hpack.NewDecoder(4096, h.field)
	return h
}

func (h *headers) field(f hpack.HeaderField) {
	switch f.Name {
	case ":method":
		h.cur.method = f.Value
	case ":scheme":
		h.cur.scheme = f.Value
	case ":authority":
		h.cur.authority = f.Value
	case ":path":
		h.cur.path = f.Value
	case "content-length":
		h.cur.contentLength, _ = strconv.Atoi(f.Value)
	}
}

// frame takes a HEADERS or CONTINUATION frame; it reports whether the
// block is complete.
func (h *headers) frame(f http2.Frame) bool {
	switch f := f.(type) {
	case *http2.HeadersFrame:
		h.block = append(h.block[:0], f.HeaderBlockFragment()...)
		h.id, h.end = f.StreamID, f.StreamEnded()
		return f.HeadersEnded()
	case *http2.ContinuationFrame:
		h.block = append(h.block, f.HeaderBlockFragment()...)
		return f.HeadersEnded()
	}
	return false
}

// decode decodes the complete block.
func (h *headers) decode() (head, error) {
	if h.last != nil && bytes.Equal(h.block, h.last) {
		return h.lastVal, nil
	}
	h.cur = head{contentLength: -1}
	if _, err := h.dec.Write(h.block); err != nil {
		return head{}, err
	}
	if err := h.dec.Close(); err != nil {
		return head{}, err
	}
	if tableNeutral(h.block) {
		h.last, h.lastVal = append(h.last[:0], h.block...), h.cur
	} else {
		h.last = nil
	}
	return h.cur, nil
}

// tableNeutral reports whether every representation in b is a static
// indexed field or a literal without indexing with a static or literal name
// (RFC 7541 6.1, 6.2.2, 6.2.3).
func tableNeutral(b []byte) bool {
	for len(b) > 0 {
		first := b[0]
		var idx uint64
		var ok bool
		switch {
		case first&0x80 != 0:
			if idx, b, ok = varint(7, b); !ok || idx == 0 || idx > 61 {
				return false
			}
			continue
		case first&0xe0 == 0:
			if idx, b, ok = varint(4, b); !ok || idx > 61 {
				return false
			}
		default:
			return false
		}
		strs := 1
		if idx == 0 {
			strs = 2
		}
		for ; strs > 0; strs-- {
			var n uint64
			if n, b, ok = varint(7, b); !ok || n > uint64(len(b)) {
				return false
			}
			b = b[n:]
		}
	}
	return true
}

// varint decodes an HPACK integer with an n-bit prefix (RFC 7541 5.1).
func varint(n byte, p []byte) (uint64, []byte, bool) {
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
