#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make check: build everything, run the userspace unit tests and the VM
# scenarios, and end with one line "N passed, N failed" (totals).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
start=$SECONDS
passed=0 failed=0

count() { # count LOGFILE PREFIX: add "PREFIX: N passed, N failed" totals
	local line p f
	line=$(grep -E "^$2: [0-9]+ passed, [0-9]+ failed" "$1" | tail -1)
	if [[ -z $line ]]; then
		echo "check: $2 produced no result line" >&2
		failed=$((failed + 1))
		return
	fi
	p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<< "$line")
	f=$(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<< "$line")
	passed=$((passed + p))
	failed=$((failed + f))
}

mkdir -p build
if ! make all > build/check-build.log 2>&1; then
	cat build/check-build.log
	echo "check: build failed"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "check: build clean (module W=1, dmcowctl -Werror)"
# DEBUG_KERNEL=1: every VM boot below uses the debug kernel (KASAN, lockdep,
# kmemleak; tests/vm/run.sh), built or found cached by make debug-kernel.
if [[ -n ${DEBUG_KERNEL:-} && $DEBUG_KERNEL != 0 ]]; then
	export DEBUG_KERNEL
	make debug-kernel >> build/check-build.log 2>&1 ||
		{ tail -20 build/check-build.log; echo "check: debug kernel build failed"; echo "0 passed, 1 failed"; exit 1; }
	echo "check: VM suite on the debug kernel $(cat build/debug-kernel/release)"
fi

# LONG=1: the long crash-test mode (README): log replay at >= 1000 flush
# points (crash-replay, crash-replay-fs, which then checks every point,
# not every other), 50 power cuts, 3000 bad inputs,
# 1000 corrupted metadata images against the kernel, 10000 against
# dmcowctl check on the host; each libFuzzer target 300 s (tests/fuzz);
# VM timeouts x4 (x16 on the debug kernel).  The guest gets the counts
# through VM_ENV (tests/vm/run.sh).
if [[ ${LONG:-0} != 0 ]]; then
	export REPLAY_POINTS_MIN=1000 REPLAY_STEPS=660 FUZZ_CASES=3000 VM_BOOTS_power_cuts=51
	export FUZZ=1000 HOST_FUZZ_CASES=10000 REPLAY_FS_STRIDE=1
	export VM_ENV="${VM_ENV:-} REPLAY_POINTS_MIN REPLAY_STEPS FUZZ_CASES FUZZ REPLAY_FS_STRIDE"
	if [[ -n ${DEBUG_KERNEL:-} && $DEBUG_KERNEL != 0 ]]; then
		export VM_TIMEOUT_SCALE=${VM_TIMEOUT_SCALE:-16}
	else
		export VM_TIMEOUT_SCALE=${VM_TIMEOUT_SCALE:-4}
	fi
	echo "check: long mode: $REPLAY_POINTS_MIN+ replay points, 50 power cuts, $FUZZ_CASES fuzz cases, $FUZZ metadata images ($HOST_FUZZ_CASES on the host)"
elif [[ -n ${DEBUG_KERNEL:-} && $DEBUG_KERNEL != 0 ]]; then
	# The debug kernel runs about ten times slower under TCG: every
	# scenario and code path still runs, with fewer repetitions of the
	# randomized ones, so the suite ends in about two hours.  A value
	# given on the command line wins.
	export REPLAY_POINTS_MIN=${REPLAY_POINTS_MIN:-40} REPLAY_STEPS=${REPLAY_STEPS:-20}
	export FUZZ_CASES=${FUZZ_CASES:-60} FUZZ=${FUZZ:-20} ROUNDS=${ROUNDS:-4}
	export VM_BOOTS_power_cuts=${VM_BOOTS_power_cuts:-4}
	export VM_ENV="${VM_ENV:-} REPLAY_POINTS_MIN REPLAY_STEPS FUZZ_CASES FUZZ ROUNDS"
	echo "check: debug-kernel repetitions: $REPLAY_POINTS_MIN+ replay points, $((VM_BOOTS_power_cuts - 1)) power cuts, $FUZZ_CASES bad inputs, $FUZZ metadata images"
fi

make -C tests/unit run 2>&1 | tee build/check-unit.log | grep -E '^(FAIL|unit:|unit runner self-test:|  )' 
count build/check-unit.log unit
count build/check-unit.log "unit runner self-test"

make -C tests/vm/tools selftest > build/check-cowpattern.log 2>&1
grep -E '^(FAIL|unit:)' build/check-cowpattern.log | sed 's/^unit:/cowpattern selftest:/'
count build/check-cowpattern.log unit

# Offline metadata tools on image files (host side).
bash tests/tools/run.sh > build/check-tools.log 2>&1
grep -E '^(FAIL|tools:)' build/check-tools.log
count build/check-tools.log tools

# dmcowctl command line: argument helpers (C) and usage/error paths (host).
make -C tests/cli run > build/check-cli.log 2>&1
grep -E '^(FAIL|cli:)' build/check-cli.log
count build/check-cli.log cli

# libFuzzer targets (tests/fuzz/run.sh): every input in regressions/ is
# replayed, then each target fuzzes FUZZ_SECONDS (25; LONG=1: 300), two at a
# time; a crash, sanitizer report, leak or timeout fails its target.
tests/fuzz/run.sh > build/check-fuzz.log 2>&1
grep -E '^(PASS|FAIL|fuzz:)' build/check-fuzz.log
count build/check-fuzz.log fuzz

# Harness self-tests (tests/vm/selftest): a kernel report must fail a
# scenario whose script passed; verdicts (and data lines) must survive a
# console flooded with kernel messages across a power cut; a boot that
# reports a power cut and then goes on to fail, or hangs, must fail; a
# boot that does not reach the test (no COWTEST-INIT) is booted again,
# twice at most, and is killed by the init watchdog, not left to the
# scenario's timeout.
selftest() { # selftest NAME PATTERN [CMD...]: run.sh's line for NAME must match, CMD succeed
	local out name=$1 re=$2
	shift 2
	out=$(tests/vm/run.sh --selftest "$name" 2>&1 | tee -a build/check-selftest.log)
	if grep -Eq "$re" <<< "$out" && "$@"; then
		echo "PASS vm-harness-$name"
		passed=$((passed + 1))
	else
		echo "FAIL vm-harness-$name (see build/check-selftest.log)"
		failed=$((failed + 1))
	fi
}
: > build/check-selftest.log
selftest kernel-warning '^FAIL kernel-warning: kernel report: .*WARNING'
selftest power-cut-noise '^PASS power-cut-noise ' \
	grep -qx 'power-cut-noise data of boot 2' tests/vm/build/logs/power-cut-noise.data
selftest power-cut-ignored '^FAIL power-cut-ignored: boot 1 reported a power cut and then rc=1 '
selftest power-cut-hang '^FAIL power-cut-hang: no result in boot 1: killed by the timeout'
selftest init-hang-once '^PASS init-hang-once ' \
	grep -q '^=== boot 1 did not reach the test' tests/vm/build/logs/init-hang-once.log
selftest init-hang-always '^FAIL init-hang-always: boot 1 did not reach the test in 3 tries '
selftest init-hang-watchdog '^PASS init-hang-watchdog ' \
	grep -q '^=== boot 1: no COWTEST-INIT after 20s: killed by the init watchdog' \
	tests/vm/build/logs/init-hang-watchdog.log

tests/vm/run.sh ${VM_TESTS:-} 2>&1 | tee build/check-vm.log
count build/check-vm.log vm

# The bench keeps its console quiet (dmesg -n 1), so the harness's console
# scan cannot see its kernel reports; its guest script scans dmesg at the
# end (finish).  Self-test: BENCH_ONLY=kernel-report-selftest puts a
# WARNING line in dmesg only, and the bench must fail on it, by that scan
# (plain TCG: the instruction count is not needed, and it boots faster).
out=$(DEBUG_KERNEL= VM_ICOUNT=0 QUICK=1 BENCH_ONLY=kernel-report-selftest VM_ENV="QUICK BENCH_ONLY" \
	tests/vm/run.sh --dir tests/bench bench 2>&1 | tee build/check-bench-selftest.log)
if grep -q '^FAIL bench: script failed in boot 1 (rc=1)' <<< "$out" &&
   grep -q '^    cowtest: FAIL: kernel report in dmesg' <<< "$out"; then
	echo "PASS bench-harness-kernel-report"
	passed=$((passed + 1))
else
	echo "FAIL bench-harness-kernel-report: a WARNING in the bench guest's dmesg did not fail it (see build/check-bench-selftest.log)"
	failed=$((failed + 1))
fi

# report.py's determinism verdict on made-up runs: agreement to fio's
# resolution passes, different work or real-time noise fails.
python3 tests/bench/test_report.py > build/check-bench-report.log 2>&1
grep -E '^(FAIL|bench report self-test:)' build/check-bench-report.log
count build/check-bench-report.log "bench report self-test"

# The benchmark suite in its smoke mode, under QEMU icount: it must run, the
# same cowtree job twice must give the same IOPS to fio's resolution (the
# instrument is deterministic here; report.py runs_agree), and a kernel
# report in the guest's dmesg fails it;
# no ratio is judged.  (On the Debian kernel even with DEBUG_KERNEL=1: it
# reads logs/bench.log.)
if DEBUG_KERNEL= QUICK=1 BENCH_OUT=build/bench-quick tests/bench/run.sh > build/check-bench.log 2>&1; then
	echo "PASS bench-quick (results: build/bench-quick/results.md)"
	passed=$((passed + 1))
else
	tail -5 build/check-bench.log
	echo "FAIL bench-quick (see build/check-bench.log)"
	failed=$((failed + 1))
fi

echo "check: finished in $(((SECONDS - start) / 60))m$(((SECONDS - start) % 60))s"
echo "$passed passed, $failed failed"
((failed == 0))
