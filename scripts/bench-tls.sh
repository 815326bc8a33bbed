#!/usr/bin/env bash
# TLS against nginx from Debian (1 worker, TLS 1.3, ECDSA P-256 certificate
# made here): `matrix load --ca` beside wrk (h1s: HTTP/1.1 over TLS, kept-alive
# connections) and beside h2load (h2 by ALPN, streams per connection), each
# pair run RUNS times, alternating, in one run of this script. Prints req/s
# and client µs per request (the client's user+sys CPU over its whole
# process divided by the requests it completed), then the medians over the
# pairs of the ratios matrix/peer. `matrix load` verifies the certificate
# against the CA; wrk and h2load do not verify (they cannot be told a CA),
# which spares them nothing measurable after the handshakes.
#
# Installs nothing. Needs nginx (nginx-light), openssl, wrk, h2load
# (nghttp2-client), python3 and bin/matrix (make build).
#
# Environment: CONNS (32, h1s), H2CONNS (4), STREAMS (32), DURATION (5, s),
# RUNS (3).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-32}
H2CONNS=${H2CONNS:-4}
STREAMS=${STREAMS:-32}
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
NGINX=${NGINX:-/usr/sbin/nginx}
MATRIX=${MATRIX:-bin/matrix}

for need in "$NGINX" "$MATRIX"; do
	[ -x "$need" ] || { echo "bench-tls: $need not found (apt-get install nginx-light; make build)" >&2; exit 1; }
done
for tool in wrk h2load openssl; do
	command -v "$tool" >/dev/null || { echo "bench-tls: $tool not found" >&2; exit 1; }
done

dir=$(mktemp -d) # mode 0700: the key stays private
nginx_pid=
cleanup() {
	if [ -n "$nginx_pid" ]; then
		kill -INT "$nginx_pid" 2>/dev/null || true
		wait "$nginx_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench-ca \
	-keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout "$dir/key.pem" -out "$dir/req.pem" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/ext"
openssl x509 -req -in "$dir/req.pem" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
	-days 1 -extfile "$dir/ext" -out "$dir/cert.pem" 2>/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="https://127.0.0.1:$port/"
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
	ssl_protocols TLSv1.3;
	server {
		listen 127.0.0.1:$port ssl http2;
		ssl_certificate $dir/cert.pem;
		ssl_certificate_key $dir/key.pem;
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
# seconds (bash's `times` in a subshell whose only child is CMD).
cpu_of() {
	( "$@" >"$dir/out" 2>"$dir/err"; times ) | awk 'NR == 2 {
		split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2]
	}'
}
per_req() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.2f", c * 1e6 / n }'; }
# matrix_run ARGS...: one `matrix load`; prints "requests rps µs/req".
matrix_run() {
	local cpu req rps
	cpu=$(cpu_of "$MATRIX" load --json --warmup 0 --ca "$dir/ca.pem" -d "${DURATION}s" "$@" "$url")
	read -r req rps < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["requests"], round(r["rps"]))' "$dir/out")
	echo "$req $rps $(per_req "$cpu" "$req")"
}

wrk -t1 -c"$CONNS" -d1s "$url" >/dev/null # warm nginx up
printf '%-26s %10s %10s %12s\n' client requests req/s "client µs/req"
ratios=()
for i in $(seq "$RUNS"); do
	read -r mreq mrps mus < <(matrix_run -c "$CONNS")
	printf '%-26s %10s %10s %12s\n' "matrix load h1s" "$mreq" "$mrps" "$mus"
	cpu=$(cpu_of wrk -t1 -c"$CONNS" -d"${DURATION}s" "$url")
	wreq=$(awk '/requests in/ { print $1 }' "$dir/out")
	wrps=$(awk '/^Requests\/sec/ { printf "%d", $2 }' "$dir/out")
	wus=$(per_req "$cpu" "$wreq")
	printf '%-26s %10s %10s %12s\n' "wrk -t1" "$wreq" "$wrps" "$wus"
	ratios+=("h1s $(awk -v a="$mrps" -v b="$wrps" 'BEGIN{printf "%.3f", a/b}') $(awk -v a="$mus" -v b="$wus" 'BEGIN{printf "%.3f", a/b}')")

	read -r mreq mrps mus < <(matrix_run --h2 -c "$H2CONNS" --streams "$STREAMS")
	printf '%-26s %10s %10s %12s\n' "matrix load h2" "$mreq" "$mrps" "$mus"
	cpu=$(cpu_of h2load -c "$H2CONNS" -m "$STREAMS" -D "$DURATION" "$url")
	hreq=$(awk '/^requests:/ { print $8 }' "$dir/out")
	hrps=$(awk '/^finished in/ { gsub(",", "", $4); printf "%d", $4 }' "$dir/out")
	hus=$(per_req "$cpu" "$hreq")
	printf '%-26s %10s %10s %12s\n' "h2load" "$hreq" "$hrps" "$hus"
	ratios+=("h2 $(awk -v a="$mrps" -v b="$hrps" 'BEGIN{printf "%.3f", a/b}') $(awk -v a="$mus" -v b="$hus" 'BEGIN{printf "%.3f", a/b}')")
done

echo
for p in h1s h2; do
	printf '%s\n' "${ratios[@]}" | awk -v p="$p" '$1 == p { r[++n] = $2; u[n] = $3 }
		function median(a, n,   i, j, t) {
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		END { printf "%s: median over %d pairs, matrix/peer req/s %.2f, client µs/req %.2f\n", p, n, median(r, n), median(u, n) }'
done
