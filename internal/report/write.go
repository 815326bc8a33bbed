// Package report shows runs to people: report.html (a heatmap of the
// matrix, latency percentile curves drawn from the merged HdrHistograms,
// the provenance of the run and, against a base run, the diff) and
// summary.md for CI logs; and the history of every cell over the last
// runs.
//
// report.html is one self-contained file: inline CSS and SVG, no script
// (its Content-Security-Policy forbids any), so it opens offline and a
// string from a result or a log can only ever show as text. Every such
// string goes through html/template's escaping.
package report

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"os"
	"path/filepath"

	"github.com/matrixbench/matrix/internal/compare"
	"github.com/matrixbench/matrix/internal/results"
)

// Files written into the run directory.
const (
	HTMLFile    = "report.html"
	SummaryFile = "summary.md"
)

//go:embed report.html.tmpl
var templates embed.FS

// pageTemplate is parsed once; parsing cannot fail at run time because
// the tests parse it.
var pageTemplate = template.Must(template.ParseFS(templates, "report.html.tmpl"))

// WriteRun writes report.html and summary.md into runDir. With a non-empty
// baseDir the report also shows the diff against that run. The runner
// calls it when a run ends; `matrix report` calls it on demand.
func WriteRun(ctx context.Context, runDir, baseDir string) error {
	run, err := compare.Load(runDir)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var diff *compare.Result
	if baseDir != "" {
		base, err := compare.Load(baseDir)
		if err != nil {
			return fmt.Errorf("report: base run: %w", err)
		}
		diff = compare.Diff(base, run, compare.Options{})
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	page := build(run, func(c *results.Cell) (string, string) { return logTail(runDir, c) }, diff)
	html, err := RenderHTML(page)
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(runDir, HTMLFile), html); err != nil {
		return err
	}
	var md bytes.Buffer
	if err := writeSummary(&md, run, diff); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(runDir, SummaryFile), md.Bytes())
}

// RenderHTML renders a page. It is separate from WriteRun so that a page
// can be made from values that no result file could hold (the tests give
// a server a name full of markup).
func RenderHTML(p *Page) ([]byte, error) {
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("report: rendering: %w", err)
	}
	return b.Bytes(), nil
}

// writeAtomic writes data to path through a synced temporary file renamed
// over it, so a reader never sees half a report. The temporary name
// follows package results' pattern so that its cleanup finds leftovers.
func writeAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("report: writing %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("report: syncing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
