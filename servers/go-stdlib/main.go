// Command go-stdlib serves the matrix contract with the standard library's
// net/http alone: HTTP/1.1 and, on the same port, HTTP/2 over cleartext TCP
// with prior knowledge (RFC 9113 section 3.3).
//
// The contract: GET / answers "Hello, World!" as text/plain, GET /json
// answers {"message":"Hello, World!"} as application/json, and POST /upload
// reads the whole request body and answers its length in bytes as decimal
// text. The server listens on $HOST:$PORT (HOST empty means every interface)
// and exits within a second of SIGTERM or SIGINT. With TLS_CERT and TLS_KEY
// set (PEM paths) it serves TLS instead, offering h2 and http/1.1 by ALPN.
// With GOAWAY_EVERY=N set, it ends every HTTP/2 connection with a GOAWAY
// after N streams.
package main

import (
	"context"
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
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// framework names the engine in the -version output and the results.
const framework = "net/http"

// shutdownGrace bounds how long in-flight requests may run after SIGTERM;
// the runner's own grace period is longer, so the server always exits first.
const shutdownGrace = time.Second

func main() {
	version := flag.Bool("version", false, "print the framework name and version, then exit")
	flag.Parse()
	if *version {
		fmt.Println(framework, runtime.Version())
		return
	}
	if err := run(); err != nil {
		log.Fatalf("go-stdlib: %v", err)
	}
}

func run() error {
	addr, err := listenAddr()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	srv := &http.Server{Addr: addr, Handler: newHandler()}
	if n, err := strconv.ParseInt(os.Getenv("GOAWAY_EVERY"), 10, 64); err == nil && n > 0 {
		goawayEvery(srv, n)
	}
	// With TLS_CERT and TLS_KEY set (a TLS cell), the port serves TLS and
	// offers h2 and http/1.1 by ALPN (RFC 9113 3.2); without them it serves
	// cleartext HTTP/1.1 and h2c with prior knowledge, which net/http
	// speaks itself since Go 1.24 (the x/net/http2/h2c wrapper is
	// deprecated in its favour).
	cert, key := os.Getenv("TLS_CERT"), os.Getenv("TLS_KEY")
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	protos := "h1, h2c"
	if cert != "" {
		srv.Protocols.SetHTTP2(true)
		protos = "TLS: h1s, h2"
	} else {
		srv.Protocols.SetUnencryptedHTTP2(true)
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Printf("go-stdlib: %s %s listening on %s (%s)", framework, runtime.Version(), ln.Addr(), protos)

	errc := make(chan error, 1)
	go func() {
		if cert != "" {
			errc <- srv.ServeTLS(ln, cert, key)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
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

// streamsKey keys a connection's stream counter in its context.
type streamsKey struct{}

// goawayEvery makes the server end every HTTP/2 connection gracefully after
// n streams, as nginx's keepalive_requests does: the nth response carries
// "Connection: close", which net/http's HTTP/2 server turns into a GOAWAY
// (RFC 9113 6.8). Opt-in through GOAWAY_EVERY, for scripts/soak.sh.
func goawayEvery(srv *http.Server, n int64) {
	srv.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, streamsKey{}, new(atomic.Int64))
	}
	h := srv.Handler
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(streamsKey{}).(*atomic.Int64); ok && r.ProtoMajor == 2 && c.Add(1)%n == 0 {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
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
