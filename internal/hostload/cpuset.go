package hostload

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// parseCPUList parses a cpuset list such as "1", "0-3" or "0,2-3" into
// sorted, distinct CPU numbers. The empty list is nil: no pinning.
func parseCPUList(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a {
			return nil, fmt.Errorf("hostload: bad cpuset %q (want a list like 1, 0-1 or 0,2-3)", s)
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	slices.Sort(cpus)
	return slices.Compact(cpus), nil
}

// formatCPUList writes sorted, distinct CPU numbers as a cpuset list with
// runs folded into ranges: 0,1,2,5 gives "0-2,5".
func formatCPUList(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}

// UnionCPUs returns the cpuset covering every given cpuset, for watching the
// CPUs a server and its load generator run on together. An empty cpuset
// means "not pinned, may run anywhere", so any empty one makes the union
// empty: the whole host must be watched.
func UnionCPUs(sets ...string) (string, error) {
	var all []int
	for _, s := range sets {
		cpus, err := parseCPUList(s)
		if err != nil {
			return "", err
		}
		if cpus == nil {
			return "", nil
		}
		all = append(all, cpus...)
	}
	slices.Sort(all)
	return formatCPUList(slices.Compact(all)), nil
}
