package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// cgroupRoot is where the cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupReader reads a container's CPU and memory figures straight from its
// cgroup, when the engine runs on this host in this pid namespace. The
// stats API answers only on the engine's next one-second collection tick,
// so a sample there can be up to a second late; the files are current.
type cgroupReader struct {
	v2  bool
	cpu string // directory holding cpuacct.usage (v1) or cpu.stat (v2)
	mem string // directory holding the memory files
}

// findCgroup locates the cgroup of process pid (a pid of the engine's
// namespace) and checks that pid is really in it as seen from here, which
// fails when the engine is remote or in another pid namespace.
func findCgroup(pid int) (*cgroupReader, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil, err
	}
	paths := parseProcCgroup(string(b))
	var r cgroupReader
	if p, ok := paths["cpuacct"]; ok {
		r.cpu = firstDir(filepath.Join(cgroupRoot, "cpuacct", p), filepath.Join(cgroupRoot, "cpu,cpuacct", p))
		r.mem = firstDir(filepath.Join(cgroupRoot, "memory", paths["memory"]))
	} else if p, ok := paths[""]; ok {
		r.v2 = true
		r.cpu = firstDir(filepath.Join(cgroupRoot, p))
		r.mem = r.cpu
	}
	if r.cpu == "" || r.mem == "" {
		return nil, fmt.Errorf("runtime: no cgroup directory for pid %d", pid)
	}
	procs, err := os.ReadFile(filepath.Join(r.mem, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	if !slices.Contains(strings.Fields(string(procs)), strconv.Itoa(pid)) {
		return nil, fmt.Errorf("runtime: pid %d is not in %s as seen from here", pid, r.mem)
	}
	return &r, nil
}

// parseProcCgroup maps each controller of /proc/<pid>/cgroup to its path;
// the cgroup v2 hierarchy has the controller "".
func parseProcCgroup(s string) map[string]string {
	m := make(map[string]string)
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			m[c] = f[2]
		}
	}
	return m
}

// firstDir returns the first of dirs that exists.
func firstDir(dirs ...string) string {
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	return ""
}

// read returns CPU seconds, memory in use less inactive file cache (as
// docker stats shows it) and the kernel's memory high-water mark (v1
// max_usage, v2 memory.peak where the kernel has it; both count page cache).
func (r *cgroupReader) read() (Stats, error) {
	s := Stats{Source: "cgroup"}
	var err error
	var usage, peak, inactive int64
	if r.v2 {
		var usec int64
		if usec, err = statField(filepath.Join(r.cpu, "cpu.stat"), "usage_usec"); err != nil {
			return s, err
		}
		s.CPUSeconds = float64(usec) / 1e6
		if usage, err = readInt(filepath.Join(r.mem, "memory.current")); err != nil {
			return s, err
		}
		peak, _ = readInt(filepath.Join(r.mem, "memory.peak")) // Linux 5.19 and later
		inactive, _ = statField(filepath.Join(r.mem, "memory.stat"), "inactive_file")
	} else {
		var ns int64
		if ns, err = readInt(filepath.Join(r.cpu, "cpuacct.usage")); err != nil {
			return s, err
		}
		s.CPUSeconds = float64(ns) / 1e9
		if usage, err = readInt(filepath.Join(r.mem, "memory.usage_in_bytes")); err != nil {
			return s, err
		}
		peak, _ = readInt(filepath.Join(r.mem, "memory.max_usage_in_bytes"))
		inactive, _ = statField(filepath.Join(r.mem, "memory.stat"), "total_inactive_file")
	}
	s.MemoryBytes = usage
	if inactive < usage {
		s.MemoryBytes = usage - inactive
	}
	s.PeakMemoryBytes = max(peak, s.MemoryBytes)
	return s, nil
}

// readInt reads a file holding one integer.
func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// statField reads the value of key in a flat-keyed cgroup file such as
// memory.stat or cpu.stat.
func statField(path, key string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("runtime: %s: no %s", path, key)
}
