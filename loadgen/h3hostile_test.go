package loadgen

import (
	"net"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// The HTTP/3 rows of docs/hostile-servers.md: each runs the client over
// real UDP against a quic-go server that misbehaves on purpose.

func TestH3Goaway(t *testing.T) {
	srv := newH3TestServer(t, h3Behaviour{goawayAfter: 40})
	res := mustRun(t, h3Config(srv, 1, 4, 800*time.Millisecond), 0)
	checkConsistent(t, res)
	if res.Errors != 0 {
		t.Fatalf("errors %v: streams above the GOAWAY id must be retried, not failed", res.ErrorsByClass)
	}
	if res.GoawaysReceived == 0 || res.Reconnects == 0 || res.Requests < 80 {
		t.Fatalf("goaways %d, reconnects %d, requests %d: want GOAWAYs followed by re-dials", res.GoawaysReceived, res.Reconnects, res.Requests)
	}
	if res.Retried == 0 {
		t.Errorf("no request was retried, although the server rejects the streams above its GOAWAY")
	}
}

func TestH3IdleTimeoutShorterThanGap(t *testing.T) {
	srv := newH3TestServer(t, h3Behaviour{quic: quic.Config{MaxIdleTimeout: 100 * time.Millisecond}})
	cfg := h3Config(srv, 1, 1, 2500*time.Millisecond)
	cfg.Rate = 1.5 // a request every 667 ms, the connection idles out between them
	res := mustRun(t, cfg, 0)
	checkConsistent(t, res)
	if res.Errors != 0 || res.Requests < 3 {
		t.Fatalf("requests %d, errors %v: an idle connection must be replaced quietly", res.Requests, res.ErrorsByClass)
	}
	// quic-go's idle timeout is at least three probe timeouts, which a
	// loaded machine stretches: not every gap ends the connection.
	if res.Reconnects < 1 {
		t.Errorf("reconnects %d: the server's idle timeout was not met", res.Reconnects)
	}
}

func TestH3MaxStreamsBelowStreams(t *testing.T) {
	srv := newH3TestServer(t, h3Behaviour{quic: quic.Config{MaxIncomingStreams: 2}, delay: time.Millisecond})
	res := mustRun(t, h3Config(srv, 1, 16, 600*time.Millisecond), 0)
	checkConsistent(t, res)
	if res.Errors != 0 || res.Requests == 0 {
		t.Fatalf("requests %d, errors %v: stream credit must be waited for", res.Requests, res.ErrorsByClass)
	}
	if res.Reconnects != 0 {
		t.Errorf("reconnects %d: waiting for credit is not a reason to re-dial", res.Reconnects)
	}
}

func TestH3ClosedMidStream(t *testing.T) {
	srv := newH3TestServer(t, h3Behaviour{closeAfter: 25})
	res := mustRun(t, h3Config(srv, 2, 4, 800*time.Millisecond), 0)
	checkConsistent(t, res)
	if res.ErrorsByClass[ClassRead] == 0 || res.Requests == 0 {
		t.Fatalf("requests %d, errors %v: streams cut by CONNECTION_CLOSE are read errors", res.Requests, res.ErrorsByClass)
	}
	if uint64(srv.requests.Load()) < res.Requests {
		t.Errorf("%d successes, but the server answered only %d requests", res.Requests, srv.requests.Load())
	}
}

// TestH3ServerKilled: the server's socket closes without CONNECTION_CLOSE.
// The streams in flight time out, every later dial fails its handshake,
// and the re-dials are paced: no hot loop, no hang.
func TestH3ServerKilled(t *testing.T) {
	srv := newH3TestServer(t, h3Behaviour{})
	cfg := h3Config(srv, 2, 2, 1500*time.Millisecond)
	cfg.Timeout = 200 * time.Millisecond
	time.AfterFunc(300*time.Millisecond, srv.kill)
	began := time.Now()
	res := mustRun(t, cfg, 0)
	checkConsistent(t, res)
	if took := time.Since(began); took > 4*time.Second {
		t.Errorf("the run took %v", took)
	}
	if res.Requests == 0 || res.ErrorsByClass[ClassTimeout] == 0 || res.ErrorsByClass[ClassConnect] == 0 {
		t.Fatalf("requests %d, errors %v: want successes, then timeouts, then connect errors", res.Requests, res.ErrorsByClass)
	}
	// Each dial waits out its handshake timeout (200 ms) and a backoff:
	// two slots for 1.2 s make a handful, not hundreds.
	if n := res.ErrorsByClass[ClassConnect]; n > 20 {
		t.Errorf("%d connect errors: re-dials are not paced", n)
	}
}

func TestH3FlowControlUploads(t *testing.T) {
	srv := newH3TestServer(t, h3Behaviour{quic: quic.Config{
		InitialStreamReceiveWindow: 8 << 10, MaxStreamReceiveWindow: 16 << 10,
		InitialConnectionReceiveWindow: 16 << 10, MaxConnectionReceiveWindow: 32 << 10,
	}})
	for _, size := range []int{64 << 10, 1 << 20} {
		cfg := h3Config(srv, 1, 2, 600*time.Millisecond)
		cfg.Method, cfg.Body = "POST", make([]byte, size)
		res := mustRun(t, cfg, 0)
		checkConsistent(t, res)
		if res.Errors != 0 || res.Requests == 0 {
			t.Fatalf("%d-byte upload: requests %d, errors %v", size, res.Requests, res.ErrorsByClass)
		}
		want := uint64(len(itoa(size)))
		if res.BytesRead != want*res.Requests {
			t.Errorf("%d-byte upload: the server saw other lengths (%d bytes for %d requests)", size, res.BytesRead, res.Requests)
		}
	}
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func TestH3StatusNeverSuccess(t *testing.T) {
	for _, tc := range []struct {
		name  string
		b     h3Behaviour
		class ErrorClass
	}{
		{"404", h3Behaviour{status: 404}, ClassStatus},
		{"502", h3Behaviour{status: 502}, ClassStatus},
		{"four-digits", h3Behaviour{rawStatus: "2000"}, ClassProtocol},
		{"letters", h3Behaviour{rawStatus: "2x0"}, ClassProtocol},
		{"empty", h3Behaviour{rawStatus: ""}, ClassStatus}, // "" means 200 below, replaced
		{"101", h3Behaviour{status: 101}, ClassProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			if tc.name == "empty" {
				b, tc.class = h3Behaviour{rawStatus: " "}, ClassProtocol
			}
			srv := newH3TestServer(t, b)
			res := mustRun(t, h3Config(srv, 1, 2, 300*time.Millisecond), 0)
			checkConsistent(t, res)
			if res.Requests != 0 {
				t.Fatalf("%d responses counted as successes", res.Requests)
			}
			if res.ErrorsByClass[tc.class] == 0 {
				t.Fatalf("errors %v, want %s errors", res.ErrorsByClass, tc.class)
			}
		})
	}
}

// TestH3NoHandshake: a UDP socket that never answers. Every dial is a
// connect error after the request timeout; the run ends on time.
func TestH3NoHandshake(t *testing.T) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := udp.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	cfg := Config{URL: "https://" + udp.LocalAddr().String() + "/", Protocol: ProtocolH3,
		Connections: 2, Duration: time.Second, Timeout: 200 * time.Millisecond}
	began := time.Now()
	res := mustRun(t, cfg, 0)
	checkConsistent(t, res)
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("the run took %v for a 1 s window", took)
	}
	if res.Requests != 0 || res.ErrorsByClass[ClassConnect] == 0 {
		t.Fatalf("requests %d, errors %v: want connect errors", res.Requests, res.ErrorsByClass)
	}
	if n := res.ErrorsByClass[ClassConnect]; n > 12 {
		t.Errorf("%d connect errors in 1 s with a 200 ms handshake timeout: not paced", n)
	}
}

// TestH3ControlStream: the server's control stream must open with SETTINGS
// and carry no request frames (RFC 9114 6.2.1, 7.2); otherwise the
// connection ends with the matching error, and its requests are protocol
// errors. A unidirectional stream that never sends its type holds up
// nothing.
func TestH3ControlStream(t *testing.T) {
	for _, tc := range []struct {
		name  string
		b     h3Behaviour
		fails bool
	}{
		{"no SETTINGS first", h3Behaviour{control: []byte{h3FrameGoaway, 1, 0}}, true},
		{"DATA on control", h3Behaviour{control: []byte{h3FrameSettings, 0, h3FrameData, 1, 'x'}}, true},
		{"repeated setting", h3Behaviour{control: []byte{h3FrameSettings, 4, 0x06, 1, 0x06, 2}}, true},
		{"HTTP/2 setting", h3Behaviour{control: []byte{h3FrameSettings, 2, 0x04, 1}}, true},
		{"unknown frames ignored", h3Behaviour{control: []byte{h3FrameSettings, 0, 0x21, 2, 'h', 'i'}}, false},
		{"silent stream", h3Behaviour{silentUni: true, goawayAfter: 20}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH3TestServer(t, tc.b)
			res := mustRun(t, h3Config(srv, 1, 2, 400*time.Millisecond), 0)
			checkConsistent(t, res)
			if tc.fails && res.ErrorsByClass[ClassProtocol] == 0 {
				t.Fatalf("errors %v: want protocol errors", res.ErrorsByClass)
			}
			if !tc.fails && (res.Errors != 0 || res.Requests == 0) {
				t.Fatalf("requests %d, errors %v", res.Requests, res.ErrorsByClass)
			}
			if tc.b.goawayAfter > 0 && res.GoawaysReceived == 0 {
				t.Errorf("no GOAWAY read beside a silent stream")
			}
		})
	}
}
