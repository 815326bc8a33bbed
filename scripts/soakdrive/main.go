// Command soakdrive drives one URL with the load generator for a long time
// and prints, every interval, the figures a leak would show in: the
// process's resident memory and open file descriptors (from /proc/self)
// and its goroutines. scripts/soak.sh runs it against go-stdlib and judges
// the series; the 10,000-connection test of internal/runner runs it to
// measure the memory each connection costs.
//
// Output, one record per line, fields as key=value:
//
//	baseline rss_kib=N hwm_kib=N heap_live_kib=N heap_objects_kib=N heap_free_kib=N go_mapped_kib=N gcs=N fds=N goroutines=N
//	sample t=SECONDS (the baseline's fields) requests=N errors=N
//	result requests=N errors=N rps=F connections=N reconnects=N retried=N goaways=N resets=N peak_rss_kib=N ...
//
// heap_live_kib is the heap marked live by the last garbage collection: what
// the program holds, without the garbage that resident memory also counts.
// heap_objects_kib (live and dead objects not yet swept), heap_free_kib
// (free heap not yet returned to the OS), go_mapped_kib (all the runtime's
// memory still mapped) and gcs (collections so far) tell garbage that waits
// for the collector from memory that is held.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/matrixbench/matrix/loadgen"
)

func main() {
	url := flag.String("url", "", "target URL (http://host:port/path)")
	proto := flag.String("proto", "h1", "h1 or h2c")
	conns := flag.Int("conns", 64, "connections")
	streams := flag.Int("streams", 1, "concurrent streams per HTTP/2 connection")
	warmup := flag.Duration("warmup", 0, "warmup before the measured window")
	duration := flag.Duration("duration", 10*time.Minute, "measured window")
	every := flag.Duration("every", 10*time.Second, "sampling interval")
	rate := flag.Float64("rate", 0, "total requests per second (0: closed loop, as fast as the server answers)")
	procs := flag.Int("procs", 1, "GOMAXPROCS (1 leaves the other core to the server, as matrix run does)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole drive to this file")
	heapProfile := flag.String("heapprofile", "", "write a heap profile at the end of the drive to this file")
	memRate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate for -heapprofile (1 records every allocation; 0 keeps the default)")
	flag.Parse()
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}
	if *url == "" {
		fmt.Fprintln(os.Stderr, "soakdrive: -url is required")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*procs)
	cfg := loadgen.Config{
		URL: *url, Connections: *conns, Streams: *streams,
		Warmup: *warmup, Duration: *duration, Protocol: loadgen.ProtocolH1, Rate: *rate,
	}
	if *proto == "h2c" {
		cfg.Protocol = loadgen.ProtocolH2C
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := profiled(*cpuProfile, *heapProfile, func() error { return drive(ctx, cfg, *every) }); err != nil {
		fmt.Fprintf(os.Stderr, "soakdrive: %v\n", err)
		os.Exit(1)
	}
}

// profiled runs f under a CPU profile written to cpu and writes a heap
// profile to heap after it, each when its path is not empty.
func profiled(cpu, heap string, f func() error) error {
	if cpu != "" {
		out, err := os.Create(cpu)
		if err != nil {
			return err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if err := f(); err != nil {
		return err
	}
	if heap == "" {
		return nil
	}
	out, err := os.Create(heap)
	if err != nil {
		return err
	}
	defer out.Close()
	// The profile is as of the last completed collection: collect now so
	// that it holds the allocations made since.
	runtime.GC()
	return pprof.Lookup("heap").WriteTo(out, 0)
}

// drive runs cfg, printing a sample every interval, then the result.
func drive(ctx context.Context, cfg loadgen.Config, every time.Duration) error {
	fmt.Printf("baseline %s\n", snapshot())
	var requests, errs atomic.Uint64
	cfg.Progress = func(p loadgen.Progress) {
		requests.Store(p.Requests)
		errs.Store(p.Errors)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if now.Sub(start) > cfg.Warmup+cfg.Duration {
					return // the run is winding down
				}
				fmt.Printf("sample t=%.0f %s requests=%d errors=%d\n",
					now.Sub(start).Seconds(), snapshot(), requests.Load(), errs.Load())
			}
		}
	}()
	res, err := loadgen.Run(ctx, cfg)
	<-done
	if err != nil {
		return err
	}
	_, hwm := memory()
	fmt.Printf("result requests=%d errors=%d rps=%.0f connections=%d reconnects=%d retried=%d goaways=%d resets=%d peak_rss_kib=%d protocol=%s ended_early=%q\n",
		res.Requests, res.Errors, res.RPS, res.ConnectionsOpened, res.Reconnects, res.Retried,
		res.GoawaysReceived, res.StreamsReset, hwm, res.Protocol, res.EndedEarly)
	classes := make([]string, 0, len(res.ErrorsByClass))
	for c, n := range res.ErrorsByClass {
		classes = append(classes, fmt.Sprintf("%s=%d", c, n))
	}
	sort.Strings(classes)
	fmt.Printf("errors_by_class %s\n", strings.Join(classes, " "))
	return nil
}

// snapshot returns the process's figures as key=value fields.
func snapshot() string {
	rss, hwm := memory()
	m := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(m)
	kib := func(i int) uint64 { return m[i].Value.Uint64() >> 10 }
	return fmt.Sprintf("rss_kib=%d hwm_kib=%d heap_live_kib=%d heap_objects_kib=%d heap_free_kib=%d go_mapped_kib=%d gcs=%d fds=%d goroutines=%d",
		rss, hwm, kib(0), kib(1), kib(2), kib(3)-kib(4), m[5].Value.Uint64(), openFDs(), runtime.NumGoroutine())
}

// memory returns VmRSS and VmHWM (peak RSS) in KiB from /proc/self/status,
// or -1 when they cannot be read.
func memory() (rss, hwm int64) {
	rss, hwm = -1, -1
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return rss, hwm
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text()) // "VmRSS:	  1234 kB"
		if len(fields) < 2 {
			continue
		}
		n, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "VmRSS:":
			rss = n
		case "VmHWM:":
			hwm = n
		}
	}
	return rss, hwm
}

// openFDs counts the entries of /proc/self/fd, or -1.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the directory being read is one of them
}
