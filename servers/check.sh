#!/bin/sh
# check.sh URL [h1|h2c|h1s|h2 [CAFILE]] - check one running server against the
# matrix contract.
#
# GET / must answer 200 "Hello, World!" as text/plain, GET /json 200
# {"message":"Hello, World!"} as application/json, and POST /upload 200 with
# the body's length in decimal (bodies of 0, 1, 4096, 65535, 65536, 65537 and
# 1048576 bytes, each with Content-Length as the load generator sends them).
# On h1 a chunked body is also tried and reported, but never fails. Every
# answer must come over the protocol asked for: HTTP/1.1 for h1, HTTP/2 with
# prior knowledge for h2c, HTTP/1.1 over TLS for h1s, HTTP/2 negotiated by
# ALPN for h2 (the URL is https://). Over TLS the server's chain is verified
# against CAFILE (the system's roots without it), never skipped. Prints one
# line per check; exits 1 if any failed.
set -u

usage() { echo "usage: $0 URL [h1|h2c|h1s|h2 [CAFILE]]   (e.g. $0 http://127.0.0.1:8080 h2c)" >&2; exit 2; }
if [ $# -lt 1 ] || [ $# -gt 3 ]; then usage; fi
base=${1%/}
proto=${2:-h1}
case $proto in
h1) popt=--http1.1 want_ver=1.1 ;;
h2c) popt=--http2-prior-knowledge want_ver=2 ;;
h1s) popt=--http1.1 want_ver=1.1 ;;
h2) popt=--http2 want_ver=2 ;; # ALPN offers h2 and http/1.1: a server that picks http/1.1 fails
*) usage ;;
esac
case $proto in
h1s | h2) want_scheme=https ;;
*) want_scheme=http ;;
esac
[ "${base%%://*}" = "$want_scheme" ] || { echo "$0: $proto needs a $want_scheme:// URL" >&2; exit 2; }
ca=${3:-}
command -v curl >/dev/null || { echo "$0: curl not found" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
failed=0

# expect NAME WANT_BODY WANT_TYPE CURL_ARGS...: run curl, compare status,
# protocol version, content type prefix and the exact body.
expect() {
	name=$1 want_body=$2 want_type=$3
	shift 3
	meta=$(curl -sS "$popt" ${ca:+--cacert "$ca"} --max-time 10 -o "$tmp/body" \
		-w '%{http_code} %{http_version} %{content_type}' "$@" 2>"$tmp/err")
	rc=$?
	body=$(cat "$tmp/body" 2>/dev/null)
	code=${meta%% *} rest=${meta#* }
	ver=${rest%% *} ctype=${rest#* }
	why=
	if [ $rc -ne 0 ]; then
		why="curl exit $rc: $(head -c 200 "$tmp/err")"
	elif [ "$code" != 200 ]; then
		why="status $code"
	elif [ "$ver" != "$want_ver" ]; then
		why="answered over HTTP/$ver, want HTTP/$want_ver"
	elif [ -n "$want_type" ] && [ "${ctype#"$want_type"}" = "$ctype" ]; then
		why="content type '$ctype', want $want_type"
	elif [ "$body" != "$want_body" ] || [ "$(wc -c <"$tmp/body")" -ne ${#want_body} ]; then
		why="body '$(head -c 80 "$tmp/body")', want '$want_body'"
	fi
	if [ -z "$why" ]; then
		echo "ok   $proto $name"
	else
		echo "FAIL $proto $name: $why"
		failed=1
	fi
}

expect "GET /" 'Hello, World!' text/plain "$base/"
expect "GET /json" '{"message":"Hello, World!"}' application/json "$base/json"
for n in 0 1 4096 65535 65536 65537 1048576; do
	head -c "$n" /dev/zero >"$tmp/up"
	expect "POST /upload $n B" "$n" "" -H 'Content-Type: application/octet-stream' \
		--data-binary "@$tmp/up" "$base/upload"
done
if [ "$proto" = h1 ] || [ "$proto" = h1s ]; then
	# Beyond the contract (the load generator always sends Content-Length):
	# a chunked body. Reported, never failed.
	head -c 65537 /dev/zero >"$tmp/up"
	expect "POST /upload 65537 B chunked" 65537 "" -H 'Content-Type: application/octet-stream' \
		-H 'Transfer-Encoding: chunked' --data-binary "@$tmp/up" "$base/upload" |
		sed 's/^FAIL/note/; s/$/ (not part of the contract)/'
fi
exit $failed
