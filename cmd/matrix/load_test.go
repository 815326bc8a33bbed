package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/matrixbench/matrix/loadgen"
)

func TestParseLoadArgs(t *testing.T) {
	bodyFile := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(bodyFile, []byte("payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(nil)
	ts.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	const u = "http://127.0.0.1:8080/"
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, o *loadOptions)
	}{
		{"defaults", []string{u}, func(t *testing.T, o *loadOptions) {
			c := o.cfg
			if c.URL != u || c.Method != "GET" || c.Connections != 64 || c.Duration != 10*time.Second ||
				c.Warmup != time.Second || c.Timeout != 10*time.Second || c.Protocol != loadgen.ProtocolAuto ||
				c.Close || c.Rate != 0 || o.json || o.procs != 1 || c.Body != nil {
				t.Errorf("defaults: %+v", o)
			}
		}},
		{"short flags, flags after the URL", []string{"-c", "8", u, "-d", "2s", "-m", "POST", "-H", "X-A: 1", "-H", "X-B:2"}, func(t *testing.T, o *loadOptions) {
			c := o.cfg
			want := []loadgen.Header{{Name: "X-A", Value: "1"}, {Name: "X-B", Value: "2"}}
			if c.Connections != 8 || c.Duration != 2*time.Second || c.Method != "POST" || !reflect.DeepEqual(c.Headers, want) {
				t.Errorf("got %+v", c)
			}
		}},
		{"long flags", []string{"--connections=3", "--duration=1s", "--warmup=0s", "--close", "--rate=100", "--timeout=2s",
			"--expect-status=404", "--json", "--procs=0", "--header", "Host: x", u}, func(t *testing.T, o *loadOptions) {
			c := o.cfg
			if c.Connections != 3 || c.Duration != time.Second || c.Warmup != 0 || !c.Close || c.Rate != 100 ||
				c.Timeout != 2*time.Second || c.ExpectStatus != 404 || !o.json || o.procs != 0 || c.Headers[0].Name != "Host" {
				t.Errorf("got %+v", o)
			}
		}},
		{"body size", []string{"--body-size", "40", u}, func(t *testing.T, o *loadOptions) {
			if want := "abcdefghijklmnopqrstuvwxyz0123456789abcd"; string(o.cfg.Body) != want {
				t.Errorf("body %q, want %q", o.cfg.Body, want)
			}
		}},
		{"body file", []string{"--body-file", bodyFile, u}, func(t *testing.T, o *loadOptions) {
			if string(o.cfg.Body) != "payload" {
				t.Errorf("body %q", o.cfg.Body)
			}
		}},
		{"h2c", []string{"--h2", "--streams", "10", u}, func(t *testing.T, o *loadOptions) {
			if o.cfg.Protocol != loadgen.ProtocolH2C || o.cfg.Streams != 10 {
				t.Errorf("protocol %q streams %d", o.cfg.Protocol, o.cfg.Streams)
			}
		}},
		{"h3 with a CA", []string{"--h3", "--streams", "4", "--ca", caFile, "https://127.0.0.1:8443/"}, func(t *testing.T, o *loadOptions) {
			if o.cfg.Protocol != loadgen.ProtocolH3 || o.cfg.Streams != 4 || o.cfg.RootCAs == nil || o.cfg.InsecureSkipVerify {
				t.Errorf("protocol %q streams %d roots %v insecure %v", o.cfg.Protocol, o.cfg.Streams, o.cfg.RootCAs, o.cfg.InsecureSkipVerify)
			}
		}},
		{"h2 over TLS", []string{"--h2", "--insecure", "https://127.0.0.1:8443/"}, func(t *testing.T, o *loadOptions) {
			if o.cfg.Protocol != loadgen.ProtocolH2 || !o.cfg.InsecureSkipVerify {
				t.Errorf("protocol %q insecure %v", o.cfg.Protocol, o.cfg.InsecureSkipVerify)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseLoadArgs(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}

func TestParseLoadArgsErrors(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args   []string
		errHas string
	}{
		{nil, "missing URL"},
		{[]string{"http://a/", "http://b/"}, "one URL expected"},
		{[]string{"--nope", "http://a/"}, "not defined"},
		{[]string{"-c", "x", "http://a/"}, "invalid value"},
		{[]string{"-d", "10", "http://a/"}, "invalid value"},
		{[]string{"-c", "0", "http://a/"}, "connections must be at least 1"},
		{[]string{"-H", "no colon", "http://a/"}, "Name: value"},
		{[]string{"--body-size", "3", "--body-file", "f", "http://a/"}, "exclusive"},
		{[]string{"--body-size", "-1", "http://a/"}, "negative"},
		{[]string{"--body-file", "/does/not/exist", "http://a/"}, "--body-file"},
		{[]string{"ftp://a/"}, "scheme"},
		{[]string{"--close", "--h2", "http://a/"}, "close mode"},
		{[]string{"--h3", "http://a/"}, "h3 needs an https:// URL"},
		{[]string{"--h3", "--h2", "https://a/"}, "exclusive"},
		{[]string{"--ca", "/does/not/exist", "https://a/"}, "--ca"},
		{[]string{"--ca", notPEM, "https://a/"}, "no PEM certificate"},
		{[]string{"--ca", "f", "--insecure", "https://a/"}, "exclusive"},
	}
	for _, tt := range tests {
		_, err := parseLoadArgs(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("parseLoadArgs(%q) error = %v, want one containing %q", tt.args, err, tt.errHas)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("parseLoadArgs(%q): error spans lines: %q", tt.args, err)
		}
	}
	if _, err := parseLoadArgs([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

// runLoad runs "matrix load args" and returns its exit code and output.
func runLoad(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = dispatch(context.Background(), append([]string{"load"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func helloServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "Hello, World!")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCmdLoadJSON(t *testing.T) {
	srv := helloServer(t)
	code, stdout, stderr := runLoad(t, "--json", "-c", "2", "-d", "500ms", "--warmup", "100ms", srv.URL+"/x")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var res loadgen.Result
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("stdout is not one Result: %v\n%s", err, stdout)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); strings.TrimSpace(string(rest)) != "" || dec.More() {
		t.Errorf("stdout has more than the Result: %q", rest)
	}
	if res.Requests == 0 || res.Errors != 0 || res.StatusCodes["200"] != res.Requests || res.Protocol != loadgen.ProtocolH1 ||
		res.Config.Connections != 2 || res.Config.GOMAXPROCS != 1 {
		t.Errorf("result: requests %d errors %d statuses %v protocol %q config %+v", res.Requests, res.Errors, res.StatusCodes, res.Protocol, res.Config)
	}
}

func TestCmdLoadSummary(t *testing.T) {
	srv := helloServer(t)
	code, stdout, stderr := runLoad(t, "-c", "2", "-d", "300ms", "--warmup", "0s", srv.URL)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"GET " + srv.URL + ": 2 connections, http/1.1", "req/s", "latency      min", "p99.9", "errors       0", "status       200: ", "client CPU", "µs/req", "(GOMAXPROCS 1, 1 event loop)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
}

func TestCmdLoadBadInput(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()
	for _, args := range [][]string{
		{"-c"},
		{"--nope", "http://127.0.0.1/"},
		{},
		{"-d", "1s", closed},
	} {
		code, stdout, stderr := runLoad(t, args...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "matrix load: ") {
			t.Errorf("matrix load %q: exit %d, stdout %q, stderr %q; want exit 2 and one line on stderr", args, code, stdout, stderr)
		}
	}
	code, stdout, _ := runLoad(t, "-h")
	if code != 0 || !strings.Contains(stdout, "Usage: matrix load") {
		t.Errorf("-h: exit %d, stdout %q", code, stdout)
	}
}

// --ca verifies a server against the CA file given; without it the
// server's private CA is unknown and the target is refused at once, unless
// --insecure.
func TestCmdLoadCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "Hello, World!")
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	short := []string{"-c", "1", "-d", "300ms", "--warmup", "0s"}
	code, stdout, stderr := runLoad(t, append(short, "--ca", ca, srv.URL)...)
	if code != 0 || !strings.Contains(stdout, "tls          TLS 1.3, TLS_") || !strings.Contains(stdout, "ALPN http/1.1") {
		t.Errorf("--ca: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, _, stderr = runLoad(t, append(short, srv.URL)...)
	if code != 2 || !strings.Contains(stderr, "certificate") {
		t.Errorf("no --ca: exit %d, stderr %q; want 2 and a certificate error", code, stderr)
	}
	if code, _, stderr = runLoad(t, append(short, "--insecure", srv.URL)...); code != 0 {
		t.Errorf("--insecure: exit %d, stderr %q", code, stderr)
	}
}

func TestWriteSummary(t *testing.T) {
	r := &loadgen.Result{
		Requests: 1234567, Errors: 12, RPS: 123456.7, BytesRead: 16049371,
		ErrorsByClass:     map[loadgen.ErrorClass]uint64{loadgen.ClassConnect: 10, loadgen.ClassTimeout: 2, loadgen.ClassRead: 0},
		StatusCodes:       map[string]uint64{"503": 3, "200": 1234567},
		LatencyNs:         loadgen.Latency{Min: 24000, Mean: 163400, P50: 163000, P75: 243000, P90: 300000, P99: 1562000, P999: 3401000, P9999: 14435000, Max: 2_500_000_000},
		ConnectionsOpened: 66, Reconnects: 2, Retried: 1, Protocol: loadgen.ProtocolH1, DurationNs: int64(10 * time.Second),
		ClientCPUNs: 6_172_835_000, Backlog: 7, EndedEarly: "no connection could be opened",
		Config: loadgen.ResultConfig{URL: "http://h/", Method: "GET", Connections: 64, WarmupNs: int64(time.Second), Rate: 200000, GOMAXPROCS: 1},
	}
	var b strings.Builder
	writeSummary(&b, r)
	got := b.String()
	for _, want := range []string{
		"GET http://h/: 64 connections, http/1.1, 10s measured after 1s warmup",
		"1,234,567 ok, 123,457 req/s (target 200,000 req/s, backlog 7), 16,049,371 body bytes",
		"min 24.0µs  p50 163µs  p75 243µs  p90 300µs  p99 1.56ms  p99.9 3.40ms  p99.99 14.4ms  max 2.50s  mean 163µs",
		"errors       12 (connect 10, timeout 2)",
		"status       200: 1,234,567, 503: 3",
		"66 opened, 2 reconnects, 1 retried",
		"6.17s, 5.00µs/req (GOMAXPROCS 1, a goroutine per connection)",
		"ENDED EARLY  no connection could be opened",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "event loops  ") {
		t.Errorf("summary of a run without hand-off has an event loops line:\n%s", got)
	}

	// Closed-loop, on event loops that handed their slots over.
	r.Config.Rate, r.Config.GOMAXPROCS, r.Config.EventLoops = 0, 2, 2
	r.SlotsHandedOff, r.HandOffReason = 64, "after 1.2s of the run: the server closed a connection without announcing it"
	b.Reset()
	writeSummary(&b, r)
	got = b.String()
	for _, want := range []string{
		"6.17s, 5.00µs/req (GOMAXPROCS 2, 2 event loops)",
		"event loops  handed 64 connections to goroutines after 1.2s of the run: the server closed a connection without announcing it",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

func TestFormatProgress(t *testing.T) {
	got := formatProgress(loadgen.Progress{Elapsed: 2500 * time.Millisecond, Warmup: true, Requests: 1234, Errors: 5, RPS: 45678.4})
	if want := "  2.5s warmup  45,678 req/s  1234 requests  5 errors"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
