package loadgen

import (
	"encoding/binary"
	"errors"

	"golang.org/x/net/http2"
)

// frameHeaderLen is the size of an HTTP/2 frame header (RFC 9113 4.1).
const frameHeaderLen = 9

// step reads and handles one frame, or part of a DATA frame's payload.
//
// A frame is handled only once it is wholly in the read buffer (DATA
// payloads excepted, which are skipped as they come), so a read deadline
// may interrupt a read anywhere without losing the frame. The frequent
// frames are parsed in place; the Framer checks every frame header (size,
// CONTINUATION order) and parses the rare frames.
func (c *h2Conn) step() error {
	if c.dataLeft > 0 {
		return c.skipData()
	}
	if err := c.ensure(frameHeaderLen); err != nil {
		return err
	}
	h, _ := c.br.Peek(frameHeaderLen)
	length := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	if length <= h2MaxFrame { // a larger frame fails in ReadFrameHeader
		need := frameHeaderLen + length
		if http2.FrameType(h[3]) == http2.FrameData {
			need = frameHeaderLen + min(length, 1) // the pad length, if any
		}
		if err := c.ensure(need); err != nil {
			return err
		}
	}
	fh, err := c.fr.ReadFrameHeader()
	if err != nil {
		return c.frameError(err)
	}
	if !c.ready && fh.Type != http2.FrameSettings {
		return h2ConnError{http2.ErrCodeProtocol, "the server's first frame is not SETTINGS"} // RFC 9113 3.4
	}
	switch fh.Type {
	case http2.FrameData:
		return c.onData(fh)
	case http2.FrameHeaders:
		return c.onHeaders(fh)
	case http2.FrameContinuation:
		return c.onContinuation(fh)
	case http2.FrameRSTStream:
		return c.onRSTStream(fh)
	case http2.FrameWindowUpdate:
		return c.onWindowUpdate(fh)
	case http2.FrameSettings, http2.FramePing, http2.FrameGoAway:
		return c.onControl(fh)
	case http2.FramePushPromise:
		// We announced SETTINGS_ENABLE_PUSH 0 (RFC 9113 8.4).
		return h2ConnError{http2.ErrCodeProtocol, "PUSH_PROMISE with push disabled"}
	default:
		// PRIORITY and unknown frame types are ignored (RFC 9113 5.5).
		c.br.Discard(length)
		return nil
	}
}

// frameError turns a Framer error into a connection error.
func (c *h2Conn) frameError(err error) error {
	if errors.Is(err, http2.ErrFrameTooLarge) {
		return h2ConnError{http2.ErrCodeFrameSize, "frame larger than SETTINGS_MAX_FRAME_SIZE"} // RFC 9113 4.2
	}
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		reason := "malformed frame"
		if d := c.fr.ErrorDetail(); d != nil {
			reason = d.Error()
		}
		return h2ConnError{http2.ErrCode(ce), reason}
	}
	var se http2.StreamError
	if errors.As(err, &se) {
		return h2ConnError{se.Code, "malformed frame"}
	}
	return err
}

// onData counts a DATA frame (RFC 9113 6.1) and returns flow-control
// credit for it; its payload is skipped by skipData.
func (c *h2Conn) onData(fh http2.FrameHeader) error {
	id := fh.StreamID
	if id == 0 {
		return h2ConnError{http2.ErrCodeProtocol, "DATA on stream 0"}
	}
	left, body := int(fh.Length), int(fh.Length)
	if fh.Flags.Has(http2.FlagDataPadded) {
		if left == 0 {
			return h2ConnError{http2.ErrCodeProtocol, "padded DATA without pad length"}
		}
		p, _ := c.br.Peek(1)
		pad := int(p[0])
		if pad >= left {
			return h2ConnError{http2.ErrCodeProtocol, "DATA padding longer than the payload"}
		}
		c.br.Discard(1)
		left--
		body = left - pad
	}
	// The whole payload, padding included, counts against the windows
	// (RFC 9113 6.9.1), on closed streams too; credit goes back once half
	// the connection window is used.
	n := int64(fh.Length)
	if c.recvWindow -= n; c.recvWindow < 0 {
		return h2ConnError{http2.ErrCodeFlowControl, "DATA beyond the connection window"}
	}
	if c.recvUnacked += n; c.recvUnacked >= h2ConnWindow/2 {
		c.fr.WriteWindowUpdate(0, uint32(c.recvUnacked))
		c.recvWindow += c.recvUnacked
		c.recvUnacked = 0
	}
	end := fh.Flags.Has(http2.FlagDataEndStream)
	c.dataLeft, c.dataID, c.dataEnd = left, 0, end
	if i, ok := c.pool.get(id); ok {
		s := &c.pool.s[i]
		s.recvUnacked += n
		switch {
		case s.status == 0:
			c.streamError(i, http2.ErrCodeProtocol) // DATA before the final HEADERS (RFC 9113 8.1)
		case s.recvUnacked > h2StreamWindow:
			c.streamError(i, http2.ErrCodeFlowControl)
		default:
			s.bytes += body
			c.dataID = id
			if !end && s.recvUnacked >= h2StreamWindow/2 {
				c.fr.WriteWindowUpdate(id, uint32(s.recvUnacked))
				s.recvUnacked = 0
			}
		}
	} else if id&1 == 0 || id >= c.nextID {
		return h2ConnError{http2.ErrCodeProtocol, "DATA on a stream the client never opened"} // RFC 9113 5.1
	}
	if c.dataLeft == 0 {
		return c.dataDone()
	}
	if c.br.Buffered() > 0 {
		return c.skipData()
	}
	return nil
}

// skipData discards what is buffered of the current DATA frame's payload,
// reading more first if nothing is.
func (c *h2Conn) skipData() error {
	if err := c.ensure(1); err != nil {
		return err
	}
	n, _ := c.br.Discard(min(c.dataLeft, c.br.Buffered()))
	if c.dataLeft -= n; c.dataLeft == 0 {
		return c.dataDone()
	}
	return nil
}

// dataDone completes the stream of a DATA frame carrying END_STREAM, an
// empty one included (docs/hostile-servers.md row 10).
func (c *h2Conn) dataDone() error {
	if c.dataEnd && c.dataID != 0 {
		if i, ok := c.pool.get(c.dataID); ok {
			c.complete(i)
		}
	}
	return nil
}

// onHeaders reads a HEADERS frame (RFC 9113 6.2).
func (c *h2Conn) onHeaders(fh http2.FrameHeader) error {
	if fh.StreamID == 0 {
		return h2ConnError{http2.ErrCodeProtocol, "HEADERS on stream 0"}
	}
	n := int(fh.Length)
	p, _ := c.br.Peek(n)
	if fh.Flags.Has(http2.FlagHeadersPadded) {
		if len(p) == 0 || int(p[0]) > len(p)-1 {
			return h2ConnError{http2.ErrCodeProtocol, "HEADERS padding longer than the payload"}
		}
		p = p[1 : len(p)-int(p[0])]
	}
	if fh.Flags.Has(http2.FlagHeadersPriority) {
		if len(p) < 5 {
			return h2ConnError{http2.ErrCodeFrameSize, "HEADERS too short for its priority"}
		}
		p = p[5:]
	}
	end := fh.Flags.Has(http2.FlagHeadersEndStream)
	if fh.Flags.Has(http2.FlagHeadersEndHeaders) {
		// The usual case: decode in place, no copy.
		err := c.onHeaderBlock(fh.StreamID, p, end)
		c.br.Discard(n)
		return err
	}
	c.hblock = append(c.hblock[:0], p...)
	c.hID, c.hEnd = fh.StreamID, end
	c.br.Discard(n)
	return nil
}

// onContinuation appends a CONTINUATION frame to the header block being
// assembled (RFC 9113 6.10); the Framer has checked that it follows the
// HEADERS frame on the same stream.
func (c *h2Conn) onContinuation(fh http2.FrameHeader) error {
	n := int(fh.Length)
	if len(c.hblock)+n > h2MaxHeaderBlock {
		return h2ConnError{http2.ErrCodeEnhanceYourCalm, "response header block too large"}
	}
	p, _ := c.br.Peek(n)
	c.hblock = append(c.hblock, p...)
	c.br.Discard(n)
	if !fh.Flags.Has(http2.FlagContinuationEndHeaders) {
		return nil
	}
	return c.onHeaderBlock(c.hID, c.hblock, c.hEnd)
}

// onHeaderBlock handles a complete response header block: interim (1xx)
// responses are skipped, a final one sets the status, and a block after it
// is the trailers, which end the stream (RFC 9113 8.1).
func (c *h2Conn) onHeaderBlock(id uint32, block []byte, end bool) error {
	status, err := c.hdec.decode(block)
	if err != nil {
		// The decoder's state is lost (RFC 9113 4.3).
		return h2ConnError{http2.ErrCodeCompression, err.Error()}
	}
	i, ok := c.pool.get(id)
	if !ok {
		if id&1 == 0 || id >= c.nextID {
			return h2ConnError{http2.ErrCodeProtocol, "HEADERS on a stream the client never opened"}
		}
		return nil // a stream we reset or gave up on
	}
	s := &c.pool.s[i]
	switch {
	case s.status != 0: // trailers
		if !end || status != 0 {
			c.streamError(i, http2.ErrCodeProtocol)
			return nil
		}
		c.complete(i)
	case status < 100 || status > 599 || status == 101:
		// Missing, malformed, or a protocol switch, which HTTP/2
		// forbids (RFC 9113 8.6).
		c.streamError(i, http2.ErrCodeProtocol)
	case status < 200:
		if end {
			c.streamError(i, http2.ErrCodeProtocol)
		}
		// An interim response: the final one follows.
	default:
		s.status = status
		if end {
			c.complete(i)
		}
	}
	return nil
}

// onRSTStream handles a stream reset by the server (RFC 9113 6.4).
func (c *h2Conn) onRSTStream(fh http2.FrameHeader) error {
	if fh.StreamID == 0 {
		return h2ConnError{http2.ErrCodeProtocol, "RST_STREAM on stream 0"}
	}
	if fh.Length != 4 {
		return h2ConnError{http2.ErrCodeFrameSize, "RST_STREAM of the wrong size"}
	}
	p, _ := c.br.Peek(4)
	code := http2.ErrCode(binary.BigEndian.Uint32(p))
	c.br.Discard(4)
	c.rec.resets.Add(1)
	i, ok := c.pool.get(fh.StreamID)
	switch {
	case !ok && (fh.StreamID&1 == 0 || fh.StreamID >= c.nextID):
		return h2ConnError{http2.ErrCodeProtocol, "RST_STREAM on a stream the client never opened"}
	case !ok:
		// Already complete: a server may reset a stream whose request
		// body it no longer needs (RFC 9113 8.1).
	case code == http2.ErrCodeRefusedStream:
		c.requeue(i) // not processed (RFC 9113 8.7)
	default:
		c.rec.failure(c.tr.at, errProtocol)
		c.removeStream(i)
	}
	return nil
}

// onWindowUpdate grows a send window (RFC 9113 6.9) and resumes the
// uploads waiting for it, whenever it arrives: before the SETTINGS ACK,
// on stream 0 or on a stream (docs/hostile-servers.md row 6).
func (c *h2Conn) onWindowUpdate(fh http2.FrameHeader) error {
	if fh.Length != 4 {
		return h2ConnError{http2.ErrCodeFrameSize, "WINDOW_UPDATE of the wrong size"}
	}
	p, _ := c.br.Peek(4)
	inc := int64(binary.BigEndian.Uint32(p) & (1<<31 - 1))
	c.br.Discard(4)
	if fh.StreamID == 0 {
		if inc == 0 {
			return h2ConnError{http2.ErrCodeProtocol, "WINDOW_UPDATE of 0 on the connection"}
		}
		if c.sendWindow += inc; c.sendWindow > 1<<31-1 {
			return h2ConnError{http2.ErrCodeFlowControl, "connection window above 2^31-1"} // 6.9.1
		}
	} else if i, ok := c.pool.get(fh.StreamID); ok {
		s := &c.pool.s[i]
		switch s.sendWindow += inc; {
		case inc == 0:
			c.streamError(i, http2.ErrCodeProtocol)
		case s.sendWindow > 1<<31-1:
			c.streamError(i, http2.ErrCodeFlowControl)
		}
	}
	if len(c.uploads) > 0 {
		c.resumeUploads()
	}
	return nil
}

// onControl handles the rare frames, parsed by the Framer.
func (c *h2Conn) onControl(fh http2.FrameHeader) error {
	f, err := c.fr.ReadFrameForHeader(fh)
	if err != nil {
		return c.frameError(err)
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			c.fr.WritePing(true, f.Data) // RFC 9113 6.7
		}
	case *http2.GoAwayFrame:
		c.onGoAway(f)
	}
	return nil
}

// onSettings applies the server's SETTINGS and acknowledges them (RFC 9113
// 6.5.3). A change of SETTINGS_INITIAL_WINDOW_SIZE moves the send window
// of every open stream by the difference, possibly below zero (6.9.2).
func (c *h2Conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		// Stored only when new or changed: every connection of the run
		// repeats the same SETTINGS, and a store allocates.
		if old, ok := c.st.settings.Load(s.ID); !ok || old.(uint32) != s.Val {
			c.st.settings.Store(s.ID, s.Val)
		}
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			c.peerMaxStreams = s.Val
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = s.Val
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.peerInitWindow
			c.peerInitWindow = int64(s.Val)
			for i := range c.pool.s {
				ps := &c.pool.s[i]
				if ps.id == 0 {
					continue
				}
				if ps.sendWindow += delta; ps.sendWindow > 1<<31-1 {
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
			}
		}
		return nil
	})
	if err != nil {
		return c.frameError(err)
	}
	c.fr.WriteSettingsAck()
	if !c.ready {
		c.ready = true
		c.checkAt = never // the preface deadline no longer applies
		// The server speaks HTTP/2: its SETTINGS is the proof, not the
		// TCP or TLS handshake.
		c.st.negotiated.Store(c.d.proto)
	}
	if len(c.uploads) > 0 {
		c.resumeUploads()
	}
	return nil
}

// onGoAway stops new streams on the connection and takes back the streams
// the server will not process (RFC 9113 6.8): after a graceful GOAWAY they
// are sent again on the next connection and counted as retried; after an
// error they fail. Streams up to last-stream-id still complete here.
func (c *h2Conn) onGoAway(f *http2.GoAwayFrame) {
	c.rec.goaways.Add(1)
	c.goingAway = true
	c.lastID = min(c.lastID, f.LastStreamID)
	graceful := f.ErrCode == http2.ErrCodeNo
	if !graceful {
		c.goawayErr = true
	}
	for i := range c.pool.s {
		s := &c.pool.s[i]
		if s.id == 0 || s.id <= c.lastID {
			continue
		}
		if graceful {
			c.requeue(int32(i))
		} else {
			c.rec.failure(c.tr.at, errProtocol)
			c.removeStream(int32(i))
		}
	}
}
