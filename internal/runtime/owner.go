package runtime

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ownerEnv is the environment variable that marks every process the process
// runtime starts, and that children inherit. Its value is owner.String(),
// "/", the runtime's nonce, "-" and the instance number, so both a dead
// runner's servers and an instance's escaped children can be found in /proc.
const ownerEnv = "MATRIX_RUNTIME_OWNER"

// owner identifies a runner process across hosts and pid reuse: a pid alone
// may be reused after the runner dies, but not with the same start time in
// the same boot.
type owner struct {
	host  string
	pid   int
	start string // "<boot id>:<start time in clock ticks>"
}

// currentOwner identifies the calling process.
func currentOwner() (owner, error) {
	host, err := os.Hostname()
	if err != nil {
		return owner{}, fmt.Errorf("runtime: hostname: %w", err)
	}
	pid := os.Getpid()
	start, err := processStart(pid)
	if err != nil {
		return owner{}, fmt.Errorf("runtime: identify runner: %w", err)
	}
	return owner{host: host, pid: pid, start: start}, nil
}

// processStart returns "<boot id>:<start time>" for pid.
func processStart(pid int) (string, error) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	st, err := readProcStat(pid)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(boot)) + ":" + strconv.FormatUint(st.startTime, 10), nil
}

// String encodes o as "<host>/<pid>/<start>".
func (o owner) String() string {
	return o.host + "/" + strconv.Itoa(o.pid) + "/" + o.start
}

// parseOwner decodes owner.String (host names hold no '/').
func parseOwner(s string) (owner, bool) {
	f := strings.Split(s, "/")
	if len(f) < 3 {
		return owner{}, false
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil || pid <= 0 {
		return owner{}, false
	}
	return owner{host: f[0], pid: pid, start: f[2]}, true
}

// goneFrom reports whether o is provably gone as seen from local (a process
// of the same host): it ran on this host and its pid no longer runs, or runs
// but is another process (another start time or boot). A runner on another
// host is never provably gone from here.
func (o owner) goneFrom(local owner) bool {
	if o.host != local.host {
		return false
	}
	if o.pid == local.pid && o.start == local.start {
		return false
	}
	start, err := processStart(o.pid)
	if err != nil {
		return os.IsNotExist(err) || !pidExists(o.pid)
	}
	return start != o.start
}

// pidExists reports whether /proc has an entry for pid.
func pidExists(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}
