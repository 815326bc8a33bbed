package runtime

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matrixbench/matrix/internal/tlscert"
)

func newProcessRuntime(t *testing.T) *Process {
	t.Helper()
	p, err := NewProcess(Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProcessGoServer(t *testing.T) {
	ctx := context.Background()
	p := newProcessRuntime(t)
	spec := Spec{Name: "hello", GoDir: helloModule(t)}
	art, err := p.Build(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if art.Reused {
		t.Errorf("first build reported Reused")
	}
	again, err := p.Build(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Reused || again.Ref != art.Ref {
		t.Errorf("second build: Reused=%v Ref=%s, want reuse of %s", again.Reused, again.Ref, art.Ref)
	}

	logPath := filepath.Join(t.TempDir(), "server.log")
	inst, err := p.Start(ctx, spec, art, StartOptions{Port: freePort(t), LogPath: logPath})
	if err != nil {
		t.Fatal(err)
	}
	if body := waitHTTP(t, inst); body != "hello" {
		t.Errorf("body %q, want hello", body)
	}
	st, err := inst.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.MemoryBytes <= 0 || st.PeakMemoryBytes < st.MemoryBytes {
		t.Errorf("sample %+v: want memory > 0 and peak >= memory", st)
	}
	pid, _ := strconv.Atoi(inst.StartReport().ID)
	rep, err := inst.Stop(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Killed || rep.ExitedBefore {
		t.Errorf("stop report %+v: want a graceful stop by SIGTERM", rep)
	}
	if rep.ExitStatus != "signal: terminated" {
		t.Errorf("exit status %q, want signal: terminated", rep.ExitStatus)
	}
	if alive(pid) {
		t.Errorf("server %d still runs after Stop", pid)
	}
	if rep.Final.PeakMemoryBytes <= 0 {
		t.Errorf("final stats %+v: want a peak", rep.Final)
	}
	b, err := os.ReadFile(logPath)
	if err != nil || !strings.Contains(string(b), "listening on port") {
		t.Errorf("log %q (%v): want the server's output", b, err)
	}
	t.Run("tls", func(t *testing.T) { testProcessTLS(t, p, spec, art) })
}

// A TLS cell's process gets TLS_CERT and TLS_KEY; a cleartext cell never
// inherits them from the runner's own environment.
func testProcessTLS(t *testing.T, p *Process, spec Spec, art Artifact) {
	ctx := context.Background()
	t.Setenv("TLS_CERT", "/nonexistent/cert.pem")
	t.Setenv("TLS_KEY", "/nonexistent/key.pem")
	clear, err := p.Start(ctx, spec, art, StartOptions{Port: freePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer clear.Stop(ctx, 5*time.Second)
	if body := waitHTTP(t, clear); body != "hello" {
		t.Errorf("cleartext body %q, want hello", body)
	}
	certs, err := tlscert.Make(t.TempDir(), tlscert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := p.Start(ctx, spec, art, StartOptions{Port: freePort(t),
		TLS: &TLSFiles{CertPath: certs.CertPath, KeyPath: certs.KeyPath}})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop(ctx, 5*time.Second)
	if body := waitHTTPS(t, inst, certs.Pool); body != "hello" {
		t.Errorf("TLS body %q, want hello", body)
	}
}

func TestProcessExitAtStart(t *testing.T) {
	ctx := context.Background()
	p := newProcessRuntime(t)
	spec := Spec{Name: "hello", GoDir: "testdata/hello", Command: []string{"-exit", "3"}}
	art, err := p.Build(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := p.Start(ctx, spec, art, StartOptions{Port: freePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, inst)
	if got := inst.ExitStatus(); got != "exit status 3" {
		t.Errorf("exit status %q, want exit status 3", got)
	}
	rep, err := inst.Stop(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ExitedBefore {
		t.Errorf("stop report %+v: want ExitedBefore", rep)
	}
	// The log was temporary: LogTail still has its end after Stop.
	if tail := inst.LogTail(1024); !strings.Contains(tail, "bad configuration") {
		t.Errorf("log tail %q: want the fatal message", tail)
	}
}

// TestProcessGroupKilled starts a shell that ignores SIGTERM (and so do its
// children, since ignored signals survive exec), one child in its group and
// one that left it with setsid. Stop must escalate to SIGKILL and leave
// neither child.
func TestProcessGroupKilled(t *testing.T) {
	ctx := context.Background()
	p := newProcessRuntime(t)
	dir := t.TempDir()
	script := `trap "" TERM; sleep 600 & echo $! > in-group; setsid sleep 600 & echo $! > escaped; echo started; wait`
	spec := Spec{Name: "spawner", Dir: dir, Command: []string{"sh", "-c", script}}
	art, err := p.Build(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := p.Start(ctx, spec, art, StartOptions{Port: freePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	inGroup := readPidFile(t, filepath.Join(dir, "in-group"))
	escaped := readPidFile(t, filepath.Join(dir, "escaped"))
	rep, err := inst.Stop(ctx, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Killed {
		t.Errorf("stop report %+v: want Killed (the shell ignores SIGTERM)", rep)
	}
	if len(rep.Swept) != 1 {
		t.Errorf("swept %q: want the one process that left the group", rep.Swept)
	}
	waitGone(t, inGroup)
	waitGone(t, escaped)
	select {
	case <-inst.Done():
	default:
		t.Error("Done not closed after Stop")
	}
}

// TestProcessRuntimesApart starts one server from each of two runtimes of
// one process (as a test binary holds many) and stops the first: the sweep
// for escaped children must not take the second runtime's server, whose
// instance number is the same.
func TestProcessRuntimesApart(t *testing.T) {
	ctx := context.Background()
	var insts []Instance
	var pids []int
	for i := range 2 {
		p := newProcessRuntime(t)
		dir := t.TempDir()
		spec := Spec{Name: "sleeper", Dir: dir, Command: []string{"sh", "-c", "echo $$ > pid; exec sleep 600"}}
		art, err := p.Build(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := p.Start(ctx, spec, art, StartOptions{Port: freePort(t)})
		if err != nil {
			t.Fatalf("runtime %d: %v", i, err)
		}
		insts = append(insts, inst)
		pids = append(pids, readPidFile(t, filepath.Join(dir, "pid")))
	}
	t.Cleanup(func() { insts[1].Stop(ctx, 0) })
	rep, err := insts[0].Stop(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Swept) != 0 {
		t.Errorf("stop swept %q: want nothing (the other server belongs to another runtime)", rep.Swept)
	}
	waitGone(t, pids[0])
	if !alive(pids[1]) {
		t.Fatal("the second runtime's server died when the first runtime stopped its own")
	}
	select {
	case <-insts[1].Done():
		t.Fatal("the second runtime's instance is done")
	case <-time.After(100 * time.Millisecond):
	}
}

// readPidFile waits for a pid file the server writes.
func readPidFile(t *testing.T, path string) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		b, err := os.ReadFile(path)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 0 {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProcessLogCapKeepsNewest(t *testing.T) {
	ctx := context.Background()
	p := newProcessRuntime(t)
	// 5 MB of noise, then a last line; the cap is 64 KiB.
	script := `head -c 5000000 /dev/zero | tr '\0' 'a'; echo; echo THE-END`
	spec := Spec{Name: "noisy", Command: []string{"sh", "-c", script}}
	art, err := p.Build(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "noisy.log")
	inst, err := p.Start(ctx, spec, art, StartOptions{Port: freePort(t), LogPath: logPath, LogCap: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, inst)
	rep, err := inst.Stop(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := LogReport{Path: logPath, Written: 5000000 + 1 + 8, Kept: 64 << 10, Truncated: true}
	if rep.Log != want {
		t.Errorf("log report %+v, want %+v", rep.Log, want)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	if !strings.Contains(first, "log capped") {
		t.Errorf("first line %q: want the truncation notice", first)
	}
	if !strings.HasSuffix(string(b), "aaaa\nTHE-END\n") {
		t.Errorf("log ends %q: want the newest output", lastBytes(string(b), 40))
	}
	if body := len(b) - len(first) - 1; body != 64<<10 {
		t.Errorf("log holds %d bytes after the notice, want %d", body, 64<<10)
	}
}

// TestProcessCleanup kills a runner with SIGKILL: its server dies with it
// (parent-death signal), and the child that escaped the group is killed by
// the next runner's Cleanup.
func TestProcessCleanup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Dir = dir
	helper.Env = append(os.Environ(), helperEnv+"=process", "HELPER_CACHE="+t.TempDir(),
		"HELPER_COMMAND=setsid sleep 600 & echo $! > escaped; exec sleep 600")
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	helper.Stderr = os.Stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		helper.Process.Kill()
		t.Fatalf("helper: %v", err)
	}
	server, _ := strconv.Atoi(strings.TrimSpace(line))
	escaped := readPidFile(t, filepath.Join(dir, "escaped"))
	helper.Process.Kill()
	helper.Wait()
	waitGone(t, server)
	if !alive(escaped) {
		t.Fatal("escaped child died with the runner; the test proves nothing")
	}

	p := newProcessRuntime(t)
	// A server of this live runner must survive Cleanup.
	mine := Spec{Name: "mine", Command: []string{"sleep", "600"}}
	art, err := p.Build(ctx, mine)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := p.Start(ctx, mine, art, StartOptions{Port: freePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop(ctx, time.Second)
	killed, err := p.Cleanup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(killed) != 1 || !strings.Contains(killed[0], "process "+strconv.Itoa(escaped)+" ") {
		t.Errorf("cleanup killed %q, want only %d", killed, escaped)
	}
	waitGone(t, escaped)
	mypid, _ := strconv.Atoi(inst.StartReport().ID)
	if !alive(mypid) {
		t.Error("cleanup killed a server of the live runner")
	}
}

func TestProcessBuildErrors(t *testing.T) {
	ctx := context.Background()
	p := newProcessRuntime(t)
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "go.mod"), []byte("module broken\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(broken, "main.go"), []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644)
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"compile error", Spec{Name: "broken", GoDir: broken}, "undefinedThing"},
		{"missing program", Spec{Name: "ghost", Command: []string{"./no-such-server"}, Dir: broken}, "no-such-server"},
		{"image", Spec{Name: "img", Image: "nginx"}, "cannot run an image"},
		{"two sources", Spec{Name: "two", GoDir: broken, Image: "x"}, "exclusive"},
		{"nothing", Spec{Name: "none"}, "no command"},
	}
	for _, tt := range tests {
		_, err := p.Build(ctx, tt.spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}
