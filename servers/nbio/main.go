// Command nbio serves the matrix contract with github.com/lesismal/nbio's
// nbhttp engine over HTTP/1.1: an epoll event loop with its own HTTP parser
// (no goroutine per connection) calling ordinary net/http handlers. nbhttp
// has no cleartext HTTP/2.
//
// The contract: GET / answers "Hello, World!" as text/plain, GET /json
// answers {"message":"Hello, World!"} as application/json, and POST /upload
// reads the whole request body and answers its length in bytes as decimal
// text. The server listens on $HOST:$PORT (HOST empty means every interface)
// and exits within a second of SIGTERM or SIGINT.
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
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
)

// framework and module name the engine in the -version output ("nbio
// <version>") and in the startup line; the version is read from the build
// information.
const (
	framework = "nbio"
	module    = "github.com/lesismal/nbio"
)

const shutdownGrace = time.Second

func main() {
	version := flag.Bool("version", false, "print the framework name and version, then exit")
	flag.Parse()
	if *version {
		fmt.Println(framework, moduleVersion(module))
		return
	}
	if err := run(); err != nil {
		log.Fatalf("nbio: %v", err)
	}
}

func run() error {
	addr, err := listenAddr()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	// nbio logs every connection open and close at info level.
	logging.SetLevel(logging.LevelWarn)
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{addr},
		Handler: newHandler(),
	})
	if err := engine.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	log.Printf("nbio: %s %s listening on %s (h1)", module, moduleVersion(module), addr)
	<-ctx.Done()

	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := engine.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
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

// moduleVersion reports the version of module path linked into this binary,
// read from the build information so it cannot drift from go.mod.
func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, m := range info.Deps {
		if m.Path == path {
			if m.Replace != nil {
				return m.Replace.Version
			}
			return m.Version
		}
	}
	return "unknown"
}
