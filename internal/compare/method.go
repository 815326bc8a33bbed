package compare

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/matrixbench/matrix/internal/results"
)

// runMethod lists what differs between two runs' ways of measuring, for
// every cell: the machine, the runtime, the load generator and the
// profile's windows. Repeats and filters are not method: more repeats
// measure the same thing more often.
func runMethod(base, head *results.Manifest) []string {
	var d []string
	add := func(what, a, b string) {
		if a != b {
			d = append(d, fmt.Sprintf("%s: %s -> %s", what, orNone(a), orNone(b)))
		}
	}
	add("host", hostKey(&base.Host), hostKey(&head.Host))
	add("engine host", hostKey(base.Runtime.EngineHost), hostKey(head.Runtime.EngineHost))
	add("docker engine", base.Runtime.EngineVersion, head.Runtime.EngineVersion)
	add("loadgen", base.LoadgenVersion, head.LoadgenVersion)
	bp, hp := &base.Profile, &head.Profile
	add("warmup", dur(bp.WarmupNs), dur(hp.WarmupNs))
	add("duration", dur(bp.DurationNs), dur(hp.DurationNs))
	add("server cpus", bp.CPUs, hp.CPUs)
	add("loadgen cpus", bp.LoadgenCPUs, hp.LoadgenCPUs)
	return d
}

// cellMethod lists what differs between two results of the same cell: the
// scenario as run, the runtime, the cpuset and memory limit, the load
// generator's version.
func cellMethod(base, head *results.Cell) []string {
	var d []string
	if !base.ScenarioAsRun.SameMethod(head.ScenarioAsRun) {
		d = append(d, scenarioDiff(base.ScenarioAsRun, head.ScenarioAsRun)...)
	}
	add := func(what, a, b string) {
		if a != b {
			d = append(d, fmt.Sprintf("%s: %s -> %s", what, orNone(a), orNone(b)))
		}
	}
	add("runtime", base.Runtime, head.Runtime)
	add("cpus", base.ServerInfo.CPUs, head.ServerInfo.CPUs)
	add("memory", fmt.Sprint(base.ServerInfo.MemoryBytes), fmt.Sprint(head.ServerInfo.MemoryBytes))
	// A side that measured nothing recorded no version.
	if a, b := loadgenVersion(base), loadgenVersion(head); a != "" && b != "" {
		add("loadgen", a, b)
	}
	return d
}

// loadgenVersion returns the load generator version a cell's repeats
// recorded ("" when none measured).
func loadgenVersion(c *results.Cell) string {
	for _, r := range c.Repeats {
		if r.Result != nil && r.Result.LoadgenVersion != "" {
			return r.Result.LoadgenVersion
		}
	}
	return ""
}

// hostKey names what of a machine makes its figures comparable: the CPU,
// how many, the architecture and the kernel. The host name is left out:
// CI machines get a new one every time.
func hostKey(h *results.HostInfo) string {
	if h == nil {
		return ""
	}
	return fmt.Sprintf("%s x%d %s kernel %s", h.CPUModel, h.Cores, h.Arch, h.Kernel)
}

// scenarioDiff names the fields of the scenario that changed, by their
// JSON names. A rated row's rate follows its saturation cell, so it is
// not a change of method.
func scenarioDiff(a, b results.ScenarioSpec) []string {
	if a.RateFraction > 0 {
		a.Rate, b.Rate, a.SaturationRPS, b.SaturationRPS = 0, 0, 0, 0
	}
	ma, mb := fields(a), fields(b)
	keys := make([]string, 0, len(ma)+len(mb))
	for k := range ma {
		keys = append(keys, k)
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var d []string
	for _, k := range keys {
		if ma[k] != mb[k] {
			d = append(d, fmt.Sprintf("scenario %s: %s -> %s", k, orNone(ma[k]), orNone(mb[k])))
		}
	}
	if len(d) == 0 {
		d = append(d, "scenario definition changed")
	}
	return d
}

// fields returns the JSON fields of a scenario as compact strings.
func fields(s results.ScenarioSpec) map[string]string {
	data, _ := json.Marshal(s)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(data, &m)
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = strings.Trim(string(v), `"`)
	}
	return out
}

// dur formats nanoseconds as a duration ("" for 0).
func dur(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Duration(ns).String()
}

// orNone shows an empty value as "none".
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
