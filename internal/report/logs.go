package report

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/matrixbench/matrix/internal/results"
)

// Bounds of the log tail a report shows for a failed cell.
const (
	tailBytes = 8 << 10
	tailLines = 40
)

// logTail returns the name and the end of the server log that best
// explains a cell that is not ok: that of its last failed repeat, else
// its last log. Paths come from the result file, so package results
// refuses one that is not inside the run directory rather than read it.
func logTail(run *results.Run, c *results.Cell) (name, tail string) {
	name = pickLog(c)
	if name == "" {
		return "", ""
	}
	f, err := run.OpenLog(name)
	if err != nil {
		return name, fmt.Sprintf("(%v)", err)
	}
	defer f.Close()
	tail, err = readTail(f, tailBytes, tailLines)
	if err != nil {
		return name, fmt.Sprintf("(%v)", err)
	}
	return name, tail
}

// pickLog chooses the log of a cell to show.
func pickLog(c *results.Cell) string {
	for i := len(c.Repeats) - 1; i >= 0; i-- {
		r := c.Repeats[i]
		if r.Log != "" && r.Status != results.StatusOK {
			return r.Log
		}
	}
	for i := len(c.Repeats) - 1; i >= 0; i-- {
		if c.Repeats[i].Log != "" {
			return c.Repeats[i].Log
		}
	}
	if len(c.Logs) > 0 {
		return c.Logs[len(c.Logs)-1]
	}
	return ""
}

// readTail reads at most the last maxBytes of f, keeps at most its last
// maxLines lines, and makes the text valid UTF-8.
func readTail(f *os.File, maxBytes int64, maxLines int) (string, error) {
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	off := max(0, st.Size()-maxBytes)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return "", fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	s := strings.ToValidUTF8(string(buf), "\uFFFD")
	if off > 0 {
		// The first line is probably cut.
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n"), nil
}
