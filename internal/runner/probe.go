package runner

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/quic-go/quic-go/http3"
)

// prober speaks to a server with the standard library's clients, outside the
// load generator, to decide readiness and conformance. Using a second,
// independent HTTP implementation here means a load generator bug cannot
// make a broken server look conformant.
type prober struct {
	client *http.Client
	base   string           // scheme://host:port
	h3     *http3.Transport // the h3 prober's transport, closed by close
	// spoke is the protocol of the last response ("HTTP/2.0"), so that
	// `matrix check` can tell a server that declined h2 by ALPN.
	spoke string
}

// newProber returns a prober for addr speaking proto ("h1", "h1s", "h2c",
// "h2" or "h3"). Over TLS it verifies the server's chain against roots, the
// run's CA, so a server that serves another certificate is never ready. An
// h3 prober goes through quic-go's http3 client: an HTTP/3 implementation
// independent of the load generator's.
func newProber(addr, proto string, roots *x509.CertPool) *prober {
	if proto == "h3" {
		rt := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
		return &prober{client: &http.Client{Transport: rt, Timeout: 5 * time.Second}, base: "https://" + addr, h3: rt}
	}
	// Each prober speaks exactly one protocol, so a server that answers
	// on another is not taken for ready.
	var protos http.Protocols
	tr := &http.Transport{DisableKeepAlives: proto == "h1" || proto == "h1s"}
	scheme := "http"
	switch proto {
	case "h2c":
		// Prior knowledge (RFC 9113 3.3): no Upgrade, HTTP/2 from the first byte.
		protos.SetUnencryptedHTTP2(true)
	case "h2":
		// h2 and http/1.1 are offered by ALPN (RFC 7301), h2 preferred:
		// a server that selects http/1.1 is ready and conformant there,
		// and the load generator, which records what was negotiated,
		// marks its h2 cell suspect (protocol) rather than losing its
		// figures to a not-ready.
		scheme = "https"
		protos.SetHTTP1(true)
		protos.SetHTTP2(true)
		tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	case "h1s":
		scheme = "https"
		protos.SetHTTP1(true)
		tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	default:
		protos.SetHTTP1(true)
	}
	tr.Protocols = &protos
	rt := tr
	return &prober{client: &http.Client{Transport: rt, Timeout: 5 * time.Second}, base: scheme + "://" + addr}
}

// close releases the prober's idle connections.
func (p *prober) close() {
	p.client.CloseIdleConnections()
	if p.h3 != nil {
		p.h3.Close()
	}
}

// errExited reports that the server exited while the runner waited for it.
var errExited = errors.New("server exited")

// waitReady polls path until the server answers any HTTP response, the
// timeout passes, or exited is closed (the server is gone: waiting longer
// cannot help, so it stops at once).
func (p *prober) waitReady(ctx context.Context, path string, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = p.ping(ctx, path); last == nil {
			return nil
		}
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return fmt.Errorf("not ready after %v: %w", timeout, last)
		case <-tick.C:
		}
	}
}

func (p *prober) ping(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// contract is what every server in the matrix must serve.
const (
	helloBody = "Hello, World!"
	// uploadProbeSize is over the 65535-byte initial HTTP/2 window and
	// over several 16384-byte frames, so flow control is exercised too.
	uploadProbeSize = 100_000
)

// checkContract verifies the endpoints of the contract and returns every
// deviation found, or nil when the server conforms. POST /upload is
// checked only when upload is set (see measuresUpload).
func (p *prober) checkContract(ctx context.Context, upload bool) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if code, body, err := p.do(ctx, http.MethodGet, "/", nil); err != nil {
		add("GET /: %v", err)
	} else if code != 200 || strings.TrimSpace(body) != helloBody {
		add("GET /: want 200 %q, got %d %q", helloBody, code, clip(body))
	}
	if code, body, err := p.do(ctx, http.MethodGet, "/json", nil); err != nil {
		add("GET /json: %v", err)
	} else {
		var msg struct{ Message string }
		if code != 200 || json.Unmarshal([]byte(body), &msg) != nil || msg.Message != helloBody {
			add(`GET /json: want 200 {"message":%q}, got %d %q`, helloBody, code, clip(body))
		}
	}
	if !upload {
		return problems
	}
	payload := bytes.Repeat([]byte("m"), uploadProbeSize)
	if code, body, err := p.do(ctx, http.MethodPost, "/upload", payload); err != nil {
		add("POST /upload: %v", err)
	} else if n, err := strconv.Atoi(strings.TrimSpace(body)); code != 200 || err != nil || n != uploadProbeSize {
		add("POST /upload of %d bytes: want 200 %q, got %d %q", uploadProbeSize, strconv.Itoa(uploadProbeSize), code, clip(body))
	}
	return problems
}

// measuresUpload reports whether the matrix measures s on an /upload row,
// or has no /upload row that s could have a cell in: false only when
// every /upload row of a protocol s speaks excludes s. A server that cannot
// count a request body (caddy, servers/README.md) is excluded from those
// rows, and its contract is then checked without POST /upload rather than
// failed on an endpoint that no cell of it exercises.
func measuresUpload(m *matrix.Matrix, s matrix.Server) bool {
	rows := 0
	for _, sc := range m.Scenarios {
		if !s.Speaks(sc.Protocol) || strings.SplitN(sc.Path, "?", 2)[0] != "/upload" {
			continue
		}
		rows++
		if !m.Excluded(matrix.CellID(sc.Name, s.Name)) {
			return true
		}
	}
	return rows == 0
}

func (p *prober) do(ctx context.Context, method, path string, body []byte) (int, string, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return 0, "", err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	p.spoke = resp.Proto
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("reading body: %w", err)
	}
	return resp.StatusCode, string(b), nil
}

// clip shortens a body for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
