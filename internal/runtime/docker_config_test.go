package runtime

import (
	"testing"

	"github.com/docker/go-connections/nat"
)

// TestContainerConfigUDPAndMounts: on a bridge network the server's port is
// published on TCP and UDP (h3 serves QUIC on UDP at the same number), and
// Spec.Mounts are bound read-only at the same path.
func TestContainerConfigUDPAndMounts(t *testing.T) {
	d := &Docker{}
	spec := Spec{Name: "s", Network: "bridge", Mounts: []string{"/tmp/matrix-certs-1"}}
	cfg, hc, err := d.containerConfig(spec, Artifact{Ref: "img"}, StartOptions{Port: 18443})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []nat.Port{"18443/tcp", "18443/udp"} {
		if _, ok := cfg.ExposedPorts[p]; !ok {
			t.Errorf("port %s not exposed: %v", p, cfg.ExposedPorts)
		}
		b := hc.PortBindings[p]
		if len(b) != 1 || b[0].HostIP != "127.0.0.1" || b[0].HostPort != "18443" {
			t.Errorf("port %s bound to %v, want 127.0.0.1:18443", p, b)
		}
	}
	if len(hc.Binds) != 1 || hc.Binds[0] != "/tmp/matrix-certs-1:/tmp/matrix-certs-1:ro" {
		t.Errorf("binds %v", hc.Binds)
	}
	_, hc, err = d.containerConfig(Spec{Name: "s"}, Artifact{Ref: "img"}, StartOptions{Port: 18443})
	if err != nil || hc.NetworkMode != "host" || len(hc.PortBindings) != 0 || len(hc.Binds) != 0 {
		t.Errorf("host network: mode %q bindings %v binds %v err %v", hc.NetworkMode, hc.PortBindings, hc.Binds, err)
	}
}
