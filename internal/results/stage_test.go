package results

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestStagedPublish writes a run through Staged: nothing but the empty
// reserved directory is visible until Publish, then the whole run is.
func TestStagedPublish(t *testing.T) {
	dir := t.TempDir()
	st, err := CreateStaged(dir, "merged")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	if st.Run.ID != "merged" || filepath.Dir(st.Run.Dir) != dir || !strings.HasPrefix(filepath.Base(st.Run.Dir), ".merged.") {
		t.Fatalf("staging run %+v", st.Run)
	}
	if _, err := CreateStaged(dir, "merged"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second CreateStaged: %v, want ErrExist", err)
	}
	c := sampleCell(t, "a", "get")
	if err := st.Run.WriteCell(c); err != nil {
		t.Fatal(err)
	}
	if err := st.Run.WriteManifest(newManifest("merged", c.Started)); err != nil {
		t.Fatal(err)
	}
	if runs, err := List(dir); err != nil || len(runs) != 0 {
		t.Errorf("before Publish List gives %v, %v; want no run", runs, err)
	}
	run, err := st.Publish()
	if err != nil {
		t.Fatal(err)
	}
	if run.Dir != filepath.Join(dir, "merged") || run.ID != "merged" {
		t.Errorf("published run %+v", run)
	}
	got, err := run.ReadCell("a", "get")
	if err != nil || got.RunID != "merged" {
		t.Errorf("cell of the published run: %+v, %v", got, err)
	}
	st.Discard() // after Publish: must not remove the run
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "merged" {
		t.Errorf("entries after Publish and Discard: %v, want only the run", entries)
	}
}

// TestStagedDiscard leaves nothing of a run that is not published.
func TestStagedDiscard(t *testing.T) {
	dir := t.TempDir()
	st, err := CreateStaged(dir, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Run.WriteCell(sampleCell(t, "a", "get")); err != nil {
		t.Fatal(err)
	}
	st.Discard()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("entries after Discard: %v", entries)
	}
}

func TestCellLogsAndCopyLog(t *testing.T) {
	dir := t.TempDir()
	src, err := Create(dir, "src")
	if err != nil {
		t.Fatal(err)
	}
	dst, err := Create(dir, "dst")
	if err != nil {
		t.Fatal(err)
	}
	if logs, err := src.CellLogs("a", "get"); err != nil || logs != nil {
		t.Errorf("logs of a server without a directory: %v, %v", logs, err)
	}
	if err := os.Mkdir(filepath.Join(src.Dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range []string{LogFile("a", "get", 1, 2), LogFile("a", "get", 2, 1), LogFile("a", "get", 1, 1),
		LogFile("a", "json", 1, 1), "a/get.log", "a/get.a1.r1.log.tmp"} {
		if err := os.WriteFile(filepath.Join(src.Dir, f), []byte("log "+f), 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(f, "a/get.a") && strings.HasSuffix(f, ".log") {
			want = append(want, f)
		}
	}
	// A directory named like a log is not one.
	if err := os.Mkdir(filepath.Join(src.Dir, "a", "get.a3.r1.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	logs, err := src.CellLogs("a", "get")
	if err != nil || !slices.Equal(logs, want) {
		t.Fatalf("CellLogs = %v, %v; want %v", logs, err, want)
	}
	for _, l := range logs {
		if err := dst.CopyLog(src, l); err != nil {
			t.Fatal(err)
		}
		if data, err := os.ReadFile(filepath.Join(dst.Dir, l)); err != nil || string(data) != "log "+l {
			t.Errorf("copy of %s: %q, %v", l, data, err)
		}
	}
	if err := dst.CopyLog(src, logs[0]); !errors.Is(err, fs.ErrExist) {
		t.Errorf("copying over an existing log: %v, want ErrExist", err)
	}
	if err := dst.CopyLog(src, LogFile("b", "get", 9, 9)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("copying a missing log: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(filepath.Join(dst.Dir, "b")); err == nil {
		t.Error("a failed copy made a server directory")
	}
	for _, bad := range []string{"get.log", "../src/a/get.a1.r1.log", "a/../../x.log", "a/b/c.log", "a/", "a/..", "../a.log"} {
		if err := dst.CopyLog(src, bad); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("CopyLog(%q) = %v, want a refusal", bad, err)
		}
	}
}
