// Command fasthttp serves the matrix contract with github.com/valyala/fasthttp
// over HTTP/1.1 (fasthttp has no HTTP/2).
//
// The contract: GET / answers "Hello, World!" as text/plain, GET /json
// answers {"message":"Hello, World!"} as application/json, and POST /upload
// reads the whole request body and answers its length in bytes as decimal
// text. The server listens on $HOST:$PORT (HOST empty means every interface)
// and exits within a second of SIGTERM or SIGINT. With TLS_CERT and TLS_KEY
// set (PEM paths) it serves HTTP/1.1 over TLS instead (crypto/tls, which
// fasthttp wraps; ALPN http/1.1).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// framework and module name the engine in the -version output ("fasthttp <version>")
// and in the startup line; the version is read from the build information.
const (
	framework = "fasthttp"
	module    = "github.com/valyala/fasthttp"
)

// maxBody is larger than any scenario's body; fasthttp buffers the whole
// body before the handler runs, so the handler sees every byte.
const maxBody = 16 << 20

const shutdownGrace = time.Second

func main() {
	version := flag.Bool("version", false, "print the framework name and version, then exit")
	flag.Parse()
	if *version {
		fmt.Println(framework, moduleVersion(module))
		return
	}
	if err := run(); err != nil {
		log.Fatalf("fasthttp: %v", err)
	}
}

func run() error {
	addr, err := listenAddr()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	srv := &fasthttp.Server{
		Handler:            handle,
		Name:               "fasthttp",
		MaxRequestBodySize: maxBody,
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	cert, key := os.Getenv("TLS_CERT"), os.Getenv("TLS_KEY")
	protos := "h1"
	if cert != "" {
		protos = "TLS: h1s"
	}
	log.Printf("fasthttp: %s %s listening on %s (%s)", module, moduleVersion(module), ln.Addr(), protos)

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
	if err := srv.ShutdownWithContext(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

type message struct {
	Message string `json:"message"`
}

func handle(ctx *fasthttp.RequestCtx) {
	path, method := string(ctx.Path()), string(ctx.Method())
	switch {
	case path == "/" && method == fasthttp.MethodGet:
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("Hello, World!")
	case path == "/json" && method == fasthttp.MethodGet:
		b, err := json.Marshal(message{Message: "Hello, World!"})
		if err != nil {
			ctx.Error(err.Error(), fasthttp.StatusInternalServerError)
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(b)
	case path == "/upload" && method == fasthttp.MethodPost:
		ctx.SetContentType("text/plain")
		ctx.SetBodyString(strconv.Itoa(len(ctx.PostBody())))
	case path == "/" || path == "/json" || path == "/upload":
		ctx.Error("method not allowed", fasthttp.StatusMethodNotAllowed)
	default:
		ctx.NotFound()
	}
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
