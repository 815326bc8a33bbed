package runtime

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/matrixbench/matrix/internal/tlscert"
)

// newDockerRuntime returns the docker runtime, skipping the test when no
// engine answers unless MATRIX_REQUIRE_DOCKER=1, which makes it fail.
func newDockerRuntime(t *testing.T) *Docker {
	t.Helper()
	d, err := NewDocker(context.Background(), Options{CacheDir: t.TempDir()})
	if err != nil {
		if os.Getenv("MATRIX_REQUIRE_DOCKER") == "1" {
			t.Fatalf("MATRIX_REQUIRE_DOCKER=1: %v", err)
		}
		t.Skip(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// buildHello builds a fresh image of testdata/hello and removes it when the
// test ends.
func buildHello(t *testing.T, d *Docker) (Spec, Artifact) {
	t.Helper()
	ctx := context.Background()
	spec := Spec{Name: "runtime-test-hello", GoDir: helloModule(t)}
	art, err := d.Build(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.cli.ImageRemove(context.Background(), art.Tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	return spec, art
}

// containerGone reports whether the engine no longer knows the container.
func containerGone(t *testing.T, d *Docker, id string) bool {
	t.Helper()
	_, err := d.cli.ContainerInspect(context.Background(), id)
	if err != nil && !cerrdefs.IsNotFound(err) {
		t.Fatal(err)
	}
	return cerrdefs.IsNotFound(err)
}

// TestDocker builds one fresh image and runs every engine case on it, so
// the image is built once per run and removed at the end.
func TestDocker(t *testing.T) {
	d := newDockerRuntime(t)
	spec, art := buildHello(t, d)
	t.Run("build-reuse", func(t *testing.T) { testDockerBuildReuse(t, d, spec, art) })
	t.Run("serve", func(t *testing.T) { testDockerServe(t, d, spec, art) })
	t.Run("stop-cancelled", func(t *testing.T) { testDockerStopCancelled(t, d, spec, art) })
	t.Run("exit-at-start", func(t *testing.T) { testDockerExitAtStart(t, d, spec, art) })
	t.Run("cleanup", func(t *testing.T) { testDockerCleanup(t, d, spec, art) })
	t.Run("start-error", func(t *testing.T) { testDockerStartError(t, d, spec, art) })
	t.Run("missing-image", func(t *testing.T) { testDockerMissingImage(t, d) })
	t.Run("dockerfile", func(t *testing.T) { testDockerfile(t, d, art) })
	t.Run("log-cap", func(t *testing.T) { testDockerLogCap(t, d, spec, art) })
	t.Run("tls", func(t *testing.T) { testDockerTLS(t, d, spec, art) })
}

// A TLS cell's server (user 65534 in a FROM scratch image) reads the
// certificate and key the runtime copied in, and the key in the container
// is readable by that user only.
func testDockerTLS(t *testing.T, d *Docker, spec Spec, art Artifact) {
	ctx := context.Background()
	certs, err := tlscert.Make(t.TempDir(), tlscert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := d.Start(ctx, spec, art, StartOptions{Port: freePort(t), RunID: "test", Cell: "x/tls",
		TLS: &TLSFiles{CertPath: certs.CertPath, KeyPath: certs.KeyPath}})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop(ctx, 5*time.Second)
	id := inst.StartReport().ID
	st, err := d.cli.ContainerStatPath(ctx, id, "/matrix-tls/key.pem")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode.Perm() != 0o400 {
		t.Errorf("key mode in the container %v, want 0400", st.Mode)
	}
	if body := waitHTTPS(t, inst, certs.Pool); body != "hello" {
		t.Errorf("body %q, want hello over TLS", body)
	}
}

func testDockerBuildReuse(t *testing.T, d *Docker, spec Spec, art Artifact) {
	ctx := context.Background()
	if art.Reused || !strings.HasPrefix(art.Tag, "matrix/runtime-test-hello:") {
		t.Errorf("first build %+v: want a new image tagged matrix/runtime-test-hello:<hash>", art)
	}
	again, err := d.Build(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Reused || again.Ref != art.Ref {
		t.Errorf("second build Reused=%v Ref=%s, want reuse of %s", again.Reused, again.Ref, art.Ref)
	}
}

func testDockerServe(t *testing.T, d *Docker, spec Spec, art Artifact) {
	ctx := context.Background()
	for _, network := range []string{"host", "bridge"} {
		t.Run(network, func(t *testing.T) {
			spec := spec
			spec.Network = network
			spec.MemoryBytes = 64 << 20
			spec.CPUs = "0"
			inst, err := d.Start(ctx, spec, art, StartOptions{Port: freePort(t), RunID: "test", Cell: "x/" + network})
			if err != nil {
				t.Fatal(err)
			}
			id := inst.StartReport().ID
			if body := waitHTTP(t, inst); body != "hello" {
				t.Errorf("body %q, want hello", body)
			}
			if tmp := getBody(t, "http://"+inst.Addr()+"/tmp"); tmp != "tmpfs writable" {
				t.Errorf("/tmp in the container: %q, want a writable tmpfs", tmp)
			}
			st, err := inst.Sample(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.CPUSeconds <= 0 || st.MemoryBytes <= 0 || st.PeakMemoryBytes < st.MemoryBytes {
				t.Errorf("sample %+v: want CPU and memory > 0, peak >= memory", st)
			}
			// The stats API, used when the cgroup is not visible from here,
			// must agree on the order of magnitude.
			api, err := inst.(*dockerInstance).apiStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if api.Source != "docker-stats" || api.CPUSeconds < st.CPUSeconds || api.MemoryBytes <= 0 {
				t.Errorf("stats API %+v after cgroup sample %+v", api, st)
			}
			rep, err := inst.Stop(ctx, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Killed || rep.ExitedBefore {
				t.Errorf("stop report %+v: want a graceful stop", rep)
			}
			if !containerGone(t, d, id) {
				t.Errorf("container %s still exists after Stop", id)
			}
			if !strings.Contains(inst.LogTail(4096), "listening on port") {
				t.Errorf("log tail %q: want the server's output", inst.LogTail(4096))
			}
		})
	}
}

func testDockerExitAtStart(t *testing.T, d *Docker, spec Spec, art Artifact) {
	ctx := context.Background()
	spec.Command = []string{"-exit", "3"}
	inst, err := d.Start(ctx, spec, art, StartOptions{Port: freePort(t)})
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
	if tail := inst.LogTail(1024); !strings.Contains(tail, "bad configuration") {
		t.Errorf("log tail %q: want the fatal message", tail)
	}
	if !containerGone(t, d, inst.StartReport().ID) {
		t.Error("container still exists after Stop")
	}
}

func testDockerMissingImage(t *testing.T, d *Docker) {
	_, err := d.Build(context.Background(), Spec{Name: "ghost", Image: "matrix-test/no-such-image:never"})
	if err == nil {
		t.Fatal("Build of a missing image succeeded")
	}
	for _, want := range []string{"ghost", "matrix-test/no-such-image:never", d.endpoint, "No such image"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// testDockerCleanup kills a runner with SIGKILL after it started a
// container; the next runner's Cleanup removes that container and keeps
// its own.
func testDockerCleanup(t *testing.T, d *Docker, spec Spec, art Artifact) {
	ctx := context.Background()

	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), helperEnv+"=docker", "HELPER_CACHE="+t.TempDir(), "HELPER_IMAGE="+art.Tag)
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	helper.Stderr = os.Stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	helper.Process.Kill()
	helper.Wait()
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	stale := strings.TrimSpace(line)
	t.Cleanup(func() { d.remove(ctx, stale) })
	if containerGone(t, d, stale) {
		t.Fatal("the killed runner's container is already gone; the test proves nothing")
	}

	inst, err := d.Start(ctx, spec, art, StartOptions{Port: freePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop(ctx, time.Second)
	removed, err := d.Cleanup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || !strings.Contains(removed[0], shortID(stale)) || !strings.Contains(removed[0], "helper-run") {
		t.Errorf("cleanup removed %q, want only %s of run helper-run", removed, shortID(stale))
	}
	if !containerGone(t, d, stale) {
		t.Error("stale container still exists")
	}
	if containerGone(t, d, inst.StartReport().ID) {
		t.Error("cleanup removed the live runner's container")
	}
}

// testDockerfile builds a Dockerfile context on top of the fresh image (no
// registry needed), runs it, and reuses it on a second build.
func testDockerfile(t *testing.T, d *Docker, base Artifact) {
	ctx := context.Background()
	dir := t.TempDir()
	df := "FROM " + base.Tag + "\nCMD [\"-noise\", \"1000\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Name: "runtime-test-dockerfile", Dockerfile: dir}
	art, err := d.Build(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.cli.ImageRemove(context.Background(), art.Tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	if art.Reused {
		t.Errorf("first build %+v reported Reused", art)
	}
	if again, err := d.Build(ctx, spec); err != nil || !again.Reused || again.Ref != art.Ref {
		t.Errorf("second build %+v, %v: want reuse of %s", again, err, art.Ref)
	}
	inst, err := d.Start(ctx, spec, art, StartOptions{Port: freePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, inst)
	if _, err := inst.Stop(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(inst.LogTail(4096), "noise done") {
		t.Errorf("log %q: want the CMD of the Dockerfile to have run", inst.LogTail(4096))
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM matrix-test/no-such-base:never\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Build(ctx, spec); err == nil || !strings.Contains(err.Error(), "no-such-base") {
		t.Errorf("build from a missing base: error %v, want the engine's message", err)
	}
}

// testDockerLogCap runs a server that writes 5 MB before serving with a
// 64 KiB cap: the saved log holds the newest 64 KiB.
func testDockerLogCap(t *testing.T, d *Docker, spec Spec, art Artifact) {
	ctx := context.Background()
	spec.Command = []string{"-noise", "5000000"}
	logPath := filepath.Join(t.TempDir(), "server.log")
	inst, err := d.Start(ctx, spec, art, StartOptions{Port: freePort(t), LogPath: logPath, LogCap: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, inst)
	rep, err := inst.Stop(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Log.Truncated || rep.Log.Kept != 64<<10 || rep.Log.Written < 5000000 {
		t.Errorf("log report %+v: want 5 MB written, 64 KiB kept", rep.Log)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lastBytes(string(b), 200), "listening on port") {
		t.Errorf("log ends %q: want the newest lines", lastBytes(string(b), 200))
	}
}

// testDockerStopCancelled stops with a cancelled context, as an interrupted
// runner does: no grace, but the container is still removed.
func testDockerStopCancelled(t *testing.T, d *Docker, spec Spec, art Artifact) {
	ctx, cancel := context.WithCancel(context.Background())
	inst, err := d.Start(ctx, spec, art, StartOptions{Port: freePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, inst)
	cancel()
	rep, err := inst.Stop(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Killed {
		t.Errorf("stop report %+v: want Killed (no grace once cancelled)", rep)
	}
	if !containerGone(t, d, inst.StartReport().ID) {
		t.Error("container still exists after Stop with a cancelled context")
	}
}

// testDockerStartError asks for CPUs the machine lacks: Start fails with the
// engine's message and leaves no container.
func testDockerStartError(t *testing.T, d *Docker, spec Spec, art Artifact) {
	ctx := context.Background()
	spec.CPUs = "63"
	runID := "start-error-" + randomHex(4)
	_, err := d.Start(ctx, spec, art, StartOptions{Port: freePort(t), RunID: runID})
	if err == nil || !strings.Contains(err.Error(), "runtime-test-hello") {
		t.Fatalf("Start on cpuset 63: error %v, want one naming the server", err)
	}
	t.Log(err)
	list, err := d.cli.ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", LabelRunID+"="+runID))})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("%d containers left after a failed start", len(list))
	}
}
