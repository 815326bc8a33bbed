package loadgen

import (
	"testing"
	"time"

	"github.com/matrixbench/matrix/loadgen/internal/h2test"
)

// nghttpd keeps HTTP/2's strict defaults: 16384-byte frames, 65535-byte
// windows (docs/hostile-servers.md row 5).
func TestH2Nghttpd(t *testing.T) {
	p := h2test.StartNghttpd(t)
	t.Run("GET", func(t *testing.T) {
		res := runH2(t, p.URL, nil)
		if res.Requests == 0 || res.Errors != 0 || res.BytesRead != res.Requests*uint64(len(h2test.Hello)) {
			t.Errorf("successes %d, errors %v, bytes %d", res.Requests, res.ErrorsByClass, res.BytesRead)
		}
		// Only its stream limit: the windows keep their 65535 default.
		if s := res.ServerSettings; s["SETTINGS_MAX_CONCURRENT_STREAMS"] != 100 || len(s) != 1 {
			t.Errorf("server settings %v", s)
		}
	})
	t.Run("POST 200000 bytes", func(t *testing.T) {
		res := runH2(t, p.URL, func(c *Config) { c.Method, c.Body, c.Streams = "POST", make([]byte, 200000), 4 })
		if res.Requests == 0 || res.Errors != 0 || res.StatusCodes["200"] != res.Requests {
			t.Errorf("successes %d, errors %v, status codes %v", res.Requests, res.ErrorsByClass, res.StatusCodes)
		}
	})
	t.Run("404", func(t *testing.T) {
		res := runH2(t, p.URL+".missing", func(c *Config) { c.Duration = 300 * time.Millisecond })
		if res.Requests != 0 || res.StatusCodes["404"] == 0 || res.Errors != res.StatusCodes["404"] {
			t.Errorf("successes %d, errors %d, status codes %v; want 404s counted as errors", res.Requests, res.Errors, res.StatusCodes)
		}
	})
}

// nginx with keepalive_requests 100 ends every connection with a GOAWAY
// after 100 streams (docs/hostile-servers.md row 7).
func TestH2NginxGoaway(t *testing.T) {
	p := h2test.StartNginx(t, 100)
	leaks := leakCheck(t)
	res := runH2(t, p.URL, func(c *Config) { c.Connections, c.Streams, c.Duration = 4, 50, 2*time.Second })
	if res.Requests == 0 || res.Errors != 0 {
		t.Errorf("successes %d, errors %v; want no error", res.Requests, res.ErrorsByClass)
	}
	if res.BytesRead != res.Requests*uint64(len(h2test.Hello)) {
		t.Errorf("bytes read %d for %d responses", res.BytesRead, res.Requests)
	}
	// One GOAWAY and one new connection per 100 requests.
	if res.GoawaysReceived < res.Requests/100-1 || res.Reconnects < res.Requests/100-uint64(res.Config.Connections) {
		t.Errorf("%d requests, %d GOAWAYs, %d reconnects", res.Requests, res.GoawaysReceived, res.Reconnects)
	}
	leaks()
}
