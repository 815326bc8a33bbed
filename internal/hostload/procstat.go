package hostload

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// userHZ is the unit of the CPU times in /proc/stat and /proc/<pid>/stat.
// Linux fixes it at 100 for user space whatever the kernel's own tick (see
// proc(5), "clock ticks"), so one tick is 10 ms.
const userHZ = 100

// cpuTimes is one "cpu" line of /proc/stat, in USER_HZ ticks.
type cpuTimes struct {
	user, nice, system, idle, iowait, irq, softirq, steal, guest, guestNice uint64
}

// busy returns the ticks the CPU did something other than wait: user,
// nice, system, irq, softirq and steal. Guest time is not added: the kernel
// already counts it in user (and guest_nice in nice). Steal is time a
// hypervisor gave this CPU's turn to someone else, lost to the benchmark as
// surely as time taken by another process, so it counts as busy. Idle and
// iowait are waiting.
func (t cpuTimes) busy() uint64 {
	return t.user + t.nice + t.system + t.irq + t.softirq + t.steal
}

// plus returns the field-by-field sum of t and u.
func (t cpuTimes) plus(u cpuTimes) cpuTimes {
	return cpuTimes{
		user: t.user + u.user, nice: t.nice + u.nice, system: t.system + u.system,
		idle: t.idle + u.idle, iowait: t.iowait + u.iowait, irq: t.irq + u.irq,
		softirq: t.softirq + u.softirq, steal: t.steal + u.steal,
		guest: t.guest + u.guest, guestNice: t.guestNice + u.guestNice,
	}
}

// cpuStat holds the CPU lines of one read of /proc/stat.
type cpuStat struct {
	all    cpuTimes         // the "cpu" line: every online CPU
	perCPU map[int]cpuTimes // the "cpuN" lines; offline CPUs have none
}

// readCPUStat reads the CPU lines of /proc/stat.
func readCPUStat() (cpuStat, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuStat{}, fmt.Errorf("hostload: %w", err)
	}
	defer f.Close()
	return parseCPUStat(f)
}

// parseCPUStat parses the CPU lines at the head of /proc/stat. It stops at
// the first other line, so the long "intr" line that follows is not read.
func parseCPUStat(r io.Reader) (cpuStat, error) {
	st := cpuStat{perCPU: make(map[int]cpuTimes)}
	sawAll := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, _ := strings.Cut(sc.Text(), " ")
		if !strings.HasPrefix(name, "cpu") {
			break
		}
		t, err := parseCPULine(rest)
		if err != nil {
			return cpuStat{}, fmt.Errorf("hostload: /proc/stat: %s: %w", name, err)
		}
		if name == "cpu" {
			st.all, sawAll = t, true
			continue
		}
		n, err := strconv.Atoi(name[len("cpu"):])
		if err != nil || n < 0 {
			return cpuStat{}, fmt.Errorf("hostload: /proc/stat: bad line %q", name)
		}
		st.perCPU[n] = t
	}
	if err := sc.Err(); err != nil {
		return cpuStat{}, fmt.Errorf("hostload: /proc/stat: %w", err)
	}
	if !sawAll {
		return cpuStat{}, fmt.Errorf("hostload: /proc/stat: no cpu line")
	}
	return st, nil
}

// parseCPULine parses the numbers of a cpu line. Kernels before 2.6.33 print
// fewer than ten; the missing ones are zero. At least user, nice, system and
// idle must be there.
func parseCPULine(s string) (cpuTimes, error) {
	f := strings.Fields(s)
	if len(f) < 4 {
		return cpuTimes{}, fmt.Errorf("%d fields, want at least 4", len(f))
	}
	var v [10]uint64
	for i := 0; i < len(f) && i < len(v); i++ {
		n, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return cpuTimes{}, err
		}
		v[i] = n
	}
	return cpuTimes{
		user: v[0], nice: v[1], system: v[2], idle: v[3], iowait: v[4],
		irq: v[5], softirq: v[6], steal: v[7], guest: v[8], guestNice: v[9],
	}, nil
}

// sum returns the times of the given CPUs added up, or of all of them when
// cpus is nil. A CPU without a line (offline, or not on this machine) is an
// error: its time would silently be missing.
func (st cpuStat) sum(cpus []int) (cpuTimes, error) {
	if cpus == nil {
		return st.all, nil
	}
	var t cpuTimes
	for _, c := range cpus {
		ct, ok := st.perCPU[c]
		if !ok {
			return cpuTimes{}, fmt.Errorf("hostload: cpu %d is not in /proc/stat (offline or absent)", c)
		}
		t = t.plus(ct)
	}
	return t, nil
}
