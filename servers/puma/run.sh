#!/bin/sh
# run.sh - run puma in cluster mode serving config.ru (a plain Rack app) for
# the matrix in the foreground on $PORT, HTTP/1.1 only, configured by
# puma.rb. With $TLS_CERT and $TLS_KEY set it serves HTTP/1.1 over TLS
# instead. $HOST (default: every interface), $PUMA_WORKERS (default: the
# CPUs this process may run on) and $PUMA_THREADS (default: 5) are
# optional. run.sh -version prints "puma <version>".
set -eu

case ${1:-} in
-version | --version) echo "puma $(puma --version | sed -n 's|^puma version ||p')"; exit 0 ;;
esac
: "${PORT:?PORT is not set}"
here=$(cd "$(dirname "$0")" && pwd)
command -v puma >/dev/null || { echo "$0: puma not found (apt-get install puma)" >&2; exit 127; }

workers=${PUMA_WORKERS:-$(nproc)}
threads=${PUMA_THREADS:-5}
host=${HOST:-0.0.0.0}
case $host in *:*) addr="[$host]:$PORT" ;; *) addr="$host:$PORT" ;; esac
bind=tcp://$addr
tls=
if [ -n "${TLS_CERT:-}" ] || [ -n "${TLS_KEY:-}" ]; then
	: "${TLS_CERT:?TLS_KEY is set but TLS_CERT is not}" "${TLS_KEY:?TLS_CERT is set but TLS_KEY is not}"
	# The paths are the runner's temporary files: no characters that
	# would need escaping in the bind URL's query. The server asks for no
	# client certificate.
	bind="ssl://$addr?cert=$TLS_CERT&key=$TLS_KEY&verify_mode=none"
	tls=1
fi
export MATRIX_PUMA_DIR="$here" MATRIX_PUMA_BIND="$bind" \
	MATRIX_PUMA_WORKERS="$workers" MATRIX_PUMA_THREADS="$threads"
echo "$("$0" -version) on $addr, $workers workers x $threads threads${tls:+, TLS}" >&2
exec puma --config "$here/puma.rb"
