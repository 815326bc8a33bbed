package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/matrixbench/matrix/internal/hostload"
	"github.com/matrixbench/matrix/internal/results"
)

func TestMarkConntrack(t *testing.T) {
	before := hostload.Conntrack{Count: 1000, Max: 262144, Drops: 404}
	full := hostload.Conntrack{Count: 262144, Max: 262144, Drops: 1404}
	for _, tc := range []struct {
		name       string
		in         results.Repeat
		after      hostload.Conntrack
		wantStatus results.Status
		wantReason results.Reason
		wantDetail string // a substring
	}{
		{"no drops leaves ok", results.Repeat{Status: results.StatusOK}, before, results.StatusOK, "", ""},
		{"drops make ok suspect", results.Repeat{Status: results.StatusOK}, full,
			results.StatusSuspect, results.ReasonConntrack, "dropped 1000 packets"},
		{"drops replace another suspect reason", results.Repeat{Status: results.StatusSuspect, Reason: results.ReasonClientBound}, full,
			results.StatusSuspect, results.ReasonConntrack, "nf_conntrack_max 262144"},
		{"a zero is the table's", results.Repeat{Status: results.StatusDNF, Reason: results.ReasonAllErrors, Detail: "0 successes and 0 errors"}, full,
			results.StatusDNF, results.ReasonConntrack, "the repeat: 0 successes and 0 errors"},
		{"interrupted stays", results.Repeat{Status: results.StatusInterrupted, Reason: results.ReasonInterrupted}, full,
			results.StatusInterrupted, results.ReasonInterrupted, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := tc.in
			markConntrack(&rp, before, tc.after)
			if rp.Status != tc.wantStatus || rp.Reason != tc.wantReason || !strings.Contains(rp.Detail, tc.wantDetail) {
				t.Errorf("got %s %s %q; want %s %s with %q", rp.Status, rp.Reason, rp.Detail, tc.wantStatus, tc.wantReason, tc.wantDetail)
			}
		})
	}
}

// TestAwaitConntrack: a repeat starts at once when the table is below
// conntrackBusy, and otherwise waits, saying so, until it is below
// conntrackQuiet; a host without the table never waits.
func TestAwaitConntrack(t *testing.T) {
	const max = 1000
	for _, tc := range []struct {
		name     string
		counts   []int64 // successive readings; -1 for no table
		reads    int     // readings taken
		announce bool    // the wait was printed
	}{
		{"below busy", []int64{600}, 1, false},
		{"no table", []int64{-1}, 1, false},
		{"drains", []int64{700, 500, 301, 299}, 4, true},
		{"table gone while waiting", []int64{900, -1}, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			r := New(Options{Output: Output{Out: &out}})
			n := 0
			r.conntrack = func() (hostload.Conntrack, bool) {
				c := tc.counts[min(n, len(tc.counts)-1)]
				n++
				return hostload.Conntrack{Count: c, Max: max}, c >= 0
			}
			r.awaitConntrack(context.Background())
			if n != tc.reads {
				t.Errorf("%d readings, want %d", n, tc.reads)
			}
			if got := strings.Contains(out.String(), "waiting up to"); got != tc.announce {
				t.Errorf("printed %q; want the wait announced: %v", out.String(), tc.announce)
			}
		})
	}
}
