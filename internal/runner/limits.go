package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"syscall"

	"github.com/matrixbench/matrix/internal/runtime"
	"golang.org/x/sys/unix"
)

// The limits a run is checked against before its first cell: the file
// descriptors of its busiest cell, a writable output directory, and room
// on that directory's disk for every result. A run that cannot finish is
// refused up front, saying what to change, rather than failing an hour in.
const (
	// fdMargin is what the runner holds open beside the load generator's
	// connections while a cell runs: standard streams, the server's log
	// pipe and file, the readiness prober's connection, the runtime's
	// pipes or engine connection, the Go runtime's poller.
	fdMargin = 64
	// resultBytesPerRepeat and resultBytesPerSecond bound one repeat's
	// share of a cell's result file: its figures, timings and encoded
	// HdrHistogram (a few kilobytes, tens with a wide latency spread),
	// and one time series point per second of warmup and measurement.
	resultBytesPerRepeat = 64 << 10
	resultBytesPerSecond = 256
	// reportBytesPerCell is a cell's share of report.html and summary.md.
	reportBytesPerCell = 32 << 10
	// runBytes is the manifest and the fixed part of the report.
	runBytes = 1 << 20
)

// checkLimits refuses, before anything runs, a session that cannot finish
// for lack of file descriptors, a writable output directory, or disk space.
func (s *Session) checkLimits() error {
	if err := checkFDs(s.busiestCell()); err != nil {
		return &UsageError{Err: err}
	}
	dir, what := s.req.OutDir, "output directory"
	switch {
	case s.Run != nil: // a resume or rerun writes into its run
		dir, what = s.Run.Dir, "run directory"
	case dir == "":
		dir = "."
	}
	existing, err := checkWritable(dir)
	if err != nil {
		fix := "make it writable or choose another with --out"
		if s.Run != nil {
			fix = "the results of its cells go there: make it writable"
		}
		return usageErr("runner: %s %s cannot be written (%v); %s", what, dir, err, fix)
	}
	if err := checkRoom(existing, s.diskNeed()); err != nil {
		return &UsageError{Err: err}
	}
	return nil
}

// fdDemand is what the busiest cell of a run needs of RLIMIT_NOFILE.
type fdDemand struct {
	cell  string
	conns int
}

func (d fdDemand) total() uint64 { return uint64(d.conns) + fdMargin }

// busiestCell returns the cell with the most connections as the session's
// profile runs it. Cells run one at a time, so the run needs what that one
// needs: one descriptor per connection of the load generator, which runs
// in this process, plus the runner's own.
func (s *Session) busiestCell() fdDemand {
	var d fdDemand
	for _, c := range s.Cells {
		if n := s.Profile.Apply(c.Scenario).Connections; n > d.conns {
			d = fdDemand{cell: c.ID(), conns: n}
		}
	}
	return d
}

// checkFDs makes sure this process may open d.total() descriptors. Go
// already raises the soft limit to just under the hard limit when a program
// starts (package syscall); when that is still short of the need, the soft
// limit is raised to the hard limit itself. Raising it through
// syscall.Setrlimit also stops Go from restoring the original soft limit
// in the servers the process runtime starts, so that they may accept as
// many connections as the load generator opens.
func checkFDs(d fdDemand) error {
	if d.conns == 0 {
		return nil
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("runner: reading RLIMIT_NOFILE: %w", err)
	}
	need := d.total()
	if need <= lim.Cur {
		return nil
	}
	if need <= lim.Max {
		raised := syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised)
		if err == nil {
			return nil
		}
		return fmt.Errorf("runner: cell %s needs %d file descriptors (%d connections + %d for the runner); raising the soft RLIMIT_NOFILE from %d to the hard limit %d failed: %v; raise it before starting matrix (ulimit -n %d)",
			d.cell, need, d.conns, fdMargin, lim.Cur, lim.Max, err, need)
	}
	return fmt.Errorf("runner: cell %s needs %d file descriptors (%d connections + %d for the runner), but this process may open at most %d (RLIMIT_NOFILE hard limit); "+
		"raise the hard limit to at least %d (as root: ulimit -Hn %d; systemd: LimitNOFILE=%d; docker: --ulimit nofile=%d:%d) or lower the scenario's connections or the profile's scale",
		d.cell, need, d.conns, fdMargin, lim.Max, need, need, need, need, need)
}

// checkWritable proves that files can be created in dir, or, when dir does
// not exist yet, in its nearest existing ancestor, where it will be made.
// It returns that existing directory. Only creating a file proves it:
// permission bits say nothing of root, read-only mounts or sealed
// filesystems.
func checkWritable(dir string) (string, error) {
	d := filepath.Clean(dir)
	for {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return "", fmt.Errorf("%s is not a directory", d)
			}
			break
		}
		parent := filepath.Dir(d)
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) || parent == d {
			return "", err
		}
		d = parent
	}
	f, err := os.CreateTemp(d, ".matrix-write-check-*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	err = f.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	return d, err
}

// diskDemand is the most a run's results may take on disk.
type diskDemand struct {
	cells, repeats int
	logCap         int64
	total          int64
}

// diskNeed estimates the most the session's results may take: for each
// repeat of each cell the server's log at its cap (logs are capped, the
// newest part kept) and the result's share of the cell's file; for each
// cell its share of the report; once, the manifest and report, and the
// temporary copy a capped log is put back in order through.
func (s *Session) diskNeed() diskDemand {
	d := diskDemand{cells: len(s.Cells), repeats: max(s.Profile.Repeat, 1), logCap: s.LogCap}
	if d.logCap <= 0 {
		d.logCap = runtime.DefaultLogCap
	}
	secs := int64((s.Profile.Warmup + s.Profile.Duration).Seconds()) + 1
	perRepeat := satAdd(d.logCap, resultBytesPerRepeat+satMul(secs, resultBytesPerSecond))
	perCell := satAdd(satMul(int64(d.repeats), perRepeat), reportBytesPerCell)
	d.total = satAdd(satMul(int64(d.cells), perCell), satAdd(d.logCap, runBytes))
	return d
}

// checkRoom fails when the filesystem holding dir has less room for an
// unprivileged writer than need.total.
func checkRoom(dir string, need diskDemand) error {
	if need.cells == 0 {
		return nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("runner: free space of %s: %w", dir, err)
	}
	free := satMul(int64(min(st.Bavail, math.MaxInt64)), st.Bsize)
	if free >= need.total {
		return nil
	}
	return fmt.Errorf("runner: the results of %d cells x %d repeats may take up to %s (each repeat's server log is capped at %s), but %s has %s free; "+
		"free space there, put the results on a larger disk with --out, or select fewer cells (--server, --scenario, --cell, --shard)",
		need.cells, need.repeats, iec(need.total), iec(need.logCap), dir, iec(free))
}

// satAdd and satMul are int64 arithmetic that stops at math.MaxInt64, so
// that an absurd log cap gives an absurd need rather than a negative one.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// iec formats a byte count with a binary unit ("8.0 MiB").
func iec(n int64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, units[i])
}
