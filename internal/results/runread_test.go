package results

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeRunOf writes a run of the cells of m, with a result for the cells
// in withResult only.
func writeRunOf(t *testing.T, m *Manifest, withResult ...string) *Run {
	t.Helper()
	r, err := Create(t.TempDir(), m.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range withResult {
		ref, _ := m.Cell(id)
		c := sampleCell(t, ref.Server, ref.Scenario)
		if err := r.WriteCell(c); err != nil {
			t.Fatal(err)
		}
		m.SetCell(RefOf(c))
	}
	if err := r.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReadRun(t *testing.T) {
	m := newManifest("r1", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m.Cells = append(m.Cells, RefFor("a", "post"))
	r := writeRunOf(t, m, "get/a", "post/a")
	d, err := ReadRun(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Dir != r.Dir || d.Manifest.RunID != "r1" {
		t.Errorf("ReadRun: dir %s, run %s", d.Dir, d.Manifest.RunID)
	}
	if want := []string{"get/a", "get/b", "post/a"}; !reflect.DeepEqual(d.IDs, want) {
		t.Errorf("IDs = %v, want %v", d.IDs, want)
	}
	if want := []string{"a", "b"}; !reflect.DeepEqual(d.Servers(), want) {
		t.Errorf("Servers = %v, want %v", d.Servers(), want)
	}
	if want := []string{"get", "post"}; !reflect.DeepEqual(d.Scenarios(), want) {
		t.Errorf("Scenarios = %v, want %v", d.Scenarios(), want)
	}
	for id, want := range map[string]Status{"get/a": StatusOK, "get/b": "", "post/a": StatusOK, "nope/x": ""} {
		if got := d.Status(id); got != want {
			t.Errorf("Status(%s) = %q, want %q", id, got, want)
		}
	}
	if len(d.Cells) != 2 || d.Cells["get/a"].Summary == nil {
		t.Errorf("Cells = %v", d.Cells)
	}
	if got := d.Run(); got.Dir != r.Dir || got.ID != "r1" {
		t.Errorf("Run() = %+v", got)
	}
}

func TestReadRunNamesBrokenCells(t *testing.T) {
	m := newManifest("r1", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r := writeRunOf(t, m, "get/a", "get/b")
	if err := os.WriteFile(r.CellPath("b", "get"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadRun(r.Dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join("b", "get.json")) {
		t.Errorf("ReadRun with a broken cell: %v, want an error naming b/get.json", err)
	}
	if _, err := ReadRun(t.TempDir()); err == nil {
		t.Error("ReadRun of a directory without a manifest: no error")
	}
}

func TestRunWriteFile(t *testing.T) {
	m := newManifest("r1", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r := writeRunOf(t, m)
	if err := r.WriteFile("report.html", []byte("<p>x</p>")); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(r.Dir, "report.html")); err != nil || string(got) != "<p>x</p>" {
		t.Errorf("report.html = %q, %v", got, err)
	}
	assertNoTemp(t, r.Dir)
	for _, name := range []string{ManifestFile, "../x", "a/x", "", ".", "/etc/x"} {
		if err := r.WriteFile(name, nil); err == nil {
			t.Errorf("WriteFile(%q): no error", name)
		}
	}
	if _, err := Open(r.Dir); err != nil {
		t.Errorf("the manifest after refused writes: %v", err)
	}
}

func TestRunOpenLog(t *testing.T) {
	m := newManifest("r1", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r := writeRunOf(t, m)
	path, err := r.LogPath("a", "get", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("listening\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := r.OpenLog(LogFile("a", "get", 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(got) != "listening\n" {
		t.Errorf("log = %q, %v", got, err)
	}
	for _, name := range []string{"../outside.log", "/etc/passwd", "a/../../x.log"} {
		if f, err := r.OpenLog(name); err == nil || !strings.Contains(err.Error(), "outside the run directory") {
			if f != nil {
				f.Close()
			}
			t.Errorf("OpenLog(%q): %v, want refused", name, err)
		}
	}
	if _, err := r.OpenLog("a/missing.log"); err == nil {
		t.Error("OpenLog of a missing log: no error")
	}
}
