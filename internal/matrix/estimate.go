package matrix

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Overhead is the time a run spends outside warmup, measurement and
// cooldown, which the matrix file cannot know.
type Overhead struct {
	// Build is the time to build one server (once per run and shard).
	Build time.Duration
	// Start is the time to start one server, wait until it is ready and
	// stop it, paid once per cell per repeat (repeats are interleaved, so
	// every repeat starts the server afresh).
	Start time.Duration
}

// DefaultOverhead is a conservative figure for a small machine with a warm
// module cache: a Go server builds in well under a minute, and a server
// starts, answers and stops in a couple of seconds.
var DefaultOverhead = Overhead{Build: 45 * time.Second, Start: 2 * time.Second}

// Breakdown is the estimated wall-clock time of a run and its parts.
type Breakdown struct {
	Cells   int // cells in the run
	Repeats int // measurements per cell
	Builds  int // servers that are built

	Build     time.Duration // all builds
	Readiness time.Duration // starting, readiness and stopping, every repeat
	Warmup    time.Duration
	Duration  time.Duration // measured windows
	Cooldown  time.Duration
	// Reference is the reference cell's three extra measurements (start,
	// middle, end); 0 when the profile turns it off.
	Reference time.Duration
	// Searches is the time of the capacity rows' searches, every repeat,
	// counted at their most steps (and the probe of a row without
	// saturation_from): the bound a search cannot pass, not its typical
	// length. Their cells' warmup and measured time are in here, not in
	// Warmup and Duration.
	Searches time.Duration
	// SearchSteps counts those steps.
	SearchSteps int

	Total time.Duration
}

// String formats b on one line, as `matrix list` prints it.
func (b Breakdown) String() string {
	s := fmt.Sprintf("%d cells x %d repeats, estimated %s (builds %s for %d servers, start/ready/stop %s, warmup %s, measured %s, cooldown %s, reference %s",
		b.Cells, b.Repeats, round(b.Total), round(b.Build), b.Builds, round(b.Readiness),
		round(b.Warmup), round(b.Duration), round(b.Cooldown), round(b.Reference))
	if b.SearchSteps > 0 {
		s += fmt.Sprintf(", capacity searches at most %s in %d steps", round(b.Searches), b.SearchSteps)
	}
	return s + ")"
}

// round rounds d to the second for display.
func round(d time.Duration) time.Duration { return d.Round(time.Second) }

// Estimate returns how long running cells under p is expected to take.
func Estimate(cells []Cell, p Profile, o Overhead) Breakdown {
	n := time.Duration(len(cells) * p.Repeat)
	b := Breakdown{
		Cells:     len(cells),
		Repeats:   p.Repeat,
		Builds:    countBuilds(cells),
		Readiness: n * o.Start,
		Cooldown:  n * p.Cooldown,
	}
	reps := time.Duration(p.Repeat)
	for _, c := range cells {
		if steps, d := c.Scenario.searchCost(p); steps > 0 {
			b.SearchSteps += steps * p.Repeat
			b.Searches += reps * d
			continue
		}
		b.Warmup += reps * p.Warmup
		b.Duration += reps * p.Duration
	}
	b.Build = time.Duration(b.Builds) * o.Build
	if len(cells) > 0 && p.Reference != ReferenceOff {
		b.Reference = 3 * (o.Start + p.Warmup + p.Duration)
	}
	b.Total = b.Build + b.Readiness + b.Warmup + b.Duration + b.Cooldown + b.Reference + b.Searches
	return b
}

// countBuilds counts the distinct servers of cells that have a build.
func countBuilds(cells []Cell) int {
	seen := map[string]bool{}
	for _, c := range cells {
		if c.Server.Build != nil && !seen[c.Server.Name] {
			seen[c.Server.Name] = true
		}
	}
	return len(seen)
}

// Shard returns shard k of n (1 <= k <= n) of cells, in their original
// order. For the same cells, profile and overhead, every cell is in exactly
// one shard, and the shards' estimated times are balanced: cells are
// placed greedily, largest group first, on the shard whose estimate grows
// least, counting a server's build once per shard that runs it (so a
// column tends to stay together). A rated cell stays with the cell it
// takes its saturation rate from.
func Shard(cells []Cell, k, n int, p Profile, o Overhead) ([]Cell, error) {
	if n < 1 || k < 1 || k > n {
		return nil, fmt.Errorf("matrix: shard %d/%d: want 1 <= K <= N", k, n)
	}
	groups := groupCells(cells)
	// Largest first; the stable sort keeps file order among equals, which
	// is what makes the assignment deterministic.
	slices.SortStableFunc(groups, func(a, b []int) int { return len(b) - len(a) })
	load := make([]int, n)
	built := make([]map[string]bool, n)
	for i := range built {
		built[i] = map[string]bool{}
	}
	owner := make([]int, len(cells))
	for _, g := range groups {
		best, bestLoad := 0, 0
		for s := 0; s < n; s++ {
			l := load[s] + groupCost(cells, g, p, o) + buildCost(cells, g, built[s], o)
			if s == 0 || l < bestLoad {
				best, bestLoad = s, l
			}
		}
		load[best] = bestLoad
		for _, i := range g {
			owner[i] = best
			if cells[i].Server.Build != nil {
				built[best][cells[i].Server.Name] = true
			}
		}
	}
	var out []Cell
	for i, c := range cells {
		if owner[i] == k-1 {
			out = append(out, c)
		}
	}
	return out, nil
}

// groupCost is the time the cells of g take, every repeat, without builds.
func groupCost(cells []Cell, g []int, p Profile, o Overhead) int {
	cost := 0
	for _, i := range g {
		measure := p.Warmup + p.Duration
		if steps, d := cells[i].Scenario.searchCost(p); steps > 0 {
			measure = d
		}
		cost += p.Repeat * int(o.Start+measure+p.Cooldown)
	}
	return cost
}

// searchCost is the most steps one repeat of a capacity row takes under p
// and their time, the probe included when the row has no saturation_from;
// 0 steps for other rows.
func (s Scenario) searchCost(p Profile) (int, time.Duration) {
	if s.Capacity == nil {
		return 0, 0
	}
	warmup, window := s.Capacity.StepTimes(p)
	steps := s.Capacity.MaxSteps
	if s.SaturationFrom == "" {
		steps++
	}
	return steps, time.Duration(steps) * (warmup + window)
}

// buildCost is the build time group g adds to a shard that has built the
// servers in built.
func buildCost(cells []Cell, g []int, built map[string]bool, o Overhead) int {
	cost := 0
	extra := map[string]bool{}
	for _, i := range g {
		s := cells[i].Server
		if s.Build != nil && !built[s.Name] && !extra[s.Name] {
			extra[s.Name] = true
			cost += int(o.Build)
		}
	}
	return cost
}

// groupCells groups the indexes of cells that must share a shard: a rated
// cell with the cell it needs (when that cell is among cells).
func groupCells(cells []Cell) [][]int {
	index := make(map[string]int, len(cells))
	for i, c := range cells {
		index[c.ID()] = i
	}
	group := make([]int, len(cells)) // cell -> group number
	var groups [][]int
	for i, c := range cells {
		if base, ok := c.Needs(); ok {
			if j, ok := index[base]; ok && j < i {
				g := group[j]
				group[i] = g
				groups[g] = append(groups[g], i)
				continue
			}
		}
		group[i] = len(groups)
		groups = append(groups, []int{i})
	}
	return groups
}

// ParseShard parses "K/N" (1 <= K <= N).
func ParseShard(s string) (k, n int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if ok {
		k, err = strconv.Atoi(a)
		if err == nil {
			n, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || n < 1 || k < 1 || k > n {
		return 0, 0, fmt.Errorf("matrix: shard %q: want K/N with 1 <= K <= N, like 2/4", s)
	}
	return k, n, nil
}

// Environment variables ShardFromEnv reads.
const (
	// EnvShard holds "K/N", for a CI matrix.
	EnvShard = "MATRIX_SHARD"
	// EnvJobIndex is the 0-based index a Kubernetes Indexed Job gives each
	// pod; with EnvShardCount it makes shard index+1 of count.
	EnvJobIndex = "JOB_COMPLETION_INDEX"
	// EnvShardCount is the number of shards, set next to EnvJobIndex.
	EnvShardCount = "MATRIX_SHARD_COUNT"
)

// ShardFromEnv reads a shard from the environment through getenv
// (os.Getenv): EnvShard, else EnvJobIndex with EnvShardCount. ok is false
// when neither is set.
func ShardFromEnv(getenv func(string) string) (k, n int, ok bool, err error) {
	if s := getenv(EnvShard); s != "" {
		k, n, err = ParseShard(s)
		return k, n, true, err
	}
	idx, count := getenv(EnvJobIndex), getenv(EnvShardCount)
	if idx == "" || count == "" {
		return 0, 0, false, nil
	}
	i, err1 := strconv.Atoi(idx)
	c, err2 := strconv.Atoi(count)
	if err1 != nil || err2 != nil || c < 1 || i < 0 || i >= c {
		return 0, 0, true, fmt.Errorf("matrix: %s=%q with %s=%q: want 0 <= index < count", EnvJobIndex, idx, EnvShardCount, count)
	}
	return i + 1, c, true, nil
}
