package runtime

import (
	"context"
	goruntime "runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestProcessInfo(t *testing.T) {
	p, err := NewProcess(Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	info, err := p.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	want := Info{Runtime: NameProcess, Kernel: unix.ByteSliceToString(u.Release[:]), Arch: goruntime.GOARCH, CPUs: goruntime.NumCPU()}
	if info != want {
		t.Errorf("Info() = %+v, want %+v", info, want)
	}
}

// TestDockerInfo checks the engine's description against what the engine
// answers directly.
func TestDockerInfo(t *testing.T) {
	d := newDockerRuntime(t)
	ctx := context.Background()
	info, err := d.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := d.cli.ServerVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sys, err := d.cli.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Runtime != NameDocker || info.Endpoint != d.cli.DaemonHost() || info.EngineVersion != v.Version || info.Arch != v.Arch {
		t.Errorf("runtime %q endpoint %q engine %q arch %q; the engine says %s %s %s", info.Runtime, info.Endpoint, info.EngineVersion, info.Arch, d.cli.DaemonHost(), v.Version, v.Arch)
	}
	if info.StorageDriver != sys.Driver || info.CPUs != sys.NCPU || info.MemoryBytes != sys.MemTotal || info.Kernel != v.KernelVersion {
		t.Errorf("storage %q cpus %d memory %d kernel %q; the engine says %s %d %d %s", info.StorageDriver, info.CPUs, info.MemoryBytes, info.Kernel, sys.Driver, sys.NCPU, sys.MemTotal, v.KernelVersion)
	}
	if (info.Warning != "") != (sys.Driver == "fuse-overlayfs") {
		t.Errorf("storage driver %s, warning %q", sys.Driver, info.Warning)
	}
}
