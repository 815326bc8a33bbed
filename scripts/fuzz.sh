#!/usr/bin/env bash
# Runs every fuzz target of the main module, one after another, for
# FUZZTIME each (default 10s), and prints a line per target: its package,
# how long it ran and how many inputs it tried.
#
#   FUZZTIME=10m scripts/fuzz.sh            # every target, ten minutes each
#   FUZZTIME=30s scripts/fuzz.sh FuzzH2Conn # only the targets named
#
# FUZZPARALLEL (default 1) is the number of fuzzing workers per target: the
# machine is shared, so one core by default. FUZZMINIMIZETIME (default 5s)
# bounds the minimisation of each new interesting input.
#
# An input that fails is moved out of the package's testdata/fuzz (where go
# test writes it, and where every later `go test` would fail on it) to
# FUZZ_FINDINGS (default $TMPDIR/matrix-fuzz-findings), and printed. Fix the
# bug, then commit the input under testdata/fuzz/<Target>/ as a regression
# entry. The exit status is 1 when any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-10s}
parallel=${FUZZPARALLEL:-1}
minimize=${FUZZMINIMIZETIME:-5s}
findings=${FUZZ_FINDINGS:-${TMPDIR:-/tmp}/matrix-fuzz-findings}

# Every "func FuzzX(f *testing.F)" in a _test.go file of the main module
# (servers/ holds other modules), as "package-dir target".
targets=$(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
	grep -v '^./servers/' | sort |
	while read -r file; do
		dir=$(dirname "$file")
		sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(f \*testing\.F\).*/\1/p' "$file" |
			while read -r name; do echo "$dir $name"; done
	done)

if [ $# -gt 0 ]; then
	want=" $* "
	targets=$(echo "$targets" | while read -r dir name; do
		case "$want" in *" $name "*) echo "$dir $name" ;; esac
	done)
fi
if [ -z "$targets" ]; then
	echo "fuzz.sh: no fuzz target found" >&2
	exit 2
fi

failed=0
printf '%-40s %-28s %10s %12s  %s\n' package target seconds execs result
while read -r dir name; do
	corpus="$dir/testdata/fuzz/$name"
	before=$(find "$corpus" -maxdepth 1 -type f -printf '%f\n' 2>/dev/null | sort || true)
	log=$(mktemp)
	start=$(date +%s)
	result=ok
	if ! go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" \
		-parallel "$parallel" "$dir" >"$log" 2>&1; then
		result=FAIL
		failed=1
	fi
	secs=$(($(date +%s) - start))
	execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
	printf '%-40s %-28s %10d %12s  %s\n' "$dir" "$name" "$secs" "$execs" "$result"
	if [ "$result" = FAIL ]; then
		sed 's/^/    /' "$log"
		after=$(find "$corpus" -maxdepth 1 -type f -printf '%f\n' 2>/dev/null | sort || true)
		for f in $(comm -13 <(echo "$before") <(echo "$after")); do
			mkdir -p "$findings/$name"
			mv "$corpus/$f" "$findings/$name/$f"
			echo "    failing input moved to $findings/$name/$f:"
			sed 's/^/      /' "$findings/$name/$f"
		done
		rmdir "$corpus" 2>/dev/null || true # made by go test for the input
	fi
	rm -f "$log"
done <<<"$targets"
exit $failed
