package results

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Resolved is a run named on the command line.
type Resolved struct {
	// Dir is the run directory.
	Dir string
	// Picked says how the run was chosen, for people: empty when the
	// argument was the run itself.
	Picked string
}

// Resolve finds the run that ref names: a run directory, the ID of a run
// under resultsDir, or a git revision of the repository at repoDir (the
// current directory when empty), which names the newest run under
// resultsDir whose manifest records that commit. Among the runs of a
// commit, runs from a clean tree are preferred to runs from a dirty one
// (whose code was not that commit's), and shards that were merged into a
// run are skipped in favour of the merged run.
func Resolve(ctx context.Context, ref, resultsDir, repoDir string) (Resolved, error) {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return Resolved{}, fmt.Errorf("%q is not a run directory, run id or git revision", ref)
	}
	if IsRun(ref) {
		return Resolved{Dir: ref}, nil
	}
	if dir := filepath.Join(resultsDir, ref); filepath.IsLocal(ref) && IsRun(dir) {
		return Resolved{Dir: dir}, nil
	}
	commit, gitErr := revParse(ctx, ref, repoDir)
	if gitErr != nil {
		return Resolved{}, fmt.Errorf("%q is not a run directory, a run id under %s, or a git revision (%v)", ref, resultsDir, gitErr)
	}
	runs, err := List(resultsDir)
	if err != nil {
		return Resolved{}, err
	}
	best, n := pickRun(runs, commit)
	if best == nil {
		return Resolved{}, fmt.Errorf("no run under %s was made at commit %s (%s); run the matrix at that commit first", resultsDir, abbrevCommit(commit), ref)
	}
	picked := fmt.Sprintf("%s is commit %s: picked run %s, the newest of %d run(s) of that commit", ref, abbrevCommit(commit), best.ID, n)
	if best.Manifest.Git.Dirty {
		picked += "; WARNING: made from a dirty tree, not exactly that commit"
	}
	if best.Manifest.State != StateFinished {
		picked += fmt.Sprintf("; its state is %s", best.Manifest.State)
	}
	if s := best.Manifest.Shard; s != nil {
		picked += fmt.Sprintf("; it is shard %d/%d, only part of the matrix", s.K, s.N)
	}
	return Resolved{Dir: best.Dir, Picked: picked}, nil
}

// IsRun reports whether dir is a run directory: whether it holds a
// manifest (readable or not).
func IsRun(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ManifestFile))
	return err == nil
}

// MergedShards returns the IDs of the runs that the runs listed (as List
// returns them) name as shards merged into them. Those runs' cells are in
// the merged run, so whoever looks for the runs of a commit or the
// history of a cell passes over them.
func MergedShards(runs []RunRef) map[string]bool {
	merged := map[string]bool{}
	for _, r := range runs {
		if r.Manifest != nil {
			for _, id := range r.Manifest.MergedFrom {
				merged[id] = true
			}
		}
	}
	return merged
}

// pickRun returns the run to use for commit among runs (oldest first) and
// how many runs of that commit there are. Clean trees beat dirty ones,
// then the newest wins.
func pickRun(runs []RunRef, commit string) (*RunRef, int) {
	merged := MergedShards(runs)
	var best *RunRef
	n := 0
	for i := range runs {
		r := &runs[i]
		if r.Manifest == nil || r.Manifest.Git.Commit != commit || merged[r.ID] {
			continue
		}
		n++
		if best == nil || !r.Manifest.Git.Dirty || best.Manifest.Git.Dirty {
			best = r
		}
	}
	return best, n
}

// revParse resolves a git revision to a full commit hash.
func revParse(ctx context.Context, rev, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if msg := strings.TrimSpace(stderr.String()); msg != "" {
				return "", fmt.Errorf("git: %s", msg)
			}
			return "", errors.New("git knows no such commit")
		}
		return "", fmt.Errorf("running git: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// abbrevCommit abbreviates a commit hash for people.
func abbrevCommit(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
