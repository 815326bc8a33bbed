package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/matrixbench/matrix/internal/hostload"
	"github.com/matrixbench/matrix/internal/results"
)

// The host's connection-tracking table (hostload.Conntrack) keeps a closed
// connection's entry for two minutes, and a row that opens a connection
// per request fills it in seconds. Before each repeat the runner waits for
// a table more than conntrackBusy full to drain below conntrackQuiet
// (for at most conntrackDrain, a little more than the entries' default
// TIME_WAIT timeout of 120 s), and after each measurement it marks a
// repeat during which the table dropped packets.
const (
	conntrackBusy  = 0.6 // a quick churn-close cell adds about 30 % of a 262,144-entry table
	conntrackQuiet = 0.3
	conntrackDrain = 130 * time.Second
	procRoot       = "/proc"
)

// awaitConntrack waits, before a repeat starts its server, for the host's
// connection-tracking table to drain if it is nearly full. It returns the
// last reading, the repeat's "before"; ok is false without a table.
func (r *Runner) awaitConntrack(ctx context.Context) (c hostload.Conntrack, ok bool) {
	c, ok = r.conntrack()
	if !ok || !c.Full(conntrackBusy) {
		return c, ok
	}
	// A printed line, not the live one: a log should show the pause.
	fmt.Fprintf(r.opt.Out, "%s[%d/%d] waiting up to %v for the host's connection-tracking table to drain: %d of %d entries\n",
		r.sidePrefix(), r.done+1, len(r.opt.Cells), conntrackDrain, c.Count, c.Max)
	t0 := time.Now()
	for end := t0.Add(conntrackDrain); c.Full(conntrackQuiet) && time.Now().Before(end) && ctx.Err() == nil; {
		sleep(ctx, time.Second)
		if c, ok = r.conntrack(); !ok {
			return c, false
		}
	}
	fmt.Fprintf(r.opt.Out, "%s[%d/%d] waited %v: %d of %d entries\n",
		r.sidePrefix(), r.done+1, len(r.opt.Cells), time.Since(t0).Round(time.Second), c.Count, c.Max)
	return c, true
}

// markConntrack reads the host's connection-tracking table after a repeat
// and marks the repeat if the table dropped packets since before.
func (x *repeat) markConntrack(before hostload.Conntrack, ok bool) {
	if !ok {
		return
	}
	if after, ok := x.r.conntrack(); ok {
		markConntrack(&x.rp, before, after)
	}
}

// markConntrack makes a repeat during which the host's connection-tracking
// table dropped packets suspect (or, if it failed, dnf for that reason):
// its new connections stalled on the table, not on the server. Interrupted
// and skipped repeats are left as they are.
func markConntrack(rp *results.Repeat, before, after hostload.Conntrack) {
	if after.Drops <= before.Drops {
		return
	}
	detail := fmt.Sprintf("the host's connection-tracking table was full: it dropped %d packets during the repeat "+
		"(nf_conntrack_max %d); new connections stalled on the table, not on the server",
		after.Drops-before.Drops, after.Max)
	switch rp.Status {
	case results.StatusOK, results.StatusSuspect:
		rp.Status, rp.Reason, rp.Detail = results.StatusSuspect, results.ReasonConntrack, detail
	case results.StatusDNF:
		rp.Status, rp.Reason, rp.Detail = results.StatusDNF, results.ReasonConntrack, detail+"; the repeat: "+rp.Detail
	}
}
