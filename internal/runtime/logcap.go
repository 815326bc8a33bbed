package runtime

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// tailKeep is how much of a log stays in memory once the log is closed, so
// LogTail works after Stop has removed a temporary log.
const tailKeep = 64 << 10

// ringLog saves the newest cap bytes of a server's output in a file. While
// the server runs the file is a ring: byte n of the stream is at offset
// n mod cap. Close puts the bytes back in order. Memory use is constant and
// disk use is at most cap, however much the server writes.
type ringLog struct {
	mu      sync.Mutex
	f       *os.File
	path    string // final path; "" for a temporary log
	cap     int64
	written int64
	err     error // first write error; writes are then dropped
	closed  bool
	tail    []byte // newest bytes, kept by Close
}

// newRingLog creates the log at path (a temporary file when path is "").
func newRingLog(path string, cap int64) (*ringLog, error) {
	if cap <= 0 {
		cap = DefaultLogCap
	}
	var f *os.File
	var err error
	if path == "" {
		f, err = os.CreateTemp("", "matrix-log-*")
	} else {
		if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("runtime: server log: %w", err)
	}
	return &ringLog{f: f, path: path, cap: cap}, nil
}

// Write saves p, overwriting the oldest bytes once the cap is reached. It
// never fails: a server must not block on a full pipe because its log
// cannot be written, so write errors are kept and reported by Close.
func (r *ringLog) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	if r.closed || r.err != nil {
		r.written += int64(n)
		return n, nil
	}
	if int64(len(p)) > r.cap {
		r.written += int64(len(p)) - r.cap
		p = p[int64(len(p))-r.cap:]
	}
	for len(p) > 0 {
		off := r.written % r.cap
		chunk := p[:min(int64(len(p)), r.cap-off)]
		if _, err := r.f.WriteAt(chunk, off); err != nil {
			r.err = err
			r.written += int64(len(p))
			return n, nil
		}
		r.written += int64(len(chunk))
		p = p[len(chunk):]
	}
	return n, nil
}

// Tail returns up to max of the newest bytes.
func (r *ringLog) Tail(max int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		t := r.tail
		if len(t) > max {
			t = t[len(t)-max:]
		}
		return string(t)
	}
	return string(r.tailLocked(int64(max)))
}

// tailLocked reads up to max of the newest bytes from the ring.
func (r *ringLog) tailLocked(max int64) []byte {
	kept := min(r.written, r.cap)
	n := min(max, kept)
	if n <= 0 {
		return nil
	}
	end := r.written % r.cap
	if r.written < r.cap {
		end = r.written
	}
	buf := make([]byte, n)
	if end >= n {
		r.f.ReadAt(buf, end-n)
		return buf
	}
	// The newest n bytes wrap: n-end at the end of the file, end at its start.
	r.f.ReadAt(buf[:n-end], r.cap-(n-end))
	r.f.ReadAt(buf[n-end:], 0)
	return buf
}

// Close puts the log in order, syncs it and reports what was kept. A
// temporary log is removed. Close is idempotent.
func (r *ringLog) Close() (LogReport, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := LogReport{Path: r.path, Written: r.written, Kept: min(r.written, r.cap), Truncated: r.written > r.cap}
	if r.closed {
		return rep, r.err
	}
	r.closed = true
	r.tail = r.tailLocked(tailKeep)
	err := r.err
	if r.path == "" {
		r.f.Close()
		os.Remove(r.f.Name())
		return rep, err
	}
	if rep.Truncated && err == nil {
		err = r.unwrapLocked()
	}
	if serr := r.f.Sync(); err == nil {
		err = serr
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		err = fmt.Errorf("runtime: server log %s: %w", r.path, err)
	}
	return rep, err
}

// unwrapLocked rewrites a wrapped ring in stream order, behind a line saying
// how much was dropped, and renames it over the log.
func (r *ringLog) unwrapLocked() error {
	tmp, err := os.CreateTemp(filepath.Dir(r.path), ".log-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	off := r.written % r.cap
	fmt.Fprintf(tmp, "[matrix: log capped at %d bytes: the first %d of %d bytes were dropped]\n",
		r.cap, r.written-r.cap, r.written)
	if _, err := io.Copy(tmp, io.NewSectionReader(r.f, off, r.cap-off)); err != nil {
		tmp.Close()
		return err
	}
	if _, err := io.Copy(tmp, io.NewSectionReader(r.f, 0, off)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), r.path)
}
