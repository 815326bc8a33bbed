package runtime

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

// allowedLists returns every thread's Cpus_allowed_list.
func allowedLists(t *testing.T) []string {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
				out = append(out, strings.TrimSpace(v))
			}
		}
	}
	return out
}

// TestPinProcess pins every thread of the test process to CPU 0 and back.
func TestPinProcess(t *testing.T) {
	if goruntime.NumCPU() < 2 {
		t.Fatalf("needs 2 CPUs to tell pinned from unpinned, have %d", goruntime.NumCPU())
	}
	before := allowedLists(t)
	restore, err := PinProcess("0")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range allowedLists(t) {
		if l != "0" {
			t.Errorf("a thread is allowed on %q after PinProcess(\"0\"), want 0", l)
		}
	}
	restore()
	// The threads that were there before are back on their masks; threads
	// the runtime started meanwhile may keep CPU 0 until retired.
	unpinned := 0
	for _, l := range allowedLists(t) {
		if l != "0" {
			unpinned++
		}
	}
	if unpinned < len(before) {
		t.Errorf("%d threads unpinned after restore, want at least the %d there before (%v)", unpinned, len(before), before)
	}
	if _, err := PinProcess("x"); err == nil {
		t.Error("PinProcess(\"x\") did not fail")
	}
}
