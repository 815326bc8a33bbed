//lint:file-ignore SA1019 x/net's http2.Server is deprecated in favour of net/http's, whose windows cannot be set below 64 KiB; the strict server (docs/hostile-servers.md row 5) needs exactly 65535.

package loadgen

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// startXNet serves h with x/net's http2.Server over cleartext with prior
// knowledge, configured as strictly as nghttpd, hypercorn and node:
// 16384-byte frames and 65535-byte upload windows (docs/hostile-servers.md row
// 5).
func startXNet(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http2.Server{
		MaxReadFrameSize:             16384,
		MaxUploadBufferPerConnection: 65535,
		MaxUploadBufferPerStream:     65535,
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv.ServeConn(c, &http2.ServeConnOpts{Handler: h})
				c.Close()
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String() + "/"
}

// A 200000-byte POST through the strict server succeeds every time.
func TestH2StrictServerUpload(t *testing.T) {
	const size = 200000
	url := startXNet(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil || n != size {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok")
	}))
	res := runH2(t, url, func(c *Config) {
		c.Method, c.Body, c.Streams, c.Duration = "POST", make([]byte, size), 4, 1500*time.Millisecond
	})
	if res.Errors != 0 || res.Requests == 0 || res.StatusCodes["200"] != res.Requests {
		t.Errorf("successes %d, errors %v, status codes %v; want only successes", res.Requests, res.ErrorsByClass, res.StatusCodes)
	}
	if res.BytesRead != 2*res.Requests {
		t.Errorf("bytes read %d for %d responses of 2 bytes", res.BytesRead, res.Requests)
	}
	if got := res.ServerSettings["SETTINGS_MAX_FRAME_SIZE"]; got != 16384 {
		t.Errorf("server settings %v, want MAX_FRAME_SIZE 16384", res.ServerSettings)
	}
}

// https URLs negotiate h2 by ALPN (RFC 9113 3.2), asked for or not.
func TestH2TLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			w.WriteHeader(http.StatusHTTPVersionNotSupported)
		}
		io.WriteString(w, "hello")
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	for name, proto := range map[string]Protocol{"h2 asked": ProtocolH2, "protocol by ALPN": ProtocolAuto} {
		t.Run(name, func(t *testing.T) {
			res := runH2(t, srv.URL, func(c *Config) {
				c.Protocol, c.InsecureSkipVerify, c.Duration = proto, true, 500*time.Millisecond
			})
			if res.Protocol != ProtocolH2 || res.ProtocolMismatch != "" {
				t.Errorf("protocol %q, mismatch %q; want h2", res.Protocol, res.ProtocolMismatch)
			}
			if res.Requests == 0 || res.Errors != 0 || res.BytesRead != 5*res.Requests {
				t.Errorf("successes %d, errors %v, bytes %d", res.Requests, res.ErrorsByClass, res.BytesRead)
			}
		})
	}
}

// A server that declines h2 by ALPN is measured in HTTP/1.1, and the
// Result says that h2 was asked for and not obtained.
func TestH2TLSDeclined(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	srv.StartTLS() // HTTP/1.1 only
	t.Cleanup(srv.Close)
	res := runH2(t, srv.URL, func(c *Config) {
		c.Protocol, c.InsecureSkipVerify, c.Duration = ProtocolH2, true, 500*time.Millisecond
	})
	if res.Protocol != ProtocolH1 || res.ProtocolMismatch == "" {
		t.Errorf("protocol %q, mismatch %q; want http/1.1 and a mismatch", res.Protocol, res.ProtocolMismatch)
	}
}
