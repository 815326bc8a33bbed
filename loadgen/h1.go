package loadgen

import "context"

// h1Driver is the HTTP/1.1 client. (Placeholder until the HTTP/1.1 client lands.)
type h1Driver struct{ st *runState }

func newH1Driver(st *runState) *h1Driver { return &h1Driver{st: st} }

func (d *h1Driver) drive(ctx context.Context, st *runState, rec *recorder) { <-ctx.Done() }
