package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/matrixbench/matrix/internal/results"
)

// Reference measurements are written to the reference cell's server
// directory as attempt 0 (attempts of the cell itself count from 1), repeat
// 1 at the start, 2 in the middle, 3 at the end.
const referenceAttempt = 0

// referenceIndex numbers the reference's positions for their log files.
var referenceIndex = map[string]int{results.RefStart: 1, results.RefMiddle: 2, results.RefEnd: 3}

// measureReference measures the run's reference cell once more, at the
// position at (results.RefStart, RefMiddle or RefEnd), apart from the
// cell's own repeats: the same server, scenario and settings each time, so
// that its moves over the run are the machine's.
func (r *Runner) measureReference(ctx context.Context, at string) {
	c := r.opt.Reference
	if c == nil || ctx.Err() != nil {
		return
	}
	if r.ref == nil {
		r.ref = &results.Reference{Cell: c.ID()}
	}
	sc := r.opt.Profile.Apply(c.Scenario)
	cr := &results.Cell{
		SchemaVersion: results.SchemaVersion, RunID: r.opt.Manifest.RunID,
		Server: c.Server.Name, Scenario: c.Scenario.Name, ScenarioAsRun: results.ScenarioOf(sc),
		Runtime: r.opt.Runtime.Name(), Attempt: referenceAttempt, Started: time.Now().UTC(),
	}
	x := &repeat{r: r, cell: *c, sc: sc, cr: cr,
		rp: results.Repeat{Index: referenceIndex[at], Started: time.Now().UTC(), ServerCPUSeconds: -1}}
	r.live(fmt.Sprintf("reference %s (%s of the run)", c.ID(), at))
	x.run(ctx, -1)
	s := results.ReferenceSample{At: at, Started: x.rp.Started, Status: x.rp.Status, Reason: x.rp.Reason,
		Detail: x.rp.Detail, Interference: x.rp.Interference}
	if x.rp.Result != nil && x.rp.Status != results.StatusDNF {
		s.RPS = x.rp.Result.RPS
		s.P99Ns = float64(x.rp.Result.LatencyNs.P99)
	}
	r.ref.Samples = append(r.ref.Samples, s)
	line := fmt.Sprintf("reference %-32s %-6s %-8s", c.ID(), at, s.Status)
	if s.RPS > 0 {
		line += fmt.Sprintf(" %10.0f req/s  p99 %v", s.RPS, time.Duration(s.P99Ns).Round(time.Microsecond))
	}
	r.live("")
	fmt.Fprintln(r.opt.Out, line)
}

// recordNoise writes the run's noise into the manifest: the spread of
// every cell's repeats and the reference's measurements. A rerun or resume
// that measured no reference keeps the run's.
func (r *Runner) recordNoise() {
	var spreads []results.Spread
	for _, ref := range r.opt.Manifest.Cells {
		cr := r.cells[ref.ID]
		if cr == nil {
			c, err := r.opt.Run.ReadCell(ref.Server, ref.Scenario)
			if err != nil {
				continue
			}
			cr = c
		}
		// A cell the host interfered with is marked already; its spread
		// is the interference's, not the machine's usual noise.
		if cr.Summary != nil && (cr.Status == results.StatusOK || cr.Status == results.StatusSuspect && cr.Reason != results.ReasonInterference) {
			spreads = append(spreads, results.SpreadOf(cr.Summary.RPS))
		}
	}
	ref := r.ref
	if ref == nil && r.opt.Manifest.Noise != nil {
		ref = r.opt.Manifest.Noise.Reference
	}
	n := results.NoiseOf(spreads, ref)
	r.opt.Manifest.Noise = &n
}
