package runner

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
	"github.com/matrixbench/matrix/loadgen"
)

// A resume or a rerun completes a run, so it measures as the run did:
// same runtime, profile, target host, load generator settings and matrix
// file, all taken from the run's manifest. A result measured another way
// would sit in the run's table as if it were comparable with the rest. A
// flag naming the recorded value is accepted; one naming another value is
// refused before anything runs.

// DefaultProcs is the load generator's GOMAXPROCS when a new run does not
// say: one, which on a small machine leaves the other cores to the server.
const DefaultProcs = 1

// method is what a run recorded about how it measured.
type method struct {
	// where is the manifest the values come from, for messages.
	where string
	// verb is "a rerun" or "a resume", for messages.
	verb       string
	matrixPath string
	profile    results.ProfileInfo
	runtime    string
	endpoint   string
	targetHost string
	// procs is the load generator's GOMAXPROCS; 0 when the run did not
	// record it.
	procs int
	// loadgen is the version of the load generator that measured the run.
	loadgen string
}

// methodOf returns the method recorded by run's manifest man. A run made
// before the manifest recorded the load generator's GOMAXPROCS has it in
// its cells' results, read from the first cell that has one.
func methodOf(run *results.Run, man *results.Manifest, rerun bool) method {
	m := method{
		where: filepath.Join(run.Dir, "manifest.json"), verb: "a resume",
		matrixPath: man.Matrix.Path, profile: man.Profile, runtime: man.Runtime.Name,
		endpoint: man.Runtime.Endpoint, targetHost: man.Runtime.TargetHost,
		loadgen: man.LoadgenVersion,
	}
	if rerun {
		m.verb = "a rerun"
	}
	if m.targetHost == "" {
		m.targetHost = man.Profile.TargetHost
	}
	if man.Loadgen != nil {
		m.procs = man.Loadgen.GOMAXPROCS
		return m
	}
	for _, ref := range man.Cells {
		c, err := run.ReadCell(ref.Server, ref.Scenario)
		if err != nil {
			continue
		}
		for _, rp := range c.Repeats {
			if rp.Result != nil && rp.Result.Config.GOMAXPROCS > 0 {
				m.procs = rp.Result.Config.GOMAXPROCS
				return m
			}
		}
	}
	return m
}

// openExisting opens the run a resume or rerun completes and takes its
// method into the request; it returns the run's manifest, or nil for a
// new run.
func (s *Session) openExisting() (*results.Manifest, error) {
	if s.req.Procs < 0 {
		return nil, usageErr("--procs must be at least 1, got %d", s.req.Procs)
	}
	dir := s.req.Resume
	if dir == "" {
		dir = s.req.Rerun
	}
	if dir == "" {
		if s.req.Procs == 0 {
			s.req.Procs = DefaultProcs
		}
		return nil, nil
	}
	run, err := results.Open(dir)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	man, err := run.ReadManifest()
	if err != nil {
		return nil, usageErr("%v", err)
	}
	m := methodOf(run, man, s.req.Rerun != "")
	if err := m.adopt(&s.req); err != nil {
		return nil, err
	}
	s.Run, s.method = run, &m
	return man, nil
}

// contradiction refuses a flag that names another value than the run's.
func (m method) contradiction(flag, asked, what, recorded string) error {
	return usageErr("%s %s contradicts the run's %s %s (%s); %s measures as the run did",
		flag, asked, what, shown(recorded), m.where, m.verb)
}

// adopt fills the method fields req leaves unset with the run's values and
// refuses those set to another value.
func (m method) adopt(req *Request) error {
	if m.loadgen != "" && m.loadgen != loadgen.Version {
		// No flag chooses the load generator: a new version measures
		// otherwise (loadgen.Version), and only a new run can use it.
		return usageErr("the run was measured by load generator %s (%s), this matrix has %s; %s measures as the run did: make a new run",
			m.loadgen, m.where, loadgen.Version, m.verb)
	}
	if req.MatrixPath == "" {
		req.MatrixPath = m.matrixPath
	}
	switch {
	case req.Profile == "":
		req.Profile = m.profile.Name
	case req.Profile != m.profile.Name:
		return m.contradiction("--profile", req.Profile, "profile", m.profile.Name)
	}
	switch {
	case req.Runtime == "" || req.Runtime == "auto":
		req.Runtime = m.runtime
	case m.runtime != "" && req.Runtime != m.runtime:
		return m.contradiction("--runtime", req.Runtime, "runtime", m.runtime)
	}
	hosts := recordedValues(m.targetHost)
	switch {
	case req.TargetHost == "" && len(hosts) > 1:
		return usageErr("the run's target host is %s (shards merged from several machines; %s): name the one %s sends load to with --target-host",
			m.targetHost, m.where, m.verb)
	case req.TargetHost == "":
		req.TargetHost = m.targetHost
	case !slices.Contains(hosts, req.TargetHost):
		return m.contradiction("--target-host", req.TargetHost, "target host", m.targetHost)
	}
	switch {
	case req.Procs == 0 && m.procs == 0:
		req.Procs = DefaultProcs
	case req.Procs == 0:
		req.Procs = m.procs
	case m.procs != 0 && req.Procs != m.procs:
		return m.contradiction("--procs", fmt.Sprint(req.Procs), "load generator GOMAXPROCS", fmt.Sprint(m.procs))
	}
	return nil
}

// checkProfile refuses a profile whose values in matrix file path changed
// since the run: p is the profile as the file defines it now.
func (m method) checkProfile(path string, p matrix.Profile) error {
	now := results.ProfileOf(p)
	was := m.profile
	for _, f := range []struct {
		name     string
		now, was string
	}{
		{"warmup", time.Duration(now.WarmupNs).String(), time.Duration(was.WarmupNs).String()},
		{"duration", time.Duration(now.DurationNs).String(), time.Duration(was.DurationNs).String()},
		{"repeat", fmt.Sprint(now.Repeat), fmt.Sprint(was.Repeat)},
		{"cooldown", time.Duration(now.CooldownNs).String(), time.Duration(was.CooldownNs).String()},
		{"scale", fmt.Sprint(now.Scale), fmt.Sprint(was.Scale)},
		{"cpus", now.CPUs, was.CPUs},
		{"loadgen_cpus", now.LoadgenCPUs, was.LoadgenCPUs},
		{"memory", fmt.Sprint(now.MemoryBytes), fmt.Sprint(was.MemoryBytes)},
	} {
		if f.now != f.was {
			return usageErr("profile %s in %s now has %s %s, the run measured with %s (%s); %s measures as the run did: restore the profile or make a new run",
				p.Name, path, f.name, shown(f.now), shown(f.was), m.where, m.verb)
		}
	}
	return nil
}

// checkEndpoint refuses a Docker engine other than the run's: its servers
// would run on another machine, or under another engine.
func (m method) checkEndpoint(endpoint string) error {
	if m.endpoint == "" || slices.Contains(recordedValues(m.endpoint), endpoint) {
		return nil
	}
	return usageErr("the Docker engine at %s is not the run's (%s, %s); %s measures as the run did: point DOCKER_HOST at the run's engine",
		endpoint, m.endpoint, m.where, m.verb)
}

// recordedValues splits a recorded value into its distinct values: a
// merged run joins those of its shards with " | ".
func recordedValues(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, " | ")
}

// shown returns v, or "(none)" for an empty value.
func shown(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}
