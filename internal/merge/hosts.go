package merge

import (
	"fmt"
	"slices"
	"strings"

	"github.com/matrixbench/matrix/internal/results"
)

// sameMachine reports whether a and b are the same kind of machine, as
// far as figures measured on them are comparable: the CPU model, the
// number of cores, the architecture and the kernel. It is the test diff's
// method check makes (internal/compare); the host name is left out, as CI
// gives every job a new machine of the same kind. nil is "no such
// machine" (the servers ran on the load generator's machine) and is only
// the same as nil.
func sameMachine(a, b *results.HostInfo) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.CPUModel == b.CPUModel && a.Cores == b.Cores && a.Arch == b.Arch && a.Kernel == b.Kernel
}

// machineKey describes what sameMachine compares, for messages.
func machineKey(h *results.HostInfo) string {
	if h == nil {
		return "none (servers on the load generator's machine)"
	}
	return fmt.Sprintf("%s x%d %s kernel %s", h.CPUModel, h.Cores, h.Arch, h.Kernel)
}

// machineDiff lists how the machines two shards ran on differ: the load
// generator's, the engine's when the servers ran elsewhere, and the
// Docker engine's version.
func machineDiff(a, b *results.Manifest) []string {
	var d []string
	if !sameMachine(&a.Host, &b.Host) {
		d = append(d, fmt.Sprintf("load generator host %s and %s", machineKey(&a.Host), machineKey(&b.Host)))
	}
	if ea, eb := a.Runtime.EngineHost, b.Runtime.EngineHost; !sameMachine(ea, eb) {
		d = append(d, fmt.Sprintf("engine host %s and %s", machineKey(ea), machineKey(eb)))
	}
	if va, vb := a.Runtime.EngineVersion, b.Runtime.EngineVersion; va != vb {
		d = append(d, fmt.Sprintf("Docker engine %s and %s", orNone(va), orNone(vb)))
	}
	return d
}

// mergeHosts describes the machines of several shards as one results.HostInfo.
// Each text field holds the distinct values in shard order joined by " | "
// (one value when the shards agree), the numbers the smallest. So shards
// that ran on machines of one kind give exactly that kind, which diff
// treats as equal to a one-machine run on it (the host names, which
// diff ignores, list every machine), and shards of mixed kinds give a
// description no single machine matches, which diff flags.
func mergeHosts(hs []results.HostInfo) results.HostInfo {
	out := hs[0]
	field := func(get func(*results.HostInfo) string) string {
		vals := make([]string, len(hs))
		for i := range hs {
			vals[i] = get(&hs[i])
		}
		return joinDistinct(vals)
	}
	out.Hostname = field(func(h *results.HostInfo) string { return h.Hostname })
	out.CPUModel = field(func(h *results.HostInfo) string { return h.CPUModel })
	out.Kernel = field(func(h *results.HostInfo) string { return h.Kernel })
	out.OS = field(func(h *results.HostInfo) string { return h.OS })
	out.Arch = field(func(h *results.HostInfo) string { return h.Arch })
	out.GoVersion = field(func(h *results.HostInfo) string { return h.GoVersion })
	for _, h := range hs[1:] {
		out.Cores = min(out.Cores, h.Cores)
		if h.MemBytes > 0 && (out.MemBytes == 0 || h.MemBytes < out.MemBytes) {
			out.MemBytes = h.MemBytes
		}
	}
	return out
}

// mergeRuntimes describes the runtimes of several shards (of one runtime
// name) as one, each text field joined as in mergeHosts. EngineHost is
// left to the caller.
func mergeRuntimes(rs []results.RuntimeInfo) results.RuntimeInfo {
	out := results.RuntimeInfo{Name: rs[0].Name}
	var endpoints, versions, targets []string
	info := map[string][]string{}
	for _, r := range rs {
		endpoints = append(endpoints, r.Endpoint)
		versions = append(versions, r.EngineVersion)
		targets = append(targets, r.TargetHost)
		for k, v := range r.Info {
			info[k] = append(info[k], v)
		}
	}
	out.Endpoint = joinDistinct(endpoints)
	out.EngineVersion = joinDistinct(versions)
	out.TargetHost = joinDistinct(targets)
	if len(info) > 0 {
		out.Info = make(map[string]string, len(info))
		for k, vs := range info {
			out.Info[k] = joinDistinct(vs)
		}
	}
	return out
}

// joinDistinct joins the distinct non-empty values of vals, in order of
// first appearance, with " | ".
func joinDistinct(vals []string) string {
	var out []string
	for _, v := range vals {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return strings.Join(out, " | ")
}
