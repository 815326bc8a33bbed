#!/bin/sh
# run.sh - run aiohttp's web server (app.py) for the matrix in the
# foreground on $PORT, HTTP/1.1 only, the way aiohttp's docs deploy it:
# gunicorn's arbiter with aiohttp's uvloop worker class. $HOST (default:
# every interface) and $AIOHTTP_WORKERS (default: the CPUs this process may
# run on) are optional. run.sh -version prints "aiohttp <version>".
set -eu

case ${1:-} in
-version | --version) echo "aiohttp $(python3 -c 'from importlib.metadata import version; print(version("aiohttp"))')"; exit 0 ;;
esac
: "${PORT:?PORT is not set}"
here=$(cd "$(dirname "$0")" && pwd)
# have: whether the modules named exist, found without importing them (an
# import of FastAPI alone costs about a second of CPU).
have='import sys, importlib.util; sys.exit(not all(importlib.util.find_spec(m) for m in sys.argv[1:]))'
command -v gunicorn >/dev/null && python3 -c "$have" aiohttp uvloop ||
	{ echo "$0: gunicorn, aiohttp or uvloop not found (apt-get install gunicorn python3-aiohttp python3-uvloop)" >&2; exit 127; }

# One worker process per CPU: each runs one event loop, which uses one
# core at most (Python's GIL).
workers=${AIOHTTP_WORKERS:-$(nproc)}
host=${HOST:-0.0.0.0}
case $host in *:*) bind="[$host]:$PORT" ;; *) bind="$host:$PORT" ;; esac

# The app is imported from this directory; no bytecode is written next to
# it (the image's files belong to root, the server runs as nobody).
# Workers get 1 s after SIGTERM to finish, as the Go servers (gunicorn's
# default is 30 s). No access log (gunicorn's default). The worker takes
# gunicorn's keep-alive timeout, 2 s (aiohttp alone would keep 75 s), and
# listen backlog, 2048.
export PYTHONDONTWRITEBYTECODE=1
echo "$("$0" -version) on $bind, $workers workers" >&2
exec gunicorn --bind "$bind" --workers "$workers" --worker-class aiohttp.GunicornUVLoopWebWorker \
	--graceful-timeout 1 --pythonpath "$here" app:app
