#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make bench: boot one guest per repeat, run tests/bench/bench.sh there and
# build the report (JSON, markdown, PNG plots) in tests/bench/results/.
#   BENCH_CLOCK=icount (default: QEMU -icount shift=0,sleep=off -smp 1, every
#     figure repeatable to the last digit; measures CPU work per I/O) or
#     realtime (plain TCG, -smp 2; interleaved repeats, medians),
#   BENCH_REPEATS=N (default 1), QUICK=1 (tiny sizes; a smoke test only),
#   BENCH_ONLY=io (the quick comparison while changing the I/O path:
#     linear, thin, cowtree 4k/64k at qd16, first writes after 1 and 6
#     snapshots, latencies), BENCH_ONLY=profile (only the perf profile),
#   BENCH_PROFILE="TARGET:WORKLOAD ..." (e.g. cow64k:firstwrite-snap6) the
#     profiled runs (BENCH_ONLY=io: none unless given),
#   BENCH_ONLY=copy-mode (only the copy_mode kcopyd/rmw comparison),
#   BENCH_ONLY=accounting (only exclusive_accounting on/off),
#   BENCH_ONLY=versus-thin (only the first write vs dm-thin),
#   BENCH_ONLY=reshare (only dmcowctl reshare; BENCH_RESHARE_MIB=N its
#     volume, default the bench volume), BENCH_ONLY=activation (only pool
#     activation and offline check with 200 snapshots, cowtree and dm-thin),
#   BENCH_ONLY=send (only dmcowctl send, full and incremental, and receive;
#     BENCH_SEND_MIB=N the timed volume, default 1024; BENCH_SEND_META_MIBS
#     the sizes whose delta's metadata reads are compared with thin_delta,
#     default "1024 4096"),
#   BENCH_ONLY=files (only dmcowctl diff, du and restore-files on ext4
#     volumes of 100 000 and 10 000 small files, against rsync and cp;
#     BENCH_FILES_BIG_MIB=N the restore-files file, default 1024 MiB with
#     BENCH_ONLY=files (1 GiB more guest memory), 512 in the full run),
#   BENCH_TOOL_PROFILE=1 (a perf profile of each dmcowctl run timed by the
#     reshare, send and files jobs instead of its time),
#   BENCH_ONLY=kernel-report-selftest (make check: a simulated WARNING in
#     the guest's dmesg must fail the run)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${BENCH_OUT:-$top/tests/bench/results/$(date +%Y%m%d-%H%M%S)}
repeats=${BENCH_REPEATS:-1}
export BENCH_CLOCK=${BENCH_CLOCK:-icount}
case $BENCH_CLOCK in
icount) export VM_ICOUNT=1 ;;
realtime) export VM_ICOUNT=0 ;;
*) echo "run.sh: BENCH_CLOCK must be icount or realtime" >&2; exit 1 ;;
esac

# perf (linux-perf) and its libraries for the profile, appended to the
# bench guest's initramfs only (the VM scenarios do not need 30 MiB more).
perf_cpio=$top/tests/vm/build/bench-perf.cpio.gz
perf_bin=$(command -v perf_6.1 || command -v perf || true)
[[ -n $perf_bin ]] || { echo "run.sh: no perf (make deps: linux-perf)" >&2; exit 1; }
if [[ ! -e $perf_cpio || $perf_bin -nt $perf_cpio || $0 -nt $perf_cpio ]]; then
	tmp=$(mktemp -d)
	mkdir -p "$tmp/usr/sbin"
	cp -L "$perf_bin" "$tmp/usr/sbin/perf"
	for lib in $(ldd "$perf_bin" | grep -o '/[^ ]*' | sort -u); do
		mkdir -p "$tmp$(dirname "$lib")"
		cp -L "$lib" "$tmp$lib"
	done
	mkdir -p "$(dirname "$perf_cpio")"
	(cd "$tmp" && find . -mindepth 1 | cpio -o -H newc --quiet) | gzip -1 > "$perf_cpio"
	rm -rf "$tmp"
fi
export VM_EXTRA_INITRD=$perf_cpio
# BENCH_ONLY=files alone: 1 GiB more guest memory, so that restore-files
# can work on a 1 GiB file (its pool holds it twice in a RAM disk).
[[ ${BENCH_ONLY:-} == files ]] && export VM_MEM_EXTRA=${VM_MEM_EXTRA:-1024}

mkdir -p "$out"
cp "$top/tests/bench/bench.sh" "$out/jobs-bench.sh"
logs=()
for ((i = 1; i <= repeats; i++)); do
	VM_ENV="QUICK BENCH_VOL_MIB BENCH_RESHARE_MIB BENCH_SEND_MIB BENCH_SEND_META_MIBS BENCH_FILES_BIG_MIB BENCH_TOOL_PROFILE BENCH_RUNTIME BENCH_ONLY BENCH_CLOCK BENCH_PROF_FREQ BENCH_PROFILE" \
		"$top/tests/vm/run.sh" --dir "$top/tests/bench" bench
	cp "$top/tests/vm/build/logs/bench.log" "$out/console-$i.log"
	logs+=("$out/console-$i.log")
done
accel=${VM_ACCEL:-tcg}
[[ $BENCH_CLOCK == icount ]] && accel="$accel icount (shift=0, sleep=off, 1 CPU)"
python3 "$top/tests/bench/report.py" --accel "$accel" -o "$out" "${logs[@]}"
echo "bench: results in ${out#"$top"/}/results.md"
