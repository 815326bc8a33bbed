package results

// HostCheck is what the host gate saw before a run's first cell: other
// busy processes, the CPU frequency governor and turbo state, free disk,
// leftovers of earlier runs. Warnings are what could make the figures
// unsteady; with --strict-host any of them refuses the run.
type HostCheck struct {
	// SampledNs is how long the host's CPU use was sampled.
	SampledNs int64 `json:"sampled_ns"`
	// OtherCores is the CPU the rest of the host used meanwhile, in cores.
	OtherCores float64 `json:"other_cores"`
	// BusyProcesses are "comm (pid N): 0.87 cores", busiest first.
	BusyProcesses []string `json:"busy_processes,omitempty"`
	// Governors are "cpu0-1: powersave"; empty when /sys shows none.
	Governors []string `json:"governors,omitempty"`
	// Turbo is "on", "off" or "unknown".
	Turbo string `json:"turbo"`
	// FreeBytes is the free space where the run's results go.
	FreeBytes uint64 `json:"free_bytes"`
	// Leftovers are servers of earlier runs found (and removed).
	Leftovers []string `json:"leftovers,omitempty"`
	// Warnings and Notes are one line each, as printed at the start.
	Warnings []string `json:"warnings"`
	Notes    []string `json:"notes,omitempty"`
	// Strict is set when the run was made with --strict-host (and so had
	// no warning).
	Strict bool `json:"strict,omitempty"`
}
