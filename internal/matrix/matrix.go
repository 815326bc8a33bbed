// Package matrix reads and describes a benchmark matrix: the servers (the
// columns), the scenarios (the rows) and the profiles that say how long each
// cell runs.
//
// The package only describes. It parses and validates matrix.yaml, expands
// the cells a run executes, filters them, scales scenarios by a profile,
// estimates how long a run takes and splits the cells into shards. It never
// starts a process, opens a socket or reads a server's sources.
//
// Every error found in a file names the file, the line and column, and the
// path of the field, for example
//
//	matrix.yaml:12:5: scenarios[2].connections: must be at least 1, got -3
//
// and Parse reports all of them, not only the first.
package matrix

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Version is the only matrix file version this package reads.
const Version = 1

// MaxFileSize bounds the matrix file. A matrix of hundreds of cells is a few
// kilobytes; the bound keeps a wrong path (a binary, a log) from being parsed.
const MaxFileSize = 1 << 20

// Protocol is the wire protocol of a scenario, as written in matrix.yaml.
type Protocol string

// The protocols a server may speak and a scenario may use.
const (
	// H1 is HTTP/1.1 over cleartext TCP (RFC 9112).
	H1 Protocol = "h1"
	// H1S is HTTP/1.1 over TLS, offered by ALPN as "http/1.1" (RFC 9112,
	// RFC 7301).
	H1S Protocol = "h1s"
	// H2C is HTTP/2 over cleartext TCP with prior knowledge (RFC 9113 3.3).
	H2C Protocol = "h2c"
	// H2 is HTTP/2 over TLS negotiated by ALPN (RFC 9113 3.2).
	H2 Protocol = "h2"
	// H3 is HTTP/3 over QUIC (RFC 9114), on UDP at the server's port, with
	// the certificate the runner makes for the run.
	H3 Protocol = "h3"
)

// TLS reports whether p runs over TLS, so that the runner makes a
// certificate for the server.
func (p Protocol) TLS() bool { return p == H1S || p == H2 || p == H3 }

// HTTP1 reports whether p is HTTP/1.1, over TLS or not.
func (p Protocol) HTTP1() bool { return p == H1 || p == H1S }

// Matrix is a parsed and validated matrix file.
type Matrix struct {
	// Path is the file as given to Load (or the name given to Parse).
	Path string
	// Dir is the absolute directory of the file; relative paths in the
	// file (build directories, process dir) are relative to it.
	Dir string
	// SHA256 is the lowercase hex SHA-256 of the file's bytes, recorded in
	// every run so results can be traced to the exact matrix.
	SHA256 string
	// Version is the file's version key; always Version.
	Version int
	// Profiles in file order. The first is the default profile.
	Profiles []Profile
	// Servers in file order: the column order of every table.
	Servers []Server
	// Scenarios in file order: the row order of every table.
	Scenarios []Scenario
	// Exclude lists "scenario/server" globs (path.Match syntax, so "*"
	// never crosses the "/") removed from the cells.
	Exclude []string
}

// Pos is a position in the matrix file.
type Pos struct {
	Line, Column int
}

// Profile says how long and how hard every cell of a run is driven.
type Profile struct {
	// Name is the profile's key under profiles.
	Name string
	// Warmup runs before each measured window on the same connections.
	Warmup time.Duration
	// Duration is the measured window of each repeat; it is positive.
	Duration time.Duration
	// Repeat is how many times every cell is measured (at least 1). Repeats
	// are interleaved: every cell once, then every cell again.
	Repeat int
	// Cooldown is the pause after each cell, so the next server does not
	// start on a machine still busy with the last one's sockets.
	Cooldown time.Duration
	// Scale multiplies every scenario's connection count (default 1); see
	// Profile.Apply.
	Scale float64
	// CPUs is the default cpuset ("1", "0-1") servers are pinned to; a
	// server's own cpus wins. Empty means no pinning.
	CPUs string
	// LoadgenCPUs is the cpuset the load generator runs on; empty means no
	// pinning.
	LoadgenCPUs string
	// Memory is the default memory limit of each server in bytes (docker
	// runtime only); a server's own memory wins. 0 means no limit.
	Memory int64
	// TargetHost is the address the load generator connects to when the
	// servers run on another machine; empty means 127.0.0.1 (or the
	// remote engine's host).
	TargetHost string
	// Budget, when positive, is the longest a run of this profile may be
	// estimated to take; a run that cannot fit is refused.
	Budget time.Duration
	// Reference is the "scenario/server" cell measured again at the start,
	// the middle and the end of every run (the A/A reference: how far the
	// machine itself drifts); empty means the run's first cell, and
	// ReferenceOff turns it off.
	Reference string
	// Interference is the CPU, in cores, that the rest of the host may use
	// during a measured window before the repeat is measured again (and,
	// if it persists, the cell is suspect); 0 means
	// DefaultInterference.
	Interference float64
	// Pos is where the profile is defined.
	Pos Pos
}

// ReferenceOff as a profile's reference measures no reference cell.
const ReferenceOff = "none"

// DefaultInterference is the default Profile.Interference: a tenth of a
// core, well above what a quiet host's kernel threads use (a few
// hundredths) and well below a compiler or a second benchmark.
const DefaultInterference = 0.10

// InterferenceCores returns the profile's interference threshold.
func (p Profile) InterferenceCores() float64 {
	if p.Interference > 0 {
		return p.Interference
	}
	return DefaultInterference
}

// Server is one column of the matrix.
type Server struct {
	// Name matches [a-z0-9][a-z0-9._-]* and names result directories.
	Name string
	// Protocols the server speaks, in file order.
	Protocols []Protocol
	// Build, when not nil, says how to build the server.
	Build *Build
	// Image is an image reference the docker runtime uses as is; it is
	// never pulled.
	Image string
	// Process, when not nil, says how the process runtime starts it.
	Process *Process
	// Ready says how the runner decides the server is ready.
	Ready Ready
	// CPUs is the server's cpuset; empty means the profile's.
	CPUs string
	// Memory is the server's memory limit in bytes (docker only); 0 means
	// the profile's.
	Memory int64
	// CapAdd lists Linux capabilities kept for the container (docker only).
	CapAdd []string
	// Env is added to the server's environment under every runtime.
	Env map[string]string
	// Framework and Version describe what the server is built on, for the
	// results (for example "fasthttp", "v1.58.0").
	Framework, Version string
	// Pos is where the server is defined.
	Pos Pos
}

// Build says how a server's program is built. Exactly one field is set.
type Build struct {
	// Go is a Go module directory, compiled by the runner (process runtime)
	// or into an image (docker runtime).
	Go string
	// Dockerfile is a docker build context directory holding a Dockerfile
	// (docker runtime only).
	Dockerfile string
	// Pos is where the directory is written.
	Pos Pos
}

// Process is how the process runtime starts a server. With a Go build,
// Command may be empty (the built binary runs without arguments) or hold
// the arguments that follow the binary.
type Process struct {
	// Command is the program and its arguments; "{port}" is replaced by
	// the cell's port, which is also in the PORT environment variable.
	Command []string
	// Env is added to the environment of the process runtime only, over
	// the server's env.
	Env map[string]string
	// Dir is the working directory, relative to the matrix file's
	// directory; empty means that directory.
	Dir string
	// DirPos is where Dir is written.
	DirPos Pos
}

// Ready describes the readiness probe: a request over the scenario's
// protocol that gets any HTTP response.
type Ready struct {
	// Path is the request path; default "/".
	Path string
	// Timeout is how long the runner waits; default DefaultReadyTimeout.
	Timeout time.Duration
}

// Defaults applied by Parse where a key is absent.
const (
	DefaultReadyTimeout = 10 * time.Second
	DefaultErrorBudget  = 0.05
	DefaultTimeout      = 10 * time.Second
)

// Header is one request header field; order is kept as written.
type Header struct {
	Name, Value string
}

// Scenario is one row of the matrix: one kind of request under one load.
type Scenario struct {
	// Name matches [a-z0-9][a-z0-9._-]* and names result files.
	Name string
	// Protocol is the wire protocol; only servers speaking it get a cell.
	Protocol Protocol
	// Method is the request method; default GET.
	Method string
	// Path is the request target; default "/".
	Path string
	// BodySize is the request body in bytes (zero bytes of 'x'); 0 sends
	// no body.
	BodySize int64
	// Headers are sent with every request, in order.
	Headers []Header
	// Connections is the number of connections (at least 1; default 1).
	Connections int
	// Streams is the number of concurrent streams per HTTP/2 connection
	// (default 1); HTTP/1.1 scenarios must not set it.
	Streams int
	// FixedConnections keeps Connections and Streams as written whatever
	// the profile's scale (for rows like "one connection").
	FixedConnections bool
	// Close sends "Connection: close" and opens a new connection per
	// request (h1 only).
	Close bool
	// ErrorBudget is the highest error ratio of an ok cell; above it the
	// cell is suspect. Default DefaultErrorBudget.
	ErrorBudget float64
	// ExpectStatus is the status counted as success; 0 means any 2xx.
	ExpectStatus int
	// Timeout bounds one request; default DefaultTimeout.
	Timeout time.Duration
	// Rate, when positive, is a fixed total request rate (requests per
	// second), measured with coordinated-omission correction.
	Rate float64
	// RateFraction, when positive, makes a rated row: the rate is this
	// fraction (0 < f <= 1) of the same server's saturation rate, the
	// median req/s of its SaturationFrom cell in the same run.
	RateFraction float64
	// SaturationFrom names the earlier closed-loop scenario, of the same
	// protocol, whose req/s is the saturation rate of a rated row.
	SaturationFrom string
	// Capacity, when not nil, makes a capacity row: the runner searches
	// the highest rate that holds a latency objective. Its SaturationFrom,
	// when set, gives the closed-loop req/s the search starts from;
	// otherwise a short probe measures it.
	Capacity *Capacity
	// Pos is where the scenario is defined.
	Pos Pos
}

// Rated reports whether s is a rated row (its rate depends on another cell).
func (s Scenario) Rated() bool { return s.RateFraction > 0 }

// Load reads and parses the matrix file at path.
func Load(path string) (*Matrix, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("matrix: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("matrix: %w", err)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("matrix: %s: %d bytes, larger than the %d-byte limit", path, st.Size(), MaxFileSize)
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil && int64(len(data)) != 0 {
		return nil, fmt.Errorf("matrix: reading %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse parses and validates a matrix file's contents; filename is used in
// messages and, made absolute, for Matrix.Dir. The returned error joins
// every problem found (errors.Join), each an *Error.
func Parse(filename string, data []byte) (*Matrix, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("matrix: %s: %d bytes, larger than the %d-byte limit", filename, len(data), MaxFileSize)
	}
	dir, err := filepath.Abs(filepath.Dir(filename))
	if err != nil {
		return nil, fmt.Errorf("matrix: %s: %w", filename, err)
	}
	sum := sha256.Sum256(data)
	m := &Matrix{Path: filename, Dir: dir, SHA256: hex.EncodeToString(sum[:])}
	p := &parser{file: filename}
	p.parse(m, data)
	if len(p.errs) == 0 {
		p.validate(m)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return m, nil
}

// Server returns the server called name.
func (m *Matrix) Server(name string) (Server, bool) {
	for _, s := range m.Servers {
		if s.Name == name {
			return s, true
		}
	}
	return Server{}, false
}

// Scenario returns the scenario called name.
func (m *Matrix) Scenario(name string) (Scenario, bool) {
	for _, s := range m.Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Speaks reports whether s speaks p.
func (s Server) Speaks(p Protocol) bool {
	for _, q := range s.Protocols {
		if q == p {
			return true
		}
	}
	return false
}
