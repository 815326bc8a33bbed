package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRerunRefusesAnotherMethod checks that `matrix rerun` and `matrix run
// --resume` exit 2, before anything runs, on a flag that contradicts how
// the run measured, naming both values; and that flags equal to the run's
// are accepted.
func TestRerunRefusesAnotherMethod(t *testing.T) {
	t.Parallel()
	mpath := writeTestMatrix(t)
	out := filepath.Join(t.TempDir(), "results")
	code, stdout, stderr := captureRun("run", "--matrix", mpath, "--profile", "test", "--runtime", "process", "--out", out)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	dir := runDirOf(t, out)
	manifest := filepath.Join(dir, "manifest.json")
	if m := readManifest(t, dir); m.Loadgen == nil || m.Loadgen.GOMAXPROCS != 1 {
		t.Fatalf("the manifest does not record the default --procs: %+v", m.Loadgen)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"runtime", []string{"rerun", dir, "--server", "alpha", "--runtime", "docker"},
			"matrix rerun: --runtime docker contradicts the run's runtime process (" + manifest + "); a rerun measures as the run did\n"},
		{"profile", []string{"rerun", dir, "--server", "alpha", "--profile", "nightly"},
			"matrix rerun: --profile nightly contradicts the run's profile test (" + manifest + ")"},
		{"procs", []string{"rerun", dir, "--failed", "--procs", "2"},
			"matrix rerun: --procs 2 contradicts the run's load generator GOMAXPROCS 1 ("},
		{"target host", []string{"rerun", dir, "--server", "alpha", "--target-host", "10.9.8.7"},
			"matrix rerun: --target-host 10.9.8.7 contradicts the run's target host (none) ("},
		{"resume", []string{"run", "--resume", dir, "--runtime", "docker"},
			"matrix run: --runtime docker contradicts the run's runtime process (" + manifest + "); a resume measures as the run did\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(manifest)
			code, stdout, stderr := captureRun(tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d (want %d), stderr does not say %q\nstdout:\n%s\nstderr:\n%s", code, exitUsage, tc.stderr, stdout, stderr)
			}
			if after, _ := os.ReadFile(manifest); !bytes.Equal(before, after) {
				t.Errorf("a refused %s changed the manifest", tc.args[0])
			}
		})
	}
	code, stdout, stderr = captureRun("rerun", dir, "--server", "alpha", "--runtime", "process", "--profile", "test", "--procs", "1")
	if code != 0 || !strings.Contains(stdout, "runtime: process (the run's") {
		t.Errorf("rerun with the run's own values: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
