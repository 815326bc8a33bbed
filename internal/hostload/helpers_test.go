package hostload

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// spinEnv makes the test binary a CPU hog instead of running tests. Its
// value is "<duration>" or "<duration>@<cpu>": spin that long, pinned to
// that CPU if one is given. The duration also bounds a hog whose test
// died before killing it.
const spinEnv = "HOSTLOAD_TEST_SPIN"

func TestMain(m *testing.M) {
	if v := os.Getenv(spinEnv); v != "" {
		if err := spin(v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// spin burns one CPU, with the whole process pinned when asked. Every
// thread is pinned, not only the spinning one: the Go scheduler's other
// threads take part in rescheduling a preempted goroutine, and one of them
// queued behind other work on another CPU would leave this one idle.
func spin(v string) error {
	d, cpu, pinned := strings.Cut(v, "@")
	dur, err := time.ParseDuration(d)
	if err != nil {
		return err
	}
	if pinned {
		if err := pinProcess(cpu); err != nil {
			return err
		}
	}
	for deadline := time.Now().Add(dur); time.Now().Before(deadline); {
	}
	return nil
}

// pinProcess pins every thread of this process to cpu. Threads inherit the
// affinity of the thread that starts them, so passes repeat until one finds
// no thread it had not pinned.
func pinProcess(cpu string) error {
	set, err := cpuSet(cpu)
	if err != nil {
		return err
	}
	pinned := make(map[string]bool)
	for {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		fresh := 0
		for _, task := range tasks {
			tid, err := strconv.Atoi(task.Name())
			if err != nil || pinned[task.Name()] {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil {
				return fmt.Errorf("pin thread %d: %w", tid, err)
			}
			pinned[task.Name()] = true
			fresh++
		}
		if fresh == 0 {
			return nil
		}
	}
}

// pinThread pins the calling OS thread to cpu.
func pinThread(cpu string) error {
	set, err := cpuSet(cpu)
	if err != nil {
		return err
	}
	return unix.SchedSetaffinity(0, &set)
}

func cpuSet(cpu string) (unix.CPUSet, error) {
	var set unix.CPUSet
	n, err := strconv.Atoi(cpu)
	if err != nil {
		return set, err
	}
	set.Set(n)
	return set, nil
}

// hogCPU returns the CPU the pinned tests use: the last one this process
// may run on, so that a machine where CPU 0 takes the interrupts is
// disturbed less.
func hogCPU(t *testing.T) int {
	t.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	last := -1
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			last = c
		}
	}
	if last < 0 {
		t.Fatal("no CPU in this process's affinity")
	}
	return last
}

// startHog starts a child that spins for d, pinned to cpu unless cpu < 0,
// and kills it when the test ends.
func startHog(t *testing.T, d time.Duration, cpu int) *exec.Cmd {
	t.Helper()
	v := d.String()
	if cpu >= 0 {
		v += "@" + strconv.Itoa(cpu)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), spinEnv+"="+v, "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// startOrphanHog starts a hog that is not this process's descendant: a
// shell starts it in the background and exits, so it is reparented. It is
// killed when the test ends, if it is still the hog.
func startOrphanHog(t *testing.T, d time.Duration) int {
	t.Helper()
	cmd := exec.Command("sh", "-c", `"$0" -test.run='^$' </dev/null >/dev/null 2>&1 & echo $!`, os.Args[0])
	cmd.Env = append(os.Environ(), spinEnv+"="+d.String(), "GOMAXPROCS=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("orphan pid: %v (%q)", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Kill it only if the pid still names our binary: it may have
		// finished and the pid been reused.
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && filepath.Clean(exe) == self {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return pid
}

// procSeconds returns the utime+stime of pid in seconds.
func procSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePidStat(b)
	if err != nil {
		t.Fatal(err)
	}
	return float64(p.ticks) / userHZ
}

// selfCPUSeconds returns this process's user+system CPU, as the load
// generator measures its own (getrusage).
func selfCPUSeconds(t *testing.T) float64 {
	t.Helper()
	s, err := rusageSeconds()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rusageSeconds() (float64, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), nil
}

// waitSpinning waits until pid has used some CPU, so a window opened
// afterwards does not include its start-up.
func waitSpinning(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if procSeconds(t, pid) >= 0.05 {
			return
		}
	}
	t.Fatalf("pid %d never used CPU", pid)
}

// window measures cpus over d while fn runs (fn may be nil).
func window(t *testing.T, cpus string, d time.Duration, fn func(time.Duration)) Window {
	t.Helper()
	s, err := Start(cpus)
	if err != nil {
		t.Fatal(err)
	}
	if fn == nil {
		time.Sleep(d)
	} else {
		fn(d)
	}
	w, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	return w
}
