// Package results owns the files a run leaves behind: the run directory,
// its manifest.json, one JSON file per cell and the servers' logs.
//
// Every other package reads and writes results through this one. Writes are
// atomic (a temporary file in the same directory, synced, renamed, and the
// directory synced), so a crash at any moment leaves either the old file or
// the new one, never half of one. Readers check schema_version and name the
// file in every error.
//
// The layout of a run directory:
//
//	<results>/<run-id>/manifest.json
//	<results>/<run-id>/<server>/<scenario>.json
//	<results>/<run-id>/<server>/<scenario>.a<attempt>.r<repeat>.log
//
// The fields are documented, with their versions, in docs/results.md.
package results

// SchemaVersion is the version of the manifest and cell file formats this
// package writes and the highest it reads. Adding a field does not change
// it (readers ignore fields they do not know); changing the meaning of a
// field or removing one does.
//
// Version 2 is the first whose measurement (Repeat.Result) is defined here,
// as Measurement, rather than being loadgen.Result as it encodes itself.
// Its files have the shape of version 1's, which are read as they are.
const SchemaVersion = 2

// Status is the outcome of a cell.
type Status string

// The statuses. A cell file always has one.
const (
	// StatusOK: every repeat measured successes within the error budget.
	StatusOK Status = "ok"
	// StatusSuspect: there are figures, but they should not be trusted
	// blindly: the error ratio is over the scenario's budget, the client
	// was the bottleneck, or a repeat failed while others succeeded.
	StatusSuspect Status = "suspect"
	// StatusDNF: did not finish; no figures. Reason says why.
	StatusDNF Status = "dnf"
	// StatusSkipped: deliberately not run (for example a rated cell whose
	// saturation cell did not finish). Reason says why.
	StatusSkipped Status = "skipped"
	// StatusInterrupted: the run was stopped (signal, crash) before the
	// cell finished. Not the server's fault, so never a regression.
	StatusInterrupted Status = "interrupted"
)

// Statuses lists every status, best first.
var Statuses = [...]Status{StatusOK, StatusSuspect, StatusSkipped, StatusDNF, StatusInterrupted}

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Final reports whether a cell with status s is done: ok, suspect and
// skipped are; dnf, interrupted and "" (no result yet) are not, and
// `matrix run --resume` runs those cells again.
func Final(s Status) bool {
	return s == StatusOK || s == StatusSuspect || s == StatusSkipped
}

// Reason says why a cell is not ok. Readers must accept reasons they do
// not know: new ones may be added without a schema change.
type Reason string

// Reasons of dnf cells.
const (
	ReasonBuildFailed   Reason = "build-failed"  // the server could not be built
	ReasonStartFailed   Reason = "start-failed"  // the server could not be started, or exited at once
	ReasonNotReady      Reason = "not-ready"     // no HTTP answer within the ready timeout
	ReasonDied          Reason = "died"          // the server exited during the cell
	ReasonAllErrors     Reason = "all-errors"    // alive, but every request failed (Detail names the dominant class)
	ReasonNonconformant Reason = "nonconformant" // failed the contract check (`matrix check`)
	ReasonTimeout       Reason = "timeout"       // the cell overran its hard limit
)

// ReasonInterrupted goes with StatusInterrupted.
const ReasonInterrupted Reason = "interrupted"

// Reasons of suspect cells.
const (
	ReasonErrorBudget  Reason = "error-budget"  // error ratio over the scenario's error_budget
	ReasonClientBound  Reason = "client-bound"  // the load generator, not the server, was the bottleneck
	ReasonRateNotMet   Reason = "rate-not-met"  // a rated row achieved less than 95 % of its rate
	ReasonRepeatFailed Reason = "repeat-failed" // at least one repeat failed (Detail says how) while others measured
	ReasonInterference Reason = "interference"  // other work on the host took CPU during the window, even when measured again
	ReasonProtocol     Reason = "protocol"      // the server negotiated another protocol than the row asks for (ALPN: http/1.1 on an h2 row)
)

// ReasonConntrack goes with suspect and dnf repeats: the host's
// connection-tracking table was full during the repeat and dropped packets
// of new connections, so its figures (or its failure) are the table's, not
// the server's.
const ReasonConntrack Reason = "conntrack"

// Reasons of skipped cells.
const (
	// ReasonNoSaturation: a rated cell whose saturation cell has no
	// figures, so it has no rate to run at.
	ReasonNoSaturation Reason = "no-saturation-rate"
)
