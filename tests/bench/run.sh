#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make bench: boot one guest per repeat, run tests/bench/bench.sh there and
# build the report (JSON, markdown, PNG plots) in tests/bench/results/.
#   BENCH_REPEATS=N (default 1), QUICK=1 (tiny sizes; a smoke test only),
#   BENCH_ONLY=copy-mode (only the copy_mode kcopyd/rmw comparison),
#   BENCH_ONLY=accounting (only exclusive_accounting on/off),
#   BENCH_ONLY=versus-thin (only the interleaved first write vs dm-thin)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${BENCH_OUT:-$top/tests/bench/results/$(date +%Y%m%d-%H%M%S)}
repeats=${BENCH_REPEATS:-1}
mkdir -p "$out"
cp "$top/tests/bench/bench.sh" "$out/jobs-bench.sh"
logs=()
for ((i = 1; i <= repeats; i++)); do
	VM_ENV="QUICK BENCH_VOL_MIB BENCH_RUNTIME BENCH_ONLY" "$top/tests/vm/run.sh" \
		--dir "$top/tests/bench" bench
	cp "$top/tests/vm/build/logs/bench.log" "$out/console-$i.log"
	logs+=("$out/console-$i.log")
done
python3 "$top/tests/bench/report.py" --accel "${VM_ACCEL:-tcg}" -o "$out" "${logs[@]}"
echo "bench: results in ${out#"$top"/}/results.md"
