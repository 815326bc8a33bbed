package runner

import (
	"fmt"
	"os"
	"strconv"

	"github.com/matrixbench/matrix/internal/hostload"
	"github.com/matrixbench/matrix/internal/matrix"
	"github.com/matrixbench/matrix/internal/results"
)

// rmemMaxPath is the kernel's limit on a socket's receive buffer.
const rmemMaxPath = "/proc/sys/net/core/rmem_max"

// udpWanted is the UDP receive buffer quic-go asks for (7 MiB); other QUIC
// stacks ask for similar sizes. Below it, quic-go logs that it could not
// raise its buffer, and bursts may be dropped.
const udpWanted = 7 << 20

// checkUDPBuffer reads net.core.rmem_max when the run has h3 cells, raises
// it to udpWanted when it is lower and the runner may write it (as root),
// and says what it found. It returns nil for a run without h3 cells.
func checkUDPBuffer(cells []matrix.Cell, path string) *results.UDPBuffer {
	h3 := false
	for _, c := range cells {
		if c.Scenario.Protocol == matrix.H3 {
			h3 = true
		}
	}
	if !h3 {
		return nil
	}
	ub := &results.UDPBuffer{Wanted: udpWanted}
	before, err := hostload.ReadInt(path)
	if err != nil {
		ub.Warning = fmt.Sprintf("cannot read %s: %v", path, err)
		return ub
	}
	ub.Before, ub.After = before, before
	if before >= udpWanted {
		return ub
	}
	// Raising a system-wide limit is what quic-go's documentation asks
	// of the operator; only a larger limit is ever written.
	if err := os.WriteFile(path, []byte(strconv.Itoa(udpWanted)), 0o644); err != nil {
		ub.Warning = fmt.Sprintf("net.core.rmem_max is %d bytes, below the %d QUIC asks for, and could not be raised (%v): h3 figures may include drops (sysctl -w net.core.rmem_max=%d)", before, udpWanted, err, udpWanted)
		return ub
	}
	if after, err := hostload.ReadInt(path); err == nil {
		ub.After = after
	}
	if ub.After < udpWanted {
		ub.Warning = fmt.Sprintf("net.core.rmem_max is %d bytes after raising it, below the %d QUIC asks for", ub.After, udpWanted)
	}
	return ub
}
