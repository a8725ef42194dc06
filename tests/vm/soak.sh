#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Soak the harness: run VM scenarios many times with STREAMS harnesses
# booting at once, so that every boot runs on a loaded host (issue #17
# item 0: a verdict once depended on a race on the serial line).
#
#   soak.sh [-r RUNS] [-s STREAMS] [NAME...]
#
# Every NAME (default: the scenarios that cut power, i.e. call power_cut)
# runs RUNS times in all (default 20), the runs dealt round-robin to
# STREAMS parallel harnesses (default 2), each with its own VM lock and
# its own logs and disks (VM_SUFFIX).  A failing run's console log is
# kept in tests/vm/build/soak/.  Every run's verdict goes to
# tests/vm/build/soak/runs, with the boots that did not reach the test
# (run.sh boots those again); the last line is "soak: N passed, N failed".
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
vm=$top/tests/vm
out=$vm/build/soak
runs=20 streams=2

while getopts r:s: opt; do
	case $opt in
	r) runs=$OPTARG ;;
	s) streams=$OPTARG ;;
	*) echo "usage: soak.sh [-r RUNS] [-s STREAMS] [NAME...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if (($# == 0)); then
	set -- $(grep -l '^[^#]*power_cut' "$vm"/scenarios/*.sh | xargs -n1 basename | sed 's/\.sh$//')
fi
(($# > 0 && runs > 0 && streams > 0)) || { echo "soak.sh: nothing to run" >&2; exit 2; }

mkdir -p "$out"
: > "$out/runs"

# stream S: runs S, S + STREAMS, ... of every scenario.
stream() {
	local s=$1 run name line hung
	shift
	for ((run = s; run <= runs; run += streams)); do
		for name in "$@"; do
			line=$(VM_SUFFIX=soak$s VM_LOCK=/tmp/dm-cowtree-soak$s.lock \
				"$vm/run.sh" "$name" | grep -E "^(PASS|FAIL) $name\b" | tail -1)
			[[ -n $line ]] || line="FAIL $name: the harness printed no verdict"
			hung=$(grep -c '^=== boot .* did not reach the test' "$vm/build/logs/$name-soak$s.log")
			((hung == 0)) || line="$line [$hung boots did not reach the test, booted again]"
			if [[ $line != PASS* ]]; then
				cp "$vm/build/logs/$name-soak$s.log" "$out/$name-run$run.log" 2>/dev/null
			fi
			echo "run $run stream $s: $line" | tee -a "$out/runs"
		done
	done
}

for ((s = 1; s <= streams; s++)); do
	stream "$s" "$@" &
done
wait

passed=$(grep -c ': PASS ' "$out/runs")
failed=$(grep -c ': FAIL ' "$out/runs")
echo "soak: $passed passed, $failed failed"
((failed == 0 && passed == runs * $#))
