#!/usr/bin/env bash
# HTTP/3 against HTTP/2 over TLS on the same server: `matrix load --h3` and
# `matrix load --h2` against servers/go-quic (quic-go's http3 server and
# net/http's HTTP/2, one certificate from a throwaway CA), GET /, each run
# RUNS times, alternating, in one run of this script. Prints req/s and client
# µs per request (the client's user+sys CPU over the measured window, as the
# result records it, divided by the responses completed in it: handshakes
# are in the 1 s warmup, so the steady state is compared) and the ratio
# h3 / h2 (goal <= 2).
# Then one h3 run at 256 connections prints the client's peak RSS (goal
# < 64 MiB).
#
# First, a functional cross-check: Debian's ngtcp2-client (gtlsclient, if
# installed) and matrix load --h3 must see the same status and body.
#
# Needs openssl, python3, go (to build servers/go-quic) and bin/matrix
# (make build); ngtcp2-client for the cross-check.
#
# Environment: CONNS (16), STREAMS (16), DURATION (5, seconds), RUNS (3),
# BIGCONNS (256), BIGSTREAMS (1, streams per connection of that run), PROCS (GOMAXPROCS for matrix load; default: its own).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-16}
STREAMS=${STREAMS:-16}
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
BIGCONNS=${BIGCONNS:-256}
BIGSTREAMS=${BIGSTREAMS:-1}
MATRIX=${MATRIX:-bin/matrix}
GO=${GO:-go}

if [ ! -x "$MATRIX" ]; then
	echo "bench-h3: $MATRIX not found (make build)" >&2
	exit 1
fi

dir=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$dir"
}
trap cleanup EXIT

(cd servers/go-quic && CGO_ENABLED=0 "$GO" build -o "$dir/go-quic" .)

# A throwaway CA and a certificate for 127.0.0.1 signed by it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=bench-h3-ca -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout "$dir/key.pem" -out "$dir/req.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/ext"
openssl x509 -req -in "$dir/req.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
	-days 1 -extfile "$dir/ext" -out "$dir/cert.pem" 2>/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PORT=$port HOST=127.0.0.1 TLS_CERT=$dir/cert.pem TLS_KEY=$dir/key.pem "$dir/go-quic" 2>"$dir/server.log" &
pids+=($!)
for _ in $(seq 200); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
	sleep 0.05
done
url="https://127.0.0.1:$port/"

procs=()
if [ -n "${PROCS:-}" ]; then procs=(--procs "$PROCS"); fi

# Functional cross-check with a peer client, Debian's ngtcp2-client
# (gtlsclient): for each request of the contract, the status and body it
# gets must be what matrix load --h3 counts (status 200, body length).
crosscheck() {
	local path=$1 method=$2 want=$3 extra=() got body n
	if [ "$method" = POST ]; then
		head -c 65536 /dev/zero >"$dir/body"
		extra=(-d "$dir/body")
	fi
	got=$(timeout 10 gtlsclient --exit-on-all-streams-close --no-quic-dump -m "$method" "${extra[@]}" \
		127.0.0.1 "$port" "$url${path#/}" 2>&1 || true)
	body=$(printf '%s\n' "$got" | sed -nE 's/^[0-9a-f]{8}  .*\|(.*)\|$/\1/p' | tr -d '\n')
	if ! grep -q '\[:status: 200\]' <<<"$got" || [ "$body" != "$want" ]; then
		echo "bench-h3: ngtcp2 $method $path: want 200 \"$want\", got: $(grep -E ':status|body' <<<"$got" | tr '\n' ' ') body \"$body\"" >&2
		return 1
	fi
	n=$("$MATRIX" load --json --h3 --ca "$dir/ca.pem" -c 1 --warmup 0 -d 1s -m "$method" \
		$([ "$method" = POST ] && echo --body-size 65536) "$url${path#/}" |
		python3 -c 'import json,sys; r=json.load(sys.stdin); ok=r["errors"]==0 and r["protocol"]=="h3" and r["requests"]>0 and set(r["status_codes"])=={"200"}; print(r["bytes_read"]//r["requests"] if ok else -1)')
	if [ "$n" != "${#want}" ]; then
		echo "bench-h3: matrix load --h3 $method $path: body length $n per request, ngtcp2 saw ${#want}" >&2
		return 1
	fi
	printf 'cross-check %-5s %-8s ngtcp2 and matrix load --h3 agree: 200, %d-byte body\n' "$method" "$path" "${#want}"
}
if command -v gtlsclient >/dev/null; then
	crosscheck / GET 'Hello, World!'
	crosscheck /json GET '{"message":"Hello, World!"}'
	crosscheck /upload POST 65536
else
	echo "cross-check skipped: gtlsclient not found (apt-get install ngtcp2-client)"
fi
echo

# run PROTO CONNS [STREAMS]: prints "requests req/s µs/req maxrss-KiB" for one run of
# matrix load, its CPU and peak RSS read from the child's rusage.
run() {
	python3 - "$dir/out" "$1" "$MATRIX" load --json --warmup 1s "--$1" --ca "$dir/ca.pem" "${procs[@]}" \
		-c "$2" --streams "${3:-$STREAMS}" -d "${DURATION}s" "$url" <<'PY'
import json, resource, subprocess, sys
out, proto, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(out, "w") as f:
    subprocess.run(cmd, stdout=f, check=True)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
r = json.load(open(out))
n = r["requests"]
errs = r["errors"] + r["warmup"]["errors"]
if errs or r.get("protocol") != proto or n == 0:
    sys.exit("bench-h3: matrix load --%s: %d errors, %d requests, protocol %r" % (proto, errs, n, r.get("protocol")))
print(n, round(r["rps"]), "%.2f" % (r["client_cpu_ns"] / 1e3 / n), ru.ru_maxrss)
PY
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%-6s %10s %10s %14s\n' client requests req/s "client µs/req"
ratios=() h3us=() h2us=()
for _ in $(seq "$RUNS"); do
	read -r n2 r2 u2 _ < <(run h2 "$CONNS")
	printf '%-6s %10s %10s %14s\n' h2 "$n2" "$r2" "$u2"
	read -r n3 r3 u3 _ < <(run h3 "$CONNS")
	printf '%-6s %10s %10s %14s\n' h3 "$n3" "$r3" "$u3"
	h2us+=("$u2") h3us+=("$u3")
	ratios+=("$(awk -v a="$u3" -v b="$u2" 'BEGIN { printf "%.2f", a / b }')")
done
read -r nb rb ub rss < <(run h3 "$BIGCONNS" "$BIGSTREAMS")
echo
printf 'go-quic  h3 %s µs/req | h2 %s µs/req | ratio h3/h2 median of %d pairs %s (pairs: %s; goal <= 2.0)\n' \
	"$(median "${h3us[@]}")" "$(median "${h2us[@]}")" "$RUNS" "$(median "${ratios[@]}")" "${ratios[*]}"
printf 'go-quic  h3 at %d connections x %d streams: %s req/s, peak RSS %.1f MiB (goal < 64)\n' "$BIGCONNS" "$BIGSTREAMS" "$rb" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
echo "${CONNS} connections x ${STREAMS} streams, ${DURATION} s per run; the server shares the machine's cores."
