package hostload

import (
	"strings"
	"testing"
	"time"
)

func TestParseCPUStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		all     cpuTimes
		cpus    int
		wantErr string
	}{
		{
			name: "ten fields, stops before intr",
			in: "cpu  100 2 30 400 5 6 7 8 9 1\ncpu0 50 1 15 200 2 3 3 4 4 0\ncpu1 50 1 15 200 3 3 4 4 5 1\n" +
				"intr 1 2 3\nctxt 4\n",
			all:  cpuTimes{100, 2, 30, 400, 5, 6, 7, 8, 9, 1},
			cpus: 2,
		},
		{
			name: "old kernel with four fields",
			in:   "cpu 10 0 5 100\ncpu0 10 0 5 100\n",
			all:  cpuTimes{user: 10, system: 5, idle: 100},
			cpus: 1,
		},
		{
			name: "offline cpu1 has no line",
			in:   "cpu 3 0 3 3 0 0 0 0 0 0\ncpu0 1 0 1 1 0 0 0 0 0 0\ncpu2 2 0 2 2 0 0 0 0 0 0\n",
			all:  cpuTimes{user: 3, system: 3, idle: 3},
			cpus: 2,
		},
		{name: "no cpu line", in: "intr 1\n", wantErr: "no cpu line"},
		{name: "too few fields", in: "cpu 1 2 3\n", wantErr: "at least 4"},
		{name: "not a number", in: "cpu 1 2 x 4\n", wantErr: "invalid syntax"},
		{name: "bad cpu name", in: "cpu 1 2 3 4\ncpux 1 2 3 4\n", wantErr: "bad line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := parseCPUStat(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.all != tt.all || len(st.perCPU) != tt.cpus {
				t.Errorf("got all %+v and %d cpus, want %+v and %d", st.all, len(st.perCPU), tt.all, tt.cpus)
			}
		})
	}
}

// TestBusyCountsGuestOnce checks that guest time, which the kernel already
// counts in user, is not added again, and that steal is.
func TestBusyCountsGuestOnce(t *testing.T) {
	ct := cpuTimes{user: 100, nice: 10, system: 20, idle: 1000, iowait: 50, irq: 1, softirq: 2, steal: 3, guest: 60, guestNice: 5}
	if got, want := ct.busy(), uint64(100+10+20+1+2+3); got != want {
		t.Errorf("busy = %d, want %d", got, want)
	}
}

func TestSumCPUs(t *testing.T) {
	st, err := parseCPUStat(strings.NewReader(
		"cpu 6 0 0 0\ncpu0 1 0 0 0\ncpu1 2 0 0 0\ncpu3 3 0 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		cpus    []int
		user    uint64
		wantErr bool
	}{
		{nil, 6, false},
		{[]int{0}, 1, false},
		{[]int{1, 3}, 5, false},
		{[]int{2}, 0, true}, // offline
	} {
		got, err := st.sum(tt.cpus)
		if (err != nil) != tt.wantErr || got.user != tt.user {
			t.Errorf("sum(%v) = %d, %v; want %d, error %v", tt.cpus, got.user, err, tt.user, tt.wantErr)
		}
	}
}

// TestRemainder runs the window arithmetic over synthetic snapshots.
func TestRemainder(t *testing.T) {
	base := cpuTimes{user: 1000, nice: 10, system: 500, idle: 9000, iowait: 30, irq: 5, softirq: 40, steal: 2, guest: 100}
	add := func(d cpuTimes) cpuTimes { return base.plus(d) }
	tests := []struct {
		name           string
		after          cpuTimes
		elapsed        time.Duration
		cpus           int
		server, client float64
		busy, steal    float64
		want           float64
	}{
		{
			name:  "server and client account for everything",
			after: add(cpuTimes{user: 150, system: 50, idle: 0}), elapsed: time.Second, cpus: 2,
			server: 1.5, client: 0.5, busy: 2, want: 0,
		},
		{
			name:  "half a core of someone else",
			after: add(cpuTimes{user: 100, system: 50, idle: 50}), elapsed: time.Second, cpus: 2,
			server: 0.8, client: 0.2, busy: 1.5, want: 0.5,
		},
		{
			name:  "steal counts as lost",
			after: add(cpuTimes{user: 80, steal: 40, idle: 80}), elapsed: 2 * time.Second, cpus: 2,
			server: 0.6, client: 0.2, busy: 1.2, steal: 0.4, want: 0.2,
		},
		{
			name:  "guest ticks are not counted twice",
			after: add(cpuTimes{user: 100, guest: 100, idle: 100}), elapsed: time.Second, cpus: 2,
			server: 1, busy: 1, want: 0,
		},
		{
			name:  "idle and iowait are not busy",
			after: add(cpuTimes{idle: 150, iowait: 50}), elapsed: time.Second, cpus: 2,
			busy: 0, want: 0,
		},
		{
			name:  "more subtracted than seen is zero, not negative",
			after: add(cpuTimes{user: 50, idle: 150}), elapsed: time.Second, cpus: 2,
			server: 0.9, client: 0.3, busy: 0.5, want: 0,
		},
		{
			name:  "below one tick per cpu is rounding",
			after: add(cpuTimes{user: 101, idle: 99}), elapsed: time.Second, cpus: 2,
			server: 0.995, busy: 1.01, want: 0,
		},
		{
			name:  "just above the resolution counts",
			after: add(cpuTimes{user: 103, idle: 97}), elapsed: time.Second, cpus: 2,
			server: 1, busy: 1.03, want: 0.03,
		},
		{
			name:  "a counter going backwards is zero",
			after: cpuTimes{user: 900, idle: 9100}, elapsed: time.Second, cpus: 1,
			busy: 0, want: 0,
		},
		{
			name:  "zero elapsed gives zero",
			after: add(cpuTimes{user: 100}), elapsed: 0, cpus: 1,
			busy: 1, want: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindow(base, tt.after, tt.elapsed, tt.cpus, "")
			if !near(w.HostBusySeconds, tt.busy) || !near(w.StealSeconds, tt.steal) {
				t.Errorf("busy %v s, steal %v s; want %v, %v", w.HostBusySeconds, w.StealSeconds, tt.busy, tt.steal)
			}
			if got := w.Remainder(tt.server, tt.client); !near(got, tt.want) {
				t.Errorf("Remainder = %v cores, want %v", got, tt.want)
			}
		})
	}
}

func TestInterfered(t *testing.T) {
	for _, tt := range []struct {
		rem, threshold float64
		want           bool
	}{
		{0, DefaultThreshold, false},
		{0.1, DefaultThreshold, false},
		{0.11, DefaultThreshold, true},
		{0.01, 0, true},
	} {
		if got := Interfered(tt.rem, tt.threshold); got != tt.want {
			t.Errorf("Interfered(%v, %v) = %v", tt.rem, tt.threshold, got)
		}
	}
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}
