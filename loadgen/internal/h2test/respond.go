package h2test

import (
	"strconv"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// dispatch answers a complete request; mu is held.
func (c *conn) dispatch(st *stream) {
	r := c.s.respond(st.req)
	switch {
	case r.Never:
	case r.Reset != 0:
		c.fr.WriteRSTStream(st.id, r.Reset)
		c.s.resets.Add(1)
		c.closeStream(st)
	case r.Delay > 0:
		c.wg.Add(1)
		var t *time.Timer
		t = time.AfterFunc(r.Delay, func() {
			defer c.wg.Done()
			c.mu.Lock()
			defer c.mu.Unlock()
			delete(c.timers, t)
			c.write(st, r)
			c.bw.Flush()
		})
		c.timers[t] = struct{}{}
	case c.fits(st, r):
		c.write(st, r)
	default:
		// It must wait for credit, which the reader goroutine processes.
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.mu.Lock()
			defer c.mu.Unlock()
			c.write(st, r)
			c.bw.Flush()
		}()
	}
}

// fits reports whether r's body can be sent at once.
func (c *conn) fits(st *stream, r Response) bool {
	n := int64(r.Body) + int64(max(r.Frames, 1))*(int64(r.Pad)+1)
	return n <= c.sendWindow && n <= st.sendWindow
}

// write sends a response, waiting for flow-control credit as needed; mu is
// held (and released while waiting).
func (c *conn) write(st *stream, r Response) {
	if st.closed || c.dead {
		return
	}
	for _, code := range r.Interim {
		c.writeBlock(st.id, c.block(code, r.Encoding, -1), false, r.SplitHeaders)
	}
	tail := r.EmptyEnd || r.Trailers
	c.writeBlock(st.id, c.block(r.Status, r.Encoding, r.Body), r.Body == 0 && !tail, r.SplitHeaders)
	frames := max(r.Frames, 1)
	chunk := (r.Body + frames - 1) / frames
	var pad []byte
	if r.Pad > 0 {
		pad = make([]byte, r.Pad)
	}
	for left := r.Body; left > 0; {
		over := int64(len(pad))
		if pad != nil {
			over++ // the pad length field
		}
		n := int64(min(chunk, left))
		n = min(n, c.peerMaxFrame-over, c.sendWindow-over, st.sendWindow-over)
		if n <= 0 {
			c.cond.Wait()
			if st.closed || c.dead {
				return
			}
			continue
		}
		left -= int(n)
		end := left == 0 && !tail
		if int64(len(c.zeros)) < n {
			c.zeros = make([]byte, n)
		}
		if pad != nil {
			c.fr.WriteDataPadded(st.id, end, c.zeros[:n], pad)
		} else {
			c.fr.WriteData(st.id, end, c.zeros[:n])
		}
		c.sendWindow -= n + over
		st.sendWindow -= n + over
		c.s.bodyBytes.Add(n)
	}
	switch {
	case r.Trailers:
		c.writeBlock(st.id, c.block(0, 0, -1), true, r.SplitHeaders)
	case r.EmptyEnd:
		c.fr.WriteData(st.id, true, nil)
	}
	c.s.responses.Add(1)
	c.closeStream(st)
}

// block encodes a header block: a response head when status is positive
// (content-length too when body is not negative), trailers otherwise.
func (c *conn) block(status int, enc StatusEncoding, body int) []byte {
	c.hbuf.Reset()
	if status == 0 {
		c.enc.WriteField(hpack.HeaderField{Name: "x-trailer", Value: "done"})
		return c.hbuf.Bytes()
	}
	v := strconv.Itoa(status)
	switch enc {
	case StatusPlain: // literal without indexing, name index 8 (RFC 7541 6.2.2)
		c.hbuf.Write([]byte{0x08, byte(len(v))})
		c.hbuf.WriteString(v)
	case StatusHuffman:
		h := hpack.AppendHuffmanString(nil, v)
		c.hbuf.Write([]byte{0x08, 0x80 | byte(len(h))})
		c.hbuf.Write(h)
	case StatusLiteralName:
		c.hbuf.Write([]byte{0x00, byte(len(":status"))})
		c.hbuf.WriteString(":status")
		c.hbuf.WriteByte(byte(len(v)))
		c.hbuf.WriteString(v)
	default:
		c.enc.WriteField(hpack.HeaderField{Name: ":status", Value: v})
	}
	if status >= 200 {
		c.enc.WriteField(hpack.HeaderField{Name: "server", Value: "h2test"})
		c.enc.WriteField(hpack.HeaderField{Name: "content-type", Value: "text/plain"})
	}
	if body >= 0 {
		c.enc.WriteField(hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(body)})
	}
	return c.hbuf.Bytes()
}

// writeBlock sends a header block in one HEADERS frame, or split over
// CONTINUATION frames of three bytes each (RFC 9113 6.10).
func (c *conn) writeBlock(id uint32, b []byte, end, split bool) {
	if !split || len(b) <= 3 {
		c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b, EndStream: end, EndHeaders: true})
		return
	}
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b[:3], EndStream: end})
	for b = b[3:]; len(b) > 0; {
		n := min(3, len(b))
		c.fr.WriteContinuation(id, n == len(b), b[:n])
		b = b[n:]
	}
}
