// Command hertz serves the matrix contract with github.com/cloudwego/hertz
// over HTTP/1.1 (HTTP/2 lives in a separate contrib module, not used here).
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
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/app/server"
	"github.com/cloudwego/hertz/pkg/common/hlog"
	"github.com/cloudwego/hertz/pkg/protocol/consts"
)

// framework and module name the engine in the -version output ("hertz <version>")
// and in the startup line; the version is read from the build information.
const (
	framework = "hertz"
	module    = "github.com/cloudwego/hertz"
)

// maxBody is larger than any scenario's body; hertz buffers the whole body
// before the handler runs (no streaming body is configured).
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
		log.Fatalf("hertz: %v", err)
	}
}

func run() error {
	addr, err := listenAddr()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	// Hertz logs every connection error at info level; warnings are enough.
	hlog.SetLevel(hlog.LevelWarn)
	h := server.New(
		server.WithHostPorts(addr),
		server.WithMaxRequestBodySize(maxBody),
		server.WithExitWaitTime(shutdownGrace),
		server.WithDisablePrintRoute(true),
	)
	route(h)
	log.Printf("hertz: %s %s listening on %s (h1)", module, moduleVersion(module), addr)

	// Run, not Spin: Spin installs its own signal handling.
	errc := make(chan error, 1)
	go func() { errc <- h.Run() }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := h.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

type message struct {
	Message string `json:"message"`
}

func route(h *server.Hertz) {
	h.GET("/", func(_ context.Context, c *app.RequestContext) {
		c.Data(consts.StatusOK, "text/plain", []byte("Hello, World!"))
	})
	h.GET("/json", func(_ context.Context, c *app.RequestContext) {
		// Serialised per request, as a real handler would.
		b, err := json.Marshal(message{Message: "Hello, World!"})
		if err != nil {
			c.String(consts.StatusInternalServerError, err.Error())
			return
		}
		c.Data(consts.StatusOK, "application/json", b)
	})
	h.POST("/upload", func(_ context.Context, c *app.RequestContext) {
		n := len(c.Request.Body())
		c.Data(consts.StatusOK, "text/plain", strconv.AppendInt(nil, int64(n), 10))
	})
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
