#!/bin/sh
# run.sh - run embedded Jetty for the matrix in the foreground on $PORT:
# HTTP/1.1 and h2c (prior knowledge) on the same port, or, when $TLS_CERT and
# $TLS_KEY name the PEM certificate chain and key, TLS on $PORT offering h2
# and http/1.1 by ALPN. $HOST (default: every interface) and $JAVA_HEAP
# (default 256m) are optional. Needs a JRE, Debian's libjetty9-java and the
# compiled servlet in classes/ (the Dockerfile builds it).
# run.sh -version prints "jetty <version>".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
command -v java >/dev/null || { echo "$0: java not found (apt-get install default-jre-headless)" >&2; exit 127; }
[ -d "$here/classes" ] || { echo "$0: $here/classes is missing (build the image: servers/jetty/Dockerfile)" >&2; exit 127; }
cp=$here/classes:$(cat "$here/classpath")

case ${1:-} in
-version | --version)
	# A quick JVM start: no JIT tier past C1, a small heap.
	exec java -XX:TieredStopAtLevel=1 -Xmx32m -cp "$cp" matrix.jetty.Main -version ;;
esac
: "${PORT:?PORT is not set}"

# The heap is fixed (-Xms = -Xmx) so that growing it is not measured: 256 MiB
# holds the contract's bodies (at most 1 MiB) for every connection of every
# row with room to spare; the JVM's default would be a quarter of the
# machine's memory. The collector is the JVM's default for a server-class
# machine (G1 on 2 CPUs and this much memory), as a production deployment
# keeps it. -XX:+ExitOnOutOfMemoryError: a server out of memory exits
# rather than serving errors that the matrix would time.
heap=${JAVA_HEAP:-256m}
exec java -Xms"$heap" -Xmx"$heap" -XX:+ExitOnOutOfMemoryError -cp "$cp" matrix.jetty.Main
