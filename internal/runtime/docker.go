package runtime

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// pingTimeout bounds the first request to the engine: an engine that does
// not answer within it is treated as absent.
const pingTimeout = 5 * time.Second

// Docker is the runtime that runs each server in its own container through
// the Docker Engine API. It talks to the engine named by the environment
// (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) with the API version
// negotiated, so an engine as old as API 1.41 (Docker 20.10) works.
type Docker struct {
	cli      *client.Client
	gb       *goBuilder
	self     owner
	endpoint string
	version  string // engine version
	arch     string // engine architecture, GOARCH spelling
}

// NewDocker connects to the engine and checks that it answers. The error
// names the endpoint that was tried.
func NewDocker(ctx context.Context, opts Options) (*Docker, error) {
	dir, err := opts.cacheDir()
	if err != nil {
		return nil, err
	}
	self, err := currentOwner()
	if err != nil {
		return nil, err
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("runtime: docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	v, err := cli.ServerVersion(pctx)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("runtime: no Docker engine answers at %s: %w", cli.DaemonHost(), err)
	}
	return &Docker{cli: cli, gb: &goBuilder{cacheDir: dir}, self: self,
		endpoint: cli.DaemonHost(), version: v.Version, arch: v.Arch}, nil
}

// Name returns NameDocker.
func (d *Docker) Name() string { return NameDocker }

// Close closes the connection to the engine.
func (d *Docker) Close() error { return d.cli.Close() }

// Info describes the engine and the host it runs on, as the engine reports.
func (d *Docker) Info(ctx context.Context) (Info, error) {
	v, err := d.cli.ServerVersion(ctx)
	if err != nil {
		return Info{}, fmt.Errorf("runtime: docker version at %s: %w", d.endpoint, err)
	}
	info, err := d.cli.Info(ctx)
	if err != nil {
		return Info{}, fmt.Errorf("runtime: docker info at %s: %w", d.endpoint, err)
	}
	return Info{
		Runtime:       NameDocker,
		Endpoint:      d.endpoint,
		EngineVersion: v.Version,
		APIVersion:    d.cli.ClientVersion(),
		Kernel:        v.KernelVersion,
		OS:            info.OperatingSystem,
		Arch:          v.Arch,
		CPUs:          info.NCPU,
		MemoryBytes:   info.MemTotal,
		CgroupVersion: info.CgroupVersion,
		CgroupDriver:  info.CgroupDriver,
		StorageDriver: info.Driver,
		Warning:       storageNote(info.Driver),
	}, nil
}

// storageNote says how the engine's storage driver skews what servers
// measure, or "" when it does not.
//
// fuse-overlayfs serves each container's root filesystem from a userspace
// daemon. Every path lookup from the container starts at that root, and
// the kernel asks the daemon for the root's POSIX ACL on each one (seen
// here: two getxattr round trips per request of apache2). So a server that
// stats or opens a file per request is measured with the daemon in its
// path, even for files on a tmpfs: on this machine apache2 ran at 55 % of
// its process-runtime figure, h2o at 65-100 %.
func storageNote(driver string) string {
	if driver != "fuse-overlayfs" {
		return ""
	}
	return "the engine's storage driver is fuse-overlayfs: every path lookup in a container goes through a userspace daemon, " +
		"so servers that stat or open a file per request measure lower than on overlay2 or the process runtime"
}

// Cleanup force-removes containers labelled by a runner that is provably
// gone: one on this host whose pid no longer runs or now belongs to
// another process. Containers of live runners and of runners on other
// hosts are kept.
func (d *Docker) Cleanup(ctx context.Context) ([]string, error) {
	list, err := d.cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelRunnerPID)),
	})
	if err != nil {
		return nil, fmt.Errorf("runtime: cleanup: list containers at %s: %w", d.endpoint, err)
	}
	var removed []string
	for _, c := range list {
		o, ok := labelOwner(c.Labels)
		if !ok || !o.goneFrom(d.self) {
			continue
		}
		if err := d.remove(ctx, c.ID); err != nil {
			return removed, fmt.Errorf("runtime: cleanup: %w", err)
		}
		removed = append(removed, fmt.Sprintf("container %s (%s) of run %s cell %s: runner %s pid %d is gone",
			strings.TrimPrefix(firstName(c.Names), "/"), shortID(c.ID), c.Labels[LabelRunID], c.Labels[LabelCell], o.host, o.pid))
	}
	return removed, nil
}

// remove force-removes a container with its anonymous volumes. It runs
// even when ctx is cancelled (an interrupted run must not leave the
// container), bounded by its own timeout.
func (d *Docker) remove(ctx context.Context, id string) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := d.cli.ContainerRemove(rctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil {
		return fmt.Errorf("remove container %s: %w", shortID(id), err)
	}
	return nil
}

// labels returns the labels of a container for opts.
func (d *Docker) labels(spec Spec, opts StartOptions) map[string]string {
	l := make(map[string]string, len(spec.Labels)+6)
	for k, v := range spec.Labels {
		l[k] = v
	}
	l[LabelServer] = spec.Name
	l[LabelRunID] = opts.RunID
	l[LabelCell] = opts.Cell
	l[LabelRunnerPID] = strconv.Itoa(d.self.pid)
	l[LabelRunnerHost] = d.self.host
	l[LabelRunnerStart] = d.self.start
	return l
}

// labelOwner reads the runner identity from container labels.
func labelOwner(l map[string]string) (owner, bool) {
	pid, err := strconv.Atoi(l[LabelRunnerPID])
	if err != nil || pid <= 0 || l[LabelRunnerHost] == "" {
		return owner{}, false
	}
	return owner{host: l[LabelRunnerHost], pid: pid, start: l[LabelRunnerStart]}, true
}

func firstName(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// shortID returns the 12-character form of an engine id.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
