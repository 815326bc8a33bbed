package runner

import (
	"context"
	"fmt"

	"github.com/matrixbench/matrix/internal/hostload"
	"github.com/matrixbench/matrix/internal/results"
)

// checkHost runs the host gate before the first cell: what else is busy,
// how the CPUs are clocked, how much disk is free, which leftovers of
// earlier runs were found. Each warning goes on its own line at the top of
// the output and into the manifest; with strict (--strict-host) any
// warning refuses the run before a server starts.
func checkHost(ctx context.Context, dir string, leftovers []string, strict bool, out func(string)) (*results.HostCheck, error) {
	rep, err := hostload.Gate(ctx, hostload.GateOptions{Dir: dir, Leftovers: leftovers})
	if err != nil {
		return nil, fmt.Errorf("runner: host check: %w", err)
	}
	hc := &results.HostCheck{
		SampledNs: rep.SampledNs, OtherCores: rep.OtherCores, Turbo: rep.Turbo,
		Leftovers: rep.Leftovers, Warnings: rep.Warnings, Notes: rep.Notes, Strict: strict,
	}
	for _, p := range rep.BusyProcesses {
		hc.BusyProcesses = append(hc.BusyProcesses, fmt.Sprintf("%s (pid %d): %.2f cores", p.Comm, p.PID, p.Cores))
	}
	for _, g := range rep.Governors {
		hc.Governors = append(hc.Governors, fmt.Sprintf("cpu%s: %s", g.CPUs, g.Governor))
	}
	if rep.Disk != nil {
		hc.FreeBytes = rep.Disk.FreeBytes
	}
	for _, w := range rep.Warnings {
		out("warning: host: " + w)
	}
	if strict && len(rep.Warnings) > 0 {
		return hc, usageErr("--strict-host: the host is not quiet (%d warnings above); nothing ran", len(rep.Warnings))
	}
	return hc, nil
}
