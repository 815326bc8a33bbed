package matrix

import (
	"fmt"
	"math"
	"strings"
)

// Profile returns the profile called name; an empty name means the
// default profile, the first in the file.
func (m *Matrix) Profile(name string) (Profile, error) {
	if name == "" {
		if len(m.Profiles) == 0 {
			return Profile{}, fmt.Errorf("matrix: %s defines no profile", m.Path)
		}
		return m.Profiles[0], nil
	}
	for _, p := range m.Profiles {
		if p.Name == name {
			return p, nil
		}
	}
	names := make([]string, len(m.Profiles))
	for i, p := range m.Profiles {
		names[i] = p.Name
	}
	return Profile{}, fmt.Errorf("matrix: %s: no profile named %q (profiles: %s)", m.Path, name, strings.Join(names, ", "))
}

// Apply returns s as this profile runs it: the connection count multiplied
// by Scale (rounded, at least 1) unless s.FixedConnections.
//
// Only connections scale. Streams per connection stay as written because
// they are a property of how HTTP/2 is used (and are capped by the
// server's SETTINGS_MAX_CONCURRENT_STREAMS, RFC 9113 6.5.2); scaling both
// would multiply the concurrency by the square of the scale. A fixed
// Rate is not scaled either: it is an absolute figure the row is named
// after, while a rated row's rate already follows the server's
// saturation rate.
func (p Profile) Apply(s Scenario) Scenario {
	if s.FixedConnections || p.Scale == 0 || p.Scale == 1 {
		return s
	}
	c := math.Round(float64(s.Connections) * p.Scale)
	s.Connections = int(max(1, min(c, math.MaxInt32)))
	return s
}

// ServerCPUs returns the cpuset server s runs on under p: its own, else
// the profile's.
func (p Profile) ServerCPUs(s Server) string {
	if s.CPUs != "" {
		return s.CPUs
	}
	return p.CPUs
}

// ServerMemory returns the memory limit of server s under p: its own, else
// the profile's.
func (p Profile) ServerMemory(s Server) int64 {
	if s.Memory != 0 {
		return s.Memory
	}
	return p.Memory
}
