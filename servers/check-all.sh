#!/bin/bash
# check-all.sh [NAME...] - run every server here as a local process (the
# process runtime's way: from the repository root, host packages for the
# packaged ones), check it with check.sh on each protocol it claims, stop it
# with SIGTERM, and print one line per server and protocol. Exits 1 if any
# check failed. The list mirrors the entries in servers/README.md. A server
# with TLS protocols (h1s, h2) is started a second time with TLS_CERT and
# TLS_KEY from a CA made here (openssl), which check.sh verifies against.
set -u
cd "$(dirname "$0")/.." || exit 2

# name|protocols|command (Go servers: "go" means the module's binary)
servers=(
	"go-stdlib|h1 h2c h1s h2|go"
	"fasthttp|h1 h1s|go"
	"gin|h1 h2c h1s h2|go"
	"echo|h1 h2c h1s h2|go"
	"chi|h1 h2c h1s h2|go"
	"fiber|h1|go"
	"fiber-v3|h1|go"
	"hertz|h1|go"
	"nbio|h1|go"
	"nginx|h1 h1s h2|env NGINX_PROTOCOL=h1 ./servers/nginx/run.sh"
	"nginx-h2c|h2c|env NGINX_PROTOCOL=h2c ./servers/nginx/run.sh"
	"h2o|h1 h2c h1s h2|./servers/h2o/run.sh"
	"apache2|h1 h2c h1s h2|./servers/apache2/run.sh"
	"lighttpd|h1 h2c h1s h2|./servers/lighttpd/run.sh"
	"node-http|h1 h1s|node ./servers/node-http/server.js"
	"node-http2|h2c h2|node ./servers/node-http2/server.js"
)

bin=$(mktemp -d "${TMPDIR:-/tmp}/check-all.XXXXXX")
pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$bin"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

# A CA and a server certificate for 127.0.0.1 and localhost, in $bin (mode
# 0700, removed on exit): the TLS contract's TLS_CERT and TLS_KEY.
make_certs() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj /CN=check-all-ca -keyout "$bin/ca.key" -out "$bin/ca.pem" 2>/dev/null &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
			-keyout "$bin/key.pem" -out "$bin/req.pem" 2>/dev/null &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$bin/ext" &&
		openssl x509 -req -in "$bin/req.pem" -CA "$bin/ca.pem" -CAkey "$bin/ca.key" -CAcreateserial \
			-days 1 -extfile "$bin/ext" -out "$bin/cert.pem" 2>/dev/null
}
chmod 700 "$bin"
make_certs || { echo "$0: openssl could not make the TLS certificates" >&2; exit 2; }

wanted() {
	[ $# -eq 1 ] && return 0
	local n=$1 w
	shift
	for w; do [ "$w" = "$n" ] && return 0; done
	return 1
}

# check_server NAME PROTOS CMD TLS: start CMD (with the certificate when TLS
# is set), wait for it, check it on each protocol, stop it.
check_server() {
	local name=$1 protos=$2 cmd=$3 tls=$4 scheme=http first copt ready out notes t0 ms
	port=$(free_port)
	if [ -n "$tls" ]; then
		scheme=https
		# shellcheck disable=SC2086 # cmd is a word list
		PORT=$port TLS_CERT=$bin/cert.pem TLS_KEY=$bin/key.pem $cmd >"$bin/$name.log" 2>&1 &
	else
		# shellcheck disable=SC2086 # cmd is a word list
		PORT=$port $cmd >"$bin/$name.log" 2>&1 &
	fi
	pid=$!
	first=${protos# }
	first=${first%% *}
	case $first in
	h2c) copt=--http2-prior-knowledge ;;
	h2) copt=--http2 ;;
	*) copt=--http1.1 ;;
	esac
	ready=0
	for _ in $(seq 100); do
		curl -s "$copt" --cacert "$bin/ca.pem" -o /dev/null --max-time 1 "$scheme://127.0.0.1:$port/" && { ready=1; break; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	for proto in $protos; do
		if [ $ready = 0 ]; then
			printf '%-11s %-4s FAIL not ready: %s\n' "$name" "$proto" "$(tail -n 3 "$bin/$name.log" | tr '\n' ' ')"
			failed=1
			continue
		fi
		if out=$(./servers/check.sh "$scheme://127.0.0.1:$port" "$proto" "$bin/ca.pem"); then
			notes=$(grep -c '^note' <<<"$out")
			printf '%-11s %-4s pass  %-22s %s\n' "$name" "$proto" "$version" "$([ "$notes" != 0 ] && grep '^note' <<<"$out" | sed 's/^note [^ ]* //')"
		else
			printf '%-11s %-4s FAIL  %-22s %s\n' "$name" "$proto" "$version" "$(grep '^FAIL' <<<"$out" | head -n 3 | tr '\n' ';')"
			failed=1
		fi
	done
	t0=$(date +%s%N)
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	ms=$((($(date +%s%N) - t0) / 1000000))
	pid=
	[ $ms -gt 2000 ] && { printf '%-11s      SIGTERM took %d ms\n' "$name" "$ms"; failed=1; }
}

failed=0
for entry in "${servers[@]}"; do
	IFS='|' read -r name protos cmd <<<"$entry"
	wanted "$name" "$@" || continue
	if [ "$cmd" = go ]; then
		if ! (cd "servers/$name" && CGO_ENABLED=0 go build -trimpath -o "$bin/$name" .) 2>"$bin/build.log"; then
			printf '%-11s build FAILED: %s\n' "$name" "$(head -c 300 "$bin/build.log")"
			failed=1
			continue
		fi
		cmd=$bin/$name
	fi
	version=$($cmd -version 2>/dev/null | head -n 1)
	clear= tls=
	for proto in $protos; do
		case $proto in
		h1s | h2) tls="$tls $proto" ;;
		*) clear="$clear $proto" ;;
		esac
	done
	[ -n "$clear" ] && check_server "$name" "$clear" "$cmd" ""
	[ -n "$tls" ] && check_server "$name" "$tls" "$cmd" tls
done
exit $failed
