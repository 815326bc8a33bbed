package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
)

// Start creates and starts a container for one cell: labelled with the
// runner's identity, host networking (or a bridge with the port published
// on 127.0.0.1 only), pinned CPUs and a memory limit, every capability
// dropped but those spec adds, no new privileges, and an init process so
// the server, not being PID 1, gets SIGTERM's default action.
func (d *Docker) Start(ctx context.Context, spec Spec, art Artifact, opts StartOptions) (Instance, error) {
	if art.Ref == "" {
		return nil, fmt.Errorf("runtime: server %s: start without a built image", spec.Name)
	}
	cfg, hc, err := d.containerConfig(spec, art, opts)
	if err != nil {
		return nil, err
	}
	log, err := newRingLog(opts.LogPath, opts.LogCap)
	if err != nil {
		return nil, err
	}
	name := "matrix-" + spec.Name + "-" + randomHex(4)
	t0 := time.Now()
	created, err := d.cli.ContainerCreate(ctx, cfg, hc, &network.NetworkingConfig{}, nil, name)
	if err != nil {
		if ctx.Err() != nil {
			// The engine may have created the container after the request
			// was abandoned: remove it by name so it is not left behind.
			d.remove(ctx, name)
		}
		log.Close()
		return nil, fmt.Errorf("runtime: create container for %s at %s: %w", spec.Name, d.endpoint, err)
	}
	inst := &dockerInstance{d: d, id: created.ID, log: log, addr: dockerAddr(opts),
		done: make(chan struct{}), logDone: make(chan struct{})}
	inst.report = StartReport{ID: created.ID, Create: time.Since(t0),
		Container: name, ImageID: art.Ref, EngineVersion: d.version}
	if err := d.copyTLS(ctx, created.ID, opts.TLS); err != nil {
		d.remove(ctx, created.ID)
		log.Close()
		return nil, fmt.Errorf("runtime: server %s: %w", spec.Name, err)
	}
	if err := inst.start(ctx); err != nil {
		d.remove(ctx, created.ID)
		log.Close()
		return nil, fmt.Errorf("runtime: start container for %s: %w", spec.Name, err)
	}
	inst.report.Started = time.Since(t0)
	return inst, nil
}

// containerConfig translates spec into the engine's container settings.
func (d *Docker) containerConfig(spec Spec, art Artifact, opts StartOptions) (*container.Config, *container.HostConfig, error) {
	init := true
	cfg := &container.Config{
		Image:      art.Ref,
		Env:        spec.env(opts.Port, containerTLSPath(opts, certName), containerTLSPath(opts, keyName)),
		Labels:     d.labels(spec, opts),
		WorkingDir: spec.WorkDir,
	}
	if len(spec.Command) > 0 {
		cfg.Cmd = spec.args(opts.Port)
	}
	hc := &container.HostConfig{
		NetworkMode: "host",
		CapDrop:     []string{"ALL"},
		CapAdd:      spec.CapAdd,
		SecurityOpt: []string{"no-new-privileges"},
		Init:        &init,
		// The runner saves the output it reads from the attached stream
		// (capped, newest kept); an engine log would cost disk and engine
		// CPU for a noisy server, and its rotation loses output a
		// follower has not read yet.
		LogConfig: container.LogConfig{Type: "none"},
		Resources: container.Resources{CpusetCpus: spec.CPUs},
		// /tmp is memory, as the host's page cache is to a server run
		// by the process runtime. The image's own filesystem may be
		// served by a FUSE daemon (the fuse-overlayfs storage driver),
		// which a server that opens a file per request would measure
		// instead of itself; the packaged servers serve their static
		// files from a copy under $TMPDIR. Its pages count against the
		// container's memory limit.
		Tmpfs: map[string]string{"/tmp": "rw,nosuid,nodev,mode=1777,size=256m"},
	}
	if spec.MemoryBytes > 0 {
		hc.Resources.Memory = spec.MemoryBytes
		hc.Resources.MemorySwap = spec.MemoryBytes // no swap: a server over its limit is OOM-killed, not slowed
	}
	switch spec.Network {
	case "", "host":
	case "bridge":
		// The port is published on TCP and on UDP: an h3 server serves
		// QUIC on UDP at the same number (RFC 9114 3.1).
		tcp, udp := nat.Port(strconv.Itoa(opts.Port)+"/tcp"), nat.Port(strconv.Itoa(opts.Port)+"/udp")
		bind := []nat.PortBinding{{HostIP: "127.0.0.1", HostPort: strconv.Itoa(opts.Port)}}
		hc.NetworkMode = "bridge"
		cfg.ExposedPorts = nat.PortSet{tcp: {}, udp: {}}
		hc.PortBindings = nat.PortMap{tcp: bind, udp: bind}
	default:
		return nil, nil, fmt.Errorf("runtime: server %s: network %q (want host or bridge)", spec.Name, spec.Network)
	}
	return cfg, hc, nil
}

// dockerAddr returns the address the load generator uses.
func dockerAddr(opts StartOptions) string {
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(opts.Port))
}

// randomHex returns 2n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// dockerInstance is a server running in a container.
type dockerInstance struct {
	d      *Docker
	id     string
	addr   string
	log    *ringLog
	report StartReport

	cancel  context.CancelFunc // ends the wait request
	attach  net.Conn           // the output stream
	done    chan struct{}
	logDone chan struct{}

	mu       sync.Mutex
	status   string
	last     Stats
	cgLooked bool
	cg       *cgroupReader

	stopOnce sync.Once
	stopRep  StopReport
	stopErr  error
}

// start attaches to the container's output, registers the wait for its
// exit, and starts it. Both must happen before the start: a server that
// writes and exits at once is still seen, with all its output (the
// next-exit wait condition only sees exits after it is registered).
func (c *dockerInstance) start(ctx context.Context) error {
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	att, err := c.d.cli.ContainerAttach(ctx, c.id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		cancel()
		return fmt.Errorf("attach: %w", err)
	}
	waitC, errC := c.d.cli.ContainerWait(bg, c.id, container.WaitConditionNextExit)
	if err := c.d.cli.ContainerStart(ctx, c.id, container.StartOptions{}); err != nil {
		att.Close()
		cancel()
		return err
	}
	c.attach = att.Conn
	go c.wait(bg, waitC, errC)
	go c.copyOutput(att.Reader)
	return nil
}

// wait records how the container exited and closes done.
func (c *dockerInstance) wait(ctx context.Context, waitC <-chan container.WaitResponse, errC <-chan error) {
	defer close(c.done)
	var status string
	select {
	case r := <-waitC:
		status = "exit status " + strconv.FormatInt(r.StatusCode, 10)
		if r.Error != nil && r.Error.Message != "" {
			status += ": " + r.Error.Message
		}
		if ins, err := c.d.cli.ContainerInspect(ctx, c.id); err == nil && ins.State != nil && ins.State.OOMKilled {
			status = "oom-killed (" + status + ")"
		}
	case err := <-errC:
		status = "lost track of the container: " + err.Error()
	}
	c.mu.Lock()
	c.status = status
	c.mu.Unlock()
}

// copyOutput copies the container's output to the capped log until the
// container exits (the engine then ends the stream). Without a TTY the
// engine multiplexes stdout and stderr with frame headers.
func (c *dockerInstance) copyOutput(r io.Reader) {
	defer close(c.logDone)
	stdcopy.StdCopy(c.log, c.log, r)
}

func (c *dockerInstance) Addr() string                { return c.addr }
func (c *dockerInstance) Done() <-chan struct{}       { return c.done }
func (c *dockerInstance) StartReport() StartReport    { return c.report }
func (c *dockerInstance) LogTail(maxBytes int) string { return c.log.Tail(maxBytes) }

// ExitStatus returns how the container exited, or "" while it runs.
func (c *dockerInstance) ExitStatus() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Sample returns the container's resource use: from its cgroup files when
// they are visible from here (see cgroupReader), else from the engine's
// one-shot stats, which may be up to a second old. Memory is the usage
// less inactive file cache (as docker stats shows it); the peak is the
// kernel's high-water mark (which counts page cache) or, where there is
// none, the highest sample. Once the container has exited the engine has
// no figures: the last sample is returned.
func (c *dockerInstance) Sample(ctx context.Context) (Stats, error) {
	select {
	case <-c.done:
		return c.lastStats(), nil
	default:
	}
	var s Stats
	var err error
	if cg := c.cgroup(ctx); cg != nil {
		s, err = cg.read()
		if err != nil { // the cgroup went away: the container is exiting
			return c.lastStats(), nil
		}
	} else if s, err = c.apiStats(ctx); err != nil || s.Source == "" {
		return c.lastStats(), err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s.CPUSeconds = max(s.CPUSeconds, c.last.CPUSeconds)
	s.PeakMemoryBytes = max(s.PeakMemoryBytes, c.last.PeakMemoryBytes)
	c.last = s
	return s, nil
}

// cgroup finds the container's cgroup once; nil means use the stats API.
func (c *dockerInstance) cgroup(ctx context.Context) *cgroupReader {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.cgLooked {
		c.cgLooked = true
		if ins, err := c.d.cli.ContainerInspect(ctx, c.id); err == nil && ins.State != nil && ins.State.Pid > 0 {
			c.cg, _ = findCgroup(ins.State.Pid)
		}
	}
	return c.cg
}

// apiStats reads one-shot stats from the engine. A zero Stats (no Source)
// means the container exited meanwhile.
func (c *dockerInstance) apiStats(ctx context.Context) (Stats, error) {
	resp, err := c.d.cli.ContainerStatsOneShot(ctx, c.id)
	if err != nil {
		return Stats{}, fmt.Errorf("runtime: stats of %s: %w", shortID(c.id), err)
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return Stats{}, fmt.Errorf("runtime: stats of %s: %w", shortID(c.id), err)
	}
	if s.Read.IsZero() || s.CPUStats.CPUUsage.TotalUsage == 0 && s.MemoryStats.Usage == 0 {
		return Stats{}, nil
	}
	mem := int64(s.MemoryStats.Usage)
	inactive, ok := s.MemoryStats.Stats["total_inactive_file"] // cgroup v1
	if !ok {
		inactive = s.MemoryStats.Stats["inactive_file"] // cgroup v2
	}
	if int64(inactive) < mem {
		mem -= int64(inactive)
	}
	return Stats{
		CPUSeconds:      float64(s.CPUStats.CPUUsage.TotalUsage) / 1e9,
		MemoryBytes:     mem,
		PeakMemoryBytes: max(mem, int64(s.MemoryStats.MaxUsage)),
		Source:          "docker-stats",
	}, nil
}

func (c *dockerInstance) lastStats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Stop samples the container one last time, sends SIGTERM, SIGKILL after
// grace, saves the rest of its log, and removes it. Removal happens even
// when ctx is cancelled.
func (c *dockerInstance) Stop(ctx context.Context, grace time.Duration) (StopReport, error) {
	c.stopOnce.Do(func() { c.stopRep, c.stopErr = c.stop(ctx, grace) })
	return c.stopRep, c.stopErr
}

func (c *dockerInstance) stop(ctx context.Context, grace time.Duration) (StopReport, error) {
	defer c.cancel()
	select {
	case <-c.done:
	default:
		c.Sample(ctx) // the engine has no figures once the container is gone
	}
	t0 := time.Now()
	var rep StopReport
	kctx, kcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer kcancel()
	select {
	case <-c.done:
		rep.ExitedBefore = true
	default:
		c.d.cli.ContainerKill(kctx, c.id, "SIGTERM")
		timer := time.NewTimer(grace)
		select {
		case <-c.done:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		select {
		case <-c.done:
		default:
			rep.Killed = true
			c.d.cli.ContainerKill(kctx, c.id, "SIGKILL")
			select {
			case <-c.done:
			case <-kctx.Done():
			}
		}
		rep.Exit = time.Since(t0)
	}
	timer := time.NewTimer(logDrainWait)
	select {
	case <-c.logDone:
	case <-timer.C:
	}
	timer.Stop()
	err := c.d.remove(ctx, c.id)
	rep.Total = time.Since(t0)
	if err != nil {
		err = fmt.Errorf("runtime: %w", err)
	}
	c.cancel()
	c.attach.Close()
	<-c.logDone
	var lerr error
	rep.Log, lerr = c.log.Close()
	if err == nil {
		err = lerr
	}
	rep.ExitStatus = c.ExitStatus()
	rep.Final = c.lastStats()
	return rep, err
}
