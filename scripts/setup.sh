#!/usr/bin/env bash
# setup.sh - install what the tests need, once; `make test` and .ci/run call it.
#
# The tests talk to real peers (nginx with njs for the contract's /upload,
# h2o, nghttpd, wrk, apache2, lighttpd), draw the report in chromium, and run
# the packaged servers in the Debian base image (scripts/debian-base.sh, which
# needs debootstrap); make bench reads peak RSS with GNU time. Everything comes from Debian's packages and the Go
# module proxy; nothing else is reachable.
#
# When everything is already there it says so and exits 0 in a few seconds,
# as any user. When something is missing it installs it, which needs root:
# not root, it stops at once and prints the one command to run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
export DEBIAN_FRONTEND=noninteractive

pkgs=(nginx-light libnginx-mod-http-js h2o wrk nghttp2-client nghttp2-server
	apache2 lighttpd lighttpd-modules-lua lighttpd-mod-openssl chromium debootstrap jq util-linux time)

missing=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

engine=1
docker version >/dev/null 2>&1 || engine=0
base=0
if [ $engine = 1 ] && docker image inspect matrix/debian-base:bookworm >/dev/null 2>&1; then
	base=1
fi

# The base image is needed only where an engine answers: without one the
# engine tests skip (or fail under MATRIX_REQUIRE_DOCKER=1, as in CI).
if [ ${#missing[@]} -eq 0 ] && { [ $base = 1 ] || [ $engine = 0 ]; }; then
	# Go modules come through the module proxy when the tests build.
	echo "setup: every package is present$([ $engine = 1 ] && echo ", and the Debian base image")"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "setup: missing: ${missing[*]:-}$([ $base = 0 ] && echo ' matrix/debian-base image')" >&2
	echo "setup: installing needs root; run once:  sudo make setup" >&2
	exit 1
fi

if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Debian starts the packaged daemons on install; the tests start their own.
	for s in nginx h2o apache2 lighttpd; do service "$s" stop >/dev/null 2>&1 || true; done
fi

go mod download

if [ $engine = 0 ]; then
	# This kind of machine starts its engine before the session; a machine
	# whose engine is installed but stopped gets it started here.
	service docker start >/dev/null 2>&1 || true
	docker version >/dev/null 2>&1 || {
		echo "setup: no Docker engine answers; the engine tests fail without one (MATRIX_REQUIRE_DOCKER=1)" >&2
		exit 0
	}
fi
start=$(date +%s)
./scripts/debian-base.sh
echo "setup: Debian base image ready in $(($(date +%s) - start))s"
