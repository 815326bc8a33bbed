package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/matrixbench/matrix/internal/compare"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/internal/units"
)

// provenance lists where a run's figures come from: what ran, how, on
// what, from which code. Empty values are left out.
func provenance(m *results.Manifest) []KV {
	var kv []KV
	add := func(k, v string) {
		if strings.TrimSpace(v) != "" {
			kv = append(kv, KV{k, v})
		}
	}
	add("run", m.RunID)
	add("state", string(m.State))
	add("created", stamp(m.Created))
	add("finished", stamp(m.Finished))
	add("command", strings.Join(m.Command, " "))
	add("matrix", fmt.Sprintf("%s (sha256 %s)", m.Matrix.Path, m.Matrix.SHA256))
	commit := m.Git.Commit
	if commit == "" {
		commit = "not a git checkout"
	} else if m.Git.Dirty {
		commit += " (DIRTY tree: uncommitted changes were measured)"
	}
	add("commit", commit)
	p := m.Profile
	add("profile", fmt.Sprintf("%s: warmup %s, duration %s, %d repeat(s), cooldown %s, scale %g",
		p.Name, dur(p.WarmupNs), dur(p.DurationNs), p.Repeat, dur(p.CooldownNs), p.Scale))
	add("server cpus", p.CPUs)
	add("loadgen cpus", p.LoadgenCPUs)
	if p.MemoryBytes > 0 {
		add("server memory", fmt.Sprintf("%d MiB", p.MemoryBytes>>20))
	}
	r := m.Runtime
	add("runtime", strings.TrimSpace(r.Name+" "+r.EngineVersion))
	add("engine endpoint", r.Endpoint)
	add("target host", r.TargetHost)
	add("host (load generator)", hostLine(&m.Host))
	if r.EngineHost != nil {
		add("engine host (servers)", hostLine(r.EngineHost))
	}
	add("loadgen", m.LoadgenVersion)
	f := m.Filters
	add("filters", strings.TrimSpace(strings.Join([]string{
		list("servers", f.Servers), list("scenarios", f.Scenarios), list("cells", f.Cells)}, " ")))
	if m.Shard != nil {
		add("shard", fmt.Sprintf("%d of %d (this run holds only part of the matrix)", m.Shard.K, m.Shard.N))
	}
	add("merged from", strings.Join(m.MergedFrom, ", "))
	return kv
}

// hostLine describes a machine in one line.
func hostLine(h *results.HostInfo) string {
	s := fmt.Sprintf("%s: %s, %d cores, %s/%s, kernel %s", h.Hostname, h.CPUModel, h.Cores, h.OS, h.Arch, h.Kernel)
	if h.MemBytes > 0 {
		s += fmt.Sprintf(", %.1f GiB", float64(h.MemBytes)/(1<<30))
	}
	if h.GoVersion != "" {
		s += ", " + h.GoVersion
	}
	return s
}

func list(name string, v []string) string {
	if len(v) == 0 {
		return ""
	}
	return name + "=" + strings.Join(v, ",")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func dur(ns int64) string { return time.Duration(ns).String() }

// DiffView is the comparison with a base run, as the report shows it.
type DiffView struct {
	BaseID, BaseCommit string
	Verdict            string
	Regressions        int
	Notes              []string
	Rows               []DiffRow
}

// DiffRow is one cell (or mean) of the comparison.
type DiffRow struct {
	Verdict, Class, ID, Status  string
	RPSBase, RPSHead, RPSChange string
	P99Base, P99Head, P99Change string
	Method                      string
}

// diffView prepares a diff for the page.
func diffView(d *compare.Result) *DiffView {
	v := &DiffView{BaseID: d.Base.ID, BaseCommit: d.Base.Commit, Regressions: d.Regressions, Notes: d.RunMethod}
	v.Verdict = fmt.Sprintf("no regression in %d cells", len(d.Cells))
	if d.Regressions > 0 {
		v.Verdict = fmt.Sprintf("%d of %d cells regressed", d.Regressions, len(d.Cells))
	}
	for i := range d.Cells {
		c := &d.Cells[i]
		r := DiffRow{Verdict: c.Verdict(), ID: c.ID, Status: c.StatusText(), Method: strings.Join(c.Method, "; ")}
		switch c.Kind {
		case compare.NewDNF, compare.Regressed:
			r.Class = "bad"
		case compare.Fixed, compare.Improved:
			r.Class = "good"
		}
		if c.RPS != nil {
			r.RPSBase, r.RPSHead, r.RPSChange = units.Rate(c.RPS.Base), units.Rate(c.RPS.Head), compare.FormatChange(c.RPS)
		}
		if c.P99 != nil {
			r.P99Base, r.P99Head, r.P99Change = units.Duration(c.P99.Base), units.Duration(c.P99.Head), compare.FormatChange(c.P99)
		}
		v.Rows = append(v.Rows, r)
	}
	for _, m := range append(d.Servers, d.Overall) {
		name := "geomean " + m.Server
		if m.Server == "" {
			name = "geomean (all servers)"
		}
		r := DiffRow{ID: name, Status: compare.CellCount(m.Cells), Class: "mean"}
		if m.Cells > 0 {
			r.RPSBase, r.RPSHead, r.RPSChange = units.Rate(m.RPS.Base), units.Rate(m.RPS.Head), units.Change(m.RPS.Change)
			r.P99Base, r.P99Head, r.P99Change = units.Duration(m.P99.Base), units.Duration(m.P99.Head), units.Change(m.P99.Change)
		}
		v.Rows = append(v.Rows, r)
	}
	return v
}
