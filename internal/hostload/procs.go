package hostload

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// proc is what the gate needs of one /proc/<pid>/stat.
type proc struct {
	pid, ppid int
	comm      string
	ticks     uint64 // utime + stime, USER_HZ ticks, every thread
	startTime uint64 // ticks after boot; with pid, names one process
}

// parsePidStat parses the contents of /proc/<pid>/stat. The command name
// (field 2) sits in parentheses and may itself hold spaces and
// parentheses, so the other fields are counted from the last ')'. The
// children's times (cutime, cstime) are left out: they arrive in one lump
// when a child is reaped and would show as a burst of work never done.
func parsePidStat(b []byte) (proc, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return proc{}, fmt.Errorf("no command name")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:open])))
	if err != nil {
		return proc{}, fmt.Errorf("pid: %w", err)
	}
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state); field n of proc(5) is f[n-3].
	if len(f) < 20 {
		return proc{}, fmt.Errorf("%d fields", len(f)+2)
	}
	var v [4]uint64
	for i, n := range []int{4, 14, 15, 22} {
		if v[i], err = strconv.ParseUint(f[n-3], 10, 64); err != nil {
			return proc{}, fmt.Errorf("field %d: %w", n, err)
		}
	}
	return proc{pid: pid, ppid: int(v[0]), comm: string(b[open+1 : end]), ticks: v[1] + v[2], startTime: v[3]}, nil
}

// readProcs reads /proc/<pid>/stat of every process. A process that exits
// while the directory is read is left out, as is one whose stat cannot be
// parsed (after the first such error, which is returned with the rest).
func readProcs() (map[int]proc, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("hostload: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("hostload: /proc: %w", err)
	}
	procs := make(map[int]proc, len(names))
	var bad error
	for _, name := range names {
		if _, err := strconv.Atoi(name); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue // gone already
		}
		p, err := parsePidStat(b)
		if err != nil {
			if bad == nil {
				bad = fmt.Errorf("hostload: /proc/%s/stat: %w", name, err)
			}
			continue
		}
		procs[p.pid] = p
	}
	return procs, bad
}

// descendants returns root and every process below it in procs.
func descendants(procs map[int]proc, root int) map[int]bool {
	children := make(map[int][]int)
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	tree := map[int]bool{root: true}
	for queue := []int{root}; len(queue) > 0; queue = queue[1:] {
		for _, c := range children[queue[0]] {
			if !tree[c] {
				tree[c] = true
				queue = append(queue, c)
			}
		}
	}
	return tree
}

// usedTicks returns the CPU ticks p used since the before snapshot: the
// difference for a process seen in both, all of its ticks for one that
// started in between (the same pid with another start time is another
// process).
func usedTicks(before map[int]proc, p proc) uint64 {
	b, ok := before[p.pid]
	if !ok || b.startTime != p.startTime {
		return p.ticks
	}
	if p.ticks < b.ticks {
		return 0
	}
	return p.ticks - b.ticks
}
