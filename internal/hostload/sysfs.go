package hostload

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Governor is one CPU frequency governor and the CPUs it drives.
type Governor struct {
	// CPUs is a cpuset list such as "0-3".
	CPUs string `json:"cpus"`
	// Governor is the name in scaling_governor: "performance",
	// "powersave", "schedutil", ...
	Governor string `json:"governor"`
}

// Turbo states of [Report.Turbo].
const (
	TurboOn      = "on"
	TurboOff     = "off"
	TurboUnknown = "unknown" // not shown by /sys
)

// readGovernors reads cpu*/cpufreq/scaling_governor under sysRoot (normally
// /sys) and groups the CPUs by governor, in CPU order. None means /sys
// shows no cpufreq, as in most virtual machines.
func readGovernors(sysRoot string) ([]Governor, error) {
	paths, err := filepath.Glob(filepath.Join(sysRoot, "devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor"))
	if err != nil {
		return nil, err
	}
	byName := make(map[string][]int)
	for _, p := range paths {
		cpuDir := filepath.Base(filepath.Dir(filepath.Dir(p)))
		n, err := strconv.Atoi(strings.TrimPrefix(cpuDir, "cpu"))
		if err != nil {
			continue // cpufreq, cpuidle and the like are not CPUs
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		g := strings.TrimSpace(string(b))
		byName[g] = append(byName[g], n)
	}
	govs := make([]Governor, 0, len(byName))
	first := make(map[string]int)
	for g, cpus := range byName {
		slices.Sort(cpus)
		first[g] = cpus[0]
		govs = append(govs, Governor{CPUs: formatCPUList(cpus), Governor: g})
	}
	slices.SortFunc(govs, func(a, b Governor) int { return first[a.Governor] - first[b.Governor] })
	return govs, nil
}

// readTurbo returns whether the CPUs may run above their base frequency:
// intel_pstate's no_turbo (1 means off) where that driver runs, else
// cpufreq's boost (1 means on, as acpi-cpufreq and amd-pstate show it).
func readTurbo(sysRoot string) (string, error) {
	files := []struct {
		path string
		on   string
	}{
		{"devices/system/cpu/intel_pstate/no_turbo", "0"},
		{"devices/system/cpu/cpufreq/boost", "1"},
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(sysRoot, f.path))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return TurboUnknown, err
		}
		if strings.TrimSpace(string(b)) == f.on {
			return TurboOn, nil
		}
		return TurboOff, nil
	}
	return TurboUnknown, nil
}
