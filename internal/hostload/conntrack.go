package hostload

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Conntrack is one reading of the kernel's connection-tracking table
// (netfilter's nf_conntrack), which tracks every TCP connection once the
// module is loaded, as it is wherever Docker sets up its iptables rules.
//
// Why it matters here: a closed connection's entry stays for
// nf_conntrack_tcp_timeout_time_wait (120 s by default), so rows that open
// a connection per request (churn-close) fill the table in seconds: about
// 15,000 connections a second, each tracked twice through docker-proxy,
// against 262,144 entries. A full table drops the SYNs of new connections
// ("nf_conntrack: table full, dropping packet" in the kernel log): dials
// stay pending, readiness probes time out, and a cell measures the host's
// table, not its server.
type Conntrack struct {
	Count int64 // entries in the table (nf_conntrack_count)
	Max   int64 // the table's size (nf_conntrack_max)
	// Drops counts packets dropped since boot because no entry could be
	// made (the "drop" column of /proc/net/stat/nf_conntrack, summed over
	// the CPUs).
	Drops uint64
}

// Full reports whether the table holds more than frac of its size.
func (c Conntrack) Full(frac float64) bool {
	return c.Max > 0 && float64(c.Count) > frac*float64(c.Max)
}

// ReadConntrack reads the table under procRoot (normally /proc). ok is
// false when the host tracks no connections (the module is not loaded) or
// its files cannot be read.
func ReadConntrack(procRoot string) (c Conntrack, ok bool) {
	count, err1 := ReadInt(filepath.Join(procRoot, "sys/net/netfilter/nf_conntrack_count"))
	max, err2 := ReadInt(filepath.Join(procRoot, "sys/net/netfilter/nf_conntrack_max"))
	f, err3 := os.Open(filepath.Join(procRoot, "net/stat/nf_conntrack"))
	if err1 != nil || err2 != nil || err3 != nil {
		if f != nil {
			f.Close()
		}
		return Conntrack{}, false
	}
	defer f.Close()
	drops, err := parseConntrackDrops(f)
	if err != nil {
		return Conntrack{}, false
	}
	return Conntrack{Count: count, Max: max, Drops: drops}, true
}

// ReadInt reads a file holding one decimal integer, such as a setting
// under /proc/sys.
func ReadInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// parseConntrackDrops sums the "drop" column of /proc/net/stat/nf_conntrack:
// a header naming the columns, then one line per CPU of hexadecimal counts.
func parseConntrackDrops(r io.Reader) (uint64, error) {
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		return 0, fmt.Errorf("hostload: nf_conntrack stats: no header")
	}
	col := -1
	for i, name := range strings.Fields(sc.Text()) {
		if name == "drop" {
			col = i
		}
	}
	if col < 0 {
		return 0, fmt.Errorf("hostload: nf_conntrack stats: no drop column in %q", sc.Text())
	}
	var sum uint64
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) <= col {
			return 0, fmt.Errorf("hostload: nf_conntrack stats: short line %q", sc.Text())
		}
		n, err := strconv.ParseUint(fields[col], 16, 64)
		if err != nil {
			return 0, fmt.Errorf("hostload: nf_conntrack stats: %w", err)
		}
		sum += n
	}
	return sum, sc.Err()
}
