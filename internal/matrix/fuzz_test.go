package matrix

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic or hang, and that a
// matrix Parse accepts is usable: its cells expand, and shards cover them.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/issue-example.yaml", "testdata/full.yaml", "../../matrix.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(gridYAML))
	f.Add([]byte(head + okServer + okScenario))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		cells, err := m.Cells(Filter{})
		if err != nil {
			t.Fatalf("valid matrix, but Cells: %v", err)
		}
		for _, c := range cells {
			if !ValidName(c.Server.Name) || !ValidName(c.Scenario.Name) || filepath.Base(c.Server.Name) != c.Server.Name {
				t.Fatalf("cell %q has a bad name", c.ID())
			}
			if !c.Server.Speaks(c.Scenario.Protocol) {
				t.Fatalf("cell %s: server does not speak %s", c.ID(), c.Scenario.Protocol)
			}
		}
		p, err := m.Profile("")
		if err != nil {
			t.Fatal(err)
		}
		if p.Duration <= 0 || p.Repeat < 1 {
			t.Fatalf("profile %+v accepted", p)
		}
		n := 0
		for k := 1; k <= 3; k++ {
			part, err := Shard(cells, k, 3, p, DefaultOverhead)
			if err != nil {
				t.Fatal(err)
			}
			n += len(part)
		}
		if n != len(cells) {
			t.Fatalf("shards hold %d cells, want %d", n, len(cells))
		}
	})
}
