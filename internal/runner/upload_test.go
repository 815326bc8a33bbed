package runner

import (
	"testing"

	"github.com/matrixbench/matrix/internal/matrix"
)

// TestMeasuresUpload: the contract check leaves POST /upload out only for a
// server that every /upload row of its protocols excludes.
func TestMeasuresUpload(t *testing.T) {
	const head = `version: 1
profiles:
  test: {duration: 1s}
servers:
  - {name: both, protocols: [h1, h2c], build: {go: ./x}}
  - {name: plain, protocols: [h1], build: {go: ./x}}
scenarios:
  - {name: get, protocol: h1}
`
	const uploads = `  - {name: post-h1, protocol: h1, method: POST, path: /upload, body_size: 4}
  - {name: post-h2, protocol: h2c, method: POST, path: "/upload?x=1", body_size: 4}
`
	for _, tc := range []struct {
		name, rows, exclude string
		want                map[string]bool
	}{
		{"no upload rows", "", "", map[string]bool{"both": true, "plain": true}},
		{"kept", uploads, "", map[string]bool{"both": true, "plain": true}},
		{"one of two rows excluded", uploads, `["post-h1/both"]`, map[string]bool{"both": true, "plain": true}},
		{"every row excluded", uploads, `["post-*/both"]`, map[string]bool{"both": false, "plain": true}},
		// plain speaks no h2c: post-h2 is no row of its, so excluding
		// post-h1 leaves it no /upload cell.
		{"every row of its protocols excluded", uploads, `["post-h1/plain"]`, map[string]bool{"both": true, "plain": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := head + tc.rows
			if tc.exclude != "" {
				y += "exclude: " + tc.exclude + "\n"
			}
			m, err := matrix.Parse("matrix.yaml", []byte(y))
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				s, _ := m.Server(name)
				if got := measuresUpload(m, s); got != want {
					t.Errorf("measuresUpload(%s) = %v, want %v", name, got, want)
				}
			}
		})
	}
}
