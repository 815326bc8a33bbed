#!/usr/bin/env bash
# nightly.sh [MATRIX-RUN-FLAGS...] - the unattended nightly run of the matrix.
#
#   1. builds bin/matrix and, unless the servers run as processes, the Debian
#      base image (scripts/debian-base.sh), then `matrix check`, which builds
#      every server's image and checks it against the contract;
#   2. runs the profile $PROFILE (nightly) into $RESULTS (results), or resumes
#      the newest run of this commit and profile that did not finish
#      (killed, interrupted, machine rebooted) instead of starting over;
#   3. rewrites the run's report.html and summary.md against the base run:
#      the newest finished run of the same profile made at an older commit
#      (an ancestor of HEAD); prints `matrix diff BASE HEAD`, then every
#      regression and new dnf on its own line.
#
# Extra arguments go to `matrix run` and `matrix check`: selection and
# runtime flags (--server, --scenario, --cell, --runtime, --matrix, --budget,
# --procs, --target-host). A new run gets --profile "$PROFILE" --out
# "$RESULTS"; a resumed run keeps its own profile.
#
# While it works it keeps a heartbeat, $HEARTBEAT, a JSON file rewritten at
# every step and by `matrix run --heartbeat` at the start and end of every
# repeat: {pid, run, state, time, last, current, ...}. `nightly.sh
# --watchdog SECONDS` reads it and exits 1 when the run is stalled (no beat
# for SECONDS while not done, or its process is gone). docs/nightly.md.
#
# Environment: PROFILE (nightly), RESULTS (results), HEARTBEAT
# ($RESULTS/nightly.heartbeat.json), THRESHOLD (5, percent: the smallest
# change `matrix diff` calls a regression), MATRIX_BIN (a matrix binary to
# use instead of building bin/matrix).
#
# Exit status: 0 no regression and no new dnf; 1 regressions or new dnf
# cells (with no base run, every dnf cell is new); 2 the run could not be
# made (usage, lock held, image build failed); 130 interrupted (the next
# invocation resumes); another status is that of `matrix run` when it died.
#
# Needs git, jq and flock (util-linux); debian-base.sh needs root and
# debootstrap.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2

PROFILE=${PROFILE:-nightly}
RESULTS=${RESULTS:-results}
HEARTBEAT=${HEARTBEAT:-$RESULTS/nightly.heartbeat.json}
THRESHOLD=${THRESHOLD:-5}
MATRIX_BIN=${MATRIX_BIN:-}

run_dir=
console=

say() { printf 'nightly: %s\n' "$*"; }

# beat STATE writes the heartbeat for the script's own steps; `matrix run`
# writes it while cells run. The file is replaced by a rename, so a reader
# never sees half of it.
beat() {
	mkdir -p "$(dirname "$HEARTBEAT")" || return 0
	jq -n --arg state "$1" --arg run "$run_dir" --argjson pid $$ \
		'{pid: $pid, run: $run, state: $state, time: (now | todate)}' >"$HEARTBEAT.tmp.$$" &&
		mv -f "$HEARTBEAT.tmp.$$" "$HEARTBEAT"
}

die() {
	echo "nightly: $*" >&2
	beat failed
	exit 2
}

# shellcheck disable=SC2317 # called by the trap
cleanup() { if [ -n "$console" ]; then rm -f "$console"; fi; }
trap cleanup EXIT

# watchdog MAXAGE: print the heartbeat; exit 1 when the run it describes
# is stalled: not done, and either silent for more than MAXAGE seconds or
# its process is gone.
watchdog() {
	local max=$1 state pid t age
	[ -f "$HEARTBEAT" ] || { echo "nightly watchdog: no heartbeat at $HEARTBEAT"; exit 0; }
	state=$(jq -r .state "$HEARTBEAT") || exit 2
	pid=$(jq -r .pid "$HEARTBEAT")
	t=$(jq -r '.time | sub("\\.[0-9]+"; "") | fromdate' "$HEARTBEAT") || exit 2
	age=$(($(date +%s) - t))
	echo "nightly watchdog: state $state, pid $pid, last beat ${age}s ago: $(jq -c '{run, last, current}' "$HEARTBEAT")"
	case $state in
	passed | regressed | failed | interrupted | finished) exit 0 ;;
	esac
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "nightly watchdog: STALLED: process $pid is gone while the state is $state"
		exit 1
	fi
	if [ "$age" -gt "$max" ]; then
		echo "nightly watchdog: STALLED: no beat for ${age}s (limit ${max}s)"
		exit 1
	fi
	exit 0
}

if [ "${1:-}" = --watchdog ]; then
	if [ $# != 2 ] || ! [ "$2" -gt 0 ] 2>/dev/null; then
		echo "usage: $0 --watchdog SECONDS" >&2
		exit 2
	fi
	watchdog "$2"
fi

for tool in git jq flock setsid; do
	command -v "$tool" >/dev/null || { echo "nightly: needs $tool (apt-get install -y ${tool/setsid/util-linux})" >&2; exit 2; }
done
if [ -n "${MATRIX_SHARD:-}${JOB_COMPLETION_INDEX:-}" ]; then
	echo "nightly: runs one machine's matrix; unset MATRIX_SHARD/JOB_COMPLETION_INDEX (shards: matrix run --shard, then matrix merge)" >&2
	exit 2
fi

mkdir -p "$RESULTS" || exit 2
# One nightly at a time per results directory. `matrix run` inherits the
# lock, so a run whose script was killed keeps it until the run ends, and
# no second run resumes the same directory under it.
exec 9>"$RESULTS/.nightly.lock"
flock -n 9 || { echo "nightly: another nightly run holds $RESULTS/.nightly.lock" >&2; exit 2; }

head=$(git rev-parse --verify HEAD) || die "not in a git checkout with a commit"
say "commit $head$(git diff --quiet HEAD 2>/dev/null || echo ' (tree has uncommitted changes)'), profile $PROFILE, results $RESULTS"

if [ -z "$MATRIX_BIN" ]; then
	beat build
	go build -o bin/matrix ./cmd/matrix || die "building bin/matrix failed"
	MATRIX_BIN=bin/matrix
fi

# runtime_of prints the --runtime among the arguments (auto by default).
runtime_of() {
	local rt=auto prev=
	for a in "$@"; do
		case $prev in --runtime | -runtime) rt=$a ;; esac
		case $a in --runtime=* | -runtime=*) rt=${a#*=} ;; esac
		prev=$a
	done
	echo "$rt"
}

# resumable prints the newest run of this commit and profile that did not
# finish (state running: the runner died; interrupted: it was stopped).
resumable() {
	local m
	for m in "$RESULTS"/*/manifest.json; do
		[ -f "$m" ] || continue
		jq -r --arg c "$head" --arg p "$PROFILE" --arg d "$(dirname "$m")" \
			'select((.state == "running" or .state == "interrupted") and .git.commit == $c
				and .profile.name == $p and .shard == null) | "\(.created)\t\($d)"' "$m" 2>/dev/null
	done | sort -r | head -n 1 | cut -f 2
}

# base_run prints the newest finished run of the profile made at an older
# commit: an ancestor of HEAD other than HEAD itself. Shards are parts of a
# run and never a base; a merged run is.
base_run() {
	local m commit dir
	for m in "$RESULTS"/*/manifest.json; do
		[ -f "$m" ] || continue
		jq -r --arg p "$PROFILE" --arg d "$(dirname "$m")" \
			'select(.state == "finished" and .profile.name == $p and .shard == null and .git.commit != "")
				| "\(.created)\t\(.git.commit)\t\($d)"' "$m" 2>/dev/null
	done | sort -r | while IFS=$'\t' read -r _ commit dir; do
		if [ "$commit" != "$head" ] && git merge-base --is-ancestor "$commit" HEAD 2>/dev/null; then
			echo "$dir"
			break
		fi
	done
}

# run_matrix ARGS... runs `matrix ARGS` in its own session, so that a
# signal reaches it once, from this script: a terminal's ^C goes to the
# script, which passes it on; a second one makes matrix exit at once.
# Its output is copied to $console. Returns matrix's exit status.
run_matrix() {
	local pid rc
	setsid -w "$MATRIX_BIN" "$@" > >(tee -a "$console") 2>&1 &
	pid=$!
	trap 'kill -INT "$pid" 2>/dev/null' INT
	trap 'kill -TERM "$pid" 2>/dev/null' TERM
	rc=0
	wait "$pid" || rc=$?
	# A trapped signal ends wait early; wait again for matrix itself.
	while kill -0 "$pid" 2>/dev/null; do
		rc=0
		wait "$pid" || rc=$?
	done
	trap - INT TERM
	return "$rc"
}

console=$(mktemp) || exit 2
rt=$(runtime_of "$@")
resume=$(resumable)

if [ -n "$resume" ]; then
	run_dir=$resume
	say "resuming $resume ($(jq -r .state "$resume/manifest.json") at this commit)"
else
	if [ "$rt" != process ] && docker version >/dev/null 2>&1; then
		beat images
		say "building the Debian base image (scripts/debian-base.sh)"
		scripts/debian-base.sh || die "scripts/debian-base.sh failed"
	fi
	beat check
	say "matrix check: building every server and checking it against the contract"
	check_rc=0
	run_matrix check --profile "$PROFILE" "$@" || check_rc=$?
	case $check_rc in
	0) ;;
	1) say "some servers do not conform; their cells will be dnf (nonconformant)" ;;
	*) die "matrix check failed (exit $check_rc)" ;;
	esac
fi

beat starting
rc=0
if [ -n "$resume" ]; then
	run_matrix run --resume "$resume" --heartbeat "$HEARTBEAT" "$@" || rc=$?
else
	run_matrix run --profile "$PROFILE" --out "$RESULTS" --heartbeat "$HEARTBEAT" "$@" || rc=$?
	run_dir=$(sed -n 's/^run \(.*\): [0-9]* cells, profile .*$/\1/p' "$console" | tail -n 1)
fi

case $rc in
0 | 1) ;;
2) die "matrix run refused the run (exit 2)" ;;
130)
	beat interrupted
	say "interrupted; run this script again to resume ${run_dir:-the run}"
	exit 130
	;;
*)
	beat failed
	say "matrix run died (exit $rc); run this script again to resume ${run_dir:-the run}"
	exit "$rc"
	;;
esac
if [ -z "$run_dir" ] || [ ! -f "$run_dir/manifest.json" ]; then
	die "cannot tell which run directory matrix run wrote"
fi

beat compare
base=$(base_run)
if [ -z "$base" ]; then
	say "no finished $PROFILE run of an older commit under $RESULTS: nothing to compare with"
	dnf=$(jq -r '.cells[] | select(.status == "dnf") | "NEW DNF  \(.id)  \(.reason // "")"' "$run_dir/manifest.json")
	if [ -n "$dnf" ]; then
		say "dnf cells (new, as there is no base):"
		printf '%s\n' "$dnf"
		beat regressed
		exit 1
	fi
	say "no dnf cell; report: $run_dir/report.html"
	beat passed
	exit 0
fi

say "base: $base ($(jq -r '.git.commit[:12]' "$base/manifest.json")), head: $run_dir"
"$MATRIX_BIN" report "$run_dir" --base "$base" --results "$RESULTS" >/dev/null ||
	say "warning: rewriting the report against the base failed"
diff_rc=0
"$MATRIX_BIN" diff "$base" "$run_dir" --threshold "$THRESHOLD" --results "$RESULTS" || diff_rc=$?
[ "$diff_rc" -le 1 ] || die "matrix diff failed (exit $diff_rc)"

json=$("$MATRIX_BIN" diff "$base" "$run_dir" --threshold "$THRESHOLD" --results "$RESULTS" --format json) || true
list=$(jq -r '
	def pct: if . == null then "" else " (\(if . >= 0 then "+" else "" end)\(. * 1000 | round / 10)%)" end;
	def ms: "\(. / 10000 | round / 100)ms";
	.cells[] | select(.regression) |
	if .kind == "new-dnf" then
		"NEW DNF    \(.id)  \(.base.status | if . == "" then "-" else . end) -> dnf  \(.head.reason // "")"
	else
		"REGRESSED  \(.id)" +
		(if .rps != null then "  req/s \(.rps.base | round) -> \(.rps.head | round)\(.rps.change | pct)" else "" end) +
		(if .p99_ns != null then "  p99 \(.p99_ns.base | ms) -> \(.p99_ns.head | ms)\(.p99_ns.change | pct)" else "" end)
	end' <<<"$json")
say "report: $run_dir/report.html"
if [ -n "$list" ]; then
	say "$(grep -c . <<<"$list") regressed or new dnf cell(s) against $base:"
	printf '%s\n' "$list"
	beat regressed
	exit 1
fi
say "no regression and no new dnf against $base"
beat passed
exit 0
