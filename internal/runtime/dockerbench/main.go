// Command dockerbench measures the docker runtime's per-cell overhead: the
// time from creating a container to the server answering HTTP
// (create-to-ready) and from the stop request to the container removed
// (stop-to-removed), over a number of cells of a FROM-scratch image of a
// tiny Go server. It prints every cell and the medians.
//
//	go run ./internal/runtime/dockerbench [-cells 10] [-dir internal/runtime/testdata/hello] [-check]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/matrixbench/matrix/internal/runtime"
)

func main() {
	cells := flag.Int("cells", 10, "number of measured cells")
	dir := flag.String("dir", "internal/runtime/testdata/hello", "Go module of the server")
	grace := flag.Duration("grace", 5*time.Second, "stop grace period")
	check := flag.Bool("check", false, "only check that an engine answers")
	flag.Parse()
	if *check {
		d, err := runtime.NewDocker(context.Background(), runtime.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "dockerbench:", err)
			os.Exit(1)
		}
		d.Close()
		return
	}
	if *cells < 1 {
		fmt.Fprintln(os.Stderr, "dockerbench: -cells must be at least 1")
		os.Exit(2)
	}
	if err := run(context.Background(), *cells, *dir, *grace); err != nil {
		fmt.Fprintln(os.Stderr, "dockerbench:", err)
		os.Exit(1)
	}
}

// cell is one measured cell.
type cell struct {
	create, started, ready, exit, removed time.Duration
}

func run(ctx context.Context, n int, dir string, grace time.Duration) error {
	d, err := runtime.NewDocker(ctx, runtime.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	info, err := d.Info(ctx)
	if err != nil {
		return err
	}
	spec := runtime.Spec{Name: "bench-hello", GoDir: dir}
	art, err := d.Build(ctx, spec)
	if err != nil {
		return err
	}
	fmt.Printf("engine %s (API %s) at %s, %d CPUs, kernel %s\n", info.EngineVersion, info.APIVersion, info.Endpoint, info.CPUs, info.Kernel)
	fmt.Printf("image %s %s (reused=%v, build %v)\n", art.Tag, art.Ref[:19], art.Reused, art.BuildDuration.Round(time.Millisecond))
	if _, err := measure(ctx, d, spec, art, grace); err != nil { // warm-up, not counted
		return err
	}
	fmt.Printf("%4s %10s %10s %10s %10s %10s %10s\n", "cell", "create", "started", "ready", "exit", "removed", "ready+rm")
	var all []cell
	for i := range n {
		c, err := measure(ctx, d, spec, art, grace)
		if err != nil {
			return err
		}
		all = append(all, c)
		fmt.Printf("%4d %10s %10s %10s %10s %10s %10s\n", i+1, ms(c.create), ms(c.started), ms(c.ready), ms(c.exit), ms(c.removed), ms(c.ready+c.removed))
	}
	med := func(f func(cell) time.Duration) time.Duration {
		v := make([]time.Duration, len(all))
		for i, c := range all {
			v[i] = f(c)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	ready := med(func(c cell) time.Duration { return c.ready })
	removed := med(func(c cell) time.Duration { return c.removed })
	sum := med(func(c cell) time.Duration { return c.ready + c.removed })
	fmt.Printf("median of %d cells (after 1 warm-up): create-to-ready %s, stop-to-removed %s, sum %s (target <= 1000 ms): %s\n",
		n, ms(ready), ms(removed), ms(sum), verdict(sum <= time.Second))
	if load, ok := loadAvg(); ok {
		note := ""
		if load > float64(goruntime.NumCPU()) {
			note = ": the host was busy, figures are inflated"
		}
		fmt.Printf("load average %.2f on %d CPUs%s\n", load, goruntime.NumCPU(), note)
	}
	return nil
}

// loadAvg returns the one-minute load average, so a reader can tell a busy
// host from a slow engine.
func loadAvg() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}

// measure runs one cell: start, poll HTTP until the server answers, stop.
func measure(ctx context.Context, d *runtime.Docker, spec runtime.Spec, art runtime.Artifact, grace time.Duration) (cell, error) {
	port, err := freePort()
	if err != nil {
		return cell{}, err
	}
	t0 := time.Now()
	inst, err := d.Start(ctx, spec, art, runtime.StartOptions{Port: port, RunID: "dockerbench", Cell: "bench/hello"})
	if err != nil {
		return cell{}, err
	}
	if err := waitReady(ctx, inst); err != nil {
		inst.Stop(ctx, grace)
		return cell{}, err
	}
	ready := time.Since(t0)
	rep, err := inst.Stop(ctx, grace)
	if err != nil {
		return cell{}, err
	}
	sr := inst.StartReport()
	return cell{create: sr.Create, started: sr.Started, ready: ready, exit: rep.Exit, removed: rep.Total}, nil
}

// waitReady polls GET / every 2 ms until it answers 200.
func waitReady(ctx context.Context, inst runtime.Instance) error {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := c.Get("http://" + inst.Addr() + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-inst.Done():
			return fmt.Errorf("server exited: %s\n%s", inst.ExitStatus(), inst.LogTail(2048))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return fmt.Errorf("server at %s not ready after 30s", inst.Addr())
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "OVER TARGET"
}
