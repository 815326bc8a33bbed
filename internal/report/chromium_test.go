package report

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matrixbench/matrix/internal/compare/comparetest"
	"github.com/matrixbench/matrix/internal/results"
	"golang.org/x/net/html"
)

// updateScreenshot makes TestChromiumScreenshot copy its screenshot to
// docs/report.png, the one the README shows.
var updateScreenshot = flag.Bool("update-screenshot", false, "write docs/report.png")

// chromium returns the path of a headless-capable Chromium, skipping the
// test when there is none, unless MATRIX_REQUIRE_PEERS=1 (CI), where a
// missing browser fails the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("MATRIX_REQUIRE_PEERS") == "1" {
		t.Fatal("chromium not installed (apt-get install -y chromium) and MATRIX_REQUIRE_PEERS=1")
	}
	t.Skip("chromium not installed (apt-get install -y chromium)")
	return ""
}

// runChromium runs headless Chromium with args on the page at path and
// returns its standard output. It runs in its own process group, killed
// afterwards, so no renderer or zygote outlives the test.
func runChromium(t *testing.T, bin, path string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all := append([]string{"--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
		"--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, "file://"+path)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// loadDOM loads a page in Chromium and parses the DOM it built.
func loadDOM(t *testing.T, bin, path string) *html.Node {
	t.Helper()
	dom := runChromium(t, bin, path, "--dump-dom")
	doc, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatalf("parsing the DOM: %v", err)
	}
	return doc
}

// screenshot saves a PNG of the page and checks that it is one.
func screenshot(t *testing.T, bin, page, out string, width, height int) {
	t.Helper()
	runChromium(t, bin, page, "--screenshot="+out, "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height))
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
		t.Errorf("screenshot is %v, want %dx%d", b, width, height)
	}
}

func TestChromiumHostileNames(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	run := hostileRun(t)
	page, err := RenderHTML(build(run, func(*results.Cell) (string, string) {
		return "x.log", "</pre><script>alert(5)</script>"
	}, nil))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), HTMLFile)
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	doc := loadDOM(t, bin, path)
	if n := len(findAll(doc, func(n *html.Node) bool { return n.Data == "script" })); n != 0 {
		t.Errorf("the DOM has %d script elements", n)
	}
	if cells := findAll(doc, hasAttr("data-cell")); len(cells) != len(run.IDs) {
		t.Errorf("heatmap has %d cells, want %d (one per matrix cell)", len(cells), len(run.IDs))
	}
	var headers []string
	for _, th := range findAll(doc, func(n *html.Node) bool { return n.Data == "th" && attr(n, "scope") == "col" }) {
		headers = append(headers, text(th))
	}
	if strings.Join(headers, "|") != "go-stdlib|"+hostile {
		t.Errorf("column headers %q, want go-stdlib and %q as text", headers, hostile)
	}
}

func TestChromiumScreenshot(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	dir := t.TempDir()
	base := comparetest.Write(t, dir, comparetest.Run{ID: "20260110T020000Z-3f9c2ab", Commit: "3f9c2ab", Cells: fixtureCells(1), Seed: 1})
	head := comparetest.Write(t, dir, comparetest.Run{ID: "20260111T020000Z-8d41e07", Commit: "8d41e07", Cells: fixtureCells(0.7), Seed: 2,
		Created: time.Date(2026, 1, 11, 2, 0, 0, 0, time.UTC)})
	if err := WriteRun(context.Background(), head, base); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(head, HTMLFile)
	doc := loadDOM(t, bin, path)
	if cells := findAll(doc, hasAttr("data-cell")); len(cells) != 12 {
		t.Errorf("heatmap has %d cells, want 12", len(cells))
	}
	if n := len(findAll(doc, func(n *html.Node) bool { return n.Data == "polyline" })); n != 11 {
		t.Errorf("%d latency curves, want 11 (12 cells, one dnf)", n)
	}
	out := filepath.Join(t.TempDir(), "report.png")
	screenshot(t, bin, path, out, 1400, 1640)
	if *updateScreenshot {
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "report.png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// findAll returns the nodes under n for which match holds.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func hasAttr(key string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		for _, a := range n.Attr {
			if a.Key == key {
				return true
			}
		}
		return false
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// text returns the text content of n.
func text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}
