#!/usr/bin/env bash
# Docker runtime overhead per cell: the median over ten cells of a
# FROM-scratch image of a tiny Go server, of create-to-ready (container
# create until the server answers HTTP) and stop-to-removed (SIGTERM until
# the container is removed). Target: their sum at most 1 s median.
# Without an engine this part is skipped, unless MATRIX_REQUIRE_DOCKER=1.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/dockerbench" ./internal/runtime/dockerbench
if ! docker_err=$("$bin/dockerbench" -check 2>&1 >/dev/null); then
	if [ "${MATRIX_REQUIRE_DOCKER:-}" != 1 ] && grep -q "no Docker engine answers" <<<"$docker_err"; then
		echo "skipped: $docker_err"
		exit 0
	fi
	echo "$docker_err" >&2
	exit 1
fi
exec "$bin/dockerbench" -cells "${CELLS:-10}" -dir internal/runtime/testdata/hello
