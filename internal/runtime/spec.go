package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// resolve makes p absolute against base (the matrix file's directory).
func resolve(base, p string) (string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	return filepath.Abs(p)
}

// sources counts how many ways of obtaining the program spec names.
func (s Spec) sources() []string {
	var out []string
	if s.GoDir != "" {
		out = append(out, "go")
	}
	if s.Dockerfile != "" {
		out = append(out, "dockerfile")
	}
	if s.Image != "" {
		out = append(out, "image")
	}
	return out
}

// checkSources rejects a spec naming more than one build source.
func (s Spec) checkSources() error {
	if src := s.sources(); len(src) > 1 {
		return fmt.Errorf("runtime: server %s: %s are exclusive", s.Name, strings.Join(src, ", "))
	}
	return nil
}

// args returns spec.Command with "{port}" replaced by port.
func (s Spec) args(port int) []string {
	p := strconv.Itoa(port)
	out := make([]string, len(s.Command))
	for i, a := range s.Command {
		out[i] = strings.ReplaceAll(a, "{port}", p)
	}
	return out
}

// env returns spec.Env plus PORT, and TLS_CERT and TLS_KEY when cert is
// not empty, as sorted KEY=VALUE pairs (sorted so the environment, and
// anything hashed from it, is deterministic). The runtime owns PORT and the
// TLS variables: the spec's own values for them are dropped, so that a
// cleartext cell never gets a certificate by accident.
func (s Spec) env(port int, cert, key string) []string {
	out := make([]string, 0, len(s.Env)+3)
	for k, v := range s.Env {
		if !runtimeOwned(k) {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	out = append(out, "PORT="+strconv.Itoa(port))
	if cert != "" {
		out = append(out, EnvTLSCert+"="+cert, EnvTLSKey+"="+key)
	}
	return out
}

// runtimeOwned reports whether the runtime sets the variable k itself.
func runtimeOwned(k string) bool {
	return k == "PORT" || k == EnvTLSCert || k == EnvTLSKey
}

// inherited returns environ without the variables the runtime sets, so
// that a runner started with TLS_CERT in its own environment does not hand
// it to a cleartext server.
func inherited(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !runtimeOwned(k) {
			out = append(out, kv)
		}
	}
	return out
}

// parseCPUSet parses a cpuset list such as "1", "0-1" or "0,2-3".
func parseCPUSet(s string) (unix.CPUSet, error) {
	var set unix.CPUSet
	if strings.TrimSpace(s) == "" {
		return set, errors.New("empty cpuset")
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return set, fmt.Errorf("cpuset %q: bad cpu %q", s, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return set, fmt.Errorf("cpuset %q: bad range %q", s, part)
			}
		}
		for c := a; c <= b; c++ {
			if c >= len(set)*64 {
				return set, fmt.Errorf("cpuset %q: cpu %d out of range", s, c)
			}
			set.Set(c)
		}
	}
	return set, nil
}

// cacheDir returns opts.CacheDir or the default under the user cache dir.
func (o Options) cacheDir() (string, error) {
	if o.CacheDir != "" {
		return o.CacheDir, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("runtime: no cache directory (set Options.CacheDir): %w", err)
	}
	return filepath.Join(d, "matrix"), nil
}
