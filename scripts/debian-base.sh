#!/bin/sh
# debian-base.sh [--check] - build the Debian base image of the matrix's
# packaged servers, offline from the machine's own Debian mirror.
#
# The engine here can pull nothing, so the image is made from packages:
# debootstrap (minbase) of bookworm with the servers' packages into a
# temporary directory, apt caches removed, then "docker import". The image is
# tagged matrix/debian-base:bookworm and matrix/debian-base:bookworm-<hash>,
# where <hash> covers the suite, the variant, the package list and this
# recipe's version; when that tag exists already nothing is built.
#
# The mirror is read from the machine's apt configuration
# (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list and *.sources): the
# first "deb" source of the suite. No mirror is written in this repository.
#
# --check then builds every Debian-packaged server (servers/nginx, h2o,
# apache2, lighttpd, node-http, node-http2) on the base image, runs
# each with host networking, no capabilities and PORT, checks the contract
# on every protocol it serves with
# servers/check.sh, and removes the containers and images it made.
#
# Needs root, debootstrap and a Docker engine. Idempotent.
set -eu

SUITE=bookworm
VARIANT=minbase
REPO=matrix/debian-base
# The packages of every Debian-packaged column (see servers/README.md).
PACKAGES="ca-certificates nginx-light libnginx-mod-http-js h2o apache2 lighttpd lighttpd-modules-lua nodejs"
# Bump when the steps below change what ends up in the image.
RECIPE=2

check=0
for arg in "$@"; do
	case $arg in
	--check) check=1 ;;
	*) echo "usage: $0 [--check]" >&2; exit 2 ;;
	esac
done

die() { echo "debian-base: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap needs it)"
command -v docker >/dev/null || die "docker CLI not found"
docker version >/dev/null 2>&1 || die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock})"

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

# shellcheck disable=SC2086 # PACKAGES is a word list
hash=$({ printf '%s\n' "recipe=$RECIPE" "suite=$SUITE" "variant=$VARIANT"; printf '%s\n' $PACKAGES | sort; } |
	sha256sum | cut -c1-12)
tag=$REPO:$SUITE-$hash

# mirror prints the URI of the first enabled "deb" source for suite $1 in
# the apt configuration, in the order apt reads it.
mirror() {
	files=
	[ -f /etc/apt/sources.list ] && files=/etc/apt/sources.list
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && files="$files $f"
	done
	[ -n "$files" ] || return 0
	# shellcheck disable=SC2086 # the file names hold no spaces (apt's rules)
	awk -v suite="$1" '
	function flush() {
		if (!found && enabled != "no" && (" " types " ") ~ / deb / && (" " suites " ") ~ (" " suite " ")) {
			split(uris, u, " ")
			if (u[1] != "") { print u[1]; found = 1 }
		}
		types = uris = suites = enabled = key = ""
	}
	FNR == 1 { flush() }
	FILENAME ~ /\.sources$/ {
		if ($0 ~ /^[ \t]*#/) next
		if ($0 ~ /^[ \t]*$/) { flush(); next }
		if ($0 ~ /^[ \t]/) { val = $0 }            # continuation line
		else { key = tolower($0); sub(/:.*/, "", key); val = $0; sub(/^[^:]*:/, "", val) }
		gsub(/^[ \t]+|[ \t]+$/, "", val)
		if (key == "types") types = types " " val
		else if (key == "uris") uris = uris " " val
		else if (key == "suites") suites = suites " " val
		else if (key == "enabled") enabled = tolower(val)
		next
	}
	{   # one-line format: deb [options] uri suite component...
		sub(/#.*/, "")
		if ($1 != "deb") next
		i = 2
		if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
		if (!found && $(i + 1) == suite) { print $i; found = 1 }
	}
	END { flush() }' $files
}

# build_base makes the image unless its tag exists.
build_base() {
	if docker image inspect "$tag" >/dev/null 2>&1; then
		docker tag "$tag" "$REPO:$SUITE"
		echo "debian-base: reused $tag (package list unchanged), tagged $REPO:$SUITE"
		return
	fi
	command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install -y debootstrap)"
	url=$(mirror "$SUITE")
	[ -n "$url" ] || die "no deb source for $SUITE in /etc/apt/sources.list or /etc/apt/sources.list.d"
	echo "debian-base: debootstrap $SUITE ($VARIANT) from the apt mirror $url"
	echo "debian-base: packages: $PACKAGES"

	root=$(mktemp -d "${TMPDIR:-/tmp}/debian-base.XXXXXX")
	trap cleanup_root EXIT INT TERM
	start=$(date +%s)
	if ! debootstrap --variant="$VARIANT" --include="$(echo "$PACKAGES" | tr ' ' ,)" \
		"$SUITE" "$root" "$url" >"$root.log" 2>&1; then
		tail -n 30 "$root.log" >&2
		die "debootstrap failed (log above, full log in $root.log)"
	fi
	took=$(($(date +%s) - start))
	echo "debian-base: debootstrap took ${took}s"

	# No service starts, neither in the chroot on this machine during the
	# upgrade below (it shares the host's network) nor later in a container.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	upgrade_root

	# apt's caches are useless without apt-get update: drop them.
	rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/* \
		"$root"/usr/share/man/* "$root"/usr/share/info/*
	mkdir -p "$root/etc/matrix"
	dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package} ${Version}\n' \
		>"$root/etc/matrix/packages.txt"

	tar -C "$root" --numeric-owner -cf - . |
		docker import \
			-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			-c 'CMD ["/bin/sh"]' \
			-m "debootstrap $SUITE $VARIANT: $PACKAGES" - "$tag" >/dev/null
	docker tag "$tag" "$REPO:$SUITE"
	rm -f "$root.log"
	cleanup_root
	trap - EXIT INT TERM
	# Older recipes' images: untag them (an image still used by another
	# image stays, docker refuses).
	for old in $(docker images --format '{{.Repository}}:{{.Tag}}' "$REPO" | grep ":$SUITE-" | grep -vx "$tag"); do
		docker rmi "$old" >/dev/null 2>&1 && echo "debian-base: removed the older $old"
	done
	size=$(docker image inspect -f '{{.Size}}' "$tag")
	echo "debian-base: built $tag and $REPO:$SUITE ($((size / 1048576)) MiB, debootstrap ${took}s)"
}

# upgrade_root brings the packages up to the machine's own updates and
# security suites, when its apt configuration has them, so the image runs the
# same patch level as the host's packages under the process runtime.
# debootstrap reads one suite only.
upgrade_root() {
	list="$root/etc/apt/sources.list.d/matrix-updates.list"
	: >"$list"
	for s in "$SUITE-updates" "$SUITE-security"; do
		u=$(mirror "$s")
		[ -z "$u" ] || echo "deb $u $s main" >>"$list"
	done
	if [ ! -s "$list" ]; then
		rm -f "$list"
		echo "debian-base: no $SUITE-updates or $SUITE-security source; the image keeps $SUITE's point release"
		return
	fi
	start=$(date +%s)
	if ! { chroot "$root" apt-get -q update &&
		chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -q -y \
			-o Dpkg::Options::=--force-confold upgrade; } >"$root.log" 2>&1; then
		tail -n 30 "$root.log" >&2
		die "apt-get upgrade in the new root failed (log above)"
	fi
	echo "debian-base: upgraded from $(awk '{print $3}' "$list" | tr "\n" " ")in $(($(date +%s) - start))s"
}

# cleanup_root removes the debootstrap directory; anything debootstrap left
# mounted in it (proc, sys) is unmounted first, and rm never crosses into
# another file system.
cleanup_root() {
	[ -n "${root:-}" ] && [ -d "$root" ] || return 0
	awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r m; do umount -l "$m" || true; done
	rm -rf --one-file-system "$root"
	root=
}

# free_port prints a TCP port nothing listens on.
free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 10000))
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

# check_server NAME DIR PROTO [CMD...]: build DIR, run it with host
# networking on a free port, check the contract on PROTO.
check_server() {
	name=$1 dir=$2 proto=$3
	shift 3
	img=matrix-check/$name:$hash
	out=$(docker build -q -t "$img" "$dir" 2>&1) || { echo "$out" >&2; die "docker build $dir failed"; }
	port=$(free_port)
	ctr=matrix-check-$name-$proto-$$
	docker run -d --rm --name "$ctr" --network host --cap-drop ALL \
		--security-opt no-new-privileges -e PORT="$port" "$img" "$@" >/dev/null
	case $proto in h2c) copt=--http2-prior-knowledge ;; *) copt=--http1.1 ;; esac
	i=0
	until curl -s "$copt" -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; do
		i=$((i + 1))
		if [ $i -ge 50 ]; then
			docker logs "$ctr" 2>&1 | tail -n 20 >&2
			docker rm -f "$ctr" >/dev/null 2>&1 || true
			echo "FAIL $name $proto: not ready after 5s"
			return 1
		fi
		sleep 0.1
	done
	rc=0
	"$top/servers/check.sh" "http://127.0.0.1:$port" "$proto" || rc=1
	t0=$(date +%s%N)
	docker stop -t 5 "$ctr" >/dev/null
	echo "$name $proto: stopped in $((($(date +%s%N) - t0) / 1000000)) ms"
	return $rc
}

build_base
[ $check = 1 ] || exit 0

trap 'docker ps -aq --filter "name=matrix-check-.*-$$" | xargs -r docker rm -f >/dev/null' EXIT
failed=0
check_server nginx "$top/servers/nginx" h1 || failed=1
check_server nginx "$top/servers/nginx" h2c ./servers/nginx/run.sh h2c || failed=1
for s in h2o apache2 lighttpd; do
	check_server "$s" "$top/servers/$s" h1 || failed=1
	check_server "$s" "$top/servers/$s" h2c || failed=1
done
check_server node-http "$top/servers/node-http" h1 || failed=1
check_server node-http2 "$top/servers/node-http2" h2c || failed=1
for s in nginx h2o apache2 lighttpd node-http node-http2; do
	docker rmi "matrix-check/$s:$hash" >/dev/null 2>&1 || true
done
[ $failed = 0 ] || die "contract check failed"
echo "debian-base: every Debian-packaged server passes the contract in its image"
