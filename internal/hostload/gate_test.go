package hostload

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParsePidStat(t *testing.T) {
	tail := " 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32"
	tests := []struct {
		name    string
		in      string
		want    proc
		wantErr bool
	}{
		{
			name: "plain",
			in:   "42 (go) S 7 42 42 0 -1 4194304 1 2 3 4 150 25 9 9 20 0 1 0 987 100 200" + tail,
			want: proc{pid: 42, ppid: 7, comm: "go", ticks: 175, startTime: 987},
		},
		{
			name: "parentheses and spaces in the name",
			in:   "43 (a) (b c) R 1 43 43 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 5 1 2" + tail,
			want: proc{pid: 43, ppid: 1, comm: "a) (b c", ticks: 7, startTime: 5},
		},
		{name: "no name", in: "44 S 1 2 3", wantErr: true},
		{name: "truncated", in: "45 (x) S 1 2 3", wantErr: true},
		{name: "not a number", in: "46 (x) S 1 46 46 0 -1 0 0 0 0 0 x 4 0 0 20 0 1 0 5 1 2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePidStat([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestUsedTicksAndDescendants(t *testing.T) {
	before := map[int]proc{
		1: {pid: 1, ticks: 100, startTime: 1},
		2: {pid: 2, ppid: 1, ticks: 50, startTime: 10},
		3: {pid: 3, ppid: 1, ticks: 70, startTime: 20},
	}
	after := map[int]proc{
		1: {pid: 1, ticks: 130, startTime: 1},
		2: {pid: 2, ppid: 1, ticks: 40, startTime: 10},  // went backwards
		3: {pid: 3, ppid: 9, ticks: 12, startTime: 300}, // pid reused
		4: {pid: 4, ppid: 3, ticks: 8, startTime: 310},  // new
		5: {pid: 5, ppid: 4, ticks: 1, startTime: 320},
	}
	for pid, want := range map[int]uint64{1: 30, 2: 0, 3: 12, 4: 8} {
		if got := usedTicks(before, after[pid]); got != want {
			t.Errorf("pid %d used %d ticks, want %d", pid, got, want)
		}
	}
	tree := descendants(after, 3)
	if len(tree) != 3 || !tree[3] || !tree[4] || !tree[5] {
		t.Errorf("descendants of 3 = %v, want 3, 4, 5", tree)
	}
}

// writeSys builds a stand-in for /sys under a temporary directory.
func writeSys(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, "devices/system/cpu", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCheckCPUFreq(t *testing.T) {
	gov := func(cpu int) string { return fmt.Sprintf("cpu%d/cpufreq/scaling_governor", cpu) }
	tests := []struct {
		name      string
		files     map[string]string
		governors []Governor
		turbo     string
		warnings  []string
		notes     []string
	}{
		{
			name:      "performance, intel turbo off",
			files:     map[string]string{gov(0): "performance\n", gov(1): "performance\n", "intel_pstate/no_turbo": "1\n"},
			governors: []Governor{{"0-1", "performance"}},
			turbo:     TurboOff,
		},
		{
			name:      "powersave, intel turbo on",
			files:     map[string]string{gov(0): "powersave\n", gov(1): "powersave\n", "intel_pstate/no_turbo": "0\n"},
			governors: []Governor{{"0-1", "powersave"}},
			turbo:     TurboOn,
			warnings: []string{
				"cpufreq: governor powersave on cpu0-1 (performance gives steadier figures)",
				"cpufreq: turbo boost on (the clock then follows temperature and load; off gives steadier figures)",
			},
		},
		{
			name: "mixed governors, cpufreq boost off",
			files: map[string]string{gov(0): "schedutil\n", gov(1): "performance\n", gov(2): "performance\n",
				gov(3): "schedutil\n", gov(10): "performance\n", "cpufreq/boost": "0\n"},
			governors: []Governor{{"0,3", "schedutil"}, {"1-2,10", "performance"}},
			turbo:     TurboOff,
			warnings:  []string{"cpufreq: governor schedutil on cpu0,3 (performance gives steadier figures)"},
		},
		{
			name:      "acpi boost on",
			files:     map[string]string{gov(0): "performance\n", "cpufreq/boost": "1\n"},
			governors: []Governor{{"0", "performance"}},
			turbo:     TurboOn,
			warnings:  []string{"cpufreq: turbo boost on (the clock then follows temperature and load; off gives steadier figures)"},
		},
		{
			name:      "virtual machine: nothing shown",
			files:     map[string]string{"cpu0/topology/core_id": "0\n", "cpufreq/.keep": ""},
			governors: []Governor{},
			turbo:     TurboUnknown,
			notes:     []string{"cpufreq: governor not shown by /sys", "cpufreq: turbo state not shown by /sys"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Report
			r.checkCPUFreq(writeSys(t, tt.files))
			if !slices.Equal(r.Governors, tt.governors) || r.Turbo != tt.turbo {
				t.Errorf("governors %v, turbo %q; want %v, %q", r.Governors, r.Turbo, tt.governors, tt.turbo)
			}
			if !slices.Equal(r.Warnings, tt.warnings) || !slices.Equal(r.Notes, tt.notes) {
				t.Errorf("warnings %q, notes %q;\nwant %q, %q", r.Warnings, r.Notes, tt.warnings, tt.notes)
			}
		})
	}
}

func TestCheckDisk(t *testing.T) {
	dir := t.TempDir()
	var r Report
	if err := r.checkDisk(filepath.Join(dir, "not", "yet"), 1); err != nil {
		t.Fatal(err)
	}
	if r.Disk == nil || r.Disk.FreeBytes == 0 || r.Disk.FreeBytes > r.Disk.TotalBytes || len(r.Warnings) != 0 {
		t.Fatalf("disk %+v, warnings %q", r.Disk, r.Warnings)
	}
	if err := r.checkDisk(dir, r.Disk.TotalBytes+1); err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], "disk: ") || !strings.Contains(r.Warnings[0], dir) {
		t.Errorf("warnings %q, want one about %s", r.Warnings, dir)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1 << 30: "1.0 GiB", 3 << 29: "1.5 GiB", 5 << 40: "5.0 TiB",
	} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestGateNamesBusyProcess runs the gate on the real host with a hog that
// is not this process's descendant, and one that is: the first must be
// named busy, by pid, and the second, like this process, must not.
func TestGateNamesBusyProcess(t *testing.T) {
	other := startOrphanHog(t, 10*time.Second)
	mine := startHog(t, 10*time.Second, -1).Process.Pid
	waitSpinning(t, other)
	waitSpinning(t, mine)

	dir := t.TempDir()
	r, err := Gate(context.Background(), GateOptions{Dir: dir, Leftovers: []string{"matrix-old-nginx (container 1f2e)"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report: %+v", r)
	var found *BusyProcess
	for i, p := range r.BusyProcesses {
		switch p.PID {
		case other:
			found = &r.BusyProcesses[i]
		case mine, os.Getpid():
			t.Errorf("pid %d of this process's tree named busy: %+v", p.PID, p)
		}
	}
	if found == nil {
		t.Fatalf("hog pid %d not named busy: %+v", other, r.BusyProcesses)
	}
	want := fmt.Sprintf("busy: pid %d (%s) used ", other, found.Comm)
	if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.HasPrefix(w, want) }) {
		t.Errorf("no warning %q...: %q", want, r.Warnings)
	}
	if found.Cores < DefaultBusyThreshold || found.Cores > 1.05 {
		t.Errorf("a one-thread hog used %.2f cores", found.Cores)
	}
	if r.OtherCores < found.Cores-0.05 || r.HostBusyCores < r.OtherCores || r.HostBusyCores > float64(r.HostCPUs)+0.05 {
		t.Errorf("host %.2f cores busy, %.2f of them others, with a hog at %.2f", r.HostBusyCores, r.OtherCores, found.Cores)
	}
	if time.Duration(r.SampledNs) < DefaultSampleFor || r.Disk == nil || r.Disk.Dir != dir {
		t.Errorf("sampled %v, disk %+v", time.Duration(r.SampledNs), r.Disk)
	}
	if !slices.Contains(r.Warnings, "leftover: matrix-old-nginx (container 1f2e)") {
		t.Errorf("leftover not warned about: %q", r.Warnings)
	}
	checkRealCPUFreq(t, r)
}

// checkRealCPUFreq compares what the gate read of the real /sys with the
// files there.
func checkRealCPUFreq(t *testing.T, r Report) {
	t.Helper()
	govFiles, _ := filepath.Glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor")
	n := 0
	for _, g := range r.Governors {
		cpus, err := parseCPUList(g.CPUs)
		if err != nil {
			t.Fatal(err)
		}
		n += len(cpus)
	}
	if n != len(govFiles) {
		t.Errorf("governors %v cover %d CPUs, /sys has %d governor files", r.Governors, n, len(govFiles))
	}
	if n == 0 && !slices.Contains(r.Notes, "cpufreq: governor not shown by /sys") {
		t.Errorf("no governor and no note saying so: %q", r.Notes)
	}
	_, errIntel := os.Stat("/sys/devices/system/cpu/intel_pstate/no_turbo")
	_, errBoost := os.Stat("/sys/devices/system/cpu/cpufreq/boost")
	if shown := errIntel == nil || errBoost == nil; shown == (r.Turbo == TurboUnknown) {
		t.Errorf("turbo %q, but turbo files shown: %v", r.Turbo, shown)
	}
}

func TestGateStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := Gate(ctx, GateOptions{SampleFor: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 5*time.Second {
		t.Errorf("Gate = %v after %v, want the context's error at once", err, time.Since(t0))
	}
}
