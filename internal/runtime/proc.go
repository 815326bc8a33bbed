package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat. Linux fixes it
// at 100 for user space whatever the kernel's internal tick (see proc(5),
// "clock ticks"), so it needs no sysconf call.
const userHZ = 100

// procStat holds the fields of /proc/<pid>/stat this package uses.
type procStat struct {
	pid       int
	pgrp      int
	cpuTicks  uint64 // utime + stime + cutime + cstime
	startTime uint64 // clock ticks after boot: with the pid, identifies a process
	rssPages  int64
}

// readProcStat parses /proc/<pid>/stat.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(pid, b)
}

// parseProcStat parses the contents of /proc/<pid>/stat. The command name
// (field 2) is in parentheses and may itself hold spaces and parentheses, so
// fields are counted from the last ')'.
func parseProcStat(pid int, b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("runtime: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field n of proc(5) is f[n-3].
	if len(f) < 22 {
		return procStat{}, fmt.Errorf("runtime: /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	num := func(n int) uint64 {
		v, _ := strconv.ParseUint(f[n-3], 10, 64)
		return v
	}
	pgrp, _ := strconv.Atoi(f[5-3])
	rss, _ := strconv.ParseInt(f[24-3], 10, 64)
	return procStat{
		pid:       pid,
		pgrp:      pgrp,
		cpuTicks:  num(14) + num(15) + num(16) + num(17),
		startTime: num(22),
		rssPages:  rss,
	}, nil
}

// listPids returns the ids of every process visible in /proc.
func listPids() ([]int, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if p, err := strconv.Atoi(n); err == nil {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

// processEnv returns the value of key in the environment a process was
// started with, reading /proc/<pid>/environ (readable for our own uid).
func processEnv(pid int, key string) (string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return "", false
	}
	prefix := []byte(key + "=")
	for _, kv := range bytes.Split(b, []byte{0}) {
		if bytes.HasPrefix(kv, prefix) {
			return string(kv[len(prefix):]), true
		}
	}
	return "", false
}

// vmHWM returns the peak resident set size of a process in bytes, from the
// VmHWM line of /proc/<pid>/status.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("runtime: /proc/%d/status: VmHWM: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("runtime: no VmHWM (kernel thread or zombie)")
}
