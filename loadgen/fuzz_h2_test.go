package loadgen

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2FuzzBody is the request body of an uploading fuzz input: larger than
// the initial stream and connection windows (RFC 9113 6.9.2), so that the
// body waits for WINDOW_UPDATE frames from the input.
const h2FuzzBody = 70000

// FuzzH2Conn feeds a server byte stream to one HTTP/2 client connection: a
// valid server preface (an empty SETTINGS frame, RFC 9113 3.4), then
// arbitrary bytes, frames in any order and shape, over a loopback TCP
// connection whose server end then shuts its sending side. The client must not panic, must return once the
// server is gone, must allocate nothing in proportion to what the frames
// claim, and must account for every stream it opened exactly once: a
// response, an error, or a retry.
func FuzzH2Conn(f *testing.F) {
	seeds := h2Seeds(f)
	for _, s := range seeds {
		f.Add(s.frames, s.streams, s.upload, s.chunk)
	}
	if *writeSeeds {
		for _, s := range seeds {
			writeSeed(f, "FuzzH2Conn", s.name, s.frames, s.streams, s.upload, s.chunk)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ln.Close() })
	f.Fuzz(func(t *testing.T, frames []byte, streams uint8, upload bool, chunk uint16) {
		cfg := Config{
			URL: "http://127.0.0.1:9/", Protocol: ProtocolH2C, Connections: 1,
			Streams: 1 + int(streams%16), Duration: time.Hour, Timeout: time.Hour,
		}
		if upload {
			cfg.Method, cfg.Body = "POST", bytes.Repeat([]byte{'x'}, h2FuzzBody)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		st, err := newRunState(ctx, cancel, cfg, neverConnectedAfter)
		if err != nil {
			t.Fatal(err)
		}
		rec := st.newRecorder()
		c := newH2Conn(newH2Driver(st), rec)

		client, server := tcpPair(t, ln)
		served := make(chan struct{}, 2)
		opened := make(chan struct{})
		go func() {
			// What the client writes is read and dropped, as a server
			// that ignores it would, until the client closes; its first
			// HEADERS frame says its streams are open.
			readUntilHeaders(server)
			close(opened)
			io.Copy(io.Discard, server)
			served <- struct{}{}
		}()
		go func() {
			if _, err := server.Write(serverPreface()); err == nil {
				<-opened
				serveChunks(server, frames, 1+int(chunk)%4096)
			}
			// Half-close: the client reads EOF, and its writes still
			// succeed, as with a server that has said all it will.
			server.CloseWrite()
			served <- struct{}{}
		}()

		// As h2Driver.drive does: the slot's closer ends a blocked
		// connection when ctx ends, which is how bounded unblocks it.
		defer context.AfterFunc(ctx, c.closer.closeNow)()
		alloc := allocated()
		bounded(t, fuzzHang, cancel, func() { c.serve(ctx, client) })
		if n := allocated() - alloc; n > fuzzAlloc {
			t.Errorf("serving %d bytes of frames allocated %d bytes", len(frames), n)
		}
		client.Close()
		<-served
		<-served
		server.Close()
		if c.pool.n != 0 {
			t.Errorf("%d streams left in the pool", c.pool.n)
		}
		checkStreamsAccounted(t, rec, (c.nextID-1)/2)
	})
}

// checkStreamsAccounted checks that the opened streams of one connection
// and what the recorder counted match: each stream ends once, as a response
// (counted by status), a failure or a timeout, or a retry.
func checkStreamsAccounted(t *testing.T, rec *recorder, opened uint32) {
	t.Helper()
	for ph := range rec.phases {
		m := &rec.phases[ph]
		var statuses, errs uint64
		m.status.each(func(_ int, n uint64) { statuses += n })
		for _, n := range m.byClass {
			errs += n
		}
		if errs != m.errors.Load() {
			t.Errorf("phase %d: %d errors, but the classes sum to %d", ph, m.errors.Load(), errs)
		}
		if statuses != m.requests.Load()+m.byClass[errStatus] {
			t.Errorf("phase %d: statuses sum to %d, want %d requests + %d status errors",
				ph, statuses, m.requests.Load(), m.byClass[errStatus])
		}
	}
	m := &rec.phases[phaseMeasure]
	ended := m.requests.Load() + m.errors.Load() - m.byClass[errConnect] + rec.retried.Load()
	if ended != uint64(opened) {
		t.Errorf("%d streams opened, %d ended (%d responses, errors %v, %d retried)",
			opened, ended, m.requests.Load(), m.byClass, rec.retried.Load())
	}
}

// tcpPair returns the two ends of a loopback TCP connection accepted by
// ln. The client end runs the client's raw system call path (h2raw.go).
func tcpPair(t *testing.T, ln net.Listener) (client, server *net.TCPConn) {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	client, server = c.(*net.TCPConn), s.(*net.TCPConn)
	// Close with a reset, leaving no TIME_WAIT socket: thousands of
	// connections a second would otherwise fill the ephemeral ports and
	// stall the fuzzer for seconds at a time.
	client.SetLinger(0)
	server.SetLinger(0)
	return client, server
}

// readUntilHeaders reads the client's connection preface and its frames
// up to and including the first HEADERS frame, or until the connection
// fails. The Framer reads exactly one frame at a time, so the bytes after
// it stay unread.
func readUntilHeaders(c net.Conn) {
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil {
		return
	}
	fr := http2.NewFramer(nil, c)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		if _, ok := f.(*http2.HeadersFrame); ok {
			return
		}
	}
}

// serverPreface is the server's connection preface: an empty SETTINGS frame.
func serverPreface() []byte {
	var b bytes.Buffer
	http2.NewFramer(&b, nil).WriteSettings()
	return b.Bytes()
}

// h2Seed is one seed of FuzzH2Conn.
type h2Seed struct {
	name    string
	frames  []byte
	streams uint8 // the client opens 1 + streams%16 streams
	upload  bool
	chunk   uint16 // the server writes 1 + chunk%4096 bytes at a time
}

// h2Seeds builds the seeds: the frame sequences of well-behaved and
// hostile servers (docs/hostile-servers.md), each a starting point the fuzzer
// mutates into the nearby malformed ones.
func h2Seeds(tb testing.TB) []h2Seed {
	var seeds []h2Seed
	add := func(name string, streams uint8, upload bool, chunk uint16, write func(w *h2SeedWriter)) {
		w := newH2SeedWriter()
		write(w)
		if w.err != nil {
			tb.Fatalf("seed %s: %v", name, w.err)
		}
		seeds = append(seeds, h2Seed{name: name, frames: w.buf.Bytes(), streams: streams, upload: upload, chunk: chunk})
	}
	ok := func(w *h2SeedWriter, id uint32, status string) {
		w.headers(id, false, ":status", status, "content-type", "text/plain")
		w.check(w.fr.WriteData(id, true, []byte("Hello, World!")))
	}
	add("responses", 1, false, 4095, func(w *h2SeedWriter) {
		w.check(w.fr.WriteSettingsAck())
		ok(w, 1, "200")
		ok(w, 3, "404")
		w.headers(5, true, ":status", "502")
	})
	add("goaway-graceful", 3, false, 100, func(w *h2SeedWriter) {
		ok(w, 1, "200")
		w.check(w.fr.WriteGoAway(3, http2.ErrCodeNo, nil))
		ok(w, 3, "200")
	})
	add("goaway-error", 2, false, 4095, func(w *h2SeedWriter) {
		w.check(w.fr.WriteGoAway(0, http2.ErrCodeEnhanceYourCalm, []byte("calm down")))
	})
	add("settings-and-windows", 1, true, 7, func(w *h2SeedWriter) {
		// Kestrel's order: WINDOW_UPDATE before the SETTINGS ACK, then
		// tighter limits mid-connection (docs/hostile-servers.md rows 5, 6).
		w.check(w.fr.WriteWindowUpdate(0, 1<<20))
		w.check(w.fr.WriteSettings(
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000},
			http2.Setting{ID: http2.SettingMaxFrameSize, Val: 16384},
			http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 1},
			http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0},
		))
		w.check(w.fr.WriteWindowUpdate(1, 70000))
		w.check(w.fr.WriteSettingsAck())
		ok(w, 1, "200")
	})
	add("continuation", 1, false, 3, func(w *h2SeedWriter) {
		block := w.block(":status", "200", "x-long", string(bytes.Repeat([]byte("v"), 300)))
		w.check(w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:10]}))
		w.check(w.fr.WriteContinuation(1, false, block[10:100]))
		w.check(w.fr.WriteContinuation(1, true, block[100:]))
		w.check(w.fr.WriteData(1, true, nil))
	})
	add("padded-priority", 2, false, 4095, func(w *h2SeedWriter) {
		w.check(w.fr.WriteHeaders(http2.HeadersFrameParam{
			StreamID: 1, BlockFragment: w.block(":status", "200"), EndHeaders: true, PadLength: 7,
			Priority: http2.PriorityParam{StreamDep: 0, Weight: 15},
		}))
		w.check(w.fr.WriteDataPadded(1, false, []byte("abc"), make([]byte, 20)))
		w.check(w.fr.WriteDataPadded(1, true, nil, make([]byte, 3)))
		w.check(w.fr.WritePriority(3, http2.PriorityParam{StreamDep: 1, Weight: 200}))
	})
	add("interim-trailers", 2, false, 4095, func(w *h2SeedWriter) {
		w.headers(1, false, ":status", "100")
		w.headers(1, false, ":status", "103", "link", "</s.css>; rel=preload")
		w.headers(1, false, ":status", "200")
		w.check(w.fr.WriteData(1, false, []byte("body")))
		w.headers(1, true, "x-checksum", "1")
		w.headers(3, true, ":status", "101")
	})
	add("resets", 3, false, 4095, func(w *h2SeedWriter) {
		w.check(w.fr.WriteRSTStream(1, http2.ErrCodeRefusedStream))
		w.check(w.fr.WriteRSTStream(3, http2.ErrCodeInternal))
		ok(w, 5, "200")
		w.check(w.fr.WriteRSTStream(5, http2.ErrCodeNo)) // after completion
	})
	add("control", 1, false, 5, func(w *h2SeedWriter) {
		w.check(w.fr.WritePing(false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}))
		w.check(w.fr.WritePing(true, [8]byte{}))
		w.check(w.fr.WriteRawFrame(0xfa, 0x3, 1, []byte("unknown frame type")))
		ok(w, 1, "200")
	})
	add("push-promise", 1, false, 4095, func(w *h2SeedWriter) {
		w.check(w.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: w.block(":method", "GET"), EndHeaders: true}))
	})
	add("dynamic-table", 4, false, 4095, func(w *h2SeedWriter) {
		// Each response adds its fields to the encoder's table; later
		// ones refer to them by index, as nginx does.
		for id := uint32(1); id <= 7; id += 2 {
			w.headers(id, true, ":status", "200", "server", "nginx", "date", "Wed, 25 Nov 2026 21:49:00 GMT")
		}
	})
	add("table-size-update", 1, false, 4095, func(w *h2SeedWriter) {
		w.enc.SetMaxDynamicTableSize(0)
		w.headers(1, true, ":status", "200", "server", "x")
	})
	add("large-body", 1, false, 4095, func(w *h2SeedWriter) {
		w.headers(1, false, ":status", "200")
		big := make([]byte, 16384)
		for i := 0; i < 70; i++ { // past the stream window of 1 MiB: credit must flow
			w.check(w.fr.WriteData(1, false, big))
		}
	})
	add("window-overflow", 1, true, 4095, func(w *h2SeedWriter) {
		w.check(w.fr.WriteWindowUpdate(1, 1<<31-1))
		w.check(w.fr.WriteWindowUpdate(0, 1<<31-1))
	})
	add("frame-too-large", 1, false, 4095, func(w *h2SeedWriter) {
		w.check(w.fr.WriteRawFrame(http2.FrameData, 0, 1, make([]byte, 16385)))
	})
	add("unopened-streams", 1, false, 4095, func(w *h2SeedWriter) {
		w.headers(99, true, ":status", "200")
		w.check(w.fr.WriteData(2, true, []byte("x")))
		w.check(w.fr.WriteRSTStream(101, http2.ErrCodeCancel))
	})
	return seeds
}

// h2SeedWriter encodes the frames of a seed as a server would.
type h2SeedWriter struct {
	buf  bytes.Buffer
	fr   *http2.Framer
	hbuf bytes.Buffer
	enc  *hpack.Encoder
	err  error
}

func newH2SeedWriter() *h2SeedWriter {
	w := &h2SeedWriter{}
	w.fr = http2.NewFramer(&w.buf, nil)
	w.fr.AllowIllegalWrites = true // some seeds are meant to be wrong
	w.enc = hpack.NewEncoder(&w.hbuf)
	return w
}

func (w *h2SeedWriter) check(err error) {
	if w.err == nil {
		w.err = err
	}
}

// block HPACK-encodes name/value pairs with the connection's encoder.
func (w *h2SeedWriter) block(kv ...string) []byte {
	w.hbuf.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		w.check(w.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]}))
	}
	return bytes.Clone(w.hbuf.Bytes())
}

// headers writes one HEADERS frame holding a whole header block.
func (w *h2SeedWriter) headers(id uint32, end bool, kv ...string) {
	w.check(w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: w.block(kv...), EndStream: end, EndHeaders: true}))
}
