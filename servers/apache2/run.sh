#!/bin/sh
# run.sh - run apache2 (event MPM, mod_http2, mod_lua) for the matrix in the
# foreground on $PORT, serving HTTP/1.1 and h2c (prior knowledge) on the same
# port. $HOST (default: every interface) is optional. Needs Debian's apache2.
# run.sh -version prints "apache2 <version>".
set -eu

case ${1:-} in
-version | --version) echo "apache2 $(apache2 -v | sed -n '1s|^Server version: Apache/\([^ ]*\).*|\1|p')"; exit 0 ;;
esac
: "${PORT:?PORT is not set}"
here=$(cd "$(dirname "$0")" && pwd)
command -v apache2 >/dev/null || { echo "$0: apache2 not found (apt-get install apache2)" >&2; exit 127; }
listen=$PORT
case ${HOST:-} in
'') ;;
*:*) listen="[$HOST]:$PORT" ;;
*) listen="$HOST:$PORT" ;;
esac

# Each run renders its config into its own directory (also the pid file and
# runtime files). A directory whose owner is gone is left from an earlier
# run: remove it.
tmp=${TMPDIR:-/tmp}
for d in "$tmp"/matrix-apache2.*; do
	[ -d "$d" ] || continue
	owner=$(cat "$d/owner" 2>/dev/null || true)
	if [ -z "$owner" ] || ! kill -0 "$owner" 2>/dev/null; then rm -rf "$d"; fi
done
dir=$(mktemp -d "$tmp/matrix-apache2.XXXXXX")
echo $$ >"$dir/owner" # exec keeps the PID: the owner is apache2's parent
chmod 755 "$dir"

# The static files are served from a copy in the run's directory under
# $TMPDIR, which the Docker runtime mounts as a tmpfs: the image's own
# filesystem may be FUSE (fuse-overlayfs), and apache2 stats, opens and
# maps the file on every request.
cp -R "$here/htdocs" "$dir/htdocs"
protos='h1, h2c'
alpn='h2c http/1.1'
: >"$dir/tls.conf"
if [ -n "${TLS_CERT:-}" ]; then
	: "${TLS_KEY:?TLS_CERT is set but TLS_KEY is not}"
	protos='TLS: h1s, h2'
	alpn='h2 http/1.1'
	# mod_ssl on the one virtual host, h2 preferred by ALPN (Protocols in
	# the main file). TLS 1.2 and 1.3, as every
	# column offers. The session cache is shared memory in the run's
	# directory (mod_ssl warns without one). The key is read once, by the
	# parent process, before any child starts.
	cat >"$dir/tls.conf" <<-EOF
		LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so
		LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
		SSLSessionCache "shmcb:$dir/ssl_scache(512000)"
		SSLProtocol -all +TLSv1.2 +TLSv1.3
		SSLEngine on
		SSLCertificateFile "$TLS_CERT"
		SSLCertificateKeyFile "$TLS_KEY"
	EOF
fi
sed -e "s|@LISTEN@|$listen|" -e "s|@DIR@|$dir|g" -e "s|@HERE@|$here|g" \
	-e "s|@PROTOCOLS@|$alpn|" "$here/apache2.conf.tmpl" >"$dir/apache2.conf"
echo "$("$0" -version) ($protos) on $listen" >&2
exec apache2 -f "$dir/apache2.conf" -DFOREGROUND
