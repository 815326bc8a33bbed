package runner

import (
	"fmt"

	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/loadgen"
)

// clientBoundShare is the share of the client's CPUs (GOMAXPROCS) above
// which the load generator, not the server, probably set the pace: the
// figure is then marked suspect rather than published as the server's.
const clientBoundShare = 0.95

// rateMetShare is the share of a rated row's rate it must achieve to be ok.
const rateMetShare = 0.95

// classifyRepeat decides the status of one repeat that ran the load
// generator to the end against a live server, from what the cell file
// records of the measurement.
func classifyRepeat(res *results.Measurement, errorBudget float64) (results.Status, results.Reason, string) {
	if res.Requests == 0 {
		class, n := dominantClass(res)
		detail := fmt.Sprintf("0 successes, %d errors; most are %s (%d)", res.Errors, class, n)
		if res.EndedEarly != "" {
			detail += "; " + res.EndedEarly
		}
		if res.Errors == 0 {
			detail = "0 successes and 0 errors: the server never answered"
		}
		return results.StatusDNF, results.ReasonAllErrors, detail
	}
	total := res.Requests + res.Errors
	if ratio := float64(res.Errors) / float64(total); ratio > errorBudget {
		class, _ := dominantClass(res)
		return results.StatusSuspect, results.ReasonErrorBudget,
			fmt.Sprintf("error ratio %.3f over the budget %.3f; most errors are %s", ratio, errorBudget, class)
	}
	if rate := res.Config.Rate; rate > 0 && res.RPS < rateMetShare*rate {
		// A rated row that fell behind measured a different load than it
		// names: its latency is the backlog's, not the server's at that rate.
		return results.StatusSuspect, results.ReasonRateNotMet,
			fmt.Sprintf("asked for %.0f req/s, achieved %.0f", rate, res.RPS)
	}
	if res.ProtocolMismatch != "" {
		// Measured, but not in the protocol the row names: the figures
		// are another row's.
		return results.StatusSuspect, results.ReasonProtocol, res.ProtocolMismatch
	}
	if procs := res.Config.GOMAXPROCS; procs > 0 && res.DurationNs > 0 {
		share := float64(res.ClientCPUNs) / float64(res.DurationNs) / float64(procs)
		if share > clientBoundShare {
			return results.StatusSuspect, results.ReasonClientBound,
				fmt.Sprintf("the load generator used %.0f%% of its %d CPU(s): it may have set the pace", share*100, procs)
		}
	}
	return results.StatusOK, "", ""
}

// dominantClass returns the error class with the most errors by the rule
// of the cell's summary (results.DominantClass), "none" when no class has
// any.
func dominantClass(res *results.Measurement) (loadgen.ErrorClass, uint64) {
	class, n := results.DominantClass(res.ErrorsByClass)
	if class == "" {
		return "none", 0
	}
	return class, n
}

// classifyCell combines the repeats of a cell. A failed repeat keeps the
// cell from ok even when another succeeded: a server that crashed once is
// not a server whose figures can be published as they are.
func classifyCell(reps []results.Repeat, want int) (results.Status, results.Reason, string) {
	if len(reps) == 0 {
		return results.StatusInterrupted, results.ReasonInterrupted, "no repeat ran"
	}
	// The worst repeat decides, in this order.
	var worst *results.Repeat
	rank := func(s results.Status) int {
		switch s {
		case results.StatusInterrupted:
			return 4
		case results.StatusDNF:
			return 3
		case results.StatusSkipped:
			return 2
		case results.StatusSuspect:
			return 1
		}
		return 0
	}
	for i := range reps {
		if worst == nil || rank(reps[i].Status) > rank(worst.Status) {
			worst = &reps[i]
		}
	}
	if worst.Status == results.StatusInterrupted {
		return results.StatusInterrupted, results.ReasonInterrupted, worst.Detail
	}
	if worst.Status == results.StatusOK && len(reps) < want {
		return results.StatusInterrupted, results.ReasonInterrupted,
			fmt.Sprintf("%d of %d repeats done", len(reps), want)
	}
	detail := worst.Detail
	if len(reps) > 1 && worst.Status != results.StatusOK {
		detail = fmt.Sprintf("repeat %d: %s", worst.Index, detail)
	}
	return worst.Status, worst.Reason, detail
}
