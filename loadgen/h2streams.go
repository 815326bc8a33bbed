package loadgen

// unstamped marks a stream whose request has been written to the send
// buffer but not yet flushed; its start is set when the buffer is flushed,
// so that batching writes does not inflate latency.
const unstamped = -1

// h2Stream is one request in flight on an HTTP/2 connection. Streams live
// in a fixed pool owned by the connection's goroutine and are reused, so
// issuing a request allocates nothing.
type h2Stream struct {
	id     uint32 // 0 when the pool entry is free
	status int    // final :status; 0 until the final header block arrives
	start  int64  // (intended) start on runState's clock, or unstamped
	sentAt int64  // when the request was flushed: its timeout runs from here
	bytes  int    // response body bytes received
	sent   int    // request body bytes sent
	// retried is set on a request sent again after the server did not
	// process it; it is not retried a second time.
	retried bool

	// sendWindow is what the peer lets us send on this stream
	// (RFC 9113 6.9); it may go negative after a SETTINGS change (6.9.2).
	sendWindow int64
	// recvUnacked counts body bytes received and not yet credited back
	// with a stream WINDOW_UPDATE.
	recvUnacked int64
}

// streamPool holds the streams of one connection, keyed by id. A slow stream
// keeps its entry however many faster streams complete around it
// (docs/hostile-servers.md row 11).
type streamPool struct {
	s     []h2Stream
	free  []int32
	table streamTable
	n     int // streams in use
}

func newStreamPool(size int) streamPool {
	p := streamPool{s: make([]h2Stream, size), free: make([]int32, 0, size)}
	for i := size - 1; i >= 0; i-- {
		p.free = append(p.free, int32(i))
	}
	p.table = newStreamTable(size)
	return p
}

// add takes a free entry for stream id and returns its index. The caller
// guarantees that an entry is free.
func (p *streamPool) add(id uint32) int32 {
	i := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	p.s[i] = h2Stream{id: id}
	p.table.put(id, i)
	p.n++
	return i
}

// get returns the index of stream id, if it is in flight.
func (p *streamPool) get(id uint32) (int32, bool) { return p.table.get(id) }

// remove frees the entry at index i.
func (p *streamPool) remove(i int32) {
	p.table.del(p.s[i].id)
	p.s[i].id = 0
	p.free = append(p.free, i)
	p.n--
}

// streamTable maps the ids of streams in flight to pool indexes. It is an
// open-addressing hash table with linear probing and backward-shift
// deletion, at least twice as large as the pool, so it never fills and
// never allocates after creation. Client stream ids are consecutive odd
// numbers (RFC 9113 5.1.1), so id>>1 spreads them over the slots without
// any hashing.
type streamTable struct {
	ids  []uint32 // 0: empty slot
	idx  []int32
	mask uint32
}

func newStreamTable(size int) streamTable {
	n := 4
	for n < 2*size {
		n <<= 1
	}
	return streamTable{ids: make([]uint32, n), idx: make([]int32, n), mask: uint32(n - 1)}
}

func (t *streamTable) home(id uint32) uint32 { return (id >> 1) & t.mask }

func (t *streamTable) get(id uint32) (int32, bool) {
	for i := t.home(id); ; i = (i + 1) & t.mask {
		switch t.ids[i] {
		case id:
			return t.idx[i], true
		case 0:
			return 0, false
		}
	}
}

func (t *streamTable) put(id uint32, v int32) {
	i := t.home(id)
	for t.ids[i] != 0 && t.ids[i] != id {
		i = (i + 1) & t.mask
	}
	t.ids[i], t.idx[i] = id, v
}

func (t *streamTable) del(id uint32) {
	i := t.home(id)
	for t.ids[i] != id {
		if t.ids[i] == 0 {
			return
		}
		i = (i + 1) & t.mask
	}
	// Backward-shift deletion: move later entries of the same probe run
	// into the hole unless their home lies cyclically in (hole, entry].
	for j := i; ; {
		t.ids[i] = 0
		for {
			j = (j + 1) & t.mask
			if t.ids[j] == 0 {
				return
			}
			k := t.home(t.ids[j])
			if (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j) {
				break
			}
		}
		t.ids[i], t.idx[i] = t.ids[j], t.idx[j]
		i = j
	}
}
