package loadgen

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLatencyObeysLittlesLaw checks the latency figures against the
// throughput: with a fixed number of requests in flight, the mean latency
// is in flight / throughput (Little's law). A latency measured from the
// wrong origin (for example a stream never stamped when its body flushed
// the send buffer by itself) breaks it by orders of magnitude, whatever
// the machine's speed.
func TestLatencyObeysLittlesLaw(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	srv := &http.Server{Protocols: &protos, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Write([]byte(strings.Repeat("x", int(n%7))))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/upload"
	tests := []struct {
		name  string
		proto Protocol
		body  int
		conns int
		strms int
	}{
		{"h1 get", ProtocolH1, 0, 8, 0},
		{"h1 post 64k", ProtocolH1, 65536, 8, 0},
		{"h2c get", ProtocolH2C, 0, 2, 16},
		{"h2c post 4k", ProtocolH2C, 4096, 2, 16},
		{"h2c post 64k", ProtocolH2C, 65536, 2, 16},
		{"h2c post 200k", ProtocolH2C, 200000, 2, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), Config{URL: url, Method: "POST", Body: make([]byte, tt.body),
				Protocol: tt.proto, Connections: tt.conns, Streams: tt.strms,
				Warmup: 300 * time.Millisecond, Duration: 1500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests == 0 || res.Errors != 0 {
				t.Fatalf("%d requests, %d errors %v", res.Requests, res.Errors, res.ErrorsByClass)
			}
			inflight := float64(tt.conns * max(tt.strms, 1))
			predicted := inflight / res.RPS * 1e9 // ns
			if got := res.LatencyNs.Mean; got > 3*predicted || got < predicted/3 {
				t.Errorf("mean latency %.0fns, Little's law predicts %.0fns (%v in flight at %.0f req/s)",
					got, predicted, inflight, res.RPS)
			}
			if res.LatencyNs.Max > res.DurationNs+int64(res.Config.WarmupNs) {
				t.Errorf("max latency %dns is longer than the run", res.LatencyNs.Max)
			}
		})
	}
}
