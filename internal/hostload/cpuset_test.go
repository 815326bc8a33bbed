package hostload

import (
	"slices"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"", nil, false},
		{"1", []int{1}, false},
		{"0-3", []int{0, 1, 2, 3}, false},
		{"3,0-1,1", []int{0, 1, 3}, false},
		{"2-1", nil, true},
		{"a", nil, true},
		{"1,", nil, true},
		{"-1", nil, true},
	}
	for _, tt := range tests {
		got, err := parseCPUList(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFormatCPUList(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{0}, "0"},
		{[]int{0, 1}, "0-1"},
		{[]int{0, 1, 2, 5, 7, 8}, "0-2,5,7-8"},
	}
	for _, tt := range tests {
		if got := formatCPUList(tt.in); got != tt.want {
			t.Errorf("formatCPUList(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnionCPUs(t *testing.T) {
	tests := []struct {
		in      []string
		want    string
		wantErr bool
	}{
		{[]string{"1", "0"}, "0-1", false},
		{[]string{"0,2", "2-3"}, "0,2-3", false},
		{[]string{"1", ""}, "", false}, // the load generator runs anywhere
		{[]string{"1", "x"}, "", true},
	}
	for _, tt := range tests {
		got, err := UnionCPUs(tt.in...)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("UnionCPUs(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
