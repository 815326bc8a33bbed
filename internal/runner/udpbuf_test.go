package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matrixbench/matrix/internal/matrix"
)

func TestCheckUDPBuffer(t *testing.T) {
	h3 := []matrix.Cell{{Scenario: matrix.Scenario{Protocol: matrix.H1}}, {Scenario: matrix.Scenario{Protocol: matrix.H3}}}
	for _, tc := range []struct {
		name          string
		cells         []matrix.Cell
		file          string // contents; "-" for no file
		before, after int64
		warn          string
	}{
		{"no h3 cell", h3[:1], "212992", 0, 0, ""},
		{"large enough", h3, "8388608", 8388608, 8388608, ""},
		{"raised", h3, "212992\n", 212992, udpWanted, ""},
		{"unreadable", h3, "-", 0, 0, "cannot read"},
		{"garbage", h3, "lots", 0, 0, "cannot read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rmem_max")
			if tc.file != "-" {
				if err := os.WriteFile(path, []byte(tc.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ub := checkUDPBuffer(tc.cells, path)
			if len(tc.cells) == 1 {
				if ub != nil {
					t.Fatalf("a run without h3 cells got %+v", ub)
				}
				return
			}
			if ub == nil || ub.Before != tc.before || ub.After != tc.after || ub.Wanted != udpWanted {
				t.Fatalf("got %+v, want before %d after %d", ub, tc.before, tc.after)
			}
			if (tc.warn == "") != (ub.Warning == "") || !strings.Contains(ub.Warning, tc.warn) {
				t.Errorf("warning %q, want one containing %q", ub.Warning, tc.warn)
			}
		})
	}
}
