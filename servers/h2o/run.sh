#!/bin/sh
# run.sh - run h2o for the matrix in the foreground on $PORT, serving
# HTTP/1.1 and h2c (prior knowledge) on the same port, or with TLS_CERT and
# TLS_KEY set, TLS with h2 and http/1.1 offered by ALPN. $HOST (default:
# every interface) and $H2O_THREADS (default: the CPUs this process may run
# on) are optional. Needs Debian's h2o package, which is built with mruby.
# run.sh -version prints "h2o <version>".
set -eu

case ${1:-} in
-version | --version) echo "h2o $(h2o --version | sed -n "1s|^h2o version ||p")"; exit 0 ;;
esac
: "${PORT:?PORT is not set}"
here=$(cd "$(dirname "$0")" && pwd)
command -v h2o >/dev/null || { echo "$0: h2o not found (apt-get install h2o)" >&2; exit 127; }
threads=${H2O_THREADS:-$(nproc)}
host=${HOST:-0.0.0.0}

# Each run renders its config into its own directory. A directory
# whose owner is gone is left from an earlier run: remove it.
tmp=${TMPDIR:-/tmp}
for d in "$tmp"/matrix-h2o.*; do
	[ -d "$d" ] || continue
	owner=$(cat "$d/owner" 2>/dev/null || true)
	if [ -z "$owner" ] || ! kill -0 "$owner" 2>/dev/null; then rm -rf "$d"; fi
done
dir=$(mktemp -d "$tmp/matrix-h2o.XXXXXX")
echo $$ >"$dir/owner" # exec keeps the PID: the owner is h2o itself
chmod 755 "$dir"

# The static files are served from a copy in the run's directory under
# $TMPDIR, which the Docker runtime mounts as a tmpfs: the image's own
# filesystem may be FUSE (fuse-overlayfs), whose daemon would be measured
# on every request instead of the server.
cp "$here/hello.txt" "$here/hello.json" "$dir/"
ssl='/@SSL@/d'
protos='h1, h2c'
if [ -n "${TLS_CERT:-}" ]; then
	: "${TLS_KEY:?TLS_CERT is set but TLS_KEY is not}"
	# TLS 1.2 and up, as every column offers; h2o reads the key once, at
	# start.
	ssl="s|@SSL@|ssl: {certificate-file: \"$TLS_CERT\", key-file: \"$TLS_KEY\", minimum-version: TLSv1.2}|"
	protos='TLS: h1s, h2'
fi
sed -e "s|@PORT@|$PORT|" -e "s|@HOST@|$host|" -e "s|@THREADS@|$threads|" \
	-e "s|@DIR@|$dir|g" -e "s|@HERE@|$here|g" -e "$ssl" \
	"$here/h2o.conf.tmpl" >"$dir/h2o.conf"
echo "$("$0" -version) ($protos) on $host:$PORT, $threads threads" >&2
exec h2o -c "$dir/h2o.conf"
