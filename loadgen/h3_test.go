package loadgen

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// TestH3Basic runs GET and POST over real UDP against the raw test server
// and checks the figures and what the Result says was negotiated.
func TestH3Basic(t *testing.T) {
	done := leakCheck(t)
	srv := newH3TestServer(t, h3Behaviour{})
	for _, tc := range []struct {
		name string
		body []byte
	}{{"get", nil}, {"post-64k", make([]byte, 64<<10)}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := h3Config(srv, 2, 4, 500*time.Millisecond)
			if tc.body != nil {
				cfg.Method, cfg.Body = "POST", tc.body
			}
			res := mustRun(t, cfg, 0)
			checkConsistent(t, res)
			if res.Requests == 0 || res.Errors != 0 {
				t.Fatalf("requests %d errors %v", res.Requests, res.ErrorsByClass)
			}
			if res.Protocol != ProtocolH3 || res.QUICVersion != "v1" || res.TLS == nil || res.TLS.ALPN != "h3" {
				t.Errorf("protocol %q, QUIC %q, TLS %+v; want h3, v1, ALPN h3", res.Protocol, res.QUICVersion, res.TLS)
			}
			if res.ConnectionsOpened != 2 {
				t.Errorf("connections opened %d, want 2", res.ConnectionsOpened)
			}
			want := uint64(len("Hello, World!"))
			if tc.body != nil {
				want = uint64(len(strconv.Itoa(len(tc.body))))
			}
			if res.BytesRead != want*(res.Requests) {
				t.Errorf("bytes read %d for %d requests, want %d each", res.BytesRead, res.Requests, want)
			}
		})
	}
	srv.close()
	done()
}

// TestH3VerifiesCertificate: without the CA the handshake fails, and every
// dial is a connect error; the run gives up rather than hang.
func TestH3VerifiesCertificate(t *testing.T) {
	srv := newH3TestServer(t, h3Behaviour{})
	cfg := h3Config(srv, 1, 1, 2*time.Second)
	cfg.RootCAs = nil
	res := mustRun(t, cfg, 300*time.Millisecond)
	if res.Requests != 0 || res.ErrorsByClass[ClassTLS] == 0 {
		t.Fatalf("requests %d, tls errors %d: an unverified server was measured", res.Requests, res.ErrorsByClass[ClassTLS])
	}
	if res.EndedEarly == "" {
		t.Errorf("the run did not end early although no connection could be opened")
	}
	if srv.requests.Load() != 0 {
		t.Errorf("the server answered %d requests", srv.requests.Load())
	}
}

// TestH3QuicGoServer runs the client against quic-go's own HTTP/3 server
// serving the contract: a peer whose framing and QPACK are not ours.
func TestH3QuicGoServer(t *testing.T) {
	tc, pool := testCA(t, "h3")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, World!")
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		io.WriteString(w, strconv.FormatInt(n, 10))
	})
	mux.HandleFunc("GET /missing", http.NotFound)
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http3.Server{Handler: mux, TLSConfig: http3.ConfigureTLSConfig(tc)}
	go hs.Serve(udp)
	defer func() {
		hs.Close()
		udp.Close()
	}()
	base := "https://" + udp.LocalAddr().String()
	for _, c := range []struct {
		path, method string
		body         int
		ok           bool
		bodyLen      int
	}{
		{"/", "GET", 0, true, 13},
		{"/upload", "POST", 64 << 10, true, 5},
		{"/upload", "POST", 1 << 20, true, 7},
		{"/missing", "GET", 0, false, -1},
	} {
		t.Run(c.method+c.path+strconv.Itoa(c.body), func(t *testing.T) {
			cfg := Config{URL: base + c.path, Method: c.method, Body: make([]byte, c.body), Protocol: ProtocolH3,
				Connections: 1, Streams: 8, Duration: 400 * time.Millisecond, RootCAs: pool}
			if c.body >= 1<<20 {
				// Eight 1 MiB uploads may not finish in 400 ms under the
				// race detector on a busy host; a request still in flight
				// at the end is neither a success nor an error.
				cfg.Duration = 2 * time.Second
			}
			if c.body == 0 {
				cfg.Body = nil
			}
			res := mustRun(t, cfg, 0)
			checkConsistent(t, res)
			if c.ok && (res.Requests == 0 || res.Errors != 0) {
				t.Fatalf("requests %d, errors %v", res.Requests, res.ErrorsByClass)
			}
			if !c.ok && (res.Requests != 0 || res.ErrorsByClass[ClassStatus] == 0 || res.StatusCodes["404"] == 0) {
				t.Fatalf("404s counted as successes: requests %d, errors %v", res.Requests, res.ErrorsByClass)
			}
			if c.bodyLen > 0 && res.BytesRead != uint64(c.bodyLen)*res.Requests {
				t.Errorf("bytes read %d for %d requests", res.BytesRead, res.Requests)
			}
			if res.ServerSettings == nil {
				t.Errorf("no server settings recorded")
			}
		})
	}
	if err := Reachable(context.Background(), Config{URL: base + "/", Protocol: ProtocolH3, Connections: 1, Duration: time.Second, RootCAs: pool}); err != nil {
		t.Errorf("Reachable: %v", err)
	}
}
