package loadgen

import (
	"bytes"
	"io"
	"testing"

	"github.com/quic-go/qpack"
)

// oneByteReader returns its input a byte at a time, so that every frame
// and integer is split across reads.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

// h3ResponseSeeds are request-stream byte sequences: valid responses and
// broken ones.
func h3ResponseSeeds() [][]byte {
	fields := func(fs ...qpack.HeaderField) []byte {
		var b h3Buf
		enc := qpack.NewEncoder(&b)
		for _, f := range fs {
			enc.WriteField(f)
		}
		return b
	}
	frame := func(typ uint64, p []byte) []byte { return append(appendH3Frame(nil, typ, len(p)), p...) }
	ok := fields(qpack.HeaderField{Name: ":status", Value: "200"}, qpack.HeaderField{Name: "content-type", Value: "text/plain"})
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return [][]byte{
		cat(frame(h3FrameHeaders, ok), frame(h3FrameData, []byte("Hello, World!"))),
		cat(frame(h3FrameHeaders, fields(qpack.HeaderField{Name: ":status", Value: "103"})), frame(h3FrameHeaders, ok)),
		cat(frame(h3FrameHeaders, ok), frame(0x21, []byte("reserved")), frame(h3FrameData, nil), frame(h3FrameHeaders, fields(qpack.HeaderField{Name: "x-trailer", Value: "1"}))),
		cat(frame(h3FrameData, []byte("early"))),
		cat(frame(h3FrameHeaders, fields(qpack.HeaderField{Name: ":status", Value: "2000"}))),
		cat(frame(h3FrameHeaders, ok), frame(h3FrameSettings, nil)),
		cat(frame(h3FrameHeaders, ok)[:3]),
		{0x01, 0x03, 0x80, 0x00, 0xd9}, // dynamic reference
	}
}

// FuzzH3Response feeds arbitrary bytes as a request stream's response to
// the client's parser, whole and a byte at a time. It must not panic, must
// read the same either way, and may only report a success status that the
// input carried in a HEADERS frame.
func FuzzH3Response(f *testing.F) {
	for _, s := range h3ResponseSeeds() {
		f.Add(s)
	}
	buf := make([]byte, h3ReadBuf)
	var huff bytes.Buffer
	f.Fuzz(func(t *testing.T, in []byte) {
		r := h3Reader{r: bytes.NewReader(in), buf: buf}
		s1, b1, err1 := r.readResponse(&huff)
		r = h3Reader{r: oneByteReader{bytes.NewReader(in)}, buf: buf}
		s2, b2, err2 := r.readResponse(&huff)
		if s1 != s2 || (err1 == nil) != (err2 == nil) || (err1 == nil && b1 != b2) {
			t.Fatalf("whole: %d %d %v; byte by byte: %d %d %v", s1, b1, err1, s2, b2, err2)
		}
		if err1 != nil {
			if s1 != 0 {
				t.Fatalf("status %d with error %v", s1, err1)
			}
			return
		}
		if s1 < 200 || s1 > 599 {
			t.Fatalf("final status %d", s1)
		}
		if b1 > len(in) {
			t.Fatalf("body %d bytes from %d bytes of input", b1, len(in))
		}
	})
}

// FuzzQPACKStatus decodes arbitrary field sections with the client's
// decoder and with quic-go/qpack's: whenever qpack decodes a section whose
// first field is a well-formed :status, ours must find the same status.
func FuzzQPACKStatus(f *testing.F) {
	for _, s := range [][]byte{
		{0, 0, 0xd9},                         // :status 200, indexed
		{0, 0, 0x5f, 0x09, 3, '2', '0', '1'}, // :status by name reference
		{0, 0, 0x27, 0x00, ':', 's', 't', 'a', 't', 'u', 's', 3, '4', '1', '8'},
		{0, 0, 0xd9, 0xd9},
		{0x01, 0, 0x80},
		{0, 0, 0x5f, 0x09, 0x82, 0x10, 0x01},
	} {
		f.Add(s)
	}
	var huff bytes.Buffer
	f.Fuzz(func(t *testing.T, in []byte) {
		ours, err := qpStatus(in, &huff)
		if err != nil {
			return
		}
		dec := qpack.NewDecoder().Decode(in)
		first, err := dec()
		if err != nil || first.Name != ":status" {
			return
		}
		for {
			hf, err := dec()
			if err == io.EOF {
				break
			}
			if err != nil || hf.Name == ":status" {
				return
			}
		}
		want := parseStatus([]byte(first.Value))
		if ours != want {
			t.Fatalf("qpack decodes :status %q, ours %d", first.Value, ours)
		}
	})
}
