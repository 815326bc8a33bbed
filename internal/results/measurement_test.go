package results

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/matrixbench/matrix/loadgen"
)

// update rewrites the golden files instead of comparing with them.
var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current encoding")

// notRecorded lists the fields of loadgen.Result (paths as leafPaths
// gives them) that cell files deliberately do not record, each with the
// reason. A field loadgen adds must be either converted by MeasurementOf
// (a file format change: update the golden file and docs/results.md) or
// listed here; TestMeasurementCoversResult fails until one is done.
var notRecorded = map[string]string{}

// leafPaths lists the leaf fields of t, nested structs and the elements of
// slices of structs walked into: "LatencyNs.P99", "Timeseries[].P99Ns".
func leafPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		path := prefix + f.Name
		switch {
		case f.Type.Kind() == reflect.Struct:
			out = append(out, leafPaths(f.Type, path+".")...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			out = append(out, leafPaths(f.Type.Elem(), path+"[].")...)
		default:
			out = append(out, path)
		}
	}
	return out
}

// leaves returns the values at path in v (a struct), one per slice
// element on the way; none when a field on the path does not exist.
func leaves(v reflect.Value, path string) []reflect.Value {
	name, rest, more := strings.Cut(path, ".")
	name, each := strings.CutSuffix(name, "[]")
	f := v.FieldByName(name)
	if !f.IsValid() {
		return nil
	}
	if !more {
		return []reflect.Value{f}
	}
	if !each {
		return leaves(f, rest)
	}
	var out []reflect.Value
	for i := range f.Len() {
		out = append(out, leaves(f.Index(i), rest)...)
	}
	return out
}

// anyNonZero reports whether some value in vs is not its type's zero.
func anyNonZero(vs []reflect.Value) bool {
	for _, v := range vs {
		if !v.IsZero() {
			return true
		}
	}
	return false
}

// jsonOf encodes values for comparison.
func jsonOf(t *testing.T, vs []reflect.Value) string {
	t.Helper()
	var parts []string
	for _, v := range vs {
		b, err := json.Marshal(v.Interface())
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, string(b))
	}
	return strings.Join(parts, ",")
}

// TestMeasurementCoversResult checks every field of loadgen.Result, nested
// ones included: MeasurementOf copies it to the Measurement field of the
// same name, or notRecorded lists it. It works from fullResult, which must
// set every field, and zeroes one field at a time to see whether the
// measurement changes.
func TestMeasurementCoversResult(t *testing.T) {
	full := fullResult()
	base := MeasurementOf(full)
	paths := leafPaths(reflect.TypeFor[loadgen.Result](), "")
	for _, path := range paths {
		if !anyNonZero(leaves(reflect.ValueOf(full).Elem(), path)) {
			t.Errorf("loadgen.Result.%s is zero in fullResult: set it, so the tests see what MeasurementOf does with it", path)
		}
	}
	if t.Failed() {
		return
	}
	for _, path := range paths {
		r := fullResult()
		for _, v := range leaves(reflect.ValueOf(r).Elem(), path) {
			v.SetZero()
		}
		mapped := !reflect.DeepEqual(MeasurementOf(r), base)
		_, listed := notRecorded[path]
		switch {
		case mapped && listed:
			t.Errorf("loadgen.Result.%s is listed in notRecorded, but MeasurementOf records it", path)
		case !mapped && !listed:
			t.Errorf("loadgen.Result.%s is neither recorded by MeasurementOf nor listed in notRecorded: "+
				"convert it (a file format change: update testdata/measurement.golden.json and docs/results.md) or list it with the reason", path)
		case mapped:
			// Recorded: under the same name, with the same value.
			got := leaves(reflect.ValueOf(base).Elem(), path)
			want := leaves(reflect.ValueOf(full).Elem(), path)
			if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
				t.Errorf("Measurement.%s = %s, want loadgen.Result.%s = %s", path, g, path, w)
			}
		}
	}
	for path := range notRecorded {
		if len(leaves(reflect.ValueOf(full).Elem(), path)) == 0 {
			t.Errorf("notRecorded lists %s, which loadgen.Result does not have", path)
		}
	}
	// Nothing in a Measurement is left unfilled by the conversion.
	for _, path := range leafPaths(reflect.TypeFor[Measurement](), "") {
		if !anyNonZero(leaves(reflect.ValueOf(base).Elem(), path)) {
			t.Errorf("Measurement.%s is zero after MeasurementOf(fullResult()): nothing fills it", path)
		}
	}
}

// TestMeasurementOfShares checks that a measurement shares no map or
// slice with the result it came from, and that nil converts to nil.
func TestMeasurementOfShares(t *testing.T) {
	if MeasurementOf(nil) != nil {
		t.Error("MeasurementOf(nil) is not nil")
	}
	r := fullResult()
	m := MeasurementOf(r)
	r.ErrorsByClass[loadgen.ClassRead] = 1000
	r.StatusCodes["200"] = 0
	r.ServerSettings["MAX_CONCURRENT_STREAMS"] = 1
	r.Timeseries[0].Requests = 0
	if m.ErrorsByClass[loadgen.ClassRead] != 2 || m.StatusCodes["200"] != 119_842 ||
		m.ServerSettings["MAX_CONCURRENT_STREAMS"] != 100 || m.Timeseries[0].Requests != 39_900 {
		t.Errorf("changing the result changed the measurement: %+v", m)
	}
	if m := MeasurementOf(&loadgen.Result{}); m.Timeseries != nil || m.ErrorsByClass != nil {
		t.Errorf("empty result gave %+v, want nil slices and maps (omitted or null as before)", m)
	}
}

// TestMeasurementGolden pins the encoding of a measurement, the largest
// part of a cell file, byte for byte: a change to Measurement's fields or
// JSON names (or to MeasurementOf) fails here. If the change is meant,
// bump SchemaVersion when it changes or removes a field, say what changed
// in docs/results.md, and rewrite the file with
//
//	go test ./internal/results -run TestMeasurementGolden -update
//
// then review the diff of testdata/measurement.golden.json.
func TestMeasurementGolden(t *testing.T) {
	const golden = "testdata/measurement.golden.json"
	got, err := json.MarshalIndent(MeasurementOf(fullResult()), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the encoding of a measurement changed (see this test's comment to make it deliberate):\n got %s\nwant %s", got, want)
	}
}

// forgetV1 clears the fields of m that version 1 files did not record.
func forgetV1(m *Measurement) {
	m.TLS, m.QUICVersion = nil, ""
	m.SlotsHandedOff, m.HandOffReason, m.Config.EventLoops = 0, "", 0
}

// TestReadVersion1 reads a cell file written by schema version 1 (where
// the measurement was loadgen.Result as it encoded itself): it decodes
// into the same values, and encodes back to the same bytes but for the
// version, so the two versions have one shape.
func TestReadVersion1(t *testing.T) {
	const v1 = "testdata/cell-v1.json"
	data, err := os.ReadFile(v1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := DecodeCell(v1, data)
	if err != nil {
		t.Fatal(err)
	}
	if c.SchemaVersion != 1 {
		t.Errorf("schema_version %d, want 1", c.SchemaVersion)
	}
	// Version 1 files predate TLS and h3 rows and the HTTP/1.1 event
	// loops: they record no handshake, QUIC version, event loops or slots
	// handed off.
	want1 := MeasurementOf(fullResult())
	forgetV1(want1)
	if want := want1; !reflect.DeepEqual(c.Repeats[0].Result, want) {
		t.Errorf("measurement of a version 1 file:\n got %+v\nwant %+v", c.Repeats[0].Result, want)
	}
	// The file was written from fullCell with its summary.
	want := fullCell()
	if want.Summary, err = Summarize(want.Repeats); err != nil {
		t.Fatal(err)
	}
	want.Summary.Spread = nil // version 1 did not record it
	for _, r := range want.Repeats {
		if r.Result != nil {
			forgetV1(r.Result)
		}
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("version 1 cell:\n got %+v\nwant %+v", c, want)
	}
	if c.Summary == nil || c.Summary.LatencyNs.P50 != 310_000 || c.Summary.DominantError != loadgen.ClassTimeout {
		t.Errorf("summary of a version 1 file: %+v", c.Summary)
	}
	again, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(again, '\n'), data) {
		t.Errorf("a version 1 file does not encode back to itself:\n got %s\nwant %s", again, data)
	}
	// Through a run directory, as every reader opens it.
	r, err := Create(t.TempDir(), "20261125T204500Z-abc1234")
	if err != nil {
		t.Fatal(err)
	}
	man := []byte(`{"schema_version":1,"run_id":"20261125T204500Z-abc1234","state":"finished","created":"2026-11-25T20:45:00Z",` +
		`"cells":[{"id":"post-h2/s1","server":"s1","scenario":"post-h2","status":"suspect","reason":"error-budget","file":"s1/post-h2.json"}]}`)
	if err := os.WriteFile(r.ManifestPath(), man, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(r.Dir+"/s1", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.CellPath("s1", "post-h2"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := r.ReadManifest()
	if err != nil || m.SchemaVersion != 1 || len(m.Cells) != 1 {
		t.Fatalf("version 1 manifest: %+v, %v", m, err)
	}
	if c2, err := r.ReadCell("s1", "post-h2"); err != nil || !reflect.DeepEqual(c2, c) {
		t.Errorf("version 1 cell through the run: %v", err)
	}
}
