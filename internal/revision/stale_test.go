package revision

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSweepStale leaves a checkout behind as a killed runner would (its
// pid gone, its worktree still registered) and checks that the next Open
// of the repository removes both.
func TestSweepStale(t *testing.T) {
	repo := newRepo(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(os.TempDir(), "matrix-ab-"+strconv.Itoa(dead.Process.Pid)+"-stale")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	wt := filepath.Join(dir, "base")
	if _, err := git(context.Background(), repo.dir, "worktree", "add", "--detach", wt, "HEAD"); err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(os.TempDir(), "matrix-ab-"+strconv.Itoa(os.Getpid())+"-live")
	if err := os.MkdirAll(live, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(live)
	sweepStale(context.Background(), repo.dir)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a dead runner's checkout %s is still there (%v)", dir, err)
	}
	if out := repo.git("worktree", "list"); strings.Contains(out, dir) {
		t.Errorf("git still lists the dead runner's worktree:\n%s", out)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live runner's checkout was removed: %v", err)
	}
}
