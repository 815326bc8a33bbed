#!/usr/bin/env bash
# make bench: every side-by-side comparison with a peer tool, in one run.
# Each part prints its own table; ratios are matrix / peer (lower is better
# for client µs per request).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for part in scripts/bench-h1.sh scripts/bench-conn.sh scripts/bench-h2.sh scripts/bench-h3.sh scripts/bench-docker.sh; do
	[ -x "$part" ] || continue
	echo "== $part"
	"$part" || status=$?
	echo
done
exit "$status"
