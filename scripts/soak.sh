#!/usr/bin/env bash
# Soak: drives servers/go-stdlib for SOAK_DURATION (default 10m) over
# HTTP/1.1 and, at the same time from a second process, over h2c with the
# server sending a GOAWAY every 1000 streams (go-stdlib's opt-in
# GOAWAY_EVERY, like nginx's keepalive_requests), so that the h2c client
# replaces its connections about every second. Each load generator process
# (scripts/soakdrive) prints its resident memory, open file descriptors and
# goroutines every SOAK_EVERY (default 10s). After the first SOAK_SETTLE
# seconds (default 60) every figure must stay within SOAK_TOLERANCE percent
# (default 10) of its level, its value at the end of that first minute.
# Prints both series and a verdict; exits 1 when a figure is not flat.
#
# Environment: SOAK_DURATION (10m, a Go duration), SOAK_EVERY (10s),
# SOAK_SETTLE (60), SOAK_TOLERANCE (10), H1_CONNS (64), H2_CONNS (16),
# H2_STREAMS (10), GOAWAY_EVERY (1000).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${SOAK_DURATION:-10m}
every=${SOAK_EVERY:-10s}
settle=${SOAK_SETTLE:-60}
tolerance=${SOAK_TOLERANCE:-10}
h1_conns=${H1_CONNS:-64}
h2_conns=${H2_CONNS:-16}
h2_streams=${H2_STREAMS:-10}
goaway=${GOAWAY_EVERY:-1000}

dir=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$dir"
}
trap cleanup EXIT

echo "soak: building servers/go-stdlib and scripts/soakdrive"
(cd servers/go-stdlib && go build -o "$dir/go-stdlib" .)
go build -o "$dir/soakdrive" ./scripts/soakdrive

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HOST=127.0.0.1 PORT=$port GOAWAY_EVERY=$goaway "$dir/go-stdlib" >"$dir/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
	sleep 0.1
done
url="http://127.0.0.1:$port/"

echo "soak: go-stdlib on $url for $duration: h1 $h1_conns connections; h2c $h2_conns connections x $h2_streams streams, GOAWAY every $goaway streams; sampling every $every"
"$dir/soakdrive" -url "$url" -proto h1 -conns "$h1_conns" -duration "$duration" -every "$every" >"$dir/h1.out" 2>&1 &
h1=$!
pids+=("$h1")
"$dir/soakdrive" -url "$url" -proto h2c -conns "$h2_conns" -streams "$h2_streams" -duration "$duration" -every "$every" >"$dir/h2c.out" 2>&1 &
h2=$!
pids+=("$h2")
status=0
wait "$h1" || status=1
wait "$h2" || status=1
if [ $status -ne 0 ]; then
	echo "soak: a load generator failed:" >&2
	cat "$dir/h1.out" "$dir/h2c.out" >&2
	exit 1
fi

# judge prints one protocol's series and, per figure, its level (the first
# sample at or after the settle time), its range after that, and whether it
# stayed within the tolerance. It prints "FLAT" or "NOT FLAT" last.
judge() {
	awk -v settle="$settle" -v tol="$tolerance" -v proto="$1" '
	function val(key,   i, kv) {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) return kv[2] }
		return ""
	}
	BEGIN { n = split("rss_kib fds goroutines", fig, " ") }
	$1 == "sample" {
		t = val("t")
		printf "  %s t=%5ss  rss %7d KiB  (heap live %6d KiB)  fds %5d  goroutines %5d  requests %10d  errors %d\n", proto, t, val("rss_kib"), val("heap_live_kib"), val("fds"), val("goroutines"), val("requests"), val("errors")
		if (t + 0 < settle + 0) next
		for (i = 1; i <= n; i++) {
			v = val(fig[i]) + 0
			if (!(fig[i] in level)) { level[fig[i]] = v; at[fig[i]] = t; lo[fig[i]] = v; hi[fig[i]] = v }
			if (v < lo[fig[i]]) lo[fig[i]] = v
			if (v > hi[fig[i]]) hi[fig[i]] = v
		}
	}
	$1 == "result" || $1 == "errors_by_class" { print "  " proto " " $0 }
	END {
		ok = 1
		for (i = 1; i <= n; i++) {
			f = fig[i]
			if (!(f in level)) { printf "  %s %s: no sample after %ss\n", proto, f, settle; ok = 0; continue }
			l = level[f]; dlo = l ? (lo[f] - l) * 100 / l : 0; dhi = l ? (hi[f] - l) * 100 / l : 0
			flat = (dlo >= -tol && dhi <= tol)
			if (!flat) ok = 0
			printf "  %s %-10s level %8d at t=%ss, then %d..%d (%+.1f%%..%+.1f%%): %s\n", proto, f, l, at[f], lo[f], hi[f], dlo, dhi, flat ? "flat" : "NOT FLAT"
		}
		print ok ? "FLAT" : "NOT FLAT"
	}' "$2"
}

verdict=flat
for proto in h1 h2c; do
	echo "== $proto"
	judge "$proto" "$dir/$proto.out" >"$dir/$proto.judged"
	head -n -1 "$dir/$proto.judged"
	if [ "$(tail -n 1 "$dir/$proto.judged")" != FLAT ]; then verdict="NOT flat ($proto)"; fi
	if ! grep -q '^result .* errors=0 ' "$dir/$proto.out"; then
		echo "  $proto: the run had errors (see errors_by_class)"
	fi
done
echo "verdict: $verdict (resident memory, open file descriptors and goroutines of each load generator, against ${tolerance}% of their level after the first ${settle}s)"
[ "$verdict" = flat ]
