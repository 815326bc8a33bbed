package runner

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matrixbench/matrix/internal/results"
)

// noiseEnv makes the test binary in server mode write that many bytes of
// numbered lines to its standard output while it serves, paced over about
// a second, then a last line saying it is done.
const noiseEnv = "RUNNER_TEST_NOISE"

func init() {
	// init runs before TestMain, which serves in server mode: the noise
	// needs no change to the servers' modes.
	if n, err := strconv.ParseInt(os.Getenv(noiseEnv), 10, 64); err == nil && n > 0 && os.Getenv(serverModeEnv) != "" {
		go noise(os.Stdout, n)
	}
}

// noiseLine is the length of one line of noise.
const noiseLine = 64

// noise writes n bytes of lines "noise 000000123 xxx...\n", 1 MiB every 10
// milliseconds, then "noise done". The lines of a chunk are laid out once
// and only their numbers rewritten, so that even a race-instrumented
// server writes 100 MiB in about a second.
func noise(w io.Writer, n int64) {
	const perChunk = 1 << 20 / noiseLine
	pad := strings.Repeat("x", noiseLine-len("noise 000000000 \n"))
	chunk := []byte(strings.Repeat("noise 000000000 "+pad+"\n", perChunk))
	for i := int64(0); i*noiseLine < n; i += perChunk {
		for j := 0; j < perChunk; j++ {
			num := chunk[j*noiseLine+len("noise ") : j*noiseLine+len("noise 000000000")]
			for k, v := len(num)-1, i+int64(j); k >= 0; k, v = k-1, v/10 {
				num[k] = byte('0' + v%10)
			}
		}
		w.Write(chunk)
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintln(w, "noise done")
}

// testMatrix writes a matrix whose servers are this test binary serving
// "good", with env added, and one h1 scenario with four connections, under
// the profile "p" (warmup 200ms, the given duration, one repeat).
func testMatrix(t *testing.T, servers []string, env map[string]string, duration time.Duration) (path, pidDir string) {
	t.Helper()
	dir := t.TempDir()
	pidDir = filepath.Join(dir, "pids")
	if err := os.Mkdir(pidDir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	envs := fmt.Sprintf("%s: good, RUNNER_TEST_PIDS: %q", serverModeEnv, pidDir)
	for k, v := range env {
		envs += fmt.Sprintf(", %s: %q", k, v)
	}
	y := fmt.Sprintf("version: 1\nprofiles:\n  p: {warmup: 200ms, duration: %s, repeat: 1, reference: none, interference: 64}\nservers:\n", duration)
	for _, name := range servers {
		y += fmt.Sprintf("  - name: %s\n    protocols: [h1]\n    process: {command: [%q, \"-test.run=^$\"], env: {%s}}\n    ready: {timeout: 20s}\n", name, exe, envs)
	}
	y += "scenarios:\n" + oneScenario
	path = filepath.Join(dir, "matrix.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, pidDir
}

// buildMatrix builds the matrix command into a temporary directory.
func buildMatrix(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "matrix")
	goBuild(t, "../..", bin, "./cmd/matrix")
	return bin
}

// TestCrashLosesNothing kills `matrix run` with SIGKILL in the middle of a
// cell and checks that `matrix run --resume` keeps every finished cell's
// files byte for byte, runs the interrupted cell and the ones after it,
// and that no server of the killed run survives it.
func TestCrashLosesNothing(t *testing.T) {
	bin := buildMatrix(t)
	servers := []string{"a", "b", "c", "d"}
	path, pidDir := testMatrix(t, servers, nil, 2*time.Second)
	out := t.TempDir()

	run := exec.Command(bin, "run", "--matrix", path, "--runtime", "process", "--out", out)
	stdout, err := run.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	run.Stderr = run.Stdout
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Process.Kill(); run.Wait() })
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var dir string
	var seen []string
	for line := range lines {
		seen = append(seen, line)
		if m := regexp.MustCompile(`^run (\S+): 4 cells`).FindStringSubmatch(line); m != nil {
			dir = m[1]
		}
		if strings.HasPrefix(line, "[1/4]") {
			break
		}
	}
	if dir == "" || !strings.HasPrefix(seen[len(seen)-1], "[1/4] get/a") {
		t.Fatalf("no run directory or first cell in the output:\n%s", strings.Join(seen, "\n"))
	}
	// The second cell's server writes its pid file when it starts; the
	// kill lands in that cell's two-second measurement.
	waitFor(t, "the second cell's server", func() bool { return len(pidFiles(t, pidDir)) >= 2 })
	time.Sleep(800 * time.Millisecond)
	killedAt := time.Now()
	runner := run.Process.Pid
	if err := run.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	run.Wait()
	go func() { // drain what the dead runner left in the pipe
		for range lines {
		}
	}()

	// Its servers die with it: the process runtime starts them with a
	// parent-death signal.
	waitFor(t, "the killed runner's servers to die", func() bool {
		return len(ownedBy(t, runner)) == 0 && len(running(pidFiles(t, pidDir))) == 0
	})

	finished := snapshotFinished(t, dir)
	if _, ok := finished["a/get.json"]; !ok || len(finished) == 0 {
		t.Fatalf("the first cell's result is not on disk after the kill: %v", keys(finished))
	}
	if _, ok := finished["b/get.json"]; ok {
		t.Fatalf("the cell in progress has a final result: the kill came too late")
	}

	res, err := exec.Command(bin, "run", "--resume", dir, "--runtime", "process").CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, res)
	}
	pending := len(servers) - countCells(finished)
	if !strings.Contains(string(res), fmt.Sprintf(": %d cells", pending)) {
		t.Errorf("resume should run the %d unfinished cells:\n%s", pending, res)
	}
	for name, data := range finished {
		after, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(after, data) {
			t.Errorf("%s changed on resume (%v)", name, err)
		}
	}
	r, err := results.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	man, err := r.ReadManifest()
	if err != nil || man.State != results.StateFinished || len(man.Cells) != len(servers) {
		t.Fatalf("manifest after resume: %v %+v", err, man)
	}
	for _, ref := range man.Cells {
		if !results.Final(ref.Status) {
			t.Errorf("cell %s is %s after resume", ref.ID, ref.Status)
		}
	}
	b, err := r.ReadCell("b", "get")
	if err != nil || b.Status != results.StatusOK || !b.Started.After(killedAt) {
		t.Errorf("interrupted cell after resume: %v, status %v, started %v (killed at %v)", err, b.Status, b.Started, killedAt)
	}
	if left := running(pidFiles(t, pidDir)); len(left) > 0 {
		t.Errorf("server processes %v outlived the resumed run", left)
	}
}

// TestNoisyServer checks that a server writing 100 MiB to its standard
// output during a cell neither grows the runner's heap nor its log past the
// cap, that the log keeps the newest part in order, and that the result
// says the log was capped.
func TestNoisyServer(t *testing.T) {
	const noisy, logCap = 100 << 20, 1 << 20
	path, pidDir := testMatrix(t, []string{"loud"}, map[string]string{noiseEnv: strconv.Itoa(noisy)}, 3*time.Second)
	heap0 := heapBytes()
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			peak = max(peak, heapBytes())
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	s, _, out := runMatrix(t, context.Background(), Request{MatrixPath: path, Output: Output{LogCap: logCap}})
	close(stop)
	<-sampled
	assertNoServerLeft(t, pidDir)

	c := readCell(t, s, "loud", "get")
	if c.Status != results.StatusOK || !c.LogTruncated || len(c.Repeats) != 1 || !c.Repeats[0].LogTruncated {
		t.Fatalf("cell %s, log truncated %v, repeats %d: want ok with its log marked truncated\n%s", c.Status, c.LogTruncated, len(c.Repeats), out)
	}
	log, err := os.ReadFile(filepath.Join(s.Run.Dir, c.Repeats[0].Log))
	if err != nil {
		t.Fatal(err)
	}
	header, body, _ := bytes.Cut(log, []byte("\n"))
	var dropped, written int64
	if _, err := fmt.Sscanf(string(header), "[matrix: log capped at 1048576 bytes: the first %d of %d bytes were dropped]", &dropped, &written); err != nil {
		t.Fatalf("log header %q: %v", header, err)
	}
	if written < noisy/2 || written-dropped != int64(len(body)) || len(body) != logCap {
		t.Errorf("log: %d bytes kept of %d written, %d dropped; want the last %d of at least %d", len(body), written, dropped, logCap, noisy/2)
	}
	checkNewest(t, body)
	if grown := int64(peak) - int64(heap0); grown > 32<<20 {
		t.Errorf("the runner's heap grew by %d MiB while the server wrote %d MiB", grown>>20, written>>20)
	}
	t.Logf("server wrote %d MiB; log kept %d bytes; runner heap grew by at most %.1f MiB", written>>20, len(body), float64(int64(peak)-int64(heap0))/(1<<20))
}

// checkNewest checks that the kept part of a noise log is in the order it
// was written: whole lines after the first (cut) one, numbered one after
// another, followed only by other output of the server.
func checkNewest(t *testing.T, body []byte) {
	t.Helper()
	lines := strings.Split(string(body), "\n")
	prev, n := int64(-1), 0
	for _, l := range lines[1:] {
		var i int64
		if _, err := fmt.Sscanf(l, "noise %d ", &i); err != nil {
			continue // the server's own log lines, "noise done"
		}
		if prev >= 0 && i != prev+1 {
			t.Fatalf("noise line %d follows %d: the kept part is out of order", i, prev)
		}
		prev = i
		n++
	}
	if n < 1000 {
		t.Errorf("only %d whole noise lines kept", n)
	}
}

// heapBytes returns the bytes of live and not yet swept heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// pidFiles returns the pids the test servers wrote to dir.
func pidFiles(t *testing.T, dir string) []int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// running returns the pids that are live processes (a zombie has exited;
// only its parent has not collected it yet).
func running(pids []int) []int {
	var live []int
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		if _, rest, ok := strings.Cut(string(stat), ") "); ok && !strings.HasPrefix(rest, "Z") {
			live = append(live, pid)
		}
	}
	return live
}

// ownedBy returns the live processes that the process runtime of runner
// pid started: their MATRIX_RUNTIME_OWNER names it (host/pid/start/n).
func ownedBy(t *testing.T, runner int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			v, ok := bytes.CutPrefix(kv, []byte("MATRIX_RUNTIME_OWNER="))
			if f := strings.Split(string(v), "/"); ok && len(f) >= 2 && f[1] == strconv.Itoa(runner) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// snapshotFinished returns the files of the run's finished cells (result
// and logs) by path relative to the run directory.
func snapshotFinished(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	cells, _ := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	for _, path := range cells {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := results.DecodeCell(path, data)
		if err != nil || !results.Final(c.Status) {
			continue
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = data
		for _, rp := range c.Repeats {
			if rp.Log == "" {
				continue
			}
			if b, err := os.ReadFile(filepath.Join(dir, rp.Log)); err == nil {
				files[rp.Log] = b
			}
		}
	}
	return files
}

// countCells counts the result files among a snapshot's files.
func countCells(files map[string][]byte) int {
	n := 0
	for name := range files {
		if strings.HasSuffix(name, ".json") {
			n++
		}
	}
	return n
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
