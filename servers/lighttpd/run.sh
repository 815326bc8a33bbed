#!/bin/sh
# run.sh - run lighttpd for the matrix in the foreground on $PORT, serving
# HTTP/1.1 and h2c (prior knowledge) on the same port, or with TLS_CERT and
# TLS_KEY set, TLS with h2 and http/1.1 by ALPN. $HOST (default: every
# interface) is optional. Needs Debian's lighttpd and lighttpd-modules-lua,
# and lighttpd-mod-openssl for TLS.
# run.sh -version prints "lighttpd <version>".
set -eu

case ${1:-} in
-version | --version) echo "lighttpd $(lighttpd -v | sed -n '1s|^lighttpd/\([^ ]*\).*|\1|p')"; exit 0 ;;
esac
: "${PORT:?PORT is not set}"
here=$(cd "$(dirname "$0")" && pwd)
command -v lighttpd >/dev/null || { echo "$0: lighttpd not found (apt-get install lighttpd lighttpd-modules-lua)" >&2; exit 127; }
bind=
[ -n "${HOST:-}" ] && bind="server.bind = \"$HOST\""

# Each run renders its config into its own directory. A directory whose
# owner is gone is left from an earlier run: remove it.
tmp=${TMPDIR:-/tmp}
for d in "$tmp"/matrix-lighttpd.*; do
	[ -d "$d" ] || continue
	owner=$(cat "$d/owner" 2>/dev/null || true)
	if [ -z "$owner" ] || ! kill -0 "$owner" 2>/dev/null; then rm -rf "$d"; fi
done
dir=$(mktemp -d "$tmp/matrix-lighttpd.XXXXXX")
echo $$ >"$dir/owner" # exec keeps the PID: the owner is lighttpd itself
chmod 755 "$dir"

# The static files are served from a copy in the run's directory under
# $TMPDIR, which the Docker runtime mounts as a tmpfs: the image's own
# filesystem may be FUSE (fuse-overlayfs), whose daemon would be measured
# on every request instead of the server.
cp -R "$here/htdocs" "$dir/htdocs"
tls=
protos='h1, h2c'
if [ -n "${TLS_CERT:-}" ]; then
	: "${TLS_KEY:?TLS_CERT is set but TLS_KEY is not}"
	protos='TLS: h1s, h2'
	# TLS 1.2 and up, as every column offers. lighttpd reads the key once,
	# at start.
	tls="server.modules += (\"mod_openssl\") ssl.engine = \"enable\" ssl.pemfile = \"$TLS_CERT\" ssl.privkey = \"$TLS_KEY\" ssl.openssl.ssl-conf-cmd = (\"MinProtocol\" => \"TLSv1.2\")"
fi
sed -e "s|@PORT@|$PORT|" -e "s|@BIND@|$bind|" -e "s|@HERE@|$here|g" -e "s|@DIR@|$dir|g" \
	-e "s|@TLS@|$tls|" "$here/lighttpd.conf.tmpl" >"$dir/lighttpd.conf"
echo "$("$0" -version) ($protos) on ${HOST:-*}:$PORT" >&2
exec lighttpd -D -f "$dir/lighttpd.conf"
