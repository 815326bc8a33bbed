package hostload

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConntrackDrops(t *testing.T) {
	const header = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n"
	for _, tc := range []struct {
		name, in string
		want     uint64
		err      bool
	}{
		{"two CPUs", header +
			"0000063b  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 000000a6 00000000 00000000  00000000 00000000 00000000 00000000\n" +
			"0000063b  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 000000ee 00000001 00000000  00000000 00000000 00000000 00000000\n", 0xa6 + 0xee, false},
		{"no drops", header + "00000001  0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", 0, false},
		{"no drop column", "entries found new\n00000001 0 0\n", 0, true},
		{"short line", header + "00000001 0 0\n", 0, true},
		{"not hexadecimal", header + "0 0 0 0 0 0 0 0 0 0 zz 0 0 0 0 0 0\n", 0, true},
		{"empty", "", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseConntrackDrops(strings.NewReader(tc.in))
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("got %d, %v; want %d, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// TestReadConntrack reads a table from files laid out as under /proc, and
// reports a host without the module as not tracking.
func TestReadConntrack(t *testing.T) {
	root := t.TempDir()
	if _, ok := ReadConntrack(root); ok {
		t.Error("a root without nf_conntrack files read as tracking")
	}
	write := func(rel, data string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sys/net/netfilter/nf_conntrack_count", "200000\n")
	write("sys/net/netfilter/nf_conntrack_max", "262144\n")
	write("net/stat/nf_conntrack", "entries drop\n00000001 00000010\n00000001 00000001\n")
	c, ok := ReadConntrack(root)
	if !ok || c != (Conntrack{Count: 200000, Max: 262144, Drops: 17}) {
		t.Fatalf("ReadConntrack = %+v, %v", c, ok)
	}
	if !c.Full(0.5) || c.Full(0.9) {
		t.Errorf("Full(0.5) %v, Full(0.9) %v; want true, false", c.Full(0.5), c.Full(0.9))
	}
}
