#!/bin/sh
# run.sh [hypercorn|uvicorn] - run the FastAPI app (app.py) for the matrix in
# the foreground on $PORT, under the ASGI server named by the argument, else
# $FASTAPI_SERVER, else hypercorn. run.sh -version prints
# "fastapi <version> (<server> <version>)".
#
# hypercorn serves HTTP/1.1 and HTTP/2 with prior knowledge on one port (it
# tells them apart by the connection preface, RFC 9113 section 3.4), and
# with $TLS_CERT and $TLS_KEY set it serves TLS instead, offering h2 and
# http/1.1 by ALPN. uvicorn speaks HTTP/1.1 only.
#
# $HOST (default: every interface) and $FASTAPI_WORKERS (default: the CPUs
# this process may run on) are optional. Nothing is rendered to disk: both
# servers take their settings as flags.
set -eu

server=${FASTAPI_SERVER:-hypercorn}
case ${1:-} in
-version | --version)
	[ $# -lt 2 ] || server=$2
	exec python3 -c 'import sys
from importlib.metadata import version
print("fastapi", version("fastapi"), "(%s %s)" % (sys.argv[1], version(sys.argv[1])))' "$server" ;;
hypercorn | uvicorn) server=$1 ;;
'') ;;
*) echo "usage: $0 [hypercorn|uvicorn]" >&2; exit 2 ;;
esac
case $server in
hypercorn | uvicorn) ;;
*) echo "$0: FASTAPI_SERVER=$server: want hypercorn or uvicorn" >&2; exit 2 ;;
esac
: "${PORT:?PORT is not set}"
here=$(cd "$(dirname "$0")" && pwd)
# have: whether the modules named exist, found without importing them (an
# import of FastAPI alone costs about a second of CPU).
have='import sys, importlib.util; sys.exit(not all(importlib.util.find_spec(m) for m in sys.argv[1:]))'
python3 -c "$have" fastapi uvloop ||
	{ echo "$0: fastapi or uvloop not found (apt-get install python3-fastapi python3-uvloop)" >&2; exit 127; }

# One worker process per CPU: each runs one event loop, which uses one
# core at most (Python's GIL), so fewer would leave a core idle and more
# would only add switching between them.
workers=${FASTAPI_WORKERS:-$(nproc)}
host=${HOST:-0.0.0.0}
# The app is imported from this directory. Python need not write bytecode
# next to it (the image's files belong to root; the server runs as nobody).
export PYTHONPATH="$here" PYTHONDONTWRITEBYTECODE=1

case ${HOST:-} in *:*) bind="[$host]:$PORT" ;; *) bind="$host:$PORT" ;; esac
tls=
if [ -n "${TLS_CERT:-}" ] || [ -n "${TLS_KEY:-}" ]; then
	: "${TLS_CERT:?TLS_KEY is set but TLS_CERT is not}" "${TLS_KEY:?TLS_CERT is set but TLS_KEY is not}"
	tls=1
fi
echo "$("$0" -version "$server") on $bind, $workers workers${tls:+, TLS}" >&2

case $server in
hypercorn)
	# uvloop, as for uvicorn below, so the two columns differ in the
	# protocol server only. No access log (hypercorn's default): the
	# column measures the server, not a log line per request. Open
	# connections get 1 s to finish after SIGTERM, as the Go servers'
	# (hypercorn's default is 3 s). Every other setting is hypercorn's
	# default: keep-alive timeout 5 s, listen backlog 100, and on h2 100
	# concurrent streams with a 64 KiB window each.
	set -- --bind "$bind" --workers "$workers" --worker-class uvloop --graceful-timeout 1
	if [ -n "$tls" ]; then
		set -- "$@" --certfile "$TLS_CERT" --keyfile "$TLS_KEY"
	fi
	exec hypercorn "$@" app:app
	;;
uvicorn)
	# uvloop and httptools: what "pip install uvicorn[standard]", the
	# way uvicorn is deployed, would choose on its own. The access log is
	# on by default in uvicorn: off here, as for every column. Debian
	# installs no uvicorn command, hence python3 -m. Every other setting
	# is uvicorn's default (keep-alive timeout 5 s, listen backlog 2048).
	set -- --host "$host" --port "$PORT" --workers "$workers" \
		--loop uvloop --http httptools --no-access-log
	if [ -n "$tls" ]; then
		set -- "$@" --ssl-certfile "$TLS_CERT" --ssl-keyfile "$TLS_KEY"
	fi
	exec python3 -m uvicorn "$@" app:app
	;;
esac
