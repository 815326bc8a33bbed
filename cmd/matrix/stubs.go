package main

import (
	"context"
	"fmt"
	"io"
)

// notYet is the placeholder for commands still being built; each moves to a
// file of its own when it lands.
func notYet(name string) func(context.Context, []string, io.Writer, io.Writer) int {
	return func(_ context.Context, _ []string, _, stderr io.Writer) int {
		fmt.Fprintf(stderr, "matrix %s: not implemented yet\n", name)
		return 2
	}
}

var ()
