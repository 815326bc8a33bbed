package loadgen

import "context"

// h2Driver is the HTTP/2 client. (Placeholder until the HTTP/2 client lands.)
type h2Driver struct{ st *runState }

func newH2Driver(st *runState) *h2Driver { return &h2Driver{st: st} }

func (d *h2Driver) drive(ctx context.Context, st *runState, rec *recorder) { <-ctx.Done() }
