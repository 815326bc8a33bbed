package runtime

import (
	"testing"

	"github.com/docker/go-connections/nat"
)

// TestContainerConfigUDP: on a bridge network the server's port is
// published on TCP and UDP (h3 serves QUIC on UDP at the same number).
func TestContainerConfigUDP(t *testing.T) {
	d := &Docker{}
	spec := Spec{Name: "s", Network: "bridge"}
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
	_, hc, err = d.containerConfig(Spec{Name: "s"}, Artifact{Ref: "img"}, StartOptions{Port: 18443})
	if err != nil || hc.NetworkMode != "host" || len(hc.PortBindings) != 0 {
		t.Errorf("host network: mode %q bindings %v err %v", hc.NetworkMode, hc.PortBindings, err)
	}
}
