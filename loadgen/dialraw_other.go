//go:build !linux

package loadgen

import (
	"context"
	"errors"
	"net"
	"time"
)

// rawDialer is the raw dial of dialraw.go, on Linux only; elsewhere every
// connection is opened by net.Dialer.
type rawDialer struct{}

func newRawDialer(string, time.Duration) *rawDialer { return nil }

func (*rawDialer) dial(context.Context) (net.Conn, error) {
	return nil, errors.New("loadgen: no raw dial on this system")
}
