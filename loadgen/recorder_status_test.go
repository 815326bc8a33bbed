package loadgen

import (
	"reflect"
	"testing"
)

// TestStatusCounts: codes beyond the small table are counted as well as the
// first ones, each once.
func TestStatusCounts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codes []int
	}{
		{"none", nil},
		{"one", []int{200, 200, 200}},
		{"table full", []int{200, 404, 200, 502, 301}},
		{"beyond the table", []int{200, 404, 500, 502, 503, 200, 599, 100, 503}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s statusCounts
			want := map[int]uint64{}
			for _, c := range tc.codes {
				s.add(c)
				want[c]++
			}
			got := map[int]uint64{}
			s.each(func(code int, n uint64) {
				if _, dup := got[code]; dup {
					t.Errorf("code %d reported twice", code)
				}
				got[code] = n
			})
			if !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
				t.Errorf("counted %v, want %v", got, want)
			}
		})
	}
}
