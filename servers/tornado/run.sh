#!/bin/sh
# run.sh - run Tornado (server.py) for the matrix in the foreground on
# $PORT, HTTP/1.1 only, one process per CPU this process may run on
# ($TORNADO_WORKERS overrides it). $HOST (default: every interface) is
# optional. run.sh -version prints "tornado <version>".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# have: whether the modules named exist, found without importing them (an
# import of FastAPI alone costs about a second of CPU).
have='import sys, importlib.util; sys.exit(not all(importlib.util.find_spec(m) for m in sys.argv[1:]))'
python3 -c "$have" tornado || { echo "$0: tornado not found (apt-get install python3-tornado)" >&2; exit 127; }
# No bytecode is written next to server.py (the image's files belong to
# root; the server runs as nobody). Every Tornado setting is its default
# (no idle timeout on kept-alive connections, listen backlog 128).
export PYTHONDONTWRITEBYTECODE=1
exec python3 "$here/server.py" "$@"
