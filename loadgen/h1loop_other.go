//go:build !linux

package loadgen

import "context"

// The HTTP/1.1 event loops (h1loop.go) are Linux's; elsewhere every slot
// has a goroutine of its own.

type loopState struct{}

func (d *h1Driver) useLoops() bool { return false }

func (d *h1Driver) driveLoops(context.Context, *runState, []*recorder, int) bool { return false }
