// Command go-quic serves the matrix contract over HTTP/3 with quic-go's
// http3 server, and over HTTP/1.1 and HTTP/2 with net/http.
//
// With TLS_CERT and TLS_KEY set (PEM paths: the certificate chain and its
// key), it serves QUIC on UDP $PORT (HTTP/3, ALPN h3, RFC 9114) and TLS on
// TCP $PORT (ALPN h2 and http/1.1), both with that certificate. Without
// them it serves HTTP/1.1 and prior-knowledge HTTP/2 (h2c) in cleartext on
// TCP $PORT, as go-stdlib does.
//
// The contract: GET / answers "Hello, World!" as text/plain, GET /json
// answers {"message":"Hello, World!"} as application/json, and POST /upload
// reads the whole request body and answers its length in bytes as decimal
// text. The server listens on $HOST:$PORT (HOST empty means every interface)
// and exits within a second of SIGTERM or SIGINT.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// shutdownGrace bounds how long in-flight requests may run after SIGTERM.
const shutdownGrace = time.Second

func main() {
	version := flag.Bool("version", false, "print the framework name and version, then exit")
	flag.Parse()
	if *version {
		fmt.Println("quic-go", quicGoVersion())
		return
	}
	if err := run(); err != nil {
		log.Fatalf("go-quic: %v", err)
	}
}

// quicGoVersion reads quic-go's version from the binary's build
// information, so that it cannot drift from go.mod.
func quicGoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/quic-go/quic-go" {
				return m.Version
			}
		}
	}
	return "unknown"
}

func run() error {
	addr, err := listenAddr()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	certFile, keyFile := os.Getenv("TLS_CERT"), os.Getenv("TLS_KEY")
	if (certFile == "") != (keyFile == "") {
		return errors.New("TLS_CERT and TLS_KEY must be set together")
	}
	h := newHandler()
	srv := &http.Server{Addr: addr, Handler: h}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	errc := make(chan error, 2)
	var h3 *http3.Server
	if certFile == "" {
		srv.Protocols.SetUnencryptedHTTP2(true)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		log.Printf("go-quic: listening on %s (h1, h2c)", ln.Addr())
		go func() { errc <- srv.Serve(ln) }()
	} else {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("TLS_CERT/TLS_KEY: %w", err)
		}
		srv.Protocols.SetHTTP2(true)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen UDP: %w", err)
		}
		h3 = &http3.Server{Handler: h, TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}})}
		log.Printf("go-quic: listening on %s (h1s, h2 over TLS; h3 over QUIC)", ln.Addr())
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
		go func() { errc <- h3.Serve(udp) }()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if h3 != nil {
		// Shutdown sends GOAWAY on every connection (RFC 9114 5.2).
		if err := h3.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			log.Printf("go-quic: HTTP/3 shutdown: %v", err)
		}
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// listenAddr builds the listen address from $HOST and $PORT.
func listenAddr() (string, error) {
	port := os.Getenv("PORT")
	if port == "" {
		return "", errors.New("PORT is not set")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("PORT %q: not a port number", port)
	}
	return net.JoinHostPort(os.Getenv("HOST"), port), nil
}

type message struct {
	Message string `json:"message"`
}

func newHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, World!")
	})
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		// Serialised per request, as a real handler would.
		b, err := json.Marshal(message{Message: "Hello, World!"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strconv.FormatInt(n, 10))
	})
	return mux
}
