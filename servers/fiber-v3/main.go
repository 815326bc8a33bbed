// Command fiber-v3 serves the matrix contract with github.com/gofiber/fiber/v3
// over HTTP/1.1 (fiber sits on fasthttp, which has no HTTP/2).
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

	"github.com/gofiber/fiber/v3"
)

// framework and module name the engine in the -version output ("fiber <version>")
// and in the startup line; the version is read from the build information.
const (
	framework = "fiber"
	module    = "github.com/gofiber/fiber/v3"
)

// maxBody is larger than any scenario's body; fiber (through fasthttp)
// buffers the whole body before the handler runs.
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
		log.Fatalf("fiber-v3: %v", err)
	}
}

func run() error {
	addr, err := listenAddr()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	app := newApp()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Printf("fiber-v3: %s %s listening on %s (h1)", module, moduleVersion(module), ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if err := app.ShutdownWithTimeout(shutdownGrace); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

type message struct {
	Message string `json:"message"`
}

func newApp() *fiber.App {
	app := fiber.New(fiber.Config{BodyLimit: maxBody})
	app.Get("/", func(c fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "text/plain")
		return c.SendString("Hello, World!")
	})
	app.Get("/json", func(c fiber.Ctx) error {
		// Serialised per request, as a real handler would.
		b, err := json.Marshal(message{Message: "Hello, World!"})
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "application/json")
		return c.Send(b)
	})
	app.Post("/upload", func(c fiber.Ctx) error {
		// The raw body as received: c.Body would decode a Content-Encoding.
		n := len(c.Request().Body())
		c.Set(fiber.HeaderContentType, "text/plain")
		return c.SendString(strconv.Itoa(n))
	})
	return app
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
