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
	run, err := results.ReadRun(runDir)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var diff *compare.Result
	if baseDir != "" {
		base, err := results.ReadRun(baseDir)
		if err != nil {
			return fmt.Errorf("report: base run: %w", err)
		}
		diff = compare.Diff(base, run, compare.Options{})
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return writePage(run, diff, "", run.Run().WriteFile)
}

// writePage renders run (with diff, when not nil) as report.html and
// summary.md and hands each to write by name. A non-empty title names the
// page in place of the run's ID and heads the summary.
func writePage(run *results.RunData, diff *compare.Result, title string, write func(name string, data []byte) error) error {
	dir := run.Run()
	page := build(run, func(c *results.Cell) (string, string) { return logTail(dir, c) }, diff)
	var md bytes.Buffer
	if title != "" {
		page.RunID = title
		fmt.Fprintf(&md, "# matrix ab %s\n\nHEAD's side below; the verdict is on the pairs of adjacent repeats (ABBA order).\n\n", title)
	}
	html, err := RenderHTML(page)
	if err != nil {
		return err
	}
	if err := write(HTMLFile, html); err != nil {
		return err
	}
	if err := writeSummary(&md, run, diff); err != nil {
		return err
	}
	return write(SummaryFile, md.Bytes())
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

// WriteAB writes report.html and summary.md of the A/B run in dir: HEAD's
// side drawn as a run, with the paired verdict against BASE's side (see
// compare.Options.Paired) in place of a diff between runs. threshold is
// the A/B's threshold; 0 means the one the run recorded.
func WriteAB(ctx context.Context, dir string, threshold float64) error {
	ab, base, head, err := results.ReadABRuns(dir)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if threshold == 0 {
		threshold = ab.Threshold
	}
	diff := compare.Diff(base, head, compare.Options{Paired: true, Threshold: threshold})
	if err := ctx.Err(); err != nil {
		return err
	}
	return writePage(head, diff, abTitle(ab), func(name string, data []byte) error {
		return results.WriteFileAtomic(filepath.Join(dir, name), data, 0o644)
	})
}

// abTitle names an A/B run by its revisions: "main (1a2b3c4) vs HEAD
// (5d6e7f8, working tree)".
func abTitle(ab *results.AB) string {
	side := func(s results.ABSide) string {
		c := s.Commit
		if len(c) > 7 {
			c = c[:7]
		}
		if s.WorkTree {
			c += ", working tree"
		}
		return fmt.Sprintf("%s (%s)", s.Rev, c)
	}
	return fmt.Sprintf("%s: %s vs %s", ab.RunID, side(ab.Base), side(ab.Head))
}
