package results

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWriteFailureKeepsOldFile makes a write fail halfway, for real: the
// process's file size limit (RLIMIT_FSIZE) is lowered below the new
// content's size, so the kernel refuses the write with EFBIG. The old file
// must be intact and no temporary file left.
func TestWriteFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cell.json")
	old := []byte(`{"old":true}`)
	if err := WriteFileAtomic(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	// Without this the kernel's SIGXFSZ would kill the test binary.
	signal.Ignore(syscall.SIGXFSZ)
	defer signal.Reset(syscall.SIGXFSZ)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	small := lim
	small.Cur = 4096
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &small); err != nil {
		t.Skipf("cannot lower RLIMIT_FSIZE: %v", err)
	}
	err := WriteFileAtomic(path, bytes.Repeat([]byte("x"), 1<<20), 0o644)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("write over the limit: err = %v, want an error naming %s", err, path)
	}
	got, rerr := os.ReadFile(path)
	if rerr != nil || !bytes.Equal(got, old) {
		t.Errorf("old file after a failed write = %q, %v; want %q", got, rerr, old)
	}
	assertNoTemp(t, dir)
}

// TestRenameFailureLeavesNoTemp makes the final rename fail (the target is
// a non-empty directory).
func TestRenameFailureLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "cell.json")
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(target, []byte("{}"), 0o644); err == nil {
		t.Fatal("rename over a non-empty directory succeeded")
	}
	assertNoTemp(t, dir)
}

// envCrashChild makes the test binary a writer that is killed by the test.
const envCrashChild = "RESULTS_CRASH_CHILD_DIR"

// TestCrashLeavesWholeFiles kills a process with SIGKILL while it rewrites
// a cell file as fast as it can, then checks that the file on disk is one
// of the complete versions.
func TestCrashLeavesWholeFiles(t *testing.T) {
	if dir := os.Getenv(envCrashChild); dir != "" {
		crashChild(t, dir)
		return
	}
	dir := t.TempDir()
	r, err := Create(dir, "run")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLeavesWholeFiles$")
	cmd.Env = append(os.Environ(), envCrashChild+"="+r.Dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Wait until the child has completed a number of writes, so the kill
	// lands in the middle of the loop, not before it.
	sc := bufio.NewScanner(out)
	for n := 0; n < 20 && sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "wrote") {
			n++
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	c, err := r.ReadCell("a", "get")
	if err != nil {
		t.Fatalf("after SIGKILL: %v", err)
	}
	if c.Summary == nil || c.Detail == "" || !strings.HasPrefix(c.Detail, "version ") {
		t.Errorf("after SIGKILL the cell is not a complete version: %+v", c)
	}
}

// crashChild rewrites one cell file forever, each version complete and
// distinct, reporting every finished write on stdout.
func crashChild(t *testing.T, dir string) {
	r := &Run{Dir: dir, ID: "run"}
	c := sampleCell(t, "a", "get")
	// Make the file big enough that a torn write would be likely.
	c.Detail = strings.Repeat("log line\n", 20000)
	for i := 0; ; i++ {
		c.Detail = fmt.Sprintf("version %d\n", i) + c.Detail[strings.IndexByte(c.Detail, '\n')+1:]
		if err := r.WriteCell(c); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("wrote %d\n", i)
	}
}

// TestWriteFileAtomic checks the content and permissions of written files,
// a path without a directory, and that no temporary file is left.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, tc := range []struct {
		path string
		perm os.FileMode
	}{
		{filepath.Join(dir, "a.json"), 0o644},
		{filepath.Join(dir, "b.json"), 0o600},
		{"c.json", 0o640}, // relative, no directory part: the current one
	} {
		data := []byte(tc.path + "\n")
		if err := WriteFileAtomic(tc.path, data, tc.perm); err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		got, err := os.ReadFile(tc.path)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: read %q, %v; want %q", tc.path, got, err, data)
		}
		if fi, err := os.Stat(tc.path); err != nil || fi.Mode().Perm() != tc.perm {
			t.Errorf("%s: mode %v, %v; want %v", tc.path, fi.Mode().Perm(), err, tc.perm)
		}
	}
	assertNoTemp(t, dir)
}

// TestWriteFileAtomicNoDirectory fails to create the temporary file: the
// directory does not exist. The error names the path and nothing is made.
func TestWriteFileAtomicNoDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "missing", "cell.json")
	err := WriteFileAtomic(path, []byte("{}"), 0o644)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want an error naming %s", err, path)
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Errorf("the missing directory was made: %v", err)
	}
	assertNoTemp(t, dir)
}
