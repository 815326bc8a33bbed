package loadgen

import (
	"bytes"
	"errors"

	"golang.org/x/net/http2/hpack"
)

// h2HeaderTableSize is our SETTINGS_HEADER_TABLE_SIZE: the default, not
// announced (RFC 9113 6.5.2).
const h2HeaderTableSize = 4096

// hpEntry describes one header table entry by what the client needs: the
// decoded lengths of its name and value (for the table's size accounting,
// RFC 7541 4.1) and, when its name is :status, the status code.
type hpEntry struct {
	nameLen, valueLen uint32
	isStatus          bool
	status            int // -1 when malformed
}

// hpStatic is the static table (RFC 7541 Appendix A), indexes 1 to 61.
type hpStatic [62]hpEntry

// newHPStatic reads the static table out of x/net's hpack decoder, one
// indexed field at a time, rather than copying it by hand.
func newHPStatic() *hpStatic {
	var t hpStatic
	var f hpack.HeaderField
	dec := hpack.NewDecoder(0, func(hf hpack.HeaderField) { f = hf })
	for i := 1; i < len(t); i++ {
		if _, err := dec.Write([]byte{0x80 | byte(i)}); err != nil {
			panic("loadgen: hpack static table: " + err.Error())
		}
		t[i] = hpEntry{nameLen: uint32(len(f.Name)), valueLen: uint32(len(f.Value)), isStatus: f.Name == ":status"}
		if t[i].isStatus {
			t[i].status = parseStatus([]byte(f.Value))
		}
	}
	return &t
}

// statusDecoder is an HPACK decoder (RFC 7541) for responses that returns
// each header block's :status and keeps the dynamic table exactly, without
// allocating: a table entry is kept as its size, plus its status when it
// is named :status. Strings are Huffman-decoded only when their decoded
// length or content matters: names and values entering the table, and
// :status values. x/net's hpack.Decoder makes a string of every field it
// adds to the table, and nginx adds most of its response fields to the
// table on every response, which cost five allocations per request.
type statusDecoder struct {
	static  *hpStatic
	ring    []hpEntry // the dynamic table, oldest at head
	head, n int
	size    uint32 // sum of entry sizes (RFC 7541 4.1)
	maxSize uint32 // as set by the last size update
	scratch bytes.Buffer
}

func newStatusDecoder(static *hpStatic) *statusDecoder {
	return &statusDecoder{
		static:  static,
		ring:    make([]hpEntry, h2HeaderTableSize/32), // entries are at least 32 bytes
		maxSize: h2HeaderTableSize,
	}
}

// reset empties the table for a new connection.
func (d *statusDecoder) reset() {
	d.head, d.n, d.size, d.maxSize = 0, 0, 0, h2HeaderTableSize
}

var (
	errHPACKTruncated = errors.New("hpack: truncated header block")
	errHPACKIndex     = errors.New("hpack: invalid table index")
	errHPACKSize      = errors.New("hpack: invalid dynamic table size update")
	errHPACKHuffman   = errors.New("hpack: invalid Huffman-coded string")
	errHPACKEncoding  = errors.New("hpack: invalid field representation")
)

// decode processes a complete header block and returns its :status: 0 if
// it has none, -1 if it is malformed. An error leaves the table unusable;
// the connection must end (RFC 9113 4.3).
func (d *statusDecoder) decode(p []byte) (int, error) {
	status := 0
	for first := true; len(p) > 0; first = false {
		b := p[0]
		var idx uint64
		var ok bool
		if b&0x80 != 0 { // indexed field (6.1)
			if idx, p, ok = hpackInt(7, p); !ok {
				return 0, errHPACKTruncated
			}
			e, ok := d.at(idx)
			if !ok {
				return 0, errHPACKIndex
			}
			if e.isStatus && status == 0 {
				status = e.status
			}
			continue
		}
		if b&0xe0 == 0x20 { // dynamic table size update (6.3)
			if !first && d.size > 0 {
				return 0, errHPACKSize // not at the start (4.2), as x/net's decoder judges it
			}
			if idx, p, ok = hpackInt(5, p); !ok {
				return 0, errHPACKTruncated
			}
			if idx > h2HeaderTableSize {
				return 0, errHPACKSize
			}
			d.maxSize = uint32(idx)
			d.evict(0)
			continue
		}
		// A literal field (6.2): with incremental indexing, without
		// indexing, or never indexed.
		indexed, prefix := b&0xc0 == 0x40, byte(4)
		if indexed {
			prefix = 6
		} else if b&0xe0 != 0 {
			return 0, errHPACKEncoding
		}
		if idx, p, ok = hpackInt(prefix, p); !ok {
			return 0, errHPACKTruncated
		}
		var e hpEntry
		if idx > 0 {
			ne, ok := d.at(idx)
			if !ok {
				return 0, errHPACKIndex
			}
			e.nameLen, e.isStatus = ne.nameLen, ne.isStatus
		} else {
			name, huff, rest, err := hpackString(p)
			if err != nil {
				return 0, err
			}
			p = rest
			if huff {
				if name, err = d.huffman(name); err != nil {
					return 0, err
				}
			}
			e.nameLen, e.isStatus = uint32(len(name)), string(name) == ":status"
		}
		value, huff, rest, err := hpackString(p)
		if err != nil {
			return 0, err
		}
		p = rest
		e.valueLen = uint32(len(value))
		if huff && (indexed || e.isStatus) {
			if value, err = d.huffman(value); err != nil {
				return 0, err
			}
			e.valueLen = uint32(len(value))
		}
		if e.isStatus {
			e.status = parseStatus(value)
			if status == 0 {
				status = e.status
			}
		}
		if indexed {
			d.add(e)
		}
	}
	return status, nil
}

// at returns the entry at index i of the static and dynamic tables (2.3.3).
func (d *statusDecoder) at(i uint64) (hpEntry, bool) {
	if i == 0 {
		return hpEntry{}, false
	}
	if i < uint64(len(d.static)) {
		return d.static[i], true
	}
	i -= uint64(len(d.static))
	if i >= uint64(d.n) {
		return hpEntry{}, false
	}
	// Index 62 is the newest entry.
	return d.ring[(d.head+d.n-1-int(i))%len(d.ring)], true
}

// add inserts e as the newest entry, evicting the oldest as needed; an
// entry larger than the table empties it (4.4).
func (d *statusDecoder) add(e hpEntry) {
	size := e.nameLen + e.valueLen + 32
	if size > d.maxSize {
		d.head, d.n, d.size = 0, 0, 0
		return
	}
	d.evict(size)
	d.ring[(d.head+d.n)%len(d.ring)] = e
	d.n++
	d.size += size
}

// evict drops the oldest entries until room bytes fit.
func (d *statusDecoder) evict(room uint32) {
	for d.n > 0 && d.size+room > d.maxSize {
		e := &d.ring[d.head]
		d.size -= e.nameLen + e.valueLen + 32
		d.head = (d.head + 1) % len(d.ring)
		d.n--
	}
}

// huffman decodes s into the decoder's scratch buffer (5.2).
func (d *statusDecoder) huffman(s []byte) ([]byte, error) {
	d.scratch.Reset()
	if _, err := hpack.HuffmanDecode(&d.scratch, s); err != nil {
		return nil, errHPACKHuffman
	}
	return d.scratch.Bytes(), nil
}

// hpackString reads a string literal (5.2), not yet Huffman-decoded.
func hpackString(p []byte) (s []byte, huff bool, rest []byte, err error) {
	if len(p) == 0 {
		return nil, false, p, errHPACKTruncated
	}
	huff = p[0]&0x80 != 0
	n, p, ok := hpackInt(7, p)
	if !ok || n > uint64(len(p)) {
		return nil, false, p, errHPACKTruncated
	}
	return p[:n], huff, p[n:], nil
}
