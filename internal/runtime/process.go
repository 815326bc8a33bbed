package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Process is the runtime that runs each server as a local process.
//
// Each server gets its own process group, so Stop signals the server and
// every child it spawned, and a parent-death signal (SIGKILL), so a runner
// killed with SIGKILL takes its server with it. Both are also marked with
// the runner's identity in the environment variable MATRIX_RUNTIME_OWNER,
// which children inherit: Stop kills marked children that left the group,
// and Cleanup kills marked processes whose runner is gone. A child that
// clears its environment and leaves the group escapes all three; none of
// the servers here do.
type Process struct {
	gb   *goBuilder
	self owner
	// nonce tells apart runtimes of one runner process (a test binary holds
	// many at once), whose instance numbers both start at 1: without it, one
	// runtime's Stop would sweep another's server as an escaped child.
	nonce string
	seq   atomic.Int64
}

// NewProcess returns the process runtime.
func NewProcess(opts Options) (*Process, error) {
	dir, err := opts.cacheDir()
	if err != nil {
		return nil, err
	}
	self, err := currentOwner()
	if err != nil {
		return nil, err
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("runtime: instance nonce: %w", err)
	}
	return &Process{gb: &goBuilder{cacheDir: dir}, self: self, nonce: hex.EncodeToString(b[:])}, nil
}

// Name returns NameProcess.
func (p *Process) Name() string { return NameProcess }

// Close does nothing: the process runtime holds no resources.
func (p *Process) Close() error { return nil }

// Info describes the host the servers run on.
func (p *Process) Info(ctx context.Context) (Info, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return Info{}, fmt.Errorf("runtime: uname: %w", err)
	}
	return Info{
		Runtime: NameProcess,
		Kernel:  unix.ByteSliceToString(u.Release[:]),
		Arch:    goruntime.GOARCH,
		CPUs:    goruntime.NumCPU(),
	}, nil
}

// Build compiles a Go server (cached by input hash) or finds the program a
// command names.
func (p *Process) Build(ctx context.Context, spec Spec) (Artifact, error) {
	if err := spec.checkSources(); err != nil {
		return Artifact{}, err
	}
	start := time.Now()
	switch {
	case spec.GoDir != "":
		dir, err := resolve(spec.Dir, spec.GoDir)
		if err != nil {
			return Artifact{}, err
		}
		path, hash, reused, err := p.gb.build(ctx, spec.Name, dir, goruntime.GOOS, goruntime.GOARCH)
		if err != nil {
			return Artifact{}, err
		}
		_, version, _ := p.gb.toolchain(ctx)
		return Artifact{Ref: path, Hash: hash, Reused: reused, BuildDuration: time.Since(start),
			Info: map[string]string{"binary": path, "go": version}}, nil
	case spec.Dockerfile != "" || spec.Image != "":
		return Artifact{}, fmt.Errorf("runtime: server %s: the process runtime cannot run an image or a Dockerfile; give it a command or build.go", spec.Name)
	case len(spec.Command) == 0:
		return Artifact{}, fmt.Errorf("runtime: server %s: no command and nothing to build", spec.Name)
	}
	path, err := p.lookPath(spec)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Ref: path, Reused: true, BuildDuration: time.Since(start), Info: map[string]string{"program": path}}, nil
}

// lookPath finds spec's program: a name with a slash is relative to the
// working directory, others are looked up in PATH.
func (p *Process) lookPath(spec Spec) (string, error) {
	prog := spec.Command[0]
	if strings.Contains(prog, "/") {
		wd, err := p.workDir(spec)
		if err != nil {
			return "", err
		}
		prog, err = resolve(wd, prog)
		if err != nil {
			return "", err
		}
	}
	path, err := exec.LookPath(prog)
	if err != nil {
		return "", fmt.Errorf("runtime: server %s: %w", spec.Name, err)
	}
	return path, nil
}

// workDir returns the server's working directory.
func (p *Process) workDir(spec Spec) (string, error) {
	base := spec.Dir
	if base == "" {
		base = "."
	}
	if spec.WorkDir == "" {
		return resolve(base, ".")
	}
	return resolve(base, spec.WorkDir)
}

// Start starts the server in its own process group with its output going to
// a capped log.
func (p *Process) Start(ctx context.Context, spec Spec, art Artifact, opts StartOptions) (Instance, error) {
	if art.Ref == "" {
		return nil, fmt.Errorf("runtime: server %s: start without a built artifact", spec.Name)
	}
	wd, err := p.workDir(spec)
	if err != nil {
		return nil, err
	}
	args := spec.args(opts.Port)
	if spec.GoDir != "" {
		args = append([]string{art.Ref}, args...)
	}
	log, err := newRingLog(opts.LogPath, opts.LogCap)
	if err != nil {
		return nil, err
	}
	marker := p.self.String() + "/" + p.nonce + "-" + strconv.FormatInt(p.seq.Add(1), 10)
	// A process runs as the runner's user, so it reads the key where the
	// runner wrote it (mode 0600 in a 0700 directory): no copy is made.
	var cert, key string
	if opts.TLS != nil {
		cert, key = opts.TLS.CertPath, opts.TLS.KeyPath
	}
	cmd := &exec.Cmd{
		Path: art.Ref,
		Args: args,
		Dir:  wd,
		Env:  append(append(inherited(os.Environ()), spec.env(opts.Port, cert, key)...), ownerEnv+"="+marker),
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:   true,
			Pdeathsig: syscall.SIGKILL,
		},
	}
	inst, err := startProcess(cmd, spec, opts, log, marker)
	if err != nil {
		log.Close()
		return nil, fmt.Errorf("runtime: start %s: %w", spec.Name, err)
	}
	return inst, nil
}

// startProcess starts cmd with its output piped to log, pinned to spec.CPUs.
//
// The pinning is inherited: fork copies the affinity of the calling thread,
// so the thread is locked, pinned, used to fork, and restored. The thread
// lives on after Start (Go keeps its threads), which the parent-death
// signal needs: Linux sends it when the thread that forked exits.
func startProcess(cmd *exec.Cmd, spec Spec, opts StartOptions, log *ringLog, marker string) (*procInstance, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w
	start := time.Now()
	err = withAffinity(spec.CPUs, cmd.Start)
	w.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	inst := newProcInstance(cmd, spec, opts, log, r, marker)
	inst.report = StartReport{
		ID:      strconv.Itoa(cmd.Process.Pid),
		Started: time.Since(start),
		Program: cmd.Path,
		// Memory limits need a cgroup of the server's own, which the
		// process runtime does not make.
		MemoryLimitIgnored: spec.MemoryBytes > 0,
	}
	return inst, nil
}

// withAffinity runs fn on a locked thread pinned to cpus ("" runs fn as is).
func withAffinity(cpus string, fn func() error) error {
	if cpus == "" {
		return fn()
	}
	set, err := parseCPUSet(cpus)
	if err != nil {
		return err
	}
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return fmt.Errorf("get cpu affinity: %w", err)
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pin to cpus %s: %w", cpus, err)
	}
	defer unix.SchedSetaffinity(0, &old)
	return fn()
}

// Cleanup kills processes started by process runtimes of runners that are
// gone (found by MATRIX_RUNTIME_OWNER in /proc/<pid>/environ).
func (p *Process) Cleanup(ctx context.Context) ([]string, error) {
	pids, err := listPids()
	if err != nil {
		return nil, fmt.Errorf("runtime: cleanup: %w", err)
	}
	var killed []string
	for _, pid := range pids {
		if ctx.Err() != nil {
			return killed, ctx.Err()
		}
		v, ok := processEnv(pid, ownerEnv)
		if !ok {
			continue
		}
		o, ok := parseOwner(v)
		if !ok || !o.goneFrom(p.self) {
			continue
		}
		if err := unix.Kill(pid, unix.SIGKILL); err == nil {
			killed = append(killed, fmt.Sprintf("process %d (%s) of gone runner %s pid %d", pid, commName(pid), o.host, o.pid))
		}
	}
	return killed, nil
}

// commName returns a process's command name, or "?".
func commName(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
