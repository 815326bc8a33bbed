package loadgen

import "golang.org/x/net/http2"

// limit is the number of streams the connection may have in flight: the
// scenario's, capped by the server's SETTINGS_MAX_CONCURRENT_STREAMS as last
// received (RFC 9113 5.1.2; with no limit announced, the scenario's).
func (c *h2Conn) limit() int {
	return int(min(uint32(c.d.streams), c.peerMaxStreams))
}

// fill issues requests into every free stream slot: requests to retry
// first, then new ones, each at its paced time when the run is rated.
func (c *h2Conn) fill(now int64) {
	if now >= c.st.measureEnd.Load() {
		return // the window is over: a response now would not count
	}
	for limit := c.limit(); c.pool.n < limit; {
		if c.nextID > h2MaxStreamID {
			// Stream ids are exhausted (RFC 9113 5.1.1): drain and
			// open a new connection.
			c.goingAway = true
			return
		}
		start, retried := int64(unstamped), false
		switch {
		case len(c.retry) > 0:
			start, retried = c.retry[0], true
			c.retry = c.retry[:copy(c.retry, c.retry[1:])]
		case c.st.pacer != nil:
			if c.due < 0 {
				c.due = c.st.pacer.due()
			}
			if c.due > now {
				return // armRead wakes the loop then
			}
			start, c.due = c.due, -1
		}
		c.issue(start, retried, now)
	}
}

// issue opens a stream for one request and writes it to the send buffer.
func (c *h2Conn) issue(start int64, retried bool, now int64) {
	id := c.nextID
	c.nextID += 2
	i := c.pool.add(id)
	s := &c.pool.s[i]
	s.start = start
	s.retried = retried
	s.sendWindow = c.peerInitWindow
	s.sentAt = now
	body := c.st.cfg.Body
	if len(body) > 0 && s.start == unstamped {
		// A body may fill the send buffer, which then flushes at once:
		// the request starts now, not at the next batched flush.
		s.start = now
	}
	c.writeHeaders(id, len(body) == 0)
	c.unstamped = append(c.unstamped, i)
	c.checkAt = min(c.checkAt, now+c.d.timeout)
	if len(body) > 0 && !c.sendBody(s) {
		c.uploads = append(c.uploads, id)
	}
}

// writeHeaders writes the request header block, split into HEADERS and
// CONTINUATION frames when it exceeds the server's SETTINGS_MAX_FRAME_SIZE
// (RFC 9113 4.3, 6.10).
func (c *h2Conn) writeHeaders(id uint32, endStream bool) {
	b := c.d.block
	n := int(c.peerMaxFrame)
	if len(b) <= n {
		c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b, EndStream: endStream, EndHeaders: true})
		return
	}
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b[:n], EndStream: endStream})
	for b = b[n:]; len(b) > 0; b = b[min(n, len(b)):] {
		c.fr.WriteContinuation(id, len(b) <= n, b[:min(n, len(b))])
	}
}

// sendBody writes as much of the request body as the server allows: DATA
// frames no larger than its SETTINGS_MAX_FRAME_SIZE (RFC 9113 4.2), never
// past the connection or the stream send window (6.9.1). It reports
// whether the whole body has been written.
func (c *h2Conn) sendBody(s *h2Stream) bool {
	body := c.st.cfg.Body
	for s.sent < len(body) {
		n := min(int64(len(body)-s.sent), int64(c.peerMaxFrame), c.sendWindow, s.sendWindow)
		if n <= 0 {
			return false
		}
		end := s.sent + int(n)
		c.fr.WriteData(s.id, end == len(body), body[s.sent:end])
		c.sendWindow -= n
		s.sendWindow -= n
		s.sent = end
	}
	return true
}

// resumeUploads continues the bodies that wait for send window, in the
// order they started, after the window grew.
func (c *h2Conn) resumeUploads() {
	j := 0
	for _, id := range c.uploads {
		i, ok := c.pool.get(id)
		if !ok {
			continue
		}
		if !c.sendBody(&c.pool.s[i]) {
			c.uploads[j] = id
			j++
		}
	}
	c.uploads = c.uploads[:j]
}

// complete records the response of stream i and frees it.
func (c *h2Conn) complete(i int32) {
	s := &c.pool.s[i]
	c.rec.response(s.start, c.tr.at, s.status, s.bytes)
	if s.sent < len(c.st.cfg.Body) {
		// The server answered before reading the whole body (RFC 9113
		// 8.1): stop sending it.
		c.fr.WriteRSTStream(s.id, http2.ErrCodeCancel)
	}
	c.removeStream(i)
	c.completed++
}

// streamError fails stream i as a protocol error and resets it (RFC 9113
// 5.4.2).
func (c *h2Conn) streamError(i int32, code http2.ErrCode) {
	c.fr.WriteRSTStream(c.pool.s[i].id, code)
	c.rec.failure(c.tr.at, errProtocol)
	c.removeStream(i)
}

// requeue takes stream i off the connection because the server provably
// did not process it (RFC 9113 6.8, 8.7), to be sent again on this or the
// next connection, keeping its start so that the delay shows as latency. A
// request is retried once: refused again, it is a protocol error, so that a
// server refusing everything shows errors rather than a silent zero.
func (c *h2Conn) requeue(i int32) {
	s := &c.pool.s[i]
	if s.retried {
		c.rec.failure(c.tr.at, errProtocol)
	} else {
		c.retry = append(c.retry, s.start)
		c.rec.retried.Add(1)
	}
	c.removeStream(i)
}

// removeStream frees stream i.
func (c *h2Conn) removeStream(i int32) {
	s := &c.pool.s[i]
	if s.sent < len(c.st.cfg.Body) {
		for j, id := range c.uploads {
			if id == s.id {
				c.uploads = append(c.uploads[:j], c.uploads[j+1:]...)
				break
			}
		}
	}
	c.pool.remove(i)
}
