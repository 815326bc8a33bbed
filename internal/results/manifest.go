package results

import (
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/loadgen"
)

// Manifest describes a run: what was run, how, where, from which commit,
// and the status of every cell. It is the content of manifest.json.
// Durations are integer nanoseconds.
type Manifest struct {
	SchemaVersion int    `json:"schema_version"`
	RunID         string `json:"run_id"`
	// State is StateRunning until the run ends, then StateFinished or
	// StateInterrupted. A crashed run stays StateRunning.
	State    RunState  `json:"state"`
	Created  time.Time `json:"created"`
	Finished time.Time `json:"finished,omitzero"`
	// Command is the command line that made (or last resumed) the run.
	Command        []string    `json:"command,omitempty"`
	Matrix         MatrixRef   `json:"matrix"`
	Profile        ProfileInfo `json:"profile"`
	Runtime        RuntimeInfo `json:"runtime"`
	Git            GitInfo     `json:"git"`
	Host           HostInfo    `json:"host"`
	LoadgenVersion string      `json:"loadgen_version"`
	Filters        Filters     `json:"filters"`
	Shard          *Shard      `json:"shard,omitempty"`
	// Loadgen is how the load generator ran, beyond the profile; nil in
	// runs made before it was recorded.
	Loadgen *LoadgenInfo `json:"loadgen,omitempty"`
	// TLSCAs are the SHA-256 fingerprints (lowercase hex of the DER) of
	// the CAs made for the run's TLS rows, one per execution that ran
	// one (a resumed run makes a new CA); each repeat names its own.
	TLSCAs []string `json:"tls_ca_sha256,omitempty"`
	// MergedFrom lists the run IDs of the shards a merged run was made of.
	MergedFrom []string `json:"merged_from,omitempty"`
	// Shards records, for a merged run, each shard it was made of: where
	// it ran and which cells it measured (see MergedShard).
	Shards []MergedShard `json:"shards,omitempty"`
	// HostCheck is what the host gate saw before the first cell; nil in
	// runs made before schema 2, and kept from the first session of a
	// run that was resumed.
	HostCheck *HostCheck `json:"host_check,omitempty"`
	// UDPBuffer is the UDP receive buffer limit the h3 cells ran with;
	// nil when the run has no h3 cell.
	UDPBuffer *UDPBuffer `json:"udp_buffer,omitempty"`
	// Noise is the run's measured noise: the spread of its cells' repeats
	// and its A/A reference cell. Nil in runs made before schema 2.
	Noise *NoiseReport `json:"noise,omitempty"`
	// Cells lists every cell of the run in matrix order, with its status
	// as of the last manifest write. The cell files are the truth; the
	// list is a summary (a crash may leave it behind them).
	Cells []CellRef `json:"cells"`
}

// UDPBuffer records net.core.rmem_max, the largest UDP receive buffer a
// socket may ask for, as a run with h3 cells found and left it. QUIC
// stacks ask for several MiB (quic-go: 7 MiB) so that a burst of packets
// is not dropped; below that, drops show as retransmissions and tail
// latency of the load generator and of the servers alike.
type UDPBuffer struct {
	// Before and After are rmem_max in bytes at the run's start and after
	// the runner raised it; they are equal when it did not.
	Before int64 `json:"rmem_max_before"`
	After  int64 `json:"rmem_max"`
	// Wanted is what QUIC stacks ask for.
	Wanted int64 `json:"wanted"`
	// Warning says why the limit may be too small, if it is.
	Warning string `json:"warning,omitempty"`
}

// MergedShard records one shard of a merged run: which run it was, where
// it ran and which cells it measured. A merged run's top-level host and
// runtime describe every shard at once (package merge); this keeps each
// one.
type MergedShard struct {
	RunID    string      `json:"run_id"`
	Shard    Shard       `json:"shard"`
	State    RunState    `json:"state"`
	Created  time.Time   `json:"created"`
	Finished time.Time   `json:"finished,omitzero"`
	Command  []string    `json:"command,omitempty"`
	Host     HostInfo    `json:"host"`
	Runtime  RuntimeInfo `json:"runtime"`
	// Cells are the IDs of the cells the shard held, in matrix order.
	Cells []string `json:"cells"`
}

// RunState says whether a run is still going.
type RunState string

// The states of a run.
const (
	StateRunning     RunState = "running"
	StateFinished    RunState = "finished"
	StateInterrupted RunState = "interrupted"
)

// MatrixRef identifies the matrix file a run used.
type MatrixRef struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// ProfileInfo is the profile a run used, with every value written out.
type ProfileInfo struct {
	Name        string  `json:"name"`
	WarmupNs    int64   `json:"warmup_ns"`
	DurationNs  int64   `json:"duration_ns"`
	Repeat      int     `json:"repeat"`
	CooldownNs  int64   `json:"cooldown_ns"`
	Scale       float64 `json:"scale"`
	CPUs        string  `json:"cpus,omitempty"`
	LoadgenCPUs string  `json:"loadgen_cpus,omitempty"`
	MemoryBytes int64   `json:"memory_bytes,omitempty"`
	TargetHost  string  `json:"target_host,omitempty"`
	BudgetNs    int64   `json:"budget_ns,omitempty"`
	// Reference is the profile's reference cell as written ("" for the
	// run's first cell, "none"); the cell measured is in Noise.
	Reference string `json:"reference,omitempty"`
	// InterferenceCores is the threshold repeats were judged against.
	InterferenceCores float64 `json:"interference_cores,omitempty"`
}

// ProfileOf converts a matrix profile to its results form.
func ProfileOf(p matrix.Profile) ProfileInfo {
	return ProfileInfo{
		Name: p.Name, WarmupNs: int64(p.Warmup), DurationNs: int64(p.Duration),
		Repeat: p.Repeat, CooldownNs: int64(p.Cooldown), Scale: p.Scale, CPUs: p.CPUs,
		LoadgenCPUs: p.LoadgenCPUs, MemoryBytes: p.Memory, TargetHost: p.TargetHost,
		BudgetNs: int64(p.Budget), Reference: p.Reference, InterferenceCores: p.InterferenceCores(),
	}
}

// RuntimeInfo describes where the servers ran.
type RuntimeInfo struct {
	// Name is "process" or "docker".
	Name string `json:"name"`
	// Endpoint is the Docker engine endpoint (DOCKER_HOST or the socket).
	Endpoint string `json:"endpoint,omitempty"`
	// EngineVersion is the Docker engine's version.
	EngineVersion string `json:"engine_version,omitempty"`
	// TargetHost is the address the load generator sent traffic to.
	TargetHost string `json:"target_host,omitempty"`
	// EngineHost describes the machine the servers ran on when it is not
	// the load generator's (a remote engine), as the engine reports it.
	EngineHost *HostInfo `json:"engine_host,omitempty"`
	// Info holds anything else the runtime reported.
	Info map[string]string `json:"info,omitempty"`
}

// LoadgenInfo is how the load generator of a run ran.
type LoadgenInfo struct {
	// GOMAXPROCS is the load generator's GOMAXPROCS (matrix run --procs).
	GOMAXPROCS int `json:"gomaxprocs"`
}

// GitInfo is the state of the project's checkout.
type GitInfo struct {
	// Commit is the full commit hash; empty outside a git checkout.
	Commit string `json:"commit"`
	// Dirty is set when the tree had uncommitted changes.
	Dirty bool `json:"dirty"`
}

// HostInfo describes a machine.
type HostInfo struct {
	Hostname  string `json:"hostname"`
	CPUModel  string `json:"cpu_model"`
	Cores     int    `json:"cores"`
	Kernel    string `json:"kernel"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	GoVersion string `json:"go_version,omitempty"`
	MemBytes  int64  `json:"mem_bytes,omitempty"`
}

// Filters are the selection the run was made with.
type Filters struct {
	Servers   []string `json:"servers,omitempty"`
	Scenarios []string `json:"scenarios,omitempty"`
	Cells     []string `json:"cells,omitempty"`
}

// Shard records which part of the cells a run covers (K of N, from 1).
type Shard struct {
	K int `json:"k"`
	N int `json:"n"`
}

// CellRef is one cell in the manifest.
type CellRef struct {
	// ID is "scenario/server".
	ID       string `json:"id"`
	Server   string `json:"server"`
	Scenario string `json:"scenario"`
	// Status is empty when the cell has no result yet.
	Status Status `json:"status"`
	Reason Reason `json:"reason,omitempty"`
	// File is the cell's result file, relative to the run directory.
	File string `json:"file"`
}

// RefOf returns the manifest entry for c.
func RefOf(c *Cell) CellRef {
	return CellRef{ID: c.ID(), Server: c.Server, Scenario: c.Scenario,
		Status: c.Status, Reason: c.Reason, File: CellFile(c.Server, c.Scenario)}
}

// SetCell records ref in m.Cells, replacing the entry with the same ID or
// appending a new one.
func (m *Manifest) SetCell(ref CellRef) {
	for i := range m.Cells {
		if m.Cells[i].ID == ref.ID {
			m.Cells[i] = ref
			return
		}
	}
	m.Cells = append(m.Cells, ref)
}

// Cell returns the entry of the cell with the given ID.
func (m *Manifest) Cell(id string) (CellRef, bool) {
	for _, c := range m.Cells {
		if c.ID == id {
			return c, true
		}
	}
	return CellRef{}, false
}

// NewManifest returns the manifest of a run starting at created: matrix m
// under profile p over cells, on this host with this load generator, with
// every cell listed without a status and the state StateRunning. The
// caller fills in what only it knows (Command, Runtime, Git, Filters,
// Shard) before the first WriteManifest.
func NewManifest(runID string, created time.Time, m *matrix.Matrix, p matrix.Profile, cells []matrix.Cell) *Manifest {
	man := &Manifest{
		SchemaVersion:  SchemaVersion,
		RunID:          runID,
		State:          StateRunning,
		Created:        created.UTC(),
		Matrix:         MatrixRef{Path: m.Path, SHA256: m.SHA256},
		Profile:        ProfileOf(p),
		Host:           LocalHost(),
		LoadgenVersion: loadgen.Version,
		Cells:          make([]CellRef, 0, len(cells)),
	}
	for _, c := range cells {
		man.Cells = append(man.Cells, RefFor(c.Server.Name, c.Scenario.Name))
	}
	return man
}

// RefFor returns the manifest entry of a cell that has no result yet.
func RefFor(server, scenario string) CellRef {
	return CellRef{ID: matrix.CellID(scenario, server), Server: server, Scenario: scenario, File: CellFile(server, scenario)}
}
