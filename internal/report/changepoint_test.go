package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// levels builds a series from runs of levels, each figure given noise of
// the given spread (log-normal) and the commit "c<i>".
func levels(rng *rand.Rand, noise float64, runs ...[2]float64) []SeriesPoint {
	var s []SeriesPoint
	for _, r := range runs {
		for range int(r[1]) {
			v := r[0] * math.Exp(noise*rng.NormFloat64())
			s = append(s, SeriesPoint{Value: v, Commit: fmt.Sprintf("c%d", len(s))})
		}
	}
	return s
}

func TestFindSteps(t *testing.T) {
	for _, c := range []struct {
		name    string
		series  func(*rand.Rand) []SeriesPoint
		indexes []int
	}{
		{"flat", func(r *rand.Rand) []SeriesPoint { return levels(r, 0.02, [2]float64{1000, 40}) }, nil},
		{"one bad night", func(r *rand.Rand) []SeriesPoint {
			s := levels(r, 0.01, [2]float64{1000, 30})
			s[15].Value = 800
			return s
		}, nil},
		{"two bad nights", func(r *rand.Rand) []SeriesPoint {
			s := levels(r, 0.01, [2]float64{1000, 30})
			s[15].Value, s[16].Value = 800, 850
			return s
		}, nil},
		{"10 % down for 5 runs", func(r *rand.Rand) []SeriesPoint {
			return levels(r, 0.01, [2]float64{1000, 20}, [2]float64{900, 5})
		}, []int{20}},
		{"two steps", func(r *rand.Rand) []SeriesPoint {
			return levels(r, 0.01, [2]float64{1000, 10}, [2]float64{900, 8}, [2]float64{1100, 8})
		}, []int{10, 18}},
		{"three bad nights are two steps", func(r *rand.Rand) []SeriesPoint {
			return levels(r, 0.01, [2]float64{1000, 10}, [2]float64{900, 3}, [2]float64{1000, 6})
		}, []int{10, 13}},
		{"two runs after a step: not yet", func(r *rand.Rand) []SeriesPoint {
			return levels(r, 0.01, [2]float64{1000, 20}, [2]float64{900, 2})
		}, nil},
		{"three runs after a step", func(r *rand.Rand) []SeriesPoint {
			return levels(r, 0.01, [2]float64{1000, 20}, [2]float64{900, 3})
		}, []int{20}},
		{"3 % step: below the threshold", func(r *rand.Rand) []SeriesPoint {
			return levels(r, 0.002, [2]float64{1000, 10}, [2]float64{970, 10})
		}, nil},
		{"6 % step in 4 % noise: below the noise", func(r *rand.Rand) []SeriesPoint {
			return levels(r, 0.04, [2]float64{1000, 15}, [2]float64{940, 15})
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Several noise draws: the answer must not hang on one.
			for seed := range uint64(20) {
				steps := FindSteps(c.series(rand.New(rand.NewPCG(seed, 11))), StepOptions{})
				var got []int
				for _, s := range steps {
					got = append(got, s.Index)
				}
				if fmt.Sprint(got) != fmt.Sprint(c.indexes) {
					t.Fatalf("seed %d: steps at %v, want %v (%+v)", seed, got, c.indexes, steps)
				}
			}
		})
	}
}

func TestFindStepsLevels(t *testing.T) {
	s := levels(rand.New(rand.NewPCG(1, 1)), 0, [2]float64{1000, 10}, [2]float64{900, 8}, [2]float64{1100, 8})
	// A run without figures inside the second level, and one at the start.
	s[12].Value = math.NaN()
	s[0].Value = 0
	steps := FindSteps(s, StepOptions{})
	if len(steps) != 2 {
		t.Fatalf("steps %+v", steps)
	}
	want := []Step{
		{Index: 10, Before: 1000, After: 900, Change: -0.1, LastBefore: "c9", FirstAfter: "c10"},
		{Index: 18, Before: 900, After: 1100, Change: 2.0 / 9, LastBefore: "c17", FirstAfter: "c18"},
	}
	for i, w := range want {
		g := steps[i]
		if g.Index != w.Index || g.LastBefore != w.LastBefore || g.FirstAfter != w.FirstAfter ||
			math.Abs(g.Before-w.Before) > 1e-9 || math.Abs(g.After-w.After) > 1e-9 || math.Abs(g.Change-w.Change) > 1e-12 {
			t.Errorf("step %d: %+v, want %+v", i, g, w)
		}
	}

	// A run midway between the levels (950 between 1000 and 900, the
	// figures 1 % apart): the range covers it.
	s = nil
	for i := range 17 {
		v := 1000.0
		if i > 10 {
			v = 900
		}
		v *= 1 + 0.01*float64(i%2*2-1)
		if i == 10 {
			v = 950
		}
		s = append(s, SeriesPoint{Value: v, Commit: fmt.Sprintf("c%d", i)})
	}
	steps = FindSteps(s, StepOptions{})
	if len(steps) != 1 || steps[0].LastBefore != "c9" || steps[0].FirstAfter != "c11" {
		t.Errorf("a midway run: %+v", steps)
	}

	// A step right after a run without figures: the range spans it.
	s = levels(rand.New(rand.NewPCG(1, 1)), 0, [2]float64{1000, 10}, [2]float64{900, 5})
	s[10].Value = math.NaN()
	steps = FindSteps(s, StepOptions{})
	if len(steps) != 1 || steps[0].Index != 11 || steps[0].LastBefore != "c9" || steps[0].FirstAfter != "c11" {
		t.Errorf("step after a gap: %+v", steps)
	}
}

// Over many noisy histories a flat series hardly ever grows a step, and a
// 10 % step lasting five runs is found, at its run, nearly always.
func TestFindStepsRates(t *testing.T) {
	const histories = 500
	for _, c := range []struct {
		noise, step float64
		atLeast     float64 // share of histories with one step, its range on run 40
		atMost      float64 // share with any other step
	}{
		{0.01, 1, 0, 0.01},
		{0.02, 1, 0, 0.01},
		{0.01, 0.9, 0.98, 0.01},
		{0.02, 0.9, 0.90, 0.01},
	} {
		rng := rand.New(rand.NewPCG(5, 5))
		var found, other int
		for range histories {
			steps := FindSteps(levels(rng, c.noise, [2]float64{1000, 40}, [2]float64{1000 * c.step, 5}), StepOptions{})
			if c.step != 1 && len(steps) == 1 && covers(steps[0], 40) {
				found++
			} else if len(steps) > 0 {
				t.Logf("%+v", steps)
				other++
			}
		}
		t.Logf("noise %.0f %%, level x%.2f: %d found, %d other of %d", 100*c.noise, c.step, found, other, histories)
		if float64(found) < c.atLeast*histories || float64(other) > c.atMost*histories {
			t.Errorf("noise %.0f %%, level x%.2f: found %d, other %d of %d", 100*c.noise, c.step, found, other, histories)
		}
	}
}

func TestFindStepsShort(t *testing.T) {
	for n := range 7 {
		s := levels(rand.New(rand.NewPCG(1, 1)), 0, [2]float64{1000, float64(n)})
		if steps := FindSteps(s, StepOptions{}); len(steps) != 0 {
			t.Errorf("%d flat figures: %+v", n, steps)
		}
	}
	if steps := FindSteps(nil, StepOptions{}); steps == nil || len(steps) != 0 {
		t.Errorf("nil series: %#v", steps)
	}
}

func TestCellSteps(t *testing.T) {
	h := &History{}
	c := &CellHistory{}
	for i := range 8 {
		h.Runs = append(h.Runs, HistoryRun{Commit: fmt.Sprintf("r%d", i)})
		c.RPS = append(c.RPS, map[bool]float64{true: 1000, false: 800}[i < 4])
	}
	steps := CellSteps(h, c, StepOptions{})
	if len(steps) != 1 || steps[0].LastBefore != "r3" || steps[0].FirstAfter != "r4" || math.Abs(steps[0].Change+0.2) > 1e-12 {
		t.Errorf("CellSteps: %+v", steps)
	}
}

// covers reports whether a step's commit range (commits "c<i>") holds run
// i, and spans at most three runs.
func covers(s Step, i int) bool {
	var last, first int
	fmt.Sscanf(s.LastBefore, "c%d", &last)
	fmt.Sscanf(s.FirstAfter, "c%d", &first)
	return last < i && i <= first && first-last <= 3
}
