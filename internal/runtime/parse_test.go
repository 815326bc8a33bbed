package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	// Field 2 may hold spaces and parentheses; fields count from the last ')'.
	line := "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 987654 1000 321 18446744073709551615"
	st, err := parseProcStat(4242, []byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := procStat{pid: 4242, pgrp: 4242, cpuTicks: 250 + 50 + 7 + 3, startTime: 987654, rssPages: 321}
	if st != want {
		t.Errorf("got %+v, want %+v", st, want)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1 2"} {
		if _, err := parseProcStat(1, []byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q) succeeded", bad)
		}
	}
}

func TestParseCPUSet(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		err  bool
	}{
		{in: "1", want: []int{1}},
		{in: "0-1", want: []int{0, 1}},
		{in: "0,2-3", want: []int{0, 2, 3}},
		{in: " 3 , 5", want: []int{3, 5}},
		{in: "", err: true},
		{in: "x", err: true},
		{in: "3-1", err: true},
		{in: "-1", err: true},
		{in: "0-99999", err: true},
	}
	for _, tt := range tests {
		set, err := parseCPUSet(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("parseCPUSet(%q) error %v, want error %v", tt.in, err, tt.err)
			continue
		}
		var got []int
		for c := 0; c < 1024; c++ {
			if set.IsSet(c) {
				got = append(got, c)
			}
		}
		if !tt.err && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseCPUSet(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestOwner(t *testing.T) {
	self, err := currentOwner()
	if err != nil {
		t.Fatal(err)
	}
	back, ok := parseOwner(self.String() + "/7") // the process runtime's marker adds an instance number
	if !ok || back != self {
		t.Fatalf("parseOwner(%q) = %+v, %v", self.String(), back, ok)
	}
	parent := owner{host: self.host, pid: os.Getppid()}
	parent.start, _ = processStart(parent.pid)
	tests := []struct {
		name string
		o    owner
		gone bool
	}{
		{"self", self, false},
		{"live parent", parent, false},
		{"same pid, other start (pid reused)", owner{host: self.host, pid: parent.pid, start: "other"}, true},
		{"pid not running", owner{host: self.host, pid: 1 << 22, start: "x"}, true},
		{"other host", owner{host: self.host + "-elsewhere", pid: 1 << 22, start: "x"}, false},
	}
	for _, tt := range tests {
		if got := tt.o.goneFrom(self); got != tt.gone {
			t.Errorf("%s: goneFrom = %v, want %v", tt.name, got, tt.gone)
		}
	}
	for _, bad := range []string{"", "h/x/s", "h/0/s", "h/1"} {
		if _, ok := parseOwner(bad); ok {
			t.Errorf("parseOwner(%q) succeeded", bad)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	v1 := "4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/docker/abc\n"
	got := parseProcCgroup(v1)
	want := map[string]string{"memory": "/docker/abc", "cpu": "/docker/abc", "cpuacct": "/docker/abc", "": "/docker/abc"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestRingLog(t *testing.T) {
	tests := []struct {
		name   string
		cap    int64
		writes []string
		file   string // expected content after the notice line, if any
		trunc  bool
	}{
		{"under cap", 10, []string{"abc", "de"}, "abcde", false},
		{"exactly cap", 5, []string{"abc", "de"}, "abcde", false},
		{"wraps once", 5, []string{"abc", "def"}, "bcdef", true},
		{"write larger than cap", 4, []string{"a", "bcdefghij"}, "ghij", true},
		{"many small writes", 3, strings.Split("0123456789", ""), "789", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			r, err := newRingLog(path, tt.cap)
			if err != nil {
				t.Fatal(err)
			}
			var all string
			for _, w := range tt.writes {
				r.Write([]byte(w))
				all += w
			}
			if tail := r.Tail(2); tail != tt.file[len(tt.file)-2:] {
				t.Errorf("Tail(2) while open = %q, want %q", tail, tt.file[len(tt.file)-2:])
			}
			rep, err := r.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := LogReport{Path: path, Written: int64(len(all)), Kept: int64(len(tt.file)), Truncated: tt.trunc}
			if rep != want {
				t.Errorf("report %+v, want %+v", rep, want)
			}
			b, _ := os.ReadFile(path)
			got := string(b)
			if tt.trunc {
				notice, rest, _ := strings.Cut(got, "\n")
				if !strings.Contains(notice, "log capped") {
					t.Errorf("no truncation notice in %q", got)
				}
				got = rest
			}
			if got != tt.file {
				t.Errorf("file %q, want %q", got, tt.file)
			}
			if tail := r.Tail(100); tail != tt.file {
				t.Errorf("Tail after Close = %q, want %q", tail, tt.file)
			}
		})
	}
}
