// Package runtime builds, starts and stops the servers of a matrix.
//
// A Runtime knows how to turn a server's Spec into something runnable (a
// binary or an image), start one Instance of it per cell, sample its CPU and
// memory, and stop it so that nothing is left behind. It does not probe
// readiness over HTTP, classify cells or write results: the runner does.
//
// Two runtimes exist. "process" runs each server as a local process in its
// own process group. "docker" runs each server in its own container through
// the Docker Engine API, building images offline (the engine may be unable
// to pull anything) and tagging them by a hash of their inputs so an
// unchanged server is never rebuilt.
//
// Everything a runtime starts carries the identity of the runner that
// started it (an environment variable for processes, labels for
// containers), so Cleanup can remove what a crashed runner left behind
// without touching the servers of a runner that is still alive.
package runtime

import (
	"context"
	"fmt"
	"time"
)

// Runtime names accepted by New.
const (
	NameAuto    = "auto"
	NameProcess = "process"
	NameDocker  = "docker"
)

// Labels put on every container, also used to find leftovers.
const (
	LabelRunID       = "matrix.run-id"
	LabelCell        = "matrix.cell"
	LabelServer      = "matrix.server"
	LabelRunnerPID   = "matrix.runner-pid"
	LabelRunnerHost  = "matrix.runner-host"
	LabelRunnerStart = "matrix.runner-start" // boot id and start time: guards against pid reuse
	LabelInputs      = "matrix.inputs"       // on images: the hash of their inputs
)

// Spec describes one server, independently of the cell it serves.
//
// Exactly one way of obtaining the program is used: GoDir (compile a Go
// module), Dockerfile (docker only: build a context), Image (docker only: use
// as is) or Command alone (process only: run a program already present).
type Spec struct {
	// Name is the server's name, [a-z0-9][a-z0-9._-]*; it names binaries,
	// images (matrix/<name>:<hash>) and containers.
	Name string
	// Dir is the base for relative paths (normally the matrix file's directory).
	Dir string
	// GoDir is a Go module directory compiled with CGO_ENABLED=0 -trimpath.
	GoDir string
	// Dockerfile is a build context directory holding a Dockerfile.
	Dockerfile string
	// Image is an image reference the engine already has; it is never pulled.
	Image string
	// Command is the program and its arguments for a process server. When
	// the program comes from GoDir, Dockerfile or Image, Command holds only
	// arguments: for GoDir they follow the binary, for images they replace
	// the image's CMD (the ENTRYPOINT stays). Every "{port}" in an argument
	// is replaced by the cell's port.
	Command []string
	// WorkDir is the process runtime's working directory (relative to Dir;
	// default Dir) or the container's working directory (default the image's).
	WorkDir string
	// Env is added to the server's environment; PORT is always set.
	Env map[string]string
	// Mounts are host directories a container sees read-only at the same
	// path (the run's TLS certificate, named in Env); the process runtime
	// ignores them, since a process sees the host's files.
	Mounts []string
	// CPUs is a cpuset such as "1" or "0-1"; empty means no pinning.
	CPUs string
	// MemoryBytes limits the server's memory (docker only); 0 means no limit.
	MemoryBytes int64
	// CapAdd lists capabilities kept after dropping all (docker only).
	CapAdd []string
	// Network is "host" (default: the server listens on the host's
	// loopback) or "bridge" (docker only: the port is published on
	// 127.0.0.1 only).
	Network string
	// Labels are extra labels for the container.
	Labels map[string]string
}

// Artifact is what Build produced for a Spec.
type Artifact struct {
	// Ref is the binary path (process) or the image id (docker).
	Ref string
	// Tag is the image tag (docker; empty for a plain image reference).
	Tag string
	// Hash is the hash of the inputs the artifact was made from.
	Hash string
	// Reused is true when nothing was built: an artifact with the same
	// input hash already existed, or there was nothing to build (an image
	// reference, a command already installed).
	Reused bool
	// BuildDuration is the time Build took, lookups included.
	BuildDuration time.Duration
	// Info holds details worth recording (image id, size, Go version).
	Info map[string]string
}

// StartOptions are the per-cell settings of Start.
type StartOptions struct {
	// Port is the port the server must listen on, passed in PORT and in
	// "{port}" arguments. The runner picks a free one.
	Port int
	// Host is the address the load generator connects to; default 127.0.0.1.
	Host string
	// LogPath is where the server's stdout and stderr are saved. Empty means
	// a temporary file removed by Stop (LogTail still works afterwards).
	LogPath string
	// LogCap caps the saved log; the newest part is kept. 0 means DefaultLogCap.
	LogCap int64
	// RunID and Cell label what the instance belongs to.
	RunID string
	Cell  string
}

// DefaultLogCap is the log cap used when StartOptions.LogCap is 0.
const DefaultLogCap = 8 << 20

// Runtime builds and starts servers. Its methods are safe for concurrent use.
type Runtime interface {
	// Name returns NameProcess or NameDocker.
	Name() string
	// Info describes where servers run: engine version and endpoint,
	// kernel, CPU count, as the runtime sees them.
	Info(ctx context.Context) (Info, error)
	// Build makes the artifact for spec, reusing a cached one whose input
	// hash matches: a second call with unchanged sources builds nothing.
	Build(ctx context.Context, spec Spec) (Artifact, error)
	// Start starts one instance of spec from art. It returns once the
	// server has been started, not once it is ready.
	Start(ctx context.Context, spec Spec, art Artifact, opts StartOptions) (Instance, error)
	// Cleanup removes what runners that are provably gone left behind and
	// describes each removed item. Servers of live runners are kept.
	Cleanup(ctx context.Context) ([]string, error)
	// Close releases the runtime's resources (not its instances).
	Close() error
}

// Info describes where a runtime runs servers, as the runtime sees it.
// Fields a runtime does not know stay empty.
type Info struct {
	// Runtime is NameProcess or NameDocker.
	Runtime string
	// Endpoint is the Docker engine's address (DOCKER_HOST, or the local
	// socket).
	Endpoint string
	// EngineVersion is the Docker engine's version.
	EngineVersion string
	// APIVersion is the Engine API version negotiated with the engine.
	APIVersion string
	// Kernel is the release of the kernel the servers run on.
	Kernel string
	// OS is the engine host's operating system, as the engine names it.
	OS string
	// Arch is the architecture the servers run on, in GOARCH spelling.
	Arch string
	// CPUs is the number of CPUs of the machine the servers run on.
	CPUs int
	// MemoryBytes is the engine host's memory.
	MemoryBytes int64
	// CgroupVersion ("1", "2") and CgroupDriver ("systemd", "cgroupfs")
	// are the engine's: they decide how limits and usage are accounted.
	CgroupVersion string
	CgroupDriver  string
	// StorageDriver is the engine's storage driver ("overlay2",
	// "fuse-overlayfs"), which may slow servers that touch files.
	StorageDriver string
	// Warning, when set, says how this runtime skews what servers measure;
	// the runner shows it and the manifest records it.
	Warning string
}

// Instance is one running server.
type Instance interface {
	// Addr is the host:port the load generator should connect to.
	Addr() string
	// Done is closed once the server has exited, on its own or by Stop.
	Done() <-chan struct{}
	// ExitStatus describes how the server exited ("exit status 1",
	// "signal: killed", "oom-killed"), or "" while it runs.
	ExitStatus() string
	// StartReport gives the start timings and identity of the instance.
	StartReport() StartReport
	// Sample returns the server's resource use so far. After exit it
	// returns the final figures.
	Sample(ctx context.Context) (Stats, error)
	// Stop asks the server to stop (SIGTERM), kills it after grace
	// (SIGKILL), and removes everything it left (process group, container,
	// temporary log). Calling Stop again returns the first report.
	Stop(ctx context.Context, grace time.Duration) (StopReport, error)
	// LogTail returns at most maxBytes of the newest log output.
	LogTail(maxBytes int) string
}

// StartReport describes how an instance started.
type StartReport struct {
	// ID is the container id or the process id.
	ID string
	// Create is the time to create the container (0 for processes).
	Create time.Duration
	// Started is the time from the start of Start to the server running
	// (create-to-started for containers, fork-exec for processes).
	Started time.Duration
	// Container is the container's name (docker).
	Container string
	// ImageID is the id of the image the container runs (docker).
	ImageID string
	// EngineVersion is the version of the engine running the container
	// (docker).
	EngineVersion string
	// Program is the path of the program the process runs (process).
	Program string
	// MemoryLimitIgnored is set when the spec asked for a memory limit
	// this runtime does not enforce (process).
	MemoryLimitIgnored bool
}

// Stats is a server's resource use.
type Stats struct {
	// CPUSeconds is the user plus system CPU time used so far.
	CPUSeconds float64
	// MemoryBytes is the current memory in use (RSS for processes; the
	// cgroup's usage less its inactive file cache for containers).
	MemoryBytes int64
	// PeakMemoryBytes is the highest memory seen: the kernel's high-water
	// mark where available, else the highest sample.
	PeakMemoryBytes int64
	// Source says where the figures come from ("proc", "rusage",
	// "docker-stats"), so a reader can judge them.
	Source string
}

// StopReport describes how an instance stopped.
type StopReport struct {
	// ExitStatus is how the server exited (see Instance.ExitStatus).
	ExitStatus string
	// ExitedBefore is true when the server had exited before Stop.
	ExitedBefore bool
	// Killed is true when the grace period ran out and SIGKILL was sent.
	Killed bool
	// Exit is the time from the stop request to the server's exit.
	Exit time.Duration
	// Total is the time from the stop request to everything removed
	// (stop-to-removed for containers).
	Total time.Duration
	// Final is the resource use at exit.
	Final Stats
	// Log describes the saved log.
	Log LogReport
	// Swept lists processes that escaped the process group and were killed.
	Swept []string
}

// LogReport describes a saved server log.
type LogReport struct {
	// Path is where the log was saved ("" when it was temporary).
	Path string
	// Written is how many bytes the server wrote.
	Written int64
	// Kept is how many of the newest bytes were saved.
	Kept int64
	// Truncated is true when older output was dropped to respect the cap.
	Truncated bool
}

// Options configure a runtime.
type Options struct {
	// CacheDir holds compiled binaries; default <user cache dir>/matrix.
	CacheDir string
}

// New returns the runtime called name: NameProcess, NameDocker, or NameAuto
// (docker when an engine answers, process otherwise). A docker runtime with
// no engine is an error naming the endpoint that was tried.
func New(ctx context.Context, name string, opts Options) (Runtime, error) {
	switch name {
	case NameProcess:
		return NewProcess(opts)
	case NameDocker:
		return NewDocker(ctx, opts)
	case NameAuto, "":
		rt, _, err := Auto(ctx, opts)
		return rt, err
	}
	return nil, fmt.Errorf("runtime: unknown runtime %q (want auto, docker or process)", name)
}

// Auto returns the docker runtime when an engine answers and the process
// runtime otherwise, with a sentence saying which and why.
func Auto(ctx context.Context, opts Options) (Runtime, string, error) {
	d, err := NewDocker(ctx, opts)
	if err == nil {
		return d, "docker: engine " + d.version + " at " + d.endpoint, nil
	}
	p, perr := NewProcess(opts)
	if perr != nil {
		return nil, "", perr
	}
	return p, "process: " + err.Error(), nil
}
