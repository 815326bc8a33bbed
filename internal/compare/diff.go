// Package compare compares two runs of the matrix cell by cell and says
// what changed, whether the change is larger than the noise, and whether
// anything regressed.
//
// Each cell's req/s (median of the repeats) and p99 latency (of the
// repeats' merged histogram) are compared. With at least MinRepeats repeats
// on each side the difference is tested with the Mann-Whitney U test over
// the repeats (golang.org/x/perf/benchmath) at Alpha, and a confidence
// interval of the change is given; a change the test does not call
// significant is shown as "~". With fewer repeats, or sizes the test cannot
// decide at Alpha (3+3), the change is judged by the threshold, and with
// at least two repeats a side only when every head repeat moved beyond
// every base repeat by more than the threshold; the output says no test ran. A cell whose method differs between the runs (the
// scenario as run, the load generator, the runtime, the host, the cpuset)
// is flagged, never judged on its figures, and left out of the geometric
// means.
package compare

import (
	"math"
	"slices"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
)

// DefaultThreshold is the smallest change called a regression: 5 %.
const DefaultThreshold = 0.05

// Options tune a diff.
type Options struct {
	// Threshold is the smallest change (a fraction) that counts as a
	// regression or an improvement; DefaultThreshold when 0 (ABThreshold
	// when Paired). Each run's noise floor widens it (Band).
	Threshold float64
	// Paired compares the two sides of a same-run A/B (`matrix ab`):
	// repeat i of base and repeat i of head ran next to each other in
	// ABBA order, so each cell is judged on the pairs' ratios with the
	// Wilcoxon signed-rank test, and a change is called only when its
	// whole confidence interval lies beyond the threshold.
	Paired bool
}

// Kind classifies a cell of a diff. Kinds are ordered by how urgently a
// reader needs them: a diff lists its cells in this order.
type Kind int

// The kinds of cell change, most urgent first.
const (
	NewDNF        Kind = iota // did not finish in head, did (or was absent) in base
	Regressed                 // req/s or p99 significantly worse by more than the threshold
	Fixed                     // dnf in base, figures in head
	StatusChanged             // another status transition (ok -> suspect...)
	MethodChanged             // the cells were measured differently: not judged
	Improved                  // significantly better by more than the threshold
	Unchanged                 // everything else with figures on both sides
	NoFigures                 // a side without figures (dnf both, interrupted, missing)
)

var kindNames = [...]string{"new-dnf", "regressed", "fixed", "status-changed", "method-changed", "improved", "unchanged", "no-figures"}

// String returns the kind's name as the JSON output spells it.
func (k Kind) String() string { return kindNames[k] }

// MarshalText encodes a kind by name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Side is one run's account of a cell.
type Side struct {
	// Status is "" when the run has no result for the cell.
	Status  results.Status `json:"status"`
	Reason  results.Reason `json:"reason,omitempty"`
	Detail  string         `json:"detail,omitempty"`
	Repeats int            `json:"repeats"`
}

// CellDiff is the comparison of one cell.
type CellDiff struct {
	ID       string `json:"id"`
	Scenario string `json:"scenario"`
	Server   string `json:"server"`
	Kind     Kind   `json:"kind"`
	Base     Side   `json:"base"`
	Head     Side   `json:"head"`
	// RPS and P99 are nil unless both sides have figures; P99 is in
	// nanoseconds.
	RPS *Estimate `json:"rps,omitempty"`
	P99 *Estimate `json:"p99_ns,omitempty"`
	// Method lists what was measured differently; non-empty means the
	// figures are shown but not judged and stay out of the means.
	Method []string `json:"method_changes,omitempty"`
	// Rated is set for a rated row (a fraction of a saturation row's
	// rate): its req/s is shown, not judged.
	Rated bool `json:"rated,omitempty"`
	// Capacity is set for a capacity row: its req/s is the capacity under
	// the latency objective, judged like req/s; its p99 is shown, not
	// judged (the search puts it just under the objective by design).
	Capacity bool `json:"capacity,omitempty"`
	// NotJudged says why the figures, though shown, are not judged (every
	// repeat of a side was interfered with).
	NotJudged string `json:"not_judged,omitempty"`
	// Interference says which repeats were left out because the rest of
	// the host took CPU during them; the verdict is on the others.
	Interference string `json:"interference,omitempty"`
	// Regression is set when the cell makes the diff fail.
	Regression bool `json:"regression"`
}

// Transition returns "base -> head" statuses, "-" for a missing result.
func (c *CellDiff) Transition() string {
	return statusOr(c.Base.Status) + " -> " + statusOr(c.Head.Status)
}

func statusOr(s results.Status) string {
	if s == "" {
		return "-"
	}
	return string(s)
}

// Mean is the geometric mean of the comparable cells of a server, or of
// all servers.
type Mean struct {
	// Server is "" for the overall mean.
	Server string `json:"server,omitempty"`
	// Cells counts the cells in the mean; Excluded those left out (method
	// changed, suspect, or without figures on a side).
	Cells    int      `json:"cells"`
	Excluded int      `json:"excluded"`
	RPS      MeanPair `json:"rps"`
	P99      MeanPair `json:"p99_ns"`
}

// MeanPair is a geometric mean on each side and its change.
type MeanPair struct {
	Base   float64 `json:"base"`
	Head   float64 `json:"head"`
	Change float64 `json:"change"`
}

// Result is a diff of two runs.
type Result struct {
	Base      RunInfo `json:"base"`
	Head      RunInfo `json:"head"`
	Threshold float64 `json:"threshold"`
	Alpha     float64 `json:"alpha"`
	// Band is the half-width of the changes never called: the larger of
	// Threshold and each run's noise floor.
	Band float64 `json:"band"`
	// Paired is set for a same-run A/B (Options.Paired).
	Paired bool `json:"paired,omitempty"`
	// Noise is each run's measured noise, as its manifest records it.
	Noise NoiseSides `json:"noise"`
	// Box is set when the reference cell moved between the runs by more
	// than the threshold: the machine itself changed speed, and every
	// cell's change is normalized by the reference's.
	Box *BoxMove `json:"box,omitempty"`
	// RunMethod lists what differs between the runs for every cell.
	RunMethod []string `json:"run_method_changes,omitempty"`
	// Cells are ordered by Kind, then in matrix order.
	Cells   []CellDiff `json:"cells"`
	Servers []Mean     `json:"servers"`
	Overall Mean       `json:"overall"`
	// Regressions counts cells with Regression set; the diff fails when
	// it is not 0.
	Regressions int `json:"regressions"`
}

// RunInfo identifies one side of a diff.
type RunInfo struct {
	ID     string `json:"id"`
	Dir    string `json:"dir"`
	Commit string `json:"commit,omitempty"`
	Dirty  bool   `json:"dirty,omitempty"`
	// Picked says how the run was chosen when a git revision named it.
	Picked string `json:"picked,omitempty"`
}

// infoOf identifies run r in a diff.
func infoOf(r *results.RunData) RunInfo {
	return RunInfo{ID: r.Manifest.RunID, Dir: r.Dir, Commit: r.Manifest.Git.Commit, Dirty: r.Manifest.Git.Dirty}
}

// Diff compares the cells of base and head.
func Diff(base, head *results.RunData, opt Options) *Result {
	if opt.Threshold == 0 {
		opt.Threshold = DefaultThreshold
		if opt.Paired {
			opt.Threshold = ABThreshold
		}
	}
	res := &Result{
		Base: infoOf(base), Head: infoOf(head), Threshold: opt.Threshold, Alpha: Alpha,
		Paired: opt.Paired, Noise: noiseSides(base.Manifest, head.Manifest),
		RunMethod: runMethod(base.Manifest, head.Manifest),
	}
	j := judge{threshold: opt.Threshold, paired: opt.Paired}
	if opt.Paired {
		// The pairs' interval already carries the noise of this run; the
		// run-to-run floors do not apply to two sides measured together.
		res.Band = opt.Threshold
	} else {
		res.Band = Band(opt.Threshold, res.Noise.Base.Floor, res.Noise.Head.Floor)
		res.Box = boxMove(base.Manifest, head.Manifest, opt.Threshold)
	}
	j.band, j.box = res.Band, res.Box
	for _, id := range unionIDs(base.IDs, head.IDs) {
		cd := diffCell(id, base.Cells[id], head.Cells[id], res.RunMethod, j)
		if cd.Regression {
			res.Regressions++
		}
		res.Cells = append(res.Cells, cd)
	}
	slices.SortStableFunc(res.Cells, func(a, b CellDiff) int { return int(a.Kind) - int(b.Kind) })
	res.Servers, res.Overall = means(res.Cells, unionIDs(base.Servers(), head.Servers()))
	return res
}

// unionIDs returns a followed by the elements of b not in a.
func unionIDs(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, x)
		}
	}
	return out
}

// diffCell compares one cell; b or h is nil when that run has no result.
func diffCell(id string, b, h *results.Cell, runMethod []string, j judge) CellDiff {
	scenario, server, _ := matrix.SplitID(id)
	cd := CellDiff{ID: id, Scenario: scenario, Server: server, Base: sideOf(b), Head: sideOf(h)}
	if b != nil && h != nil {
		cd.Method = append(slices.Clone(runMethod), cellMethod(b, h)...)
	}
	cd.Rated = (b != nil && b.ScenarioAsRun.RateFraction > 0) || (h != nil && h.ScenarioAsRun.RateFraction > 0)
	cd.Capacity = (b != nil && b.ScenarioAsRun.Capacity != nil) || (h != nil && h.ScenarioAsRun.Capacity != nil)
	cd.RPS = j.estimate(b, h, rpsSample, rpsOf, j.box.rpsChange())
	cd.P99 = j.estimate(b, h, p99Sample, p99Of, j.box.p99Change())
	cd.Interference = notJudged(b, h, cd.RPS)
	if cd.RPS == nil && cd.P99 == nil && cd.Interference != "" && b != nil && h != nil && b.Summary != nil && h.Summary != nil {
		cd.NotJudged = cd.Interference
	}
	cd.Kind = classify(&cd, j.band)
	cd.Regression = cd.Kind == NewDNF || cd.Kind == Regressed
	return cd
}

func sideOf(c *results.Cell) Side {
	if c == nil {
		return Side{}
	}
	s := Side{Status: c.Status, Reason: c.Reason, Detail: c.Detail}
	if c.Summary != nil {
		s.Repeats = c.Summary.Repeats
	}
	return s
}

// classify decides a cell's kind. Status transitions come first: a dnf is
// a dnf whatever the method. Figures are judged only when the method is
// the same on both sides.
func classify(cd *CellDiff, threshold float64) Kind {
	b, h := cd.Base.Status, cd.Head.Status
	switch {
	case h == results.StatusDNF && b != results.StatusDNF:
		return NewDNF
	case cd.RPS == nil && cd.P99 == nil:
		if b == results.StatusDNF && (h == results.StatusOK || h == results.StatusSuspect) {
			return Fixed
		}
		if b != h && b != "" && h != "" {
			return StatusChanged
		}
		return NoFigures
	case len(cd.Method) > 0:
		return MethodChanged
	case cd.NotJudged != "":
		if b != h {
			return StatusChanged
		}
		return Unchanged
	case worse(cd, threshold):
		return Regressed
	case b != h:
		return StatusChanged
	case better(cd, threshold):
		return Improved
	}
	return Unchanged
}

// worse reports whether req/s fell or p99 rose beyond the threshold.
//
// A rated cell's req/s is not judged: it is the rate the row asked for, a
// fraction of its saturation row's req/s, which is judged on its own row;
// what the rated row adds is its latency at that rate. A capacity row's
// req/s is its capacity under the objective and is judged; its p99 is not
// (the search keeps it under the objective by design).
func worse(cd *CellDiff, threshold float64) bool {
	return (cd.RPS != nil && !cd.Rated && cd.RPS.Worse(true, threshold)) || (cd.P99 != nil && !cd.Capacity && cd.P99.Worse(false, threshold))
}

// better reports whether req/s rose or p99 fell beyond the threshold, and
// neither got worse.
func better(cd *CellDiff, threshold float64) bool {
	return (cd.RPS != nil && !cd.Rated && cd.RPS.Better(true, threshold)) || (cd.P99 != nil && !cd.Capacity && cd.P99.Better(false, threshold))
}

// comparable reports whether a cell enters the geometric means: figures
// on both sides, the same method, and no suspect figures.
func comparable(cd *CellDiff) bool {
	return cd.RPS != nil && cd.P99 != nil && len(cd.Method) == 0 &&
		cd.Base.Status == results.StatusOK && cd.Head.Status == results.StatusOK
}

// means returns the geometric means per server (in the order given) and
// overall.
func means(cells []CellDiff, servers []string) ([]Mean, Mean) {
	acc := map[string]*meanAcc{}
	var all meanAcc
	for i := range cells {
		cd := &cells[i]
		a := acc[cd.Server]
		if a == nil {
			a = &meanAcc{}
			acc[cd.Server] = a
		}
		a.add(cd)
		all.add(cd)
	}
	var out []Mean
	for _, s := range servers {
		if a := acc[s]; a != nil {
			m := a.mean()
			m.Server = s
			out = append(out, m)
		}
	}
	return out, all.mean()
}

type meanAcc struct {
	rb, rh, pb, ph []float64
	excluded       int
}

func (a *meanAcc) add(cd *CellDiff) {
	if !comparable(cd) || cd.RPS.Base <= 0 || cd.RPS.Head <= 0 {
		a.excluded++
		return
	}
	a.rb, a.rh = append(a.rb, cd.RPS.Base), append(a.rh, cd.RPS.Head)
	a.pb, a.ph = append(a.pb, cd.P99.Base), append(a.ph, cd.P99.Head)
}

func (a *meanAcc) mean() Mean {
	pair := func(b, h []float64) MeanPair {
		gb, gh := geomean(b), geomean(h)
		return MeanPair{Base: gb, Head: gh, Change: ratio(gh, gb)}
	}
	m := Mean{Cells: len(a.rb), Excluded: a.excluded, RPS: pair(a.rb, a.rh), P99: pair(a.pb, a.ph)}
	if m.Cells == 0 {
		m.RPS.Change, m.P99.Change = math.NaN(), math.NaN()
	}
	return m
}
