// Command matrix benchmarks HTTP servers as a matrix: servers are the
// columns, scenarios the rows, and every cell is one server under one
// scenario. Run "matrix help" for the commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand of the CLI.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands in the order help shows them.
func commands() []command {
	return []command{
		{"run", "run the matrix (or part of it) and write results", cmdRun},
		{"rerun", "run cells of an existing run again, keeping history", cmdRerun},
		{"list", "print the cells a run would execute and its estimated time", cmdList},
		{"validate", "check a matrix file", cmdValidate},
		{"check", "verify servers against the contract on every protocol they claim", cmdCheck},
		{"load", "drive one URL by hand, like wrk or h2load", cmdLoad},
		{"diff", "compare two runs or two commits", cmdDiff},
		{"ab", "measure two commits side by side in one run (did my commit make it slower?)", cmdAB},
		{"report", "write report.html and summary.md for a run", cmdReport},
		{"history", "status and req/s trend of every cell over the last runs", cmdHistory},
		{"merge", "merge shard run directories into one run", cmdMerge},
	}
}

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go interruptOnSignal(cancel)
	os.Exit(dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// interruptOnSignal cancels the run on the first SIGINT or SIGTERM, so the
// current cell is stopped and recorded, and exits at once on the second.
// Servers started as processes die with the runner (parent-death signal);
// containers left by an exit at once are removed by the next run.
func interruptOnSignal(cancel context.CancelFunc) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	fmt.Fprintln(os.Stderr, "\nmatrix: interrupted; stopping the current cell (again to exit at once)")
	cancel()
	<-sig
	os.Exit(130)
}

// dispatch runs the subcommand named by args[0] and returns the exit code.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "matrix: unknown command %q (run 'matrix help')\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "matrix benchmarks HTTP servers: servers are columns, scenarios rows, each cell one server under one scenario.")
	fmt.Fprintln(w, "\nUsage: matrix <command> [flags] [args]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'matrix <command> -h' for a command's flags.")
}
