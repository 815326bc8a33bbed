package loadgen

import (
	"bytes"
	"fmt"
	"io"

	"github.com/quic-go/quic-go/quicvarint"
)

// HTTP/3 frame types (RFC 9114 7.2, 11.2.1).
const (
	h3FrameData        = 0x00
	h3FrameHeaders     = 0x01
	h3FrameCancelPush  = 0x03
	h3FrameSettings    = 0x04
	h3FramePushPromise = 0x05
	h3FrameGoaway      = 0x07
	h3FrameMaxPushID   = 0x0d
)

// HTTP/3 unidirectional stream types (RFC 9114 6.2, RFC 9204 4.2).
const (
	h3StreamControl     = 0x00
	h3StreamPush        = 0x01
	h3StreamQPACKEnc    = 0x02
	h3StreamQPACKDec    = 0x03
	h3SettingQPACKCap   = 0x01
	h3SettingMaxField   = 0x06
	h3SettingQPACKBlock = 0x07
)

// HTTP/3 error codes (RFC 9114 8.1, RFC 9204 6).
const (
	h3NoError              = 0x100
	h3GeneralProtocolError = 0x101
	h3StreamCreationError  = 0x103
	h3ClosedCriticalStream = 0x104
	h3FrameUnexpected      = 0x105
	h3FrameError           = 0x106
	h3ExcessiveLoad        = 0x107
	h3IDError              = 0x108
	h3SettingsError        = 0x109
	h3MissingSettings      = 0x10a
	h3RequestRejected      = 0x10b
	h3RequestCancelled     = 0x10c
	h3MessageError         = 0x10e
	qpackDecompressFailed  = 0x200
)

// h3ReadBuf is the initial read buffer of one request stream: small, since
// a run may have thousands of streams in flight. It grows to hold a whole
// field section when one is larger. h3MaxFieldSection bounds that, and is
// announced as SETTINGS_MAX_FIELD_SECTION_SIZE (RFC 9114 4.2.2); a larger
// section is refused rather than buffered.
const (
	h3ReadBuf         = 2 << 10
	h3MaxFieldSection = 64 << 10
)

// h3Error is a protocol error the client detected in a response: a
// connection error (RFC 9114 8) when conn is set, else a stream error that
// makes the response malformed (4.1.2).
type h3Error struct {
	code   uint64
	conn   bool
	reason string
}

func (e *h3Error) Error() string {
	kind := "stream"
	if e.conn {
		kind = "connection"
	}
	return fmt.Sprintf("loadgen: HTTP/3 %s error %#x: %s", kind, e.code, e.reason)
}

func h3ConnErr(code uint64, reason string) *h3Error {
	return &h3Error{code: code, conn: true, reason: reason}
}

// h3Reader reads frames from one stream through a buffer owned by the
// caller, so that parsing a response allocates nothing.
type h3Reader struct {
	r      io.Reader
	buf    []byte
	lo, hi int
}

// fill makes n bytes available. At the end of the stream it returns io.EOF
// if no byte was buffered, io.ErrUnexpectedEOF otherwise.
func (f *h3Reader) fill(n int) error {
	if f.hi-f.lo >= n {
		return nil
	}
	if n > len(f.buf) {
		if n > h3MaxFieldSection {
			return h3ConnErr(h3ExcessiveLoad, "frame larger than the read buffer")
		}
		b := make([]byte, n)
		f.hi = copy(b, f.buf[f.lo:f.hi])
		f.lo, f.buf = 0, b
	}
	if len(f.buf)-f.lo < n {
		f.hi = copy(f.buf, f.buf[f.lo:f.hi])
		f.lo = 0
	}
	for f.hi-f.lo < n {
		m, err := f.r.Read(f.buf[f.hi:])
		f.hi += m
		if err != nil {
			if f.hi-f.lo >= n {
				return nil // the error comes back on the next read
			}
			if err == io.EOF && f.hi > f.lo {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// varint reads a variable-length integer (RFC 9000 16).
func (f *h3Reader) varint() (uint64, error) {
	if err := f.fill(1); err != nil {
		return 0, err
	}
	n := 1 << (f.buf[f.lo] >> 6)
	if err := f.fill(n); err != nil {
		return 0, err
	}
	v, m, err := quicvarint.Parse(f.buf[f.lo : f.lo+n])
	if err != nil || m != n {
		return 0, h3ConnErr(h3FrameError, "malformed variable-length integer")
	}
	f.lo += n
	return v, nil
}

// frameHeader reads a frame's type and length (RFC 9114 7.1). io.EOF means
// the stream ended cleanly between frames.
func (f *h3Reader) frameHeader() (typ, length uint64, err error) {
	if typ, err = f.varint(); err != nil {
		return 0, 0, err
	}
	if length, err = f.varint(); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, 0, err
	}
	return typ, length, nil
}

// skip discards n bytes of payload.
func (f *h3Reader) skip(n uint64) error {
	for n > 0 {
		if f.hi == f.lo {
			f.lo, f.hi = 0, 0
			if err := f.fill(1); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		m := min(uint64(f.hi-f.lo), n)
		f.lo += int(m)
		n -= m
	}
	return nil
}

// payload returns the next n bytes, valid until the next read.
func (f *h3Reader) payload(n uint64) ([]byte, error) {
	if n > h3MaxFieldSection {
		return nil, &h3Error{code: h3ExcessiveLoad, reason: "field section too large"}
	}
	if err := f.fill(int(n)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	p := f.buf[f.lo : f.lo+int(n)]
	f.lo += int(n)
	return p, nil
}

// readResponse reads one response from a request stream until the stream
// ends (RFC 9114 4.1): any interim responses, the final header section,
// DATA, and trailers. It returns the final status and the body length. A
// transport error (a reset stream, a closed connection, a deadline) is
// returned as it came; a malformed response is an *h3Error.
func (f *h3Reader) readResponse(huff *bytes.Buffer) (status, body int, err error) {
	trailers := false
	for {
		typ, n, err := f.frameHeader()
		if err == io.EOF {
			if status == 0 {
				return 0, body, &h3Error{code: h3MessageError, reason: "stream ended without a final response"}
			}
			return status, body, nil
		}
		if err == io.ErrUnexpectedEOF {
			return 0, body, &h3Error{code: h3FrameError, conn: true, reason: "stream ended inside a frame"}
		}
		if err != nil {
			return 0, body, err
		}
		switch typ {
		case h3FrameData:
			if status == 0 || trailers {
				return 0, body, h3ConnErr(h3FrameUnexpected, "DATA outside a response body")
			}
			if err := f.skip(n); err != nil {
				return 0, body, f.inFrame(err)
			}
			body += int(n)
		case h3FrameHeaders:
			if trailers {
				return 0, body, h3ConnErr(h3FrameUnexpected, "HEADERS after trailers")
			}
			p, err := f.payload(n)
			if err != nil {
				return 0, body, f.inFrame(err)
			}
			s, err := qpStatus(p, huff)
			if err != nil {
				return 0, body, h3ConnErr(qpackDecompressFailed, err.Error())
			}
			if status != 0 {
				if s != 0 {
					return 0, body, &h3Error{code: h3MessageError, reason: ":status in trailers"}
				}
				trailers = true
				continue
			}
			switch {
			case s >= 100 && s <= 199 && s != 101:
				// Interim response (RFC 9114 4.1); a final one follows.
			case s >= 200 && s <= 599:
				status = s
			default:
				return 0, body, &h3Error{code: h3MessageError, reason: fmt.Sprintf("malformed :status (%d)", s)}
			}
		case h3FrameCancelPush, h3FrameSettings, h3FrameGoaway, h3FrameMaxPushID,
			0x02, 0x06, 0x08, 0x09: // HTTP/2 frame types reserved in HTTP/3 (7.2.8)
			return 0, body, h3ConnErr(h3FrameUnexpected, fmt.Sprintf("frame type %#x on a request stream", typ))
		case h3FramePushPromise:
			// We never send MAX_PUSH_ID, so no push ID is valid (7.2.5).
			return 0, body, h3ConnErr(h3IDError, "PUSH_PROMISE without MAX_PUSH_ID")
		default:
			// Unknown and reserved frame types are ignored (RFC 9114 9).
			if err := f.skip(n); err != nil {
				return 0, body, f.inFrame(err)
			}
		}
	}
}

// inFrame turns the end of the stream inside a frame into a frame error.
func (f *h3Reader) inFrame(err error) error {
	if err == io.ErrUnexpectedEOF {
		return h3ConnErr(h3FrameError, "stream ended inside a frame")
	}
	return err
}

// appendH3Frame appends a frame header of type typ for a payload of n bytes.
func appendH3Frame(b []byte, typ uint64, n int) []byte {
	b = quicvarint.Append(b, typ)
	return quicvarint.Append(b, uint64(n))
}

// h3Request returns the bytes of one request (RFC 9114 4.1): its HEADERS
// frame and, with a body, one DATA frame. They are built once per run and
// written whole on every request stream.
func h3Request(cfg *Config, tg *target) []byte {
	fields := h3RequestFields(cfg, tg)
	b := appendH3Frame(nil, h3FrameHeaders, len(fields))
	b = append(b, fields...)
	if len(cfg.Body) > 0 {
		b = appendH3Frame(b, h3FrameData, len(cfg.Body))
		b = append(b, cfg.Body...)
	}
	return b
}
