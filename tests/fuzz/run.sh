#!/usr/bin/env bash
# tests/fuzz/run.sh: run the libFuzzer targets built in build/fuzz/ (make
# fuzz builds them, then calls this), each for FUZZ_SECONDS (default 10),
# FUZZ_JOBS at a time (default: one per CPU).
#
#   tests/fuzz/run.sh [NAME...]     default: every tests/fuzz/corpus/NAME
#
# Each target starts from its seeds in tests/fuzz/corpus/NAME/ and from
# what earlier runs found, kept in build/fuzz/corpus/NAME/ (the fuzzer
# writes only there: the repository's seeds stay as committed). Prints one
# line per target, "ok NAME: N runs in S s" or what went wrong, and exits
# 1 if any target crashed, leaked, hung, broke one of its properties or
# made a sanitizer report. A failing input is kept in build/fuzz/crashes/;
# run it again with build/fuzz/NAME FILE. To fuzz one target by hand, put
# the scratch directory first (libFuzzer adds what it finds to the first):
#   build/fuzz/NAME build/fuzz/corpus/NAME tests/fuzz/corpus/NAME
set -u
cd "$(dirname "$0")/../.."

seconds=${FUZZ_SECONDS:-10}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
build=build/fuzz
if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for dir in tests/fuzz/corpus/*/; do
		targets+=("$(basename "$dir")")
	done
fi

# The JSON readers share one dictionary of tokens; the others have none or
# their own NAME.dict.
dictionary() {
	case $1 in
	config_terminal | flat_json) echo tests/fuzz/json.dict ;;
	*) [ -f "tests/fuzz/$1.dict" ] && echo "tests/fuzz/$1.dict" ;;
	esac
}

# One target, its output in $build/logs/NAME.log and its exit status in
# $build/logs/NAME.status.
run_one() {
	local name=$1 dict
	local -a options=(
		-max_total_time="$seconds"
		-timeout=25 # seconds for one input: longer is a hang, and a failure
		-artifact_prefix="$build/crashes/$name-"
	)

	dict=$(dictionary "$name")
	[ -n "$dict" ] && options+=(-dict="$dict")
	mkdir -p "$build/corpus/$name"
	# Targets that need files make them under TMPDIR: inside build/.
	TMPDIR=$PWD/$build/tmp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$build/$name" "${options[@]}" "$build/corpus/$name" "tests/fuzz/corpus/$name" \
		>"$build/logs/$name.log" 2>&1
	echo $? >"$build/logs/$name.status"
}

rm -rf "$build/logs"
mkdir -p "$build/logs" "$build/crashes" "$build/tmp"
running=0
for name in "${targets[@]}"; do
	if [ ! -x "$build/$name" ] || [ ! -d "tests/fuzz/corpus/$name" ]; then
		echo "missing target or seeds: $build/$name, tests/fuzz/corpus/$name/" \
			>"$build/logs/$name.log"
		echo 2 >"$build/logs/$name.status"
		continue
	fi
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$name" &
	running=$((running + 1))
done
wait

failed=()
for name in "${targets[@]}"; do
	log=$build/logs/$name.log
	status=$(cat "$build/logs/$name.status" 2>/dev/null || echo "none")
	# A report that did not end the run is still a failure (with
	# -fno-sanitize-recover there should be none).
	report=$(grep -m1 -E '==[0-9]+==(ERROR|WARNING): [A-Za-z]+Sanitizer|runtime error:' "$log")
	done_line=$(grep -m1 -E '^Done [0-9]+ runs in [0-9]+ second' "$log")
	if [ "$status" = 0 ] && [ -z "$report" ] && [ -n "$done_line" ]; then
		read -r _ runs _ _ secs _ <<<"$done_line"
		echo "ok $name: $runs runs in $secs s"
		continue
	fi
	failed+=("$name")
	why=$(grep -m1 -A1 'property failed' "$log" | tr -s ' \n' ' ' | sed 's/ $//')
	[ -z "$why" ] && why=$(grep -m1 '^SUMMARY: ' "$log")
	[ -z "$why" ] && why=$report
	[ -z "$why" ] && why=$(grep -m1 -E 'ERROR: libFuzzer|missing target' "$log")
	[ -z "$why" ] && why="exit status $status"
	input=$(grep -m1 -o 'Test unit written to .*' "$log" | sed 's/^Test unit written to //')
	echo "FAIL $name: $why${input:+ (input: $input)} (log: $log)"
done
for name in "${failed[@]}"; do
	echo "---- $build/logs/$name.log, its end ----" >&2
	tail -n 40 "$build/logs/$name.log" >&2
done
[ ${#failed[@]} -eq 0 ]
