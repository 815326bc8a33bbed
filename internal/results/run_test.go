package results

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
)

func TestNewRunID(t *testing.T) {
	now := time.Date(2026, 11, 25, 21, 45, 0, 0, time.FixedZone("CET", 3600))
	if got := NewRunID(now, "abc1234"); got != "20261125T204500Z-abc1234" {
		t.Errorf("NewRunID = %q", got)
	}
	if got := NewRunID(now, ""); got != "20261125T204500Z-nogit" {
		t.Errorf("NewRunID without commit = %q", got)
	}
}

func newManifest(id string, created time.Time) *Manifest {
	return &Manifest{
		RunID: id, State: StateRunning, Created: created,
		Matrix:  MatrixRef{Path: "matrix.yaml", SHA256: strings.Repeat("a", 64)},
		Profile: ProfileInfo{Name: "quick", DurationNs: 3e9, Repeat: 1, Scale: 1},
		Runtime: RuntimeInfo{Name: "process"}, Git: GitInfo{Commit: "abc", Dirty: true},
		Host: LocalHost(), LoadgenVersion: "0.1.0", Shard: &Shard{K: 1, N: 2},
		Cells: []CellRef{
			{ID: "get/a", Server: "a", Scenario: "get", File: CellFile("a", "get")},
			{ID: "get/b", Server: "b", Scenario: "get", File: CellFile("b", "get")},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r, err := Create(dir, "20261125T204500Z-abc1234")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Create(dir, "20261125T204500Z-abc1234"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Create: %v, want ErrExist", err)
	}
	m := newManifest(r.ID, time.Date(2026, 11, 25, 20, 45, 0, 0, time.UTC))
	if err := r.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
	c := sampleCell(t, "a", "get")
	if err := r.WriteCell(c); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := r2.ReadManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m2.SchemaVersion != SchemaVersion || !reflect.DeepEqual(m, m2) {
		t.Errorf("manifest round trip:\n got %+v\nwant %+v", m2, m)
	}
	c2, err := r2.ReadCell("a", "get")
	if err != nil {
		t.Fatal(err)
	}
	if c2.RunID != r.ID || c2.SchemaVersion != SchemaVersion {
		t.Errorf("cell run id %q schema %d", c2.RunID, c2.SchemaVersion)
	}
	if !reflect.DeepEqual(c, c2) {
		a, _ := json.Marshal(c)
		b, _ := json.Marshal(c2)
		t.Errorf("cell round trip differs:\n%s\n%s", a, b)
	}
	if _, err := r2.ReadCell("b", "get"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing cell: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "a", "get.json")); err != nil {
		t.Errorf("cell file not at <run>/<server>/<scenario>.json: %v", err)
	}
	p, err := r.LogPath("a", "get", 2, 3)
	if err != nil || p != filepath.Join(r.Dir, "a", "get.a2.r3.log") {
		t.Errorf("LogPath = %q, %v", p, err)
	}
	assertNoTemp(t, r.Dir)
}

func TestWriteRefusesBadNames(t *testing.T) {
	r, err := Create(t.TempDir(), "run")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Cell{
		{Server: "../x", Scenario: "get", Status: StatusOK},
		{Server: "a", Scenario: "../../etc/passwd", Status: StatusOK},
		{Server: "a", Scenario: "get", Status: "great"},
	} {
		if err := r.WriteCell(c); err == nil {
			t.Errorf("WriteCell(%s/%s, %s) succeeded", c.Scenario, c.Server, c.Status)
		}
	}
	if _, err := r.LogPath("a/b", "get", 1, 1); err == nil {
		t.Error("LogPath accepted a server name with a slash")
	}
}

func TestReadErrorsNameTheFile(t *testing.T) {
	r, err := Create(t.TempDir(), "run")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(r.Dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := r.CellPath("a", "get")
	tests := []struct{ content, want string }{
		{`{"server":"a","scenario":"get","status":"ok"}`, "no schema_version: not a matrix results file"},
		{`{"schema_version":99,"server":"a","scenario":"get","status":"ok"}`, "schema_version 99 is newer than this program reads (2)"},
		{`{"schema_version":1,"server":"a","scenario":"get","status":"fine"}`, `invalid status "fine"`},
		{`{"schema_version":1,"server":"b","scenario":"get","status":"ok"}`, "holds cell get/b, not get/a"},
		{`{"schema_version":1,`, "unexpected end of JSON input"},
	}
	for _, tt := range tests {
		if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := r.ReadCell("a", "get")
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want %q naming %s", tt.content, err, tt.want, path)
		}
	}
	if _, err := Open(filepath.Join(r.Dir, "nothing")); err == nil || !strings.Contains(err.Error(), "manifest.json") {
		t.Errorf("Open of a directory without manifest: %v", err)
	}
}

func TestDecodeManifestRefusesEscapes(t *testing.T) {
	base := newManifest("run", time.Now())
	tests := []struct {
		edit func(*Manifest)
		want string
	}{
		{func(m *Manifest) { m.Cells[0].File = "../../x.json" }, `file "../../x.json"`},
		{func(m *Manifest) { m.Cells[0].ID = "post/a" }, `does not match`},
		{func(m *Manifest) { m.Cells[1] = m.Cells[0] }, `listed twice`},
		{func(m *Manifest) { m.Cells[0].Server = ".." }, `bad server name`},
		{func(m *Manifest) { m.RunID = "../x" }, `bad run_id`},
		{func(m *Manifest) { m.State = "" }, `invalid state`},
		{func(m *Manifest) { m.Shard = &Shard{K: 3, N: 2} }, `invalid shard 3/2`},
	}
	for _, tt := range tests {
		m := *base
		m.Cells = append([]CellRef(nil), base.Cells...)
		m.SchemaVersion = SchemaVersion
		tt.edit(&m)
		data, _ := json.Marshal(&m)
		if _, err := DecodeManifest("m.json", data); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want %q", err, tt.want)
		}
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	// Created out of order: List sorts by the manifest's time.
	for i, id := range []string{"c-run", "a-run", "b-run"} {
		r, err := Create(dir, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.WriteManifest(newManifest(id, t0.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "not-a-run"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken", ManifestFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	refs, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range refs {
		got = append(got, r.ID)
		if (r.Err != nil) != (r.ID == "broken") {
			t.Errorf("%s: Err = %v", r.ID, r.Err)
		}
	}
	if strings.Join(got, " ") != "broken c-run a-run b-run" {
		t.Errorf("List = %v, want broken (no time) then c-run a-run b-run", got)
	}
	if refs, err := List(filepath.Join(dir, "missing")); err != nil || len(refs) != 0 {
		t.Errorf("List of a missing dir = %v, %v", refs, err)
	}
}

func TestStatesAndPending(t *testing.T) {
	r, err := Create(t.TempDir(), "run")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id     string
		status Status
		reason Reason
	}{
		{"get/ok", StatusOK, ""},
		{"get/sus", StatusSuspect, ReasonErrorBudget},
		{"get/dnf", StatusDNF, ReasonDied},
		{"get/int", StatusInterrupted, ReasonInterrupted},
		{"get/skip", StatusSkipped, ReasonNoSaturation},
	} {
		server := strings.TrimPrefix(c.id, "get/")
		if err := r.WriteCell(&Cell{Server: server, Scenario: "get", Status: c.status, Reason: c.reason}); err != nil {
			t.Fatal(err)
		}
	}
	ids := []string{"get/ok", "get/sus", "get/dnf", "get/missing", "get/int", "get/skip"}
	pending, err := r.Pending(ids)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pending, " "); got != "get/dnf get/missing get/int" {
		t.Errorf("Pending = %q", got)
	}
	states, err := r.States(ids)
	if err != nil {
		t.Fatal(err)
	}
	if states[2].Reason != ReasonDied || states[3].Status != "" || states[0].NeedsRun() {
		t.Errorf("States = %+v", states)
	}
	// A corrupt cell file stops the resume instead of being overwritten.
	if err := os.WriteFile(r.CellPath("ok", "get"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Pending(ids); err == nil || !strings.Contains(err.Error(), "move the file aside") {
		t.Errorf("Pending with a corrupt file: %v", err)
	}
	if _, err := r.Pending([]string{"nonsense"}); err == nil {
		t.Error("Pending accepted a bad cell id")
	}
}

func TestFinal(t *testing.T) {
	for s, want := range map[Status]bool{StatusOK: true, StatusSuspect: true, StatusSkipped: true, StatusDNF: false, StatusInterrupted: false, "": false} {
		if Final(s) != want {
			t.Errorf("Final(%q) = %v", s, !want)
		}
	}
}

func TestSupersede(t *testing.T) {
	first := &Cell{Server: "a", Scenario: "get", Status: StatusDNF, Reason: ReasonDied, Attempt: 1}
	second := &Cell{Server: "a", Scenario: "get", Status: StatusOK}
	Supersede(first, second)
	third := &Cell{Server: "a", Scenario: "get", Status: StatusSuspect}
	Supersede(second, third)
	if third.Attempt != 3 || len(third.Attempts) != 2 || third.Attempts[0].Reason != ReasonDied ||
		third.Attempts[1].Status != StatusOK || len(third.Attempts[1].Attempts) != 0 {
		t.Errorf("after two reruns: attempt %d, attempts %+v", third.Attempt, third.Attempts)
	}
	if len(second.Attempts) != 1 {
		t.Error("Supersede changed the previous cell's attempts")
	}
}

func TestManifestSetCell(t *testing.T) {
	m := newManifest("run", time.Now())
	m.SetCell(RefOf(&Cell{Server: "b", Scenario: "get", Status: StatusDNF, Reason: ReasonNotReady}))
	m.SetCell(RefOf(&Cell{Server: "c", Scenario: "get", Status: StatusOK}))
	if len(m.Cells) != 3 || m.Cells[1].Status != StatusDNF || m.Cells[1].Reason != ReasonNotReady || m.Cells[2].ID != "get/c" {
		t.Errorf("cells = %+v", m.Cells)
	}
	if got := strings.Join(m.CellIDs(), " "); got != "get/a get/b get/c" {
		t.Errorf("CellIDs = %q", got)
	}
}

// assertNoTemp fails if a temporary file of an atomic write is left in dir.
func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", path)
		}
		return nil
	})
}

func TestNewManifest(t *testing.T) {
	m, err := matrix.Load("../matrix/testdata/issue-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells, _ := m.Cells(matrix.Filter{Servers: []string{"go-stdlib"}})
	p, _ := m.Profile("nightly")
	created := time.Date(2026, 11, 25, 21, 45, 0, 0, time.FixedZone("CET", 3600))
	man := NewManifest("run", created, m, p, cells)
	if man.State != StateRunning || man.Matrix.SHA256 != m.SHA256 || man.Profile.Repeat != 3 || man.Profile.DurationNs != 35e9 ||
		man.Created.Location() != time.UTC || man.Host.Cores < 1 || man.LoadgenVersion == "" {
		t.Errorf("manifest = %+v", man)
	}
	if got := strings.Join(man.CellIDs(), " "); got != "get-simple/go-stdlib churn-close/go-stdlib post-64k-h2/go-stdlib" {
		t.Errorf("cells = %s", got)
	}
	r, err := Create(t.TempDir(), "run")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteManifest(man); err != nil {
		t.Fatal(err)
	}
	pending, err := r.Pending(man.CellIDs())
	if err != nil || len(pending) != 3 {
		t.Errorf("a new run has pending %v, %v; want every cell", pending, err)
	}
}
