//go:build !linux

package loadgen

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// rawDialer is the raw dial of dialraw.go, on Linux only; elsewhere every
// connection is opened by net.Dialer.
type rawDialer struct {
	rechecked atomic.Uint64 // always 0
}

func newRawDialer(string, time.Duration) *rawDialer { return nil }

func (*rawDialer) dial(context.Context) (net.Conn, error) {
	return nil, errors.New("loadgen: no raw dial on this system")
}
