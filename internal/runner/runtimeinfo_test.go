package runner

import (
	"maps"
	"testing"

	"github.com/matrixbench/matrix/internal/runtime"
)

// TestInfoMap checks that the manifest's runtime.info keeps the keys it
// had when the runtime reported a map.
func TestInfoMap(t *testing.T) {
	tests := []struct {
		name string
		info runtime.Info
		want map[string]string
	}{
		{"docker", runtime.Info{
			Runtime: "docker", Endpoint: "unix:///var/run/docker.sock", EngineVersion: "28.1.1", APIVersion: "1.49",
			Kernel: "6.1.0", OS: "Debian GNU/Linux 12 (bookworm)", Arch: "amd64", CPUs: 2, MemoryBytes: 8 << 30,
			CgroupVersion: "2", CgroupDriver: "systemd", StorageDriver: "fuse-overlayfs", Warning: "slow paths",
		}, map[string]string{
			"runtime": "docker", "endpoint": "unix:///var/run/docker.sock", "engine": "28.1.1", "api": "1.49",
			"kernel": "6.1.0", "os": "Debian GNU/Linux 12 (bookworm)", "arch": "amd64", "cpus": "2", "memory": "8589934592",
			"cgroup-version": "2", "cgroup-driver": "systemd", "storage-driver": "fuse-overlayfs", "warning": "slow paths",
		}},
		{"process", runtime.Info{Runtime: "process", Kernel: "6.1.0", Arch: "arm64", CPUs: 4},
			map[string]string{"runtime": "process", "kernel": "6.1.0", "arch": "arm64", "cpus": "4"}},
		{"nothing reported", runtime.Info{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := infoMap(tt.info)
			if !maps.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("infoMap = %v, want %v", got, tt.want)
			}
			ri := runtimeInfo(tt.info.Runtime, tt.info, "10.0.0.1")
			if ri.Endpoint != tt.info.Endpoint || ri.EngineVersion != tt.info.EngineVersion || ri.TargetHost != "10.0.0.1" {
				t.Errorf("runtimeInfo = %+v", ri)
			}
		})
	}
}

// TestStartInfo checks that a cell's server_info.extra keeps the keys it
// had when the runtime reported a map.
func TestStartInfo(t *testing.T) {
	tests := []struct {
		name string
		rep  runtime.StartReport
		want map[string]string
	}{
		{"docker", runtime.StartReport{ID: "4f2a", Container: "matrix-x-get-a", ImageID: "sha256:9c1e", EngineVersion: "28.1.1"},
			map[string]string{"container": "matrix-x-get-a", "container-id": "4f2a", "image-id": "sha256:9c1e", "engine": "28.1.1"}},
		{"process", runtime.StartReport{ID: "4242", Program: "/usr/sbin/nginx"},
			map[string]string{"pid": "4242", "program": "/usr/sbin/nginx"}},
		{"process with a memory limit", runtime.StartReport{ID: "4242", Program: "/bin/x", MemoryLimitIgnored: true},
			map[string]string{"pid": "4242", "program": "/bin/x", "memory-limit": "not enforced by the process runtime"}},
	}
	for _, tt := range tests {
		if got := startInfo(tt.rep); !maps.Equal(got, tt.want) {
			t.Errorf("%s: startInfo = %v, want %v", tt.name, got, tt.want)
		}
	}
}
