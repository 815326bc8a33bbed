package runner

import (
	"strings"
	"testing"

	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/loadgen"
)

func TestClassifyRepeat(t *testing.T) {
	base := func() *results.Measurement {
		return &results.Measurement{Requests: 1000, RPS: 1000, DurationNs: 1e9, ClientCPUNs: 1e8,
			ErrorsByClass: map[loadgen.ErrorClass]uint64{}, Config: results.MeasurementConfig{GOMAXPROCS: 1}}
	}
	tests := []struct {
		name   string
		change func(*results.Measurement)
		status results.Status
		reason results.Reason
	}{
		{"ok", func(*results.Measurement) {}, results.StatusOK, ""},
		{"all errors", func(r *results.Measurement) {
			r.Requests, r.RPS, r.Errors = 0, 0, 50
			r.ErrorsByClass[loadgen.ClassStatus] = 50
		}, results.StatusDNF, results.ReasonAllErrors},
		{"over budget", func(r *results.Measurement) { r.Errors = 100 }, results.StatusSuspect, results.ReasonErrorBudget},
		{"client bound", func(r *results.Measurement) { r.ClientCPUNs = 99e7 }, results.StatusSuspect, results.ReasonClientBound},
		{"rate met", func(r *results.Measurement) { r.Config.Rate = 1020 }, results.StatusOK, ""},
		{"rate not met", func(r *results.Measurement) { r.Config.Rate = 5000 }, results.StatusSuspect, results.ReasonRateNotMet},
		{"protocol mismatch", func(r *results.Measurement) { r.ProtocolMismatch = "asked for h2" }, results.StatusSuspect, results.ReasonProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			tt.change(r)
			st, reason, _ := classifyRepeat(r, 0.05)
			if st != tt.status || reason != tt.reason {
				t.Errorf("got %s/%s, want %s/%s", st, reason, tt.status, tt.reason)
			}
		})
	}
}

// TestClassifyRepeatDominantTie checks that a repeat's detail names the
// class the cell's summary names when classes tie: the first in
// loadgen.ErrorClasses (timeout), not the first alphabetically (protocol).
func TestClassifyRepeatDominantTie(t *testing.T) {
	r := &results.Measurement{Errors: 40, ErrorsByClass: map[loadgen.ErrorClass]uint64{
		loadgen.ClassProtocol: 20, loadgen.ClassTimeout: 20}}
	_, _, detail := classifyRepeat(r, 0.05)
	if !strings.Contains(detail, "most are timeout (20)") {
		t.Errorf("detail %q, want it to name timeout (20)", detail)
	}
	sum, _ := results.Summarize([]results.Repeat{{Index: 1, Result: r}})
	if sum == nil || sum.DominantError != loadgen.ClassTimeout {
		t.Errorf("summary %+v, want dominant error timeout", sum)
	}
}
