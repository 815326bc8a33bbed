#!/bin/sh
# run.sh - run gunicorn with sync workers serving app.py (a plain WSGI app)
# for the matrix in the foreground on $PORT, HTTP/1.1 only. With $TLS_CERT
# and $TLS_KEY set it serves HTTP/1.1 over TLS instead. $HOST (default:
# every interface) and $GUNICORN_WORKERS (default: 2 per CPU this process
# may run on, plus one) are optional. run.sh -version prints
# "gunicorn <version>".
#
# A sync worker serves one request per connection and closes it
# ("Connection: close" on every response): clients dial anew for each
# request, whatever they asked for. That is the column's point.
set -eu

case ${1:-} in
-version | --version) echo "gunicorn $(python3 -c 'from importlib.metadata import version; print(version("gunicorn"))')"; exit 0 ;;
esac
: "${PORT:?PORT is not set}"
here=$(cd "$(dirname "$0")" && pwd)
command -v gunicorn >/dev/null || { echo "$0: gunicorn not found (apt-get install gunicorn)" >&2; exit 127; }

# gunicorn's documented starting point for sync workers: (2 x cores) + 1,
# so that one worker's socket I/O overlaps another's computing.
workers=${GUNICORN_WORKERS:-$(($(nproc) * 2 + 1))}
host=${HOST:-0.0.0.0}
case $host in *:*) bind="[$host]:$PORT" ;; *) bind="$host:$PORT" ;; esac

# The WSGI module is imported from this directory; no bytecode is written
# next to it (the image's files belong to root, the server runs as nobody).
# Workers get 1 s after SIGTERM to finish, as the Go servers (gunicorn's
# default is 30 s). Their heartbeat files go to $TMPDIR (gunicorn's
# default), which the Docker runtime mounts as a tmpfs. No access log
# (gunicorn's default). Every other setting is gunicorn's default (listen
# backlog 2048, worker timeout 30 s).
export PYTHONDONTWRITEBYTECODE=1
set -- --bind "$bind" --workers "$workers" --worker-class sync \
	--graceful-timeout 1 --pythonpath "$here"
tls=
if [ -n "${TLS_CERT:-}" ] || [ -n "${TLS_KEY:-}" ]; then
	: "${TLS_CERT:?TLS_KEY is set but TLS_CERT is not}" "${TLS_KEY:?TLS_CERT is set but TLS_KEY is not}"
	set -- "$@" --certfile "$TLS_CERT" --keyfile "$TLS_KEY"
	tls=1
fi
echo "$("$0" -version) (sync) on $bind, $workers workers${tls:+, TLS}" >&2
exec gunicorn "$@" app:app
