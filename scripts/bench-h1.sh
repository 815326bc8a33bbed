#!/usr/bin/env bash
# HTTP/1.1 keep-alive GET against nginx from Debian (1 worker, 13-byte body):
# `matrix load` and `wrk -t1` with the same connection count, each run twice,
# alternating, in one run of this script. Prints req/s and client µs per
# request: the client's own user+sys CPU (measured the same way for both
# tools, over the whole process) divided by the requests it completed.
#
# Installs nothing. Needs nginx (nginx-light), wrk, python3 (to read JSON and
# find a free port) and bin/matrix (make build).
#
# Environment: CONNS (64), DURATION (5, seconds), RUNS (2).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-64}
DURATION=${DURATION:-5}
RUNS=${RUNS:-2}
NGINX=${NGINX:-/usr/sbin/nginx}
MATRIX=${MATRIX:-bin/matrix}

for need in "$NGINX" "$MATRIX"; do
	if [ ! -x "$need" ]; then
		echo "bench-h1: $need not found (apt-get install nginx-light; make build)" >&2
		exit 1
	fi
done
if ! command -v wrk >/dev/null; then
	echo "bench-h1: wrk not found (apt-get install wrk)" >&2
	exit 1
fi

dir=$(mktemp -d)
nginx_pid=
cleanup() {
	if [ -n "$nginx_pid" ]; then
		kill -INT "$nginx_pid" 2>/dev/null || true
		wait "$nginx_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

# A free port: bind port 0 and read what the kernel chose.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port/"

cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
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
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	server {
		listen 127.0.0.1:$port;
		location / {
			default_type text/plain;
			return 200 "Hello, World!";
		}
	}
}
EOF
"$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
nginx_pid=$!
for _ in $(seq 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
	sleep 0.05
done

# cpu_of CMD...: run CMD with stdout in $dir/out and print its user+sys CPU
# seconds as the kernel accounted them: bash's `times` in a subshell whose
# only child is CMD reports that child's rusage on its second line.
cpu_of() {
	( "$@" >"$dir/out" 2>"$dir/err"; times ) | awk 'NR == 2 {
		split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2]
	}'
}

# A short warm-up of nginx so that neither tool pays for its first pages.
wrk -t1 -c"$CONNS" -d1s "$url" >/dev/null

printf '%-14s %10s %10s %12s\n' client requests req/s "client µs/req"
declare -a m_us w_us m_rps w_rps
for i in $(seq "$RUNS"); do
	cpu=$(cpu_of "$MATRIX" load --json --warmup 0 -c "$CONNS" -d "${DURATION}s" "$url")
	read -r req rps < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["requests"]+r["warmup"]["requests"], round(r["rps"]))' "$dir/out")
	us=$(awk -v c="$cpu" -v n="$req" 'BEGIN { printf "%.2f", c * 1e6 / n }')
	m_us+=("$us"); m_rps+=("$rps")
	printf '%-14s %10s %10s %12s\n' "matrix load" "$req" "$rps" "$us"

	cpu=$(cpu_of wrk -t1 -c"$CONNS" -d"${DURATION}s" "$url")
	req=$(awk '/requests in/ { print $1 }' "$dir/out")
	rps=$(awk '/^Requests\/sec/ { printf "%d", $2 }' "$dir/out")
	us=$(awk -v c="$cpu" -v n="$req" 'BEGIN { printf "%.2f", c * 1e6 / n }')
	w_us+=("$us"); w_rps+=("$rps")
	printf '%-14s %10s %10s %12s\n' "wrk -t1" "$req" "$rps" "$us"
done

mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.2f", s / NR }'; }
mu=$(mean "${m_us[@]}"); wu=$(mean "${w_us[@]}")
mr=$(mean "${m_rps[@]}"); wr=$(mean "${w_rps[@]}")
echo
printf 'mean: matrix %s req/s %s µs/req; wrk %s req/s %s µs/req\n' "${mr%.*}" "$mu" "${wr%.*}" "$wu"
awk -v m="$mu" -v w="$wu" 'BEGIN { printf "ratio matrix/wrk client µs/req: %.2f (target <= 1.10)\n", m / w }'
