package revision

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// sweepStale removes the checkouts that an earlier `matrix ab` of repo
// left behind when it was killed before its Close ran (a second SIGINT
// exits at once): temporary directories named matrix-ab-<pid>-* whose pid
// is no longer running. Each of their worktrees is removed through git
// (so the repository forgets it) and the directory is deleted. A directory
// of a live process, or whose worktrees belong to another repository, is
// left alone; git refuses to remove a worktree that is not repo's.
func sweepStale(ctx context.Context, repo string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "matrix-ab-*-*"))
	for _, dir := range dirs {
		pid, ok := ownerPID(filepath.Base(dir))
		if !ok || alive(pid) {
			continue
		}
		mine := true
		for _, side := range []string{"base", "head"} {
			wt := filepath.Join(dir, side)
			if _, err := os.Stat(wt); err != nil {
				continue
			}
			if _, err := git(ctx, repo, "worktree", "remove", "--force", wt); err != nil {
				mine = false
			}
		}
		if mine {
			os.RemoveAll(dir)
		}
	}
}

// ownerPID parses the pid out of "matrix-ab-<pid>-<random>".
func ownerPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "matrix-ab-")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(num)
	return pid, err == nil && pid > 0
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
