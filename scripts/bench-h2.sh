#!/usr/bin/env bash
# HTTP/2 with prior knowledge (h2c), GET, 16 connections x 100 streams:
# `matrix load --h2` and `h2load` (prior knowledge is its default for
# http://) against h2o and nginx from Debian, each run twice, alternating,
# in one run of this script. Prints req/s and client µs per request: the
# client's own user+sys CPU over the whole process, measured from outside
# the same way for both tools, divided by the responses it completed.
#
# Servers: h2o (1 thread, a 13-byte static file) and nginx (1 worker,
# `return 200` with a 13-byte body, keepalive_requests high enough that no
# connection is closed during a run: h2load does not reconnect).
#
# Installs nothing. Needs h2o, nginx (nginx-light), h2load (nghttp2-client),
# python3 (to read JSON and find free ports) and bin/matrix (make build).
#
# Environment: CONNS (16), STREAMS (100), DURATION (5, seconds), RUNS (2),
# PROCS (GOMAXPROCS for matrix load; default: its own default).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-16}
STREAMS=${STREAMS:-100}
DURATION=${DURATION:-5}
RUNS=${RUNS:-2}
H2O=${H2O:-/usr/bin/h2o}
NGINX=${NGINX:-/usr/sbin/nginx}
MATRIX=${MATRIX:-bin/matrix}

for need in "$H2O" "$NGINX" "$MATRIX"; do
	if [ ! -x "$need" ]; then
		echo "bench-h2: $need not found (apt-get install h2o nginx-light; make build)" >&2
		exit 1
	fi
done
if ! command -v h2load >/dev/null; then
	echo "bench-h2: h2load not found (apt-get install nghttp2-client)" >&2
	exit 1
fi

dir=$(mktemp -d)
chmod 755 "$dir" # nginx's workers run as nobody
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$dir"
}
trap cleanup EXIT

freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
waitport() {
	for _ in $(seq 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "bench-h2: nothing listens on port $1" >&2
	exit 1
}

mkdir -p "$dir/www"
chmod 755 "$dir/www"
printf 'Hello, World!' >"$dir/www/hello.txt"

h2o_port=$(freeport)
cat >"$dir/h2o.conf" <<EOF
listen:
  host: 127.0.0.1
  port: $h2o_port
num-threads: 1
error-log: $dir/h2o-error.log
hosts:
  default:
    paths:
      /:
        file.dir: $dir/www
EOF
"$H2O" -c "$dir/h2o.conf" >"$dir/h2o.out" 2>&1 &
pids+=($!)

nginx_port=$(freeport)
cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	keepalive_requests 100000000;
	server {
		listen 127.0.0.1:$nginx_port http2;
		location / {
			default_type text/plain;
			return 200 "Hello, World!";
		}
	}
}
EOF
"$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/nginx-error.log" &
pids+=($!)
waitport "$h2o_port"
waitport "$nginx_port"

# cpu_of CMD...: run CMD with stdout in $dir/out and print its user+sys CPU
# seconds as the kernel accounted them: bash's `times` in a subshell whose
# only child is CMD reports that child's rusage on its second line.
cpu_of() {
	( "$@" >"$dir/out" 2>"$dir/err"; times ) | awk 'NR == 2 {
		split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2]
	}'
}

procs=()
if [ -n "${PROCS:-}" ]; then procs=(--procs "$PROCS"); fi

# run_matrix URL: prints "requests req/s µs/req". Warmup off, like h2load's
# default, so both count every response of the process's lifetime.
run_matrix() {
	local cpu req rps
	cpu=$(cpu_of "$MATRIX" load --json --warmup 0 --h2 "${procs[@]}" -c "$CONNS" --streams "$STREAMS" -d "${DURATION}s" "$1")
	read -r req rps < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
errs = r["errors"] + r["warmup"]["errors"]
if errs or r.get("protocol") != "h2c":
    sys.exit("bench-h2: matrix load: %d errors, protocol %r" % (errs, r.get("protocol")))
print(r["requests"] + r["warmup"]["requests"], round(r["rps"]))' "$dir/out")
	echo "$req $rps $(awk -v c="$cpu" -v n="$req" 'BEGIN { printf "%.2f", c * 1e6 / n }')"
}

# run_h2load URL: prints "requests req/s µs/req".
run_h2load() {
	local cpu req rps
	cpu=$(cpu_of h2load -c"$CONNS" -m"$STREAMS" -D"$DURATION" "$1")
	req=$(awk '/^requests:/ { print $8 }' "$dir/out")
	rps=$(awk '/^finished in/ { sub(/,/, "", $4); printf "%d", $4 }' "$dir/out")
	if [ -z "$req" ] || [ "$req" = 0 ]; then
		echo "bench-h2: h2load completed nothing:" >&2
		cat "$dir/out" "$dir/err" >&2
		exit 1
	fi
	echo "$req $rps $(awk -v c="$cpu" -v n="$req" 'BEGIN { printf "%.2f", c * 1e6 / n }')"
}

mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.2f", s / NR }'; }

printf '%-8s %-22s %10s %10s %14s\n' server client requests req/s "client µs/req"
summary=()
for server in h2o nginx; do
	port=$h2o_port
	if [ "$server" = nginx ]; then port=$nginx_port; fi
	url="http://127.0.0.1:$port/hello.txt"
	h2load -c"$CONNS" -m"$STREAMS" -D1 "$url" >/dev/null # warm the server up
	m_us=() h_us=() m_rps=() h_rps=()
	for _ in $(seq "$RUNS"); do
		read -r req rps us < <(run_matrix "$url")
		m_us+=("$us") m_rps+=("$rps")
		printf '%-8s %-22s %10s %10s %14s\n' "$server" "matrix load --h2" "$req" "$rps" "$us"
		read -r req rps us < <(run_h2load "$url")
		h_us+=("$us") h_rps+=("$rps")
		printf '%-8s %-22s %10s %10s %14s\n' "$server" "h2load" "$req" "$rps" "$us"
	done
	mu=$(mean "${m_us[@]}") hu=$(mean "${h_us[@]}")
	mr=$(mean "${m_rps[@]}") hr=$(mean "${h_rps[@]}")
	target=2.0
	if [ "$server" = nginx ]; then target=1.1; fi
	summary+=("$(printf '%-8s matrix %8s req/s %6s µs/req | h2load %8s req/s %6s µs/req | ratio %s (target <= %s)' \
		"$server" "${mr%.*}" "$mu" "${hr%.*}" "$hu" "$(awk -v m="$mu" -v h="$hu" 'BEGIN { printf "%.2f", m / h }')" "$target")")
done
echo
printf '%s\n' "${summary[@]}"
echo "client µs/req ratio is matrix / h2load; lower is better. ${CONNS} connections x ${STREAMS} streams, ${DURATION} s, ${RUNS} runs each."
