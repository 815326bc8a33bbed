package results

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzReadCell checks that no cell file makes the reader (or Summarize on
// what it read) panic, and that what it accepts survives a round trip.
func FuzzReadCell(f *testing.F) {
	c := sampleCell(f, "a", "get")
	c.SchemaVersion = SchemaVersion
	prev := *c
	Supersede(&prev, c)
	good, err := json.Marshal(c)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"schema_version":1,"server":"a","scenario":"get","status":"dnf","reason":"died"}`))
	f.Add([]byte(`{"schema_version":1,"server":"a","scenario":"get","status":"ok","repeats":[{"index":1,"result":{"histogram":"HISTFAAAAB4="}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCell("cell.json", data)
		if err != nil {
			return
		}
		if _, err := Summarize(c.Repeats); err != nil {
			t.Logf("summarize: %v", err)
		}
		again, err := json.Marshal(c)
		if err != nil {
			// Only values JSON cannot hold (NaN) fail; Decode never makes those.
			t.Fatalf("re-encoding an accepted cell: %v", err)
		}
		if _, err := DecodeCell("again.json", again); err != nil {
			t.Fatalf("an accepted cell does not read back: %v", err)
		}
	})
}

// FuzzReadManifest checks that no manifest makes the reader panic, and
// that every cell file an accepted manifest names stays inside the run.
func FuzzReadManifest(f *testing.F) {
	m := newManifest("20261125T204500Z-abc1234", time.Date(2026, 11, 25, 20, 45, 0, 0, time.UTC))
	m.SchemaVersion = SchemaVersion
	good, err := json.Marshal(m)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"schema_version":1,"run_id":"r","state":"finished","cells":[{"id":"g/a","server":"a","scenario":"g","file":"a/g.json"}]}`))
	f.Add([]byte(`{"schema_version":1,"run_id":"r","state":"running","cells":[{"id":"g/..","server":"..","scenario":"g","file":"../g.json"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeManifest("manifest.json", data)
		if err != nil {
			return
		}
		for _, c := range m.Cells {
			if c.File != CellFile(c.Server, c.Scenario) || c.Server == ".." || c.Scenario == ".." {
				t.Fatalf("accepted cell file %q outside the run", c.File)
			}
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encoding an accepted manifest: %v", err)
		}
		if _, err := DecodeManifest("again.json", again); err != nil {
			t.Fatalf("an accepted manifest does not read back: %v", err)
		}
	})
}
