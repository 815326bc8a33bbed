// Command gin serves the matrix contract with github.com/gin-gonic/gin
// on net/http: HTTP/1.1 and, on the same port, HTTP/2 over cleartext TCP with
// prior knowledge (RFC 9113 section 3.3).
//
// The contract: GET / answers "Hello, World!" as text/plain, GET /json
// answers {"message":"Hello, World!"} as application/json, and POST /upload
// reads the whole request body and answers its length in bytes as decimal
// text. The server listens on $HOST:$PORT (HOST empty means every interface)
// and exits within a second of SIGTERM or SIGINT. With TLS_CERT and TLS_KEY
// set (PEM paths) it serves TLS instead, offering h2 and http/1.1 by ALPN.
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

	"github.com/gin-gonic/gin"
)

// framework and module name the engine in the -version output ("gin <version>")
// and in the startup line; the version is read from the build information.
const (
	framework = "gin"
	module    = "github.com/gin-gonic/gin"
)

// shutdownGrace bounds how long in-flight requests may run after SIGTERM;
// the runner's own grace period is longer, so the server always exits first.
const shutdownGrace = time.Second

func main() {
	version := flag.Bool("version", false, "print the framework name and version, then exit")
	flag.Parse()
	if *version {
		fmt.Println(framework, moduleVersion(module))
		return
	}
	if err := run(); err != nil {
		log.Fatalf("gin: %v", err)
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
	log.Printf("gin: %s %s listening on %s (%s)", module, moduleVersion(module), ln.Addr(), protos)

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

type message struct {
	Message string `json:"message"`
}

// helloJSON serialises the /json body per request, as a real handler would.
func helloJSON() ([]byte, error) {
	return json.Marshal(message{Message: "Hello, World!"})
}

func newHandler() http.Handler {
	// Release mode: no debug route dump; gin.New: no logger or recovery
	// middleware, so the column measures the engine, not its access log.
	gin.SetMode(gin.ReleaseMode)
	g := gin.New()
	g.GET("/", func(c *gin.Context) {
		c.Data(http.StatusOK, "text/plain", []byte("Hello, World!"))
	})
	g.GET("/json", func(c *gin.Context) {
		b, err := helloJSON()
		if err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.Data(http.StatusOK, "application/json", b)
	})
	g.POST("/upload", func(c *gin.Context) {
		n, err := io.Copy(io.Discard, c.Request.Body)
		if err != nil {
			c.String(http.StatusBadRequest, "reading body: "+err.Error())
			return
		}
		c.Data(http.StatusOK, "text/plain", strconv.AppendInt(nil, n, 10))
	})
	return g
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
