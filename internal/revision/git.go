package revision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// git runs git in dir and returns its standard output. A failure's error
// carries git's own message, which names what went wrong better than an
// exit status.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("git %s: %w: %s", args[0], err, msg)
		}
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return string(out), nil
}

// errUnknown says that a revision names no commit.
var errUnknown = errors.New("unknown revision")

// revParse resolves rev to the full hash of a commit in the repository at
// root; errUnknown when git knows no such commit.
func revParse(ctx context.Context, root, rev string) (string, error) {
	// A revision that looks like a flag would be read as one by git
	// versions without --end-of-options; no commit is named that way.
	if rev == "" || strings.HasPrefix(rev, "-") {
		return "", errUnknown
	}
	cmd := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && strings.TrimSpace(stderr.String()) == "":
		// --quiet: a revision git cannot resolve fails without a word.
		return "", errUnknown
	case err != nil:
		return "", fmt.Errorf("git rev-parse %s: %w: %s", rev, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// topLevel returns the root of the working tree holding dir, or an error
// when dir is in no git repository.
func topLevel(ctx context.Context, dir string) (string, error) {
	out, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", err
	}
	root := strings.TrimSpace(out)
	if root == "" {
		// Inside the .git directory itself there is no working tree.
		return "", fmt.Errorf("%s has no working tree", dir)
	}
	return root, nil
}

// isBlob reports whether path (slash-separated, relative to the root) is a
// file in commit.
func isBlob(ctx context.Context, root, commit, path string) bool {
	out, err := git(ctx, root, "cat-file", "-t", commit+":"+path)
	return err == nil && strings.TrimSpace(out) == "blob"
}

// change is one entry of `git status --porcelain`.
type change struct {
	untracked bool
	path      string // relative to the root, slash-separated; a directory ends in "/"
}

// status lists what differs between the working tree at root and its HEAD
// commit: tracked changes (staged or not) and untracked files that are not
// ignored. An untracked directory is one entry.
func status(ctx context.Context, root string) ([]change, error) {
	out, err := git(ctx, root, "status", "--porcelain", "-z", "--untracked-files=normal")
	if err != nil {
		return nil, err
	}
	var changes []change
	fields := strings.Split(out, "\x00")
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if len(f) < 4 {
			continue
		}
		xy := f[:2]
		changes = append(changes, change{untracked: xy == "??", path: f[3:]})
		if xy[0] == 'R' || xy[0] == 'C' {
			i++ // -z puts a rename's source in the next field
		}
	}
	return changes, nil
}
