#!/bin/sh
# run.sh - run Tomcat (Debian's tomcat10) for the matrix in the foreground on
# $PORT: HTTP/1.1 and h2c (prior knowledge) on the same port, or, when
# $TLS_CERT and $TLS_KEY name the PEM certificate chain and key, TLS on $PORT
# offering h2 and http/1.1 by ALPN. $HOST (default: every interface) and
# $JAVA_HEAP (default 256m) are optional. Needs a JRE, Debian's
# tomcat10-common and the compiled servlet in webapp/WEB-INF/classes (the
# Dockerfile builds it). run.sh -version prints "tomcat <version>".
set -eu

home=/usr/share/tomcat10
here=$(cd "$(dirname "$0")" && pwd)
command -v java >/dev/null || { echo "$0: java not found (apt-get install default-jre-headless)" >&2; exit 127; }
[ -f "$home/bin/bootstrap.jar" ] || { echo "$0: $home/bin/bootstrap.jar not found (apt-get install tomcat10-common)" >&2; exit 127; }

case ${1:-} in
-version | --version)
	# A quick JVM start: no JIT tier past C1, a small heap.
	v=$(java -XX:TieredStopAtLevel=1 -Xmx32m -cp "$home/lib/catalina.jar" org.apache.catalina.util.ServerInfo |
		sed -n 's|^Server number: *\([0-9][0-9.]*[0-9]\).*|\1|p')
	# ServerInfo prints a fourth component (10.1.60.0): the release is three.
	echo "tomcat ${v%.0}"
	exit 0 ;;
esac
: "${PORT:?PORT is not set}"
[ -d "$here/webapp/WEB-INF/classes" ] || { echo "$0: $here/webapp/WEB-INF/classes is missing (build the image: servers/tomcat/Dockerfile)" >&2; exit 127; }
host=${HOST:-0.0.0.0}

# Each run renders its CATALINA_BASE into its own directory. A directory
# whose owner is gone is left from an earlier run: remove it.
tmp=${TMPDIR:-/tmp}
for d in "$tmp"/matrix-tomcat.*; do
	[ -d "$d" ] || continue
	owner=$(cat "$d/owner" 2>/dev/null || true)
	if [ -z "$owner" ] || ! kill -0 "$owner" 2>/dev/null; then rm -rf "$d"; fi
done
dir=$(mktemp -d "$tmp/matrix-tomcat.XXXXXX")
echo $$ >"$dir/owner" # exec keeps the PID: the owner is the JVM itself
mkdir "$dir/conf" "$dir/logs" "$dir/temp" "$dir/webapps" "$dir/work"

tls_attrs= protos="h1, h2c"
if [ -n "${TLS_CERT:-}" ]; then
	: "${TLS_KEY:?TLS_CERT is set but TLS_KEY is not}"
	# The paths go into XML attributes and a sed replacement.
	case $TLS_CERT$TLS_KEY in *[\"\&\<\>\|]*)
		echo "$0: TLS_CERT or TLS_KEY holds one of \" & < > |" >&2; exit 2 ;;
	esac
	# Tomcat reads the PEM files itself (JSSE, no keystore copy).
	tls_attrs=' SSLEnabled="true" scheme="https" secure="true"'
	protos="h1s, h2"
fi
sed -e "s|@PORT@|$PORT|" -e "s|@HOST@|$host|" -e "s|@DIR@|$dir|g" -e "s|@HERE@|$here|g" \
	-e "s|@TLS_ATTRS@|$tls_attrs|" -e "s|@TLS_CERT@|${TLS_CERT:-}|" -e "s|@TLS_KEY@|${TLS_KEY:-}|" \
	"$here/server.xml.tmpl" >"$dir/conf/server.xml"
if [ -n "${TLS_CERT:-}" ]; then
	sed -i -e '/^<!--@TLS@$/d' -e '/^@TLS@-->$/d' "$dir/conf/server.xml"
fi
echo "$("$0" -version) ($protos) on $host:$PORT, at most 200 threads" >&2

# The heap is fixed (-Xms = -Xmx) so that growing it is not measured: 256 MiB
# holds the contract's bodies (at most 1 MiB) for every connection of every
# row with room to spare; the JVM's default would be a quarter of the
# machine's memory. The collector is the JVM's default for a server-class
# machine (G1 on 2 CPUs and this much memory), as a production deployment
# keeps it. -XX:+ExitOnOutOfMemoryError: a server out of memory exits
# rather than serving errors that the matrix would time. The --add-opens
# are catalina.sh's for Java 9 and later (Tomcat's leak prevention).
# jarsToSkip: no jar of Tomcat's own lib/ is scanned at startup.
heap=${JAVA_HEAP:-256m}
exec java -Xms"$heap" -Xmx"$heap" -XX:+ExitOnOutOfMemoryError \
	--add-opens=java.base/java.lang=ALL-UNNAMED \
	--add-opens=java.base/java.io=ALL-UNNAMED \
	--add-opens=java.base/java.util=ALL-UNNAMED \
	--add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
	--add-opens=java.rmi/sun.rmi.transport=ALL-UNNAMED \
	-Dtomcat.util.scan.StandardJarScanFilter.jarsToSkip='*.jar' \
	-Dcatalina.home="$home" -Dcatalina.base="$dir" -Djava.io.tmpdir="$dir/temp" \
	-cp "$home/bin/bootstrap.jar:$home/bin/tomcat-juli.jar" \
	org.apache.catalina.startup.Bootstrap start
