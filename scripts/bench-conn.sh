#!/usr/bin/env bash
# The cost of a connection: three rows, each `matrix load` beside its peer
# in pairs (ours then the peer's, alternating), in one run of this script,
# against nginx from Debian with one worker and a 13-byte body.
#
#   churn-close   HTTP/1.1, 64 connections, one request per connection:
#                 `matrix load --close` and `wrk -t1 -H 'Connection: close'`
#   ka-1024       HTTP/1.1 keep-alive, 1024 connections: `matrix load` and
#                 `wrk -t1`; the peak RSS of both is printed too
#   h2c-goaway    h2c, 10 streams per connection, nginx with
#                 keepalive_requests 100 (a GOAWAY every 100 streams):
#                 `matrix load --h2 -c 16` for the duration, redialling
#                 after every GOAWAY, and `h2load -c320 -n32000`, whose 320
#                 connections serve their 100 requests each: the same
#                 connection setups per request. h2load does not redial
#                 after a GOAWAY (nghttp2 1.52): run for a duration like
#                 ours it stalls after the first 100 requests per
#                 connection, which the script checks and says once.
#
# For each pair it prints req/s and the client's µs of CPU per request (its
# own user+sys over the whole process, measured from outside the same way
# for both tools, divided by the responses it completed), and per row the
# median over the pairs of ours / peer for both. A peer that completes
# nothing (h2load when it stalls on GOAWAY) is reported, not divided by.
#
# Installs nothing. Needs nginx (nginx-light), wrk, h2load
# (nghttp2-client), GNU time (for peak RSS), python3 and bin/matrix.
#
# Environment: DURATION (3, seconds), PAIRS (5), ROWS (all three,
# space-separated names).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-3}
PAIRS=${PAIRS:-5}
ROWS=${ROWS:-churn-close ka-1024 h2c-goaway}
NGINX=${NGINX:-/usr/sbin/nginx}
MATRIX=${MATRIX:-bin/matrix}
GNUTIME=${GNUTIME:-/usr/bin/time}

for need in "$NGINX" "$MATRIX" "$GNUTIME"; do
	if [ ! -x "$need" ]; then
		echo "bench-conn: $need not found (apt-get install nginx-light time; make build)" >&2
		exit 1
	fi
done
for tool in wrk h2load; do
	if ! command -v "$tool" >/dev/null; then
		echo "bench-conn: $tool not found (apt-get install wrk nghttp2-client)" >&2
		exit 1
	fi
done
# 1024 connections and nginx's side of them.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

dir=$(mktemp -d)
chmod 755 "$dir" # nginx's workers run as nobody
nginx_pid=
cleanup() {
	if [ -n "$nginx_pid" ]; then
		kill -TERM "$nginx_pid" 2>/dev/null || true
		wait "$nginx_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
h1_port=$(freeport)
h2_port=$(freeport)
cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 8192;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	keepalive_timeout 60s;
	server {
		listen 127.0.0.1:$h1_port;
		keepalive_requests 100000000;
		location / {
			default_type text/plain;
			return 200 "Hello, World!";
		}
	}
	server {
		listen 127.0.0.1:$h2_port http2;
		keepalive_requests 100;
		location / {
			default_type text/plain;
			return 200 "Hello, World!";
		}
	}
}
EOF
"$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
nginx_pid=$!
for port in "$h1_port" "$h2_port"; do
	for i in $(seq 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
		if [ "$i" = 200 ]; then
			echo "bench-conn: nginx does not listen on $port" >&2
			cat "$dir/error.log" >&2
			exit 1
		fi
		sleep 0.05
	done
done
h1_url="http://127.0.0.1:$h1_port/"
h2_url="http://127.0.0.1:$h2_port/"

# measure CMD...: run CMD with stdout in $dir/out and stderr in $dir/err;
# print its user+sys CPU seconds as the kernel accounted them (bash's
# `times` in a subshell whose only child is GNU time, whose only child is
# CMD) and its peak RSS in KiB (GNU time's %M).
measure() {
	local cpu
	cpu=$( ("$GNUTIME" -f %M -o "$dir/rss" "$@" >"$dir/out" 2>"$dir/err"; times) | awk 'NR == 2 {
		split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2]
	}')
	echo "$cpu $(tail -n 1 "$dir/rss")"
}

# ours ARGS...: `matrix load` with ARGS; prints "requests req/s cpu rss".
# Warmup off, like the peers, so both count every response of the
# process's lifetime.
ours() {
	local cpu rss
	read -r cpu rss < <(measure "$MATRIX" load --json --warmup 0 -d "${DURATION}s" "$@")
	python3 - "$dir/out" "$cpu" "$rss" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
errs = r["errors"] + r["warmup"]["errors"]
if errs:
    sys.exit("bench-conn: matrix load: %d errors: %r" % (errs, r.get("error_classes") or r))
print(r["requests"] + r["warmup"]["requests"], round(r["rps"]), sys.argv[2], sys.argv[3])
PY
}

# wrk_run ARGS...: prints "requests req/s cpu rss".
wrk_run() {
	local cpu rss req rps
	read -r cpu rss < <(measure wrk -t1 -d"${DURATION}s" "$@")
	req=$(awk '/requests in/ { print $1 }' "$dir/out")
	rps=$(awk '/^Requests\/sec/ { printf "%d", $2 }' "$dir/out")
	if grep -q 'Socket errors' "$dir/out"; then
		echo "bench-conn: wrk: $(grep 'Socket errors' "$dir/out")" >&2
	fi
	echo "${req:-0} ${rps:-0} $cpu $rss"
}

# h2load_run ARGS...: prints "requests req/s cpu rss"; 0 requests when it
# completed none.
h2load_run() {
	local cpu rss req rps
	read -r cpu rss < <(measure h2load "$@")
	req=$(awk '/^requests:/ { print $8 }' "$dir/out")
	rps=$(awk '/^finished in/ { sub(/,/, "", $4); printf "%d", $4 }' "$dir/out")
	echo "${req:-0} ${rps:-0} $cpu $rss"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
us_per() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", c * 1e6 / n; else print "-" }'; }

printf '%-11s %-7s %10s %9s %9s %9s\n' row client requests req/s "µs/req" "RSS MiB"
summary=() h2load_stall=
for row in $ROWS; do
	case $row in
	churn-close)
		our_args=(--close -c 64 "$h1_url")
		peer=wrk_run peer_name=wrk peer_args=(-c64 -H 'Connection: close' "$h1_url")
		;;
	ka-1024)
		our_args=(-c 1024 "$h1_url")
		peer=wrk_run peer_name=wrk peer_args=(-c1024 "$h1_url")
		;;
	h2c-goaway)
		our_args=(--h2 -c 16 --streams 10 "$h2_url")
		peer=h2load_run peer_name=h2load peer_args=(-c320 -m10 -n32000 "$h2_url")
		# Does h2load redial after a GOAWAY? Run for 1 s on 16
		# connections, it completes 1600 requests when it does not.
		read -r sreq _ < <(h2load_run -D1 -c16 -m10 "$h2_url")
		if [ "$sreq" -le 1600 ]; then
			h2load_stall="h2load -D1 -c16 stalls after GOAWAY: $sreq requests, then none (it does not redial)"
		fi
		;;
	*)
		echo "bench-conn: unknown row $row" >&2
		exit 2
		;;
	esac
	wrk -t1 -c64 -d1s "$h1_url" >/dev/null # warm nginx up
	cpu_ratios=() rps_ratios=() our_rss=() peer_rss=() stalled=0
	for _ in $(seq "$PAIRS"); do
		read -r oreq orps ocpu orss < <(ours "${our_args[@]}")
		ous=$(us_per "$ocpu" "$oreq")
		printf '%-11s %-7s %10s %9s %9s %9s\n' "$row" matrix "$oreq" "$orps" "$ous" "$((orss / 1024))"
		read -r preq prps pcpu prss < <("$peer" "${peer_args[@]}")
		pus=$(us_per "$pcpu" "$preq")
		printf '%-11s %-7s %10s %9s %9s %9s\n' "$row" "$peer_name" "$preq" "$prps" "$pus" "$((prss / 1024))"
		our_rss+=("$orss") peer_rss+=("$prss")
		if [ "$preq" = 0 ] || [ "$prps" = 0 ]; then
			stalled=$((stalled + 1))
			continue
		fi
		cpu_ratios+=("$(awk -v a="$ous" -v b="$pus" 'BEGIN { printf "%.3f", a / b }')")
		rps_ratios+=("$(awk -v a="$orps" -v b="$prps" 'BEGIN { printf "%.3f", a / b }')")
	done
	line=$(printf '%-11s vs %-6s' "$row" "$peer_name")
	if [ ${#cpu_ratios[@]} -gt 0 ]; then
		line+=$(printf ' CPU/req %.2fx  req/s %.2fx  (median of %d pairs)' \
			"$(median "${cpu_ratios[@]}")" "$(median "${rps_ratios[@]}")" ${#cpu_ratios[@]})
	else
		line+=" no ratio: the peer completed nothing"
	fi
	line+=$(printf '  peak RSS %d / %d MiB' "$(($(median "${our_rss[@]}") / 1024))" "$(($(median "${peer_rss[@]}") / 1024))")
	if [ "$stalled" -gt 0 ]; then
		line+=" ($peer_name stalled in $stalled of $PAIRS runs)"
	fi
	summary+=("$line")
done
echo
echo "ratios are matrix / peer (CPU/req: lower is better; req/s: higher is better)"
printf '%s\n' "${summary[@]}"
if [ -n "$h2load_stall" ]; then echo "$h2load_stall"; fi
