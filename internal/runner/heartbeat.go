package runner

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
)

// Heartbeat is the content of the heartbeat file (Options.Heartbeat), a
// small JSON document the runner rewrites when each repeat of a cell
// starts and ends, and when the run ends. A watchdog
// reads it (or only its modification time) to tell a long run from a
// stalled one: while State is running, a heartbeat older than the longest
// repeat plus a build means the runner is stuck. Repeats are interleaved,
// so a cell's own line on the output comes only with its last repeat; the
// heartbeat moves with every repeat.
type Heartbeat struct {
	// PID is the runner's process.
	PID int `json:"pid"`
	// Run is the run directory.
	Run string `json:"run"`
	// State is the run's state: running, finished or interrupted.
	State results.RunState `json:"state"`
	// Time is when the file was written.
	Time time.Time `json:"time"`
	// RepeatsDone counts the repeats finished by this runner; RepeatsTotal
	// is how many it set out to run (cells x repeats; fewer run when a
	// cell fails fast).
	RepeatsDone  int `json:"repeats_done"`
	RepeatsTotal int `json:"repeats_total"`
	// Last is the last finished repeat; nil before the first.
	Last *BeatCell `json:"last,omitempty"`
	// Current is the repeat running now; nil between repeats and at the
	// end.
	Current *BeatCell `json:"current,omitempty"`
}

// BeatCell is one repeat of one cell in a heartbeat.
type BeatCell struct {
	Cell   string `json:"cell"`
	Repeat int    `json:"repeat"`
	// Status is the repeat's own status (a cell's status waits for its
	// last repeat); empty while it runs.
	Status results.Status `json:"status,omitempty"`
	Reason results.Reason `json:"reason,omitempty"`
	// Time is when the repeat started (Current) or finished (Last).
	Time time.Time `json:"time"`
}

// heartbeat is the runner's heartbeat state.
type heartbeat struct {
	beat   Heartbeat
	warned bool
}

// beatStart records that repeat rep of c starts.
func (r *Runner) beatStart(c matrix.Cell, rep int) {
	r.hb.beat.Current = &BeatCell{Cell: c.ID(), Repeat: rep, Time: time.Now().UTC()}
	r.writeBeat(results.StateRunning)
}

// beatDone records that repeat rep of c finished.
func (r *Runner) beatDone(c matrix.Cell, rep int) {
	b := &BeatCell{Cell: c.ID(), Repeat: rep, Time: time.Now().UTC()}
	if cr := r.cells[c.ID()]; cr != nil && len(cr.Repeats) > 0 {
		last := cr.Repeats[len(cr.Repeats)-1]
		b.Status, b.Reason = last.Status, last.Reason
	}
	r.hb.beat.Last, r.hb.beat.Current = b, nil
	r.hb.beat.RepeatsDone++
	r.writeBeat(results.StateRunning)
}

// writeBeat rewrites the heartbeat file, when there is one. A heartbeat
// that cannot be written is worth a warning, not the run: the results are
// written apart.
func (r *Runner) writeBeat(state results.RunState) {
	path := r.opt.Heartbeat
	if path == "" {
		return
	}
	b := &r.hb.beat
	b.PID, b.Run, b.State, b.Time = os.Getpid(), r.opt.Run.Dir, state, time.Now().UTC()
	if b.RepeatsTotal == 0 {
		b.RepeatsTotal = len(r.opt.Cells) * max(r.opt.Profile.Repeat, 1)
	}
	if err := writeBeatFile(path, b); err != nil && !r.hb.warned {
		r.hb.warned = true
		fmt.Fprintf(r.opt.Out, "warning: heartbeat: %v\n", err)
	}
}

// writeBeatFile replaces path with b atomically, so that a reader never
// sees half a file.
func writeBeatFile(path string, b *Heartbeat) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return results.WriteFileAtomic(path, append(data, '\n'), 0o644)
}

// ReadHeartbeat reads a heartbeat file.
func ReadHeartbeat(path string) (*Heartbeat, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	var b Heartbeat
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("runner: heartbeat %s: %w", path, err)
	}
	return &b, nil
}
