// Package comparetest writes run directories of made-up results for the
// tests of diff, report and history, through package results' writers, as
// the runner would: every cell has repeats with real HdrHistograms and a
// summary computed by results.Summarize.
package comparetest

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/loadgen"
)

// Cell describes one cell's made-up result.
type Cell struct {
	Scenario, Server string
	// Status defaults to ok.
	Status results.Status
	Reason results.Reason
	Detail string
	// Repeats is the number of repeats (default 5).
	Repeats int
	// RPS is the cell's req/s and LatencyUs its median latency in
	// microseconds; each repeat differs from them by up to Noise (a
	// fraction, default 0.01), deterministically.
	RPS, LatencyUs, Noise float64
	// Log, when set, is written as the server's log of the last repeat.
	Log string
	// Connections of the scenario as run (default 64).
	Connections int
	// CPUs is the server's cpuset.
	CPUs string
	// Capacity, when positive, makes a capacity row (p99 objective 10 ms)
	// whose repeats found this capacity in req/s, give or take Noise.
	Capacity float64
}

// Run describes a run.
type Run struct {
	ID      string
	Commit  string
	Dirty   bool
	Created time.Time
	Cells   []Cell
	// Loadgen is the load generator version (default loadgen.Version).
	Loadgen string
	// Shard and MergedFrom go into the manifest as given.
	Shard      *results.Shard
	MergedFrom []string
	// Seed varies the noise between runs.
	Seed uint64
	// Noise goes into the manifest as given: the run's noise floor and
	// reference cell.
	Noise *results.NoiseReport
}

// Write writes run under resultsDir and returns its directory.
func Write(t testing.TB, resultsDir string, run Run) string {
	t.Helper()
	if run.Created.IsZero() {
		run.Created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if run.Loadgen == "" {
		run.Loadgen = loadgen.Version
	}
	r, err := results.Create(resultsDir, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	m := &results.Manifest{
		RunID: run.ID, State: results.StateFinished, Created: run.Created, Finished: run.Created.Add(time.Hour),
		Command: []string{"matrix", "run", "--profile", "test"},
		Matrix:  results.MatrixRef{Path: "matrix.yaml", SHA256: "0123abcd"},
		Profile: results.ProfileInfo{Name: "test", WarmupNs: 1e9, DurationNs: 3e9, Repeat: 5, Scale: 1},
		Runtime: results.RuntimeInfo{Name: "process"},
		Git:     results.GitInfo{Commit: run.Commit, Dirty: run.Dirty},
		Host: results.HostInfo{Hostname: "bench", CPUModel: "Test CPU @ 3.0GHz", Cores: 2, Kernel: "6.1.0",
			OS: "linux", Arch: "amd64", GoVersion: "go1.26"},
		LoadgenVersion: run.Loadgen, Shard: run.Shard, MergedFrom: run.MergedFrom, Noise: run.Noise,
	}
	rng := rand.New(rand.NewPCG(run.Seed, 7))
	for _, cs := range run.Cells {
		c := cell(t, r, cs, run, rng)
		if err := r.WriteCell(c); err != nil {
			t.Fatal(err)
		}
		m.SetCell(results.RefOf(c))
	}
	if err := r.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
	return r.Dir
}

// cell builds the result of one cell.
func cell(t testing.TB, r *results.Run, cs Cell, run Run, rng *rand.Rand) *results.Cell {
	t.Helper()
	if cs.Status == "" {
		cs.Status = results.StatusOK
	}
	if cs.Repeats == 0 {
		cs.Repeats = 5
	}
	if cs.Noise == 0 {
		cs.Noise = 0.01
	}
	if cs.Connections == 0 {
		cs.Connections = 64
	}
	c := &results.Cell{
		Server: cs.Server, Scenario: cs.Scenario, Runtime: "process", Status: cs.Status, Reason: cs.Reason,
		Detail: cs.Detail, Attempt: 1, Started: run.Created, Finished: run.Created.Add(time.Minute),
		ScenarioAsRun: results.ScenarioSpec{Name: cs.Scenario, Protocol: "h1", Method: "GET", Path: "/",
			Connections: cs.Connections, Streams: 1, ErrorBudget: 0.05, TimeoutNs: 10e9},
		ServerInfo: results.ServerInfo{Framework: cs.Server, Version: "1.0", CPUs: cs.CPUs},
	}
	if cs.Capacity > 0 {
		c.ScenarioAsRun.Capacity = &results.CapacitySpec{P99Ns: 10e6, ErrorBudget: 0.05, Start: 0.5,
			StepNs: 2e9, StepWarmupNs: 5e8, MaxSteps: 10, PrecisionPart: 0.05}
	}
	for i := 1; i <= cs.Repeats; i++ {
		rep := results.Repeat{Index: i, Status: cs.Status, Reason: cs.Reason, ServerCPUSeconds: 1, PeakRSSBytes: 10 << 20}
		if cs.Status == results.StatusOK || cs.Status == results.StatusSuspect {
			rep.Result = measure(t, cs, run.Loadgen, rng)
		}
		if cs.Capacity > 0 {
			capRPS := cs.Capacity * (1 + cs.Noise*(2*rng.Float64()-1))
			rep.Capacity = &results.Capacity{From: "saturation:get-simple", StartRPS: capRPS / 2, Chosen: 0,
				CapacityRPS: capRPS, Outcome: "found", Steps: []results.CapacityStep{{RateAsked: capRPS,
					RateAchieved: capRPS, RateMet: true, Held: true, P99Ns: rep.Result.LatencyNs.P99}}}
		}
		if cs.Log != "" && i == cs.Repeats {
			path, err := r.LogPath(cs.Server, cs.Scenario, 1, i)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(cs.Log), 0o644); err != nil {
				t.Fatal(err)
			}
			rep.Log = results.LogFile(cs.Server, cs.Scenario, 1, i)
			c.Logs = append(c.Logs, rep.Log)
		}
		c.Repeats = append(c.Repeats, rep)
	}
	s, err := results.Summarize(c.Repeats)
	if err != nil {
		t.Fatal(err)
	}
	c.Summary = s
	return c
}

// measure makes up one repeat's load generator result: a log-normal
// latency distribution around the cell's latency, recorded into a real
// HdrHistogram.
func measure(t testing.TB, cs Cell, version string, rng *rand.Rand) *results.Measurement {
	t.Helper()
	jitter := func() float64 { return 1 + cs.Noise*(2*rng.Float64()-1) }
	rps := cs.RPS * jitter()
	lat := cs.LatencyUs * jitter()
	h := hdrhistogram.New(1, 10_000_000, 2)
	const n = 2000
	for range n {
		v := lat * math.Exp(0.4*rng.NormFloat64())
		if err := h.RecordValue(max(1, int64(v))); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return results.MeasurementOf(&loadgen.Result{
		Requests: uint64(rps * 3), RPS: rps, Histogram: string(enc), Protocol: "http/1.1",
		LatencyNs:     loadgen.LatencyOf(h),
		ErrorsByClass: map[loadgen.ErrorClass]uint64{}, StatusCodes: map[string]uint64{"200": uint64(rps * 3)},
		DurationNs: 3e9, LoadgenVersion: version, ClientCPUNs: 1e9,
	})
}

// ID returns the cell's "scenario/server" ID.
func (c Cell) ID() string { return c.Scenario + "/" + c.Server }
