package loadgen

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// checkReusable proves that a header block can be sent on any stream of any
// connection: every field representation is an indexed static entry or a
// literal without indexing (or never indexed) with a static or literal
// name, and there is no dynamic table size update (RFC 7541 6).
func checkReusable(t *testing.T, b []byte) {
	t.Helper()
	for p := b; len(p) > 0; {
		first := p[0]
		var idx uint64
		var ok bool
		switch {
		case first&0x80 != 0:
			if idx, p, ok = hpackInt(7, p); !ok || idx == 0 || idx > 61 {
				t.Fatalf("indexed field %d is not a static entry", idx)
			}
			continue
		case first&0xe0 == 0: // without indexing or never indexed
			if idx, p, ok = hpackInt(4, p); !ok || idx > 61 {
				t.Fatalf("literal with name index %d", idx)
			}
		default:
			t.Fatalf("representation 0x%02x touches the dynamic table", first)
		}
		strs := 1
		if idx == 0 {
			strs = 2
		}
		for ; strs > 0; strs-- {
			var n uint64
			if n, p, ok = hpackInt(7, p); !ok || n > uint64(len(p)) {
				t.Fatalf("bad string length")
			}
			p = p[n:]
		}
	}
}

func TestH2RequestBlock(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []hpack.HeaderField
	}{
		{"GET", Config{URL: "http://127.0.0.1:8080/a?b=c"}, []hpack.HeaderField{
			{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
			{Name: ":authority", Value: "127.0.0.1:8080"}, {Name: ":path", Value: "/a?b=c"},
			{Name: "user-agent", Value: "matrix-loadgen/" + Version},
		}},
		{"POST over TLS with headers", Config{
			URL: "https://example.test/upload", Method: "POST", Body: make([]byte, 200000),
			Headers: []Header{
				{"Host", "other.test"}, {"X-Mixed-Case", "v"}, {"Connection", "keep-alive"},
				{"Transfer-Encoding", "chunked"}, {"TE", "trailers"}, {"User-Agent", "ua"},
				{"Content-Length", "1"},
			},
		}, []hpack.HeaderField{
			{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "https"},
			{Name: ":authority", Value: "other.test"}, {Name: ":path", Value: "/upload"},
			{Name: "x-mixed-case", Value: "v"}, {Name: "te", Value: "trailers"},
			{Name: "user-agent", Value: "ua"}, {Name: "content-length", Value: "200000"},
		}},
		{"empty PUT", Config{URL: "http://h/", Method: "PUT"}, []hpack.HeaderField{
			{Name: ":method", Value: "PUT"}, {Name: ":scheme", Value: "http"},
			{Name: ":authority", Value: "h"}, {Name: ":path", Value: "/"},
			{Name: "content-length", Value: "0"},
			{Name: "user-agent", Value: "matrix-loadgen/" + Version},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, err := newTarget(&tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			b, err := h2RequestBlock(&tc.cfg, tg)
			if err != nil {
				t.Fatal(err)
			}
			checkReusable(t, b)
			// Decoding the same bytes twice with one decoder gives the
			// same fields: the block leaves the table as it found it.
			dec := hpack.NewDecoder(4096, nil)
			for i := 0; i < 2; i++ {
				got, err := dec.DecodeFull(b)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("decoded %v\nwant    %v", got, tc.want)
				}
			}
		})
	}
}

func TestHpackInt(t *testing.T) {
	for _, tc := range []struct {
		prefix byte
		in     []byte
		want   uint64
		ok     bool
	}{
		{5, []byte{0x0a}, 10, true},               // RFC 7541 C.1.1
		{5, []byte{0x1f, 0x9a, 0x0a}, 1337, true}, // C.1.2
		{8, []byte{0x2a}, 42, true},               // C.1.3
		{7, []byte{0xff, 0x80}, 0, false},         // truncated
		{7, nil, 0, false},
		{7, []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 0, false}, // too long
	} {
		got, rest, ok := hpackInt(tc.prefix, tc.in)
		if ok != tc.ok || (ok && (got != tc.want || len(rest) != 0)) {
			t.Errorf("hpackInt(%d, % x) = %d, % x, %v; want %d, %v", tc.prefix, tc.in, got, rest, ok, tc.want, tc.ok)
		}
	}
}

// statusBlock encodes :status as a given representation, followed by a
// field that goes into the dynamic table.
func statusBlock(t *testing.T, enc *hpack.Encoder, buf *bytes.Buffer, status int, kind string) []byte {
	t.Helper()
	buf.Reset()
	v := strconv.Itoa(status)
	switch kind {
	case "encoder": // static index, or Huffman literal with incremental indexing then dynamic index
		enc.WriteField(hpack.HeaderField{Name: ":status", Value: v})
	case "plain":
		buf.Write([]byte{0x08, byte(len(v))})
		buf.WriteString(v)
	case "huffman never indexed":
		h := hpack.AppendHuffmanString(nil, v)
		buf.Write([]byte{0x18, 0x80 | byte(len(h))})
		buf.Write(h)
	case "literal name":
		buf.Write([]byte{0x00, 7})
		buf.WriteString(":status")
		buf.Write([]byte{byte(len(v))})
		buf.WriteString(v)
	case "size update first":
		buf.Write([]byte{0x3f, 0xe1, 0x1f}) // table size 4096 (RFC 7541 6.3)
		enc.WriteField(hpack.HeaderField{Name: ":status", Value: v})
	}
	enc.WriteField(hpack.HeaderField{Name: "date", Value: "Mon, 01 Jan 2024 00:00:0" + strconv.Itoa(status%10) + " GMT"})
	return bytes.Clone(buf.Bytes())
}

// statusDecoder agrees with x/net's hpack.Decoder on every block of a
// connection, through every representation of :status.
func TestStatusDecoder(t *testing.T) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	ref := hpack.NewDecoder(4096, nil)
	d := newStatusDecoder(newHPStatic())
	for round := 0; round < 3; round++ {
		for _, kind := range []string{"encoder", "plain", "huffman never indexed", "literal name", "size update first"} {
			for _, status := range []int{100, 103, 200, 204, 206, 304, 400, 404, 500, 502, 599} {
				b := statusBlock(t, enc, &buf, status, kind)
				fields, err := ref.DecodeFull(b)
				if err != nil {
					t.Fatalf("%s %d: reference decoder: %v", kind, status, err)
				}
				if fields[0].Name != ":status" || fields[0].Value != strconv.Itoa(status) {
					t.Fatalf("%s %d: reference decoded %v", kind, status, fields)
				}
				got, err := d.decode(b)
				if err != nil || got != status {
					t.Fatalf("%s %d: decode = %d, %v", kind, status, got, err)
				}
			}
		}
	}
	// Trailers have no status; a malformed one is -1.
	buf.Reset()
	enc.WriteField(hpack.HeaderField{Name: "grpc-status", Value: "0"})
	if got, err := d.decode(buf.Bytes()); got != 0 || err != nil {
		t.Errorf("trailers: status %d, %v; want 0", got, err)
	}
	buf.Reset()
	enc.WriteField(hpack.HeaderField{Name: ":status", Value: "2000"})
	if got, err := d.decode(buf.Bytes()); got != -1 || err != nil {
		t.Errorf("malformed: status %d, %v; want -1", got, err)
	}
}

// Random header lists through an encoder whose table size changes: the
// decoder keeps the same table as x/net's, so every dynamic reference,
// :status included, resolves the same.
func TestStatusDecoderDifferential(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 9))
	names := []string{"server", "date", "content-type", "content-length", "etag", "x-a", "x-long-header-name", "set-cookie"}
	statuses := []string{"200", "204", "301", "404", "418", "502", "503"}
	for conn := 0; conn < 8; conn++ {
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		var want int
		ref := hpack.NewDecoder(4096, func(f hpack.HeaderField) {
			if f.Name == ":status" && want == 0 {
				want, _ = strconv.Atoi(f.Value)
			}
		})
		d := newStatusDecoder(newHPStatic())
		for block := 0; block < 500; block++ {
			buf.Reset()
			if rnd.IntN(50) == 0 {
				enc.SetMaxDynamicTableSize(uint32(rnd.IntN(4097)))
			}
			enc.WriteField(hpack.HeaderField{Name: ":status", Value: statuses[rnd.IntN(len(statuses))], Sensitive: rnd.IntN(5) == 0})
			for n := rnd.IntN(8); n > 0; n-- {
				v := strings.Repeat(string(rune('a'+rnd.IntN(26))), rnd.IntN(300))
				enc.WriteField(hpack.HeaderField{Name: names[rnd.IntN(len(names))], Value: v, Sensitive: rnd.IntN(5) == 0})
			}
			want = 0
			if _, err := ref.Write(buf.Bytes()); err != nil {
				t.Fatal(err)
			}
			if err := ref.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := d.decode(buf.Bytes())
			if err != nil || got != want {
				t.Fatalf("conn %d block %d: status %d, %v; reference %d", conn, block, got, err, want)
			}
		}
	}
}

// Malformed blocks are errors, never a status.
func TestStatusDecoderErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		block []byte
	}{
		{"truncated index", []byte{0xff}},
		{"index 0", []byte{0x80}},
		{"index beyond the tables", []byte{0xbe}},
		{"truncated string", []byte{0x08, 0x03, '2', '0'}},
		{"bad name index", []byte{0x0f, 0x30, 0x01, 'x'}},
		{"size update too large", []byte{0x3f, 0xe2, 0x1f}},
		{"bad Huffman", []byte{0x08, 0x81, 0x00}},
	} {
		d := newStatusDecoder(newHPStatic())
		if st, err := d.decode(tc.block); err == nil {
			t.Errorf("%s: status %d and no error", tc.name, st)
		}
	}
}
