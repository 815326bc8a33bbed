#!/bin/bash
# check-all.sh [NAME...] - run every server here as a local process (the
# process runtime's way: from the repository root, host packages for the
# packaged ones), check it with check.sh on each protocol it claims, stop it
# with SIGTERM, and print one line per server and protocol. Exits 1 if any
# check failed. The list mirrors the entries in servers/README.md.
set -u
cd "$(dirname "$0")/.." || exit 2

# name|protocols|command (Go servers: "go" means the module's binary)
servers=(
	"go-stdlib|h1 h2c|go"
	"fasthttp|h1|go"
	"gin|h1 h2c|go"
	"echo|h1 h2c|go"
	"chi|h1 h2c|go"
	"fiber|h1|go"
	"fiber-v3|h1|go"
	"hertz|h1|go"
	"nbio|h1|go"
	"nginx|h1|env NGINX_PROTOCOL=h1 ./servers/nginx/run.sh"
	"nginx-h2c|h2c|env NGINX_PROTOCOL=h2c ./servers/nginx/run.sh"
	"h2o|h1 h2c|./servers/h2o/run.sh"
	"apache2|h1 h2c|./servers/apache2/run.sh"
	"lighttpd|h1 h2c|./servers/lighttpd/run.sh"
	"node-http|h1|node ./servers/node-http/server.js"
	"node-http2|h2c|node ./servers/node-http2/server.js"
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

wanted() {
	[ $# -eq 1 ] && return 0
	local n=$1 w
	shift
	for w; do [ "$w" = "$n" ] && return 0; done
	return 1
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
	port=$(free_port)
	# shellcheck disable=SC2086 # cmd is a word list
	PORT=$port $cmd >"$bin/$name.log" 2>&1 &
	pid=$!
	first=${protos%% *}
	[ "$first" = h2c ] && copt=--http2-prior-knowledge || copt=--http1.1
	ready=0
	for _ in $(seq 100); do
		curl -s "$copt" -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && { ready=1; break; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	for proto in $protos; do
		if [ $ready = 0 ]; then
			printf '%-11s %-4s FAIL not ready: %s\n' "$name" "$proto" "$(tail -n 3 "$bin/$name.log" | tr '\n' ' ')"
			failed=1
			continue
		fi
		if out=$(./servers/check.sh "http://127.0.0.1:$port" "$proto"); then
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
done
exit $failed
