#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Instruction counts (callgrind) of the metadata core's write path with
# exclusive-chunk accounting on and off: repeatable to the instruction,
# unlike timings.  Prints one row per workload: Ir per operation off, on,
# and the difference.
#
#   tests/bench/core-cost.sh [N]    (default N = 4000 operations)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-4000}
build=$top/tests/bench/build
mkdir -p "$build"
core=$(sed -n 's/^cow-core-objs += //p' "$top/drivers/md/dm-cowtree/core/core.mk" |
	sed "s|^|$top/drivers/md/dm-cowtree/|; s|\.o$|.c|")
cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wvla \
	-I"$top/tools/libcow" -I"$top/drivers/md/dm-cowtree/core" \
	-o "$build/core-cost" "$top/tests/bench/core-cost.c" $core \
	"$top"/tools/libcow/*.c -lisal -lpthread

# ir MODE WORKLOAD SNAPSHOTS: instructions in measured_phase() per operation
ir() {
	local out=$build/callgrind.out.$$
	valgrind --tool=callgrind --callgrind-out-file="$out" \
		--toggle-collect=measured_phase "$build/core-cost" "$@" "$n" \
		> /dev/null 2>&1 || { echo "core-cost $* failed" >&2; exit 1; }
	awk -v n="$n" '/^summary:/ { printf "%.0f", $2 / n }' "$out"
	rm -f "$out"
}

printf "%-28s %12s %12s %8s\n" workload "off Ir/op" "on Ir/op" change
for w in "fresh 0" "break 1" "break 10" "break 100" "discard 1" "discard 10"; do
	set -- $w
	off=$(ir off "$1" "$2")
	on=$(ir on "$1" "$2")
	printf "%-28s %12s %12s %7.1f%%\n" "$1 ($2 snapshots)" "$off" "$on" \
		"$(awk -v a="$off" -v b="$on" 'BEGIN { print (b - a) * 100 / a }')"
done
