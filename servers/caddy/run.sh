#!/bin/sh
# run.sh - run Caddy for the matrix in the foreground on $PORT: HTTP/1.1 and
# h2c (prior knowledge) on the same port, or, when $TLS_CERT and $TLS_KEY
# name the PEM certificate chain and key, TLS on TCP $PORT offering h2 and
# http/1.1 by ALPN and HTTP/3 on UDP $PORT. $HOST (default: every interface)
# is optional. GET / and GET /json only: /upload answers 501 (see
# Caddyfile.tmpl). run.sh -version prints "caddy <version>".
set -eu

case ${1:-} in
-version | --version) echo "caddy $(caddy version | sed -n '1s|^v*\([^ ]*\).*|\1|p')"; exit 0 ;;
esac
: "${PORT:?PORT is not set}"
here=$(cd "$(dirname "$0")" && pwd)
command -v caddy >/dev/null || { echo "$0: caddy not found (apt-get install caddy)" >&2; exit 127; }
host=${HOST:-0.0.0.0}

# Each run renders its config into its own directory. A directory
# whose owner is gone is left from an earlier run: remove it.
tmp=${TMPDIR:-/tmp}
for d in "$tmp"/matrix-caddy.*; do
	[ -d "$d" ] || continue
	owner=$(cat "$d/owner" 2>/dev/null || true)
	if [ -z "$owner" ] || ! kill -0 "$owner" 2>/dev/null; then rm -rf "$d"; fi
done
dir=$(mktemp -d "$tmp/matrix-caddy.XXXXXX")
echo $$ >"$dir/owner" # exec keeps the PID: the owner is caddy itself

scheme=http protocols="h1 h2c" tls= served="h1, h2c"
if [ -n "${TLS_CERT:-}" ]; then
	: "${TLS_KEY:?TLS_CERT is set but TLS_KEY is not}"
	case $TLS_CERT$TLS_KEY in *[\"\|[:space:]]*)
		echo "$0: TLS_CERT or TLS_KEY holds a quote, | or white space" >&2; exit 2 ;;
	esac
	# Caddy reads the PEM files itself: no copy of the key is made.
	scheme=https protocols="h1 h2 h3" tls="tls \"$TLS_CERT\" \"$TLS_KEY\"" served="h1s, h2 on TCP, h3 on UDP"
fi
tlsline="s|@TLS@|$tls|"
[ -n "$tls" ] || tlsline=/@TLS@/d
sed -e "s|@PORT@|$PORT|" -e "s|@HOST@|$host|" -e "s|@DIR@|$dir|" -e "s|@SCHEME@|$scheme|" \
	-e "s|@PROTOCOLS@|$protocols|" -e "$tlsline" "$here/Caddyfile.tmpl" >"$dir/Caddyfile"
# Caddy is Go: GOMAXPROCS defaults to the CPUs it may run on, as for the Go
# columns. XDG_*: Caddy's config and data directories, not nobody's $HOME.
export XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/data"
echo "$("$0" -version) ($served) on $host:$PORT" >&2
exec caddy run --adapter caddyfile --config "$dir/Caddyfile"
