#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run the libFuzzer targets (tests/fuzz/Makefile) for a bounded time.
#
#   tests/fuzz/run.sh [TARGET...]      (default: every target)
#
# For each target: every input in regressions/<target>/ is replayed (each
# must run clean), then the target fuzzes for FUZZ_SECONDS (default 25,
# LONG=1: 300) from its seeds (corpus/<target>/, read only) and the
# working corpus of earlier runs (build/corpus/<target>/, kept).  A crash,
# sanitizer report, leak, timeout (an input slower than FUZZ_TIMEOUT s,
# default 10) or running out of memory fails the target; the input that
# did it is copied into regressions/<target>/ (commit it with the fix).
# FUZZ_JOBS targets run at once (default 2).  One PASS or FAIL line per
# target, then "fuzz: N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 1

if [[ ${LONG:-0} != 0 ]]; then
	seconds=${FUZZ_SECONDS:-300}
else
	seconds=${FUZZ_SECONDS:-25}
fi
jobs=${FUZZ_JOBS:-2}
timeout=${FUZZ_TIMEOUT:-10}

mkdir -p build
if ! make -s -j"$jobs" all > build/make.log 2>&1; then
	cat build/make.log
	echo "FAIL fuzz targets build (clang, libclang-rt-14-dev: make deps)"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
targets=("$@")
((${#targets[@]})) || read -r -a targets < <(make -s targets)

# The quarantine is kept small: each input allocates and frees a few MiB
# and a large one turns every allocation into fresh pages (3x slower).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16:malloc_context_size=10}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# fuzz_one TARGET: writes build/logs/TARGET.{log,verdict}
fuzz_one() {
	local t=$1 bin=build/$1 log=build/logs/$1.log verdict=build/logs/$1.verdict
	local art=build/artifacts/$1/ reg=regressions/$1 nreg=0 rc found stats
	mkdir -p "build/corpus/$t" "$art" "corpus/$t"
	rm -f "$art"*
	: > "$log"
	if [[ -d $reg ]] && compgen -G "$reg/*" > /dev/null; then
		nreg=$(find "$reg" -type f | wc -l)
		if ! "$bin" -runs=0 -timeout="$timeout" "$reg" >> "$log" 2>&1; then
			echo "FAIL fuzz $t: a regression input fails again (see tests/fuzz/$log)" > "$verdict"
			return
		fi
	fi
	# Value profiles: comparisons with on-disk fields (counts against
	# limits, stamps, sizes) steer the search (a planted missing bound on
	# a node's entry count was found in 2 of 2 runs with it, 0 of 2 without).
	"$bin" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 \
		-use_value_profile=1 -print_final_stats=1 -artifact_prefix="$art" \
		"build/corpus/$t" "corpus/$t" >> "$log" 2>&1
	rc=$?
	found=$(find "$art" -type f | head -1)
	if ((rc != 0)) || [[ -n $found ]] ||
	   grep -qE '^(==[0-9]+==ERROR|SUMMARY: |fuzz: FINDING)' "$log"; then
		mkdir -p "$reg"
		[[ -n $found ]] && cp "$art"* "$reg/"
		echo "FAIL fuzz $t: exit $rc, $(grep -m1 -oE 'ERROR: [A-Za-z]+: [^ ]+( [^ ]+)?|runtime error: .*|fuzz: FINDING.*|libFuzzer: [a-z-]+' "$log" | head -1); input kept in tests/fuzz/$reg/$(basename "${found:-none}") (log tests/fuzz/$log)" > "$verdict"
		return
	fi
	# The last statistics are the fuzzing run's (the replay prints its own).
	stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 |
		sed -E 's/.*(cov: [0-9]+).*(corp: [0-9]+).*/\1, \2/')
	echo "PASS fuzz $t: $(grep -oE '^Done [0-9]+ runs' "$log" | tail -1 | cut -d' ' -f2) runs in ${seconds}s ($stats), $nreg regression inputs replayed" > "$verdict"
}

mkdir -p build/logs
rm -f build/logs/*.verdict
export -f fuzz_one
export seconds timeout
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'fuzz_one {}'

passed=0 failed=0
for t in "${targets[@]}"; do
	if [[ ! -s build/logs/$t.verdict ]]; then
		echo "FAIL fuzz $t: no verdict (is it in the Makefile?)"
		failed=$((failed + 1))
		continue
	fi
	cat "build/logs/$t.verdict"
	if grep -q '^PASS' "build/logs/$t.verdict"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
