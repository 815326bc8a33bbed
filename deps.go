//go:build tools

// Package matrix pins the project's chosen dependencies until code imports
// them all; remove once each is used.
package matrix

import (
	_ "github.com/HdrHistogram/hdrhistogram-go"
	_ "github.com/docker/docker/client"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/net/http2"
	_ "golang.org/x/perf/benchmath"
	_ "golang.org/x/sys/unix"
)
