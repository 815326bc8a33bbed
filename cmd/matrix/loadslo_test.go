package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/matrixbench/matrix/internal/capacity"
	"github.com/matrixbench/matrix/internal/results"
)

func TestParseObjective(t *testing.T) {
	tests := []struct {
		in     string
		want   capacity.Objective
		errHas string
	}{
		{"p99=10ms", capacity.Objective{P99: 10 * time.Millisecond, ErrorBudget: 0.05}, ""},
		{"p99=10ms, p99.9=50ms,errors=0.001", capacity.Objective{P99: 10 * time.Millisecond, P999: 50 * time.Millisecond, ErrorBudget: 0.001}, ""},
		{"p99.9=1s", capacity.Objective{P999: time.Second, ErrorBudget: 0.05}, ""},
		{"errors=0.01", capacity.Objective{}, "needs p99 or p99.9"},
		{"p95=10ms", capacity.Objective{}, `unknown key "p95"`},
		{"p99", capacity.Objective{}, "KEY=VALUE"},
		{"p99=10", capacity.Objective{}, "p99=10: time: missing unit"},
		{"p99=-1ms", capacity.Objective{}, "not positive"},
		{"p99=1ms,errors=2", capacity.Objective{}, "not between 0 and 1"},
	}
	for _, tt := range tests {
		got, err := parseObjective(tt.in)
		if tt.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), "--slo") {
				t.Errorf("parseObjective(%q) error = %v, want one naming --slo and containing %q", tt.in, err, tt.errHas)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseObjective(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, args := range [][]string{
		{"--slo", "p99=1ms", "--rate", "100", "http://a/"},
		{"--slo", "p99=1ms", "--max-steps", "1", "http://a/"},
		{"--slo", "p99=1ms", "--step", "0s", "http://a/"},
	} {
		if _, err := parseLoadArgs(args); err == nil {
			t.Errorf("parseLoadArgs(%q) accepted", args)
		}
	}
}

// TestCmdLoadSLO searches a server whose latency is fine at any rate
// (the search runs out of steps: a lower bound), then asks for an
// objective no round trip can meet (unmeetable, exit 1, no capacity).
func TestCmdLoadSLO(t *testing.T) {
	srv := helloServer(t)
	code, stdout, stderr := runLoad(t, "--slo", "p99=200ms", "--slo-start", "50", "--max-steps", "3",
		"--step", "300ms", "--step-warmup", "50ms", "-c", "4", srv.URL)
	if code != 0 || strings.Count(stderr, "\nstep ")+1 != 3 || !strings.HasPrefix(stderr, "step  1:") {
		t.Fatalf("exit %d, want 0 and one stderr line per step:\n%s", code, stderr)
	}
	// The capacity is the rate asked or the req/s achieved when lower
	// (at least 95 % of it, or the step would not have held).
	for _, want := range []string{`objective p99 200ms`, `\n  capacity +(19[0-9]|200) req/s \(lower-bound`, `\n \*step  3: +200 req/s asked`} {
		if !regexp.MustCompile(want).MatchString(stdout) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = runLoad(t, "--json", "--slo", "p99=1us", "--step", "200ms", "--step-warmup", "50ms", "-c", "2", srv.URL)
	var c results.Capacity
	if err := json.Unmarshal([]byte(stdout), &c); err != nil {
		t.Fatalf("stdout is not a capacity record: %v\n%s", err, stdout)
	}
	if code != 1 || c.Outcome != string(capacity.Unmeetable) || c.CapacityRPS != 0 || c.Chosen != -1 || c.From != "probe" ||
		!strings.HasPrefix(stderr, "probe: ") {
		t.Errorf("exit %d, record %+v, stderr %q", code, c, stderr)
	}
}
