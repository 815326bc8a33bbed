package runner

import (
	"strconv"

	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/runtime"
)

// runtimeInfo is how the manifest records where a run's servers ran: the
// runtime's name, engine and target host in their own fields, and every
// field of info again in the free-form info map, under the keys manifests
// have used from the start.
func runtimeInfo(name string, info runtime.Info, targetHost string) results.RuntimeInfo {
	return results.RuntimeInfo{
		Name: name, Endpoint: info.Endpoint, EngineVersion: info.EngineVersion,
		TargetHost: targetHost, Info: infoMap(info),
	}
}

// infoMap writes info as the manifest's runtime.info map, leaving out
// what the runtime did not report; nil when it reported nothing.
func infoMap(info runtime.Info) map[string]string {
	m := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("runtime", info.Runtime)
	set("endpoint", info.Endpoint)
	set("engine", info.EngineVersion)
	set("api", info.APIVersion)
	set("kernel", info.Kernel)
	set("os", info.OS)
	set("arch", info.Arch)
	if info.CPUs > 0 {
		set("cpus", strconv.Itoa(info.CPUs))
	}
	if info.MemoryBytes > 0 {
		set("memory", strconv.FormatInt(info.MemoryBytes, 10))
	}
	set("cgroup-version", info.CgroupVersion)
	set("cgroup-driver", info.CgroupDriver)
	set("storage-driver", info.StorageDriver)
	set("warning", info.Warning)
	if len(m) == 0 {
		return nil
	}
	return m
}

// startInfo is how a cell's server_info.extra records an instance's start,
// under the keys cell files have used from the start.
func startInfo(rep runtime.StartReport) map[string]string {
	m := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	if rep.Container != "" {
		set("container", rep.Container)
		set("container-id", rep.ID)
	} else {
		set("pid", rep.ID)
	}
	set("image-id", rep.ImageID)
	set("engine", rep.EngineVersion)
	set("program", rep.Program)
	if rep.MemoryLimitIgnored {
		m["memory-limit"] = "not enforced by the process runtime"
	}
	return m
}
