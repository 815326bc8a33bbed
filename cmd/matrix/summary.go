package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/matrixbench/matrix/internal/results"
)

// Values of run's --fail-on: which cells make the exit code 1.
const (
	// failOnSuspect fails on dnf, suspect and interrupted cells: a script
	// that publishes figures wants every one of them ok.
	failOnSuspect = "suspect"
	// failOnDNF fails only when a cell did not produce a result (dnf or
	// interrupted): suspect cells have figures, marked with their reason.
	failOnDNF = "dnf"
)

// checkFailOn validates a --fail-on value.
func checkFailOn(v string) error {
	if v != failOnSuspect && v != failOnDNF {
		return fmt.Errorf("--fail-on %q: want %s or %s", v, failOnSuspect, failOnDNF)
	}
	return nil
}

// cellsFailed reports whether counts hold a cell that --fail-on failOn
// counts as a failure.
func cellsFailed(counts map[results.Status]int, failOn string) bool {
	n := counts[results.StatusDNF] + counts[results.StatusInterrupted]
	if failOn != failOnDNF {
		n += counts[results.StatusSuspect]
	}
	return n > 0
}

// printSummary ends a run's output with what happened: the cells by
// status, and every cell that is not ok with its reason and detail, so a
// first run explains itself without opening a file.
func printSummary(w io.Writer, run *results.Run, man *results.Manifest) {
	counts := map[results.Status]int{}
	var notOK []results.CellRef
	for _, ref := range man.Cells {
		counts[ref.Status]++
		if ref.Status != results.StatusOK {
			notOK = append(notOK, ref)
		}
	}
	parts := []string{fmt.Sprintf("%d ok", counts[results.StatusOK])}
	for _, st := range []results.Status{results.StatusSuspect, results.StatusDNF, results.StatusSkipped, results.StatusInterrupted} {
		if counts[st] > 0 || st == results.StatusSuspect || st == results.StatusDNF {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	if counts[""] > 0 {
		parts = append(parts, fmt.Sprintf("%d without a result", counts[""]))
	}
	fmt.Fprintf(w, "\nsummary: %d cells: %s\n", len(man.Cells), strings.Join(parts, ", "))
	for _, ref := range notOK {
		status := string(ref.Status)
		if status == "" {
			status = "missing"
		}
		line := fmt.Sprintf("  %-11s %-36s %s", status, ref.ID, ref.Reason)
		if c, err := run.ReadCell(ref.Server, ref.Scenario); err == nil && c.Detail != "" {
			line += ": " + firstLine(c.Detail)
		}
		fmt.Fprintln(w, line)
	}
	if counts[results.StatusSuspect] > 0 {
		fmt.Fprintln(w, "  suspect cells have figures, marked with why they might not be the server's (docs/results.md)")
	}
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
