package main

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matrixbench/matrix/loadgen"
	"github.com/quic-go/quic-go/http3"
)

// TestCmdLoadH3: matrix load --h3 against quic-go's HTTP/3 server, the
// certificate verified with --ca; without --ca the URL is unreachable.
func TestCmdLoadH3(t *testing.T) {
	ts := httptest.NewTLSServer(nil) // a certificate for 127.0.0.1, self-signed
	ts.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http3.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "Hello, World!") }),
		TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: ts.TLS.Certificates}),
	}
	go hs.Serve(udp)
	defer func() {
		hs.Close()
		udp.Close()
	}()
	url := "https://" + udp.LocalAddr().String() + "/"

	code, stdout, stderr := runLoad(t, "--h3", "--ca", caFile, "--streams", "4", "--json", "-c", "2", "-d", "500ms", "--warmup", "100ms", url)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r loadgen.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not a result: %v\n%s", err, stdout)
	}
	if r.Requests == 0 || r.Errors != 0 || r.Protocol != loadgen.ProtocolH3 || r.QUICVersion != "v1" || r.TLS == nil || r.TLS.ALPN != "h3" {
		t.Errorf("requests %d errors %d protocol %q QUIC %q TLS %+v", r.Requests, r.Errors, r.Protocol, r.QUICVersion, r.TLS)
	}

	code, _, stderr = runLoad(t, "--h3", "-c", "1", "-d", "500ms", url)
	if code != 2 || !strings.Contains(stderr, "unreachable") {
		t.Errorf("without --ca: exit %d, %q; want 2 and unreachable (certificate not verified)", code, stderr)
	}
}
