#!/bin/sh
# run.sh [h1|h2c] - run nginx for the matrix in the foreground on $PORT; the
# protocol comes from the argument, else $NGINX_PROTOCOL, else h1.
# run.sh -version prints "nginx <version>".
#
# nginx 1.22 cannot serve HTTP/1.1 and cleartext HTTP/2 on one port: a
# "listen ... http2" socket without TLS speaks HTTP/2 with prior knowledge
# only. So the protocol is chosen here, and the matrix has two columns.
# With TLS_CERT and TLS_KEY set (a TLS cell) the protocol is ignored: the
# port serves TLS and offers h2 and http/1.1 by ALPN, which nginx 1.22 does
# on one "listen ... ssl http2" socket, so the h1 column serves h1s and h2.
# $HOST (default: every interface) and $NGINX_WORKERS (default: the CPUs
# this process may run on) are optional.
set -eu

proto=${1:-${NGINX_PROTOCOL:-h1}}
case $proto in
-version | --version) echo "nginx $(nginx -v 2>&1 | sed -n "s|.*nginx/||p")"; exit 0 ;;
h1) http2= ;;
h2c) http2=' http2' ;;
*) echo "usage: $0 [h1|h2c]" >&2; exit 2 ;;
esac
: "${PORT:?PORT is not set}"
here=$(cd "$(dirname "$0")" && pwd)
command -v nginx >/dev/null || { echo "$0: nginx not found (apt-get install nginx-light libnginx-mod-http-js)" >&2; exit 127; }

listen=$PORT
case ${HOST:-} in
'') ;;
*:*) listen="[$HOST]:$PORT" ;;
*) listen="$HOST:$PORT" ;;
esac
workers=${NGINX_WORKERS:-$(nproc)}

# Each run renders into its own directory (pid file, body buffers). A
# directory whose owner is gone is left from an earlier run: remove it.
tmp=${TMPDIR:-/tmp}
for d in "$tmp"/matrix-nginx.*; do
	[ -d "$d" ] || continue
	owner=$(cat "$d/owner" 2>/dev/null || true)
	if [ -z "$owner" ] || ! kill -0 "$owner" 2>/dev/null; then rm -rf "$d"; fi
done
dir=$(mktemp -d "$tmp/matrix-nginx.XXXXXX")
echo $$ >"$dir/owner" # exec keeps the PID: the owner is nginx's master
chmod 755 "$dir"

tls='#'
if [ -n "${TLS_CERT:-}" ]; then
	: "${TLS_KEY:?TLS_CERT is set but TLS_KEY is not}"
	http2=' ssl http2'
	proto='TLS: h1s, h2'
	# nginx reads both files once, as the user it starts as.
	tls="ssl_certificate $TLS_CERT; ssl_certificate_key $TLS_KEY;"
fi

sed -e "s|@LISTEN@|$listen$http2|" -e "s|@WORKERS@|$workers|" \
	-e "s|@DIR@|$dir|g" -e "s|@HERE@|$here|g" -e "s|@TLS@|$tls|" \
	"$here/nginx.conf.tmpl" >"$dir/nginx.conf"
echo "$("$0" -version) ($proto) on $listen, $workers workers" >&2
exec nginx -p "$dir" -e stderr -c "$dir/nginx.conf"
