package loadgen

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/qpack"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/quicvarint"
)

// testCA makes a throwaway CA and a certificate for 127.0.0.1 and
// localhost signed by it: the server's TLS configuration (offering alpn)
// and the pool a client verifies it with.
func testCA(t testing.TB, alpn ...string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loadgen test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos:   alpn,
	}, pool
}

// h3Behaviour says how the test HTTP/3 server misbehaves; the zero value
// serves the contract (servers/README.md) correctly.
type h3Behaviour struct {
	quic quic.Config
	// goawayAfter sends GOAWAY after that many requests on a connection,
	// resets later streams with H3_REQUEST_REJECTED and closes the
	// connection once the earlier ones are answered (RFC 9114 5.2).
	goawayAfter int
	// closeAfter closes the connection (CONNECTION_CLOSE with an error)
	// when request closeAfter+1 arrives, with it unanswered.
	closeAfter int
	// status answers every request with this status (0: 200).
	status int
	// rawStatus, when set, is sent as the :status value as it is.
	rawStatus string
	// delay holds every response this long.
	delay time.Duration
	// control, when set, replaces what follows the control stream's type
	// (an empty SETTINGS frame).
	control []byte
	// silentUni opens a unidirectional stream that never sends its type.
	silentUni bool
}

// h3TestServer is an HTTP/3 server on raw quic-go streams, with QPACK from
// quic-go/qpack: an implementation independent of the client's.
type h3TestServer struct {
	t    testing.TB
	b    h3Behaviour
	udp  *net.UDPConn
	tr   *quic.Transport
	ln   *quic.Listener
	pool *x509.CertPool
	URL  string

	requests atomic.Int64 // requests answered, on every connection
	conns    atomic.Int64 // connections accepted
	wg       sync.WaitGroup
	killed   atomic.Bool
}

func newH3TestServer(t testing.TB, b h3Behaviour) *h3TestServer {
	t.Helper()
	tc, pool := testCA(t, "h3")
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	// A stateless reset key, as servers in production have: packets for
	// a connection the server has forgotten are answered with a
	// stateless reset (RFC 9000 10.3).
	var key quic.StatelessResetKey
	rand.Read(key[:])
	s := &h3TestServer{t: t, b: b, udp: udp, pool: pool, tr: &quic.Transport{Conn: udp, StatelessResetKey: &key}}
	s.ln, err = s.tr.Listen(tc, &s.b.quic)
	if err != nil {
		t.Fatal(err)
	}
	s.URL = "https://" + udp.LocalAddr().String() + "/"
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *h3TestServer) close() {
	s.ln.Close()
	s.tr.Close()
	s.udp.Close()
	s.wg.Wait()
}

// kill closes the server's socket without a word to the clients, as a
// killed process would.
func (s *h3TestServer) kill() {
	s.killed.Store(true)
	s.udp.Close()
}

func (s *h3TestServer) accept() {
	defer s.wg.Done()
	for {
		qc, err := s.ln.Accept(context.Background())
		if err != nil {
			return
		}
		s.conns.Add(1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(qc)
		}()
	}
}

func (s *h3TestServer) serveConn(qc *quic.Conn) {
	ctl, err := qc.OpenUniStream()
	if err != nil {
		return
	}
	// Control stream: type, then SETTINGS with no parameters.
	if s.b.control != nil {
		ctl.Write(append([]byte{h3StreamControl}, s.b.control...))
	} else {
		ctl.Write([]byte{h3StreamControl, h3FrameSettings, 0})
	}
	if s.b.silentUni {
		if u, err := qc.OpenUniStream(); err == nil {
			defer u.Close()
		}
	}
	go func() {
		for {
			str, err := qc.AcceptUniStream(context.Background())
			if err != nil {
				return
			}
			go io.Copy(io.Discard, str)
		}
	}()
	var n atomic.Int64
	var inflight sync.WaitGroup
	var goaway sync.Once
	for {
		str, err := qc.AcceptStream(context.Background())
		if err != nil {
			break
		}
		i := n.Add(1)
		switch {
		case s.b.goawayAfter > 0 && i > int64(s.b.goawayAfter):
			goaway.Do(func() {
				id := uint64(str.StreamID())
				f := appendH3Frame(nil, h3FrameGoaway, quicvarint.Len(id))
				ctl.Write(quicvarint.Append(f, id))
				go func() {
					inflight.Wait()
					time.Sleep(20 * time.Millisecond)
					qc.CloseWithError(h3NoError, "")
				}()
			})
			str.CancelRead(h3RequestRejected)
			str.CancelWrite(h3RequestRejected)
			continue
		case s.b.closeAfter > 0 && i > int64(s.b.closeAfter):
			io.Copy(io.Discard, io.LimitReader(str, 1))
			qc.CloseWithError(h3GeneralProtocolError+1, "closed mid-stream on purpose")
			return
		}
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			s.serveStream(str)
		}()
	}
	inflight.Wait()
}

// serveStream reads one request and answers it.
func (s *h3TestServer) serveStream(str *quic.Stream) {
	buf := make([]byte, 4096)
	f := h3Reader{r: str, buf: buf}
	var method string
	body := 0
	for {
		typ, n, err := f.frameHeader()
		if err == io.EOF {
			break
		}
		if err != nil {
			str.CancelWrite(h3RequestIncomplete)
			return
		}
		switch typ {
		case h3FrameHeaders:
			p, err := f.payload(n)
			if err != nil {
				str.CancelWrite(h3MessageError)
				return
			}
			dec := qpack.NewDecoder().Decode(p)
			for {
				hf, err := dec()
				if err != nil {
					break
				}
				if hf.Name == ":method" {
					method = hf.Value
				}
			}
		default:
			if err := f.skip(n); err != nil {
				str.CancelWrite(h3RequestIncomplete)
				return
			}
			if typ == h3FrameData {
				body += int(n)
			}
		}
	}
	if s.b.delay > 0 {
		time.Sleep(s.b.delay)
	}
	text := "Hello, World!"
	if method == "POST" {
		text = strconv.Itoa(body)
	}
	status := "200"
	if s.b.status != 0 {
		status = strconv.Itoa(s.b.status)
	}
	if s.b.rawStatus != "" {
		status = s.b.rawStatus
	}
	var hb h3Buf
	enc := qpack.NewEncoder(&hb)
	enc.WriteField(qpack.HeaderField{Name: ":status", Value: status})
	enc.WriteField(qpack.HeaderField{Name: "content-type", Value: "text/plain"})
	enc.WriteField(qpack.HeaderField{Name: "content-length", Value: strconv.Itoa(len(text))})
	out := appendH3Frame(nil, h3FrameHeaders, len(hb))
	out = append(out, hb...)
	out = appendH3Frame(out, h3FrameData, len(text))
	out = append(out, text...)
	str.Write(out)
	str.Close()
	s.requests.Add(1)
}

// h3RequestIncomplete is H3_REQUEST_INCOMPLETE (RFC 9114 8.1).
const h3RequestIncomplete = 0x10d

// h3Buf is an io.Writer appending to a byte slice.
type h3Buf []byte

func (b *h3Buf) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// h3Config is a client Config for srv.
func h3Config(srv *h3TestServer, conns, streams int, d time.Duration) Config {
	return Config{
		URL: srv.URL, Protocol: ProtocolH3, Connections: conns, Streams: streams,
		Duration: d, Timeout: 2 * time.Second, RootCAs: srv.pool,
	}
}
