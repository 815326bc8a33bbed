package runtime

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// PinProcess pins every thread of this process to cpus (a cpuset list such
// as "0" or "0-1"), for the load generator, which runs in this process:
// sched_setaffinity applies to one thread, and threads the Go runtime
// starts later inherit the mask of the thread that starts them. restore
// puts each thread's earlier mask back (threads started meanwhile keep the
// pinned one until the runtime retires them). An empty cpus pins nothing.
func PinProcess(cpus string) (restore func(), err error) {
	if cpus == "" {
		return func() {}, nil
	}
	set, err := parseCPUSet(cpus)
	if err != nil {
		return nil, err
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("runtime: listing this process's threads: %w", err)
	}
	old := map[int]unix.CPUSet{}
	restore = func() {
		for tid, m := range old {
			unix.SchedSetaffinity(tid, &m)
		}
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		var m unix.CPUSet
		if unix.SchedGetaffinity(tid, &m) != nil {
			continue // the thread exited meanwhile
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			restore()
			return nil, fmt.Errorf("runtime: pinning the load generator to cpus %s: %w", cpus, err)
		}
		old[tid] = m
	}
	return restore, nil
}
