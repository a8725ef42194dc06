#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run VM scenarios: each tests/vm/scenarios/NAME.sh boots the Debian kernel
# under QEMU with our initramfs and runs inside the guest.
#
#   run.sh [NAME...]       run scenarios (default: all); "vm: N passed, N failed"
#   run.sh --shell [NAME]  boot to an interactive shell (scenario disks attached)
#   run.sh --demo          run tests/vm/demo.sh with its output shown live
#
# Scenario header lines (all optional):
#   # timeout: SECONDS     per boot (default 300)
#   # mem: MIB             guest memory (default 1024)
#   # disks: SIZE...       virtio disks /dev/vda.. on sparse files, e.g. 256M 1G
#   # init-hang: N         (harness self-tests) /init hangs before it
#                          starts in the first N boots
#   # init-timeout: SECONDS  a boot without COWTEST-INIT by then is killed
#                          and booted again (default 300, VM_INIT_TIMEOUT;
#                          never beyond the timeout)
#   # boots: N             boot N times on the same disks; $COW_BOOT = 1..N,
#                          $COW_BOOTS = N; VM_BOOTS_<name> (dashes as _, e.g.
#                          VM_BOOTS_power_cuts=51) overrides N
#
# Verdicts travel on a channel of their own, a virtio-serial port
# (cowtest.result) whose host end is a file, never on the serial console
# that kernel messages share.  The guest (tests/vm/init, power_cut in
# lib.sh) writes "COWTEST-RESULT: rc=N" when the script ends and
# "COWTEST-POWER-CUT" just before a deliberate reset; any other line there
# fails the scenario, except "COWTEST-DATA <line>" (cow_data in lib.sh):
# results for other parsers, collected in logs/NAME.data, and
# "COWTEST-INIT", which /init writes before any test code runs: a boot
# killed by the timeout without it hung in the kernel's own start (seen
# under TCG on a loaded host) and is booted again, twice at most.  A boot passes
# when its channel holds exactly rc=0, or (not in the last boot) the
# power-cut line alone, and QEMU ended by itself (a reset or a power-off,
# not the timeout); a power cut followed by a result (the cut did not
# happen) fails.  The console, logged with each boot's channel appended,
# is for people and for the kernel report scan: any kernel oops, BUG,
# WARNING, KASAN, UBSAN, lockdep or kmemleak report in it fails the
# scenario.
#
# Environment: VM_ACCEL=tcg|kvm (default tcg: KVM hangs on some hosts),
#              KVER (default: newest /lib/modules/*-amd64), VM_SMP (2),
#              VM_ICOUNT=1 ties the guest clock to executed instructions
#              (-icount shift=0,sleep=off, one CPU: timing is deterministic),
#              VM_EXTRA_INITRD=FILE appends a cpio archive to the initramfs,
#              VM_ENV="NAME..." exports those host variables to the scenario,
#              VM_TIMEOUT_SCALE=N multiplies every timeout (default 1),
#              VM_LOCK=FILE (default /tmp/dm-cowtree-vm.lock) serializes VMs,
#              VM_SUFFIX=TAG names logs, initrds and disks NAME-TAG, so that
#              a second harness (tests/vm/soak.sh) can run the same scenario
#              at the same time,
#              DEBUG_KERNEL=1 boots build/debug-kernel (make debug-kernel:
#              KASAN, lockdep, kmemleak) with its in-tree dm-cowtree.ko;
#              timeouts x4 (VM_TIMEOUT_SCALE), +512 MiB guest memory
#              (VM_MEM_EXTRA), and a kmemleak scan after every boot.
# --dir DIR runs scenarios from DIR instead of tests/vm/scenarios.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
vm=$top/tests/vm
build=$vm/build
kver=${KVER:-$(ls /lib/modules | grep -- '-amd64$' | sort -V | tail -1)}
kernel=/boot/vmlinuz-$kver
export MODDIR=/lib/modules/$kver COWTREE_KO=$top/drivers/md/dm-cowtree/dm-cowtree.ko
base=$build/base.cpio.gz
scale=${VM_TIMEOUT_SCALE:-1} mem_extra=${VM_MEM_EXTRA:-0} debug_append="" sfx=""
if [[ -n ${DEBUG_KERNEL:-} && ${DEBUG_KERNEL:-} != 0 ]]; then
	dk=$top/build/debug-kernel
	[[ -e $dk/release ]] || { echo "run.sh: no debug kernel (run 'make debug-kernel')" >&2; exit 1; }
	kver=$(cat "$dk/release")
	kernel=$dk/obj/arch/x86/boot/bzImage
	MODDIR=$dk/mods/lib/modules/$kver
	COWTREE_KO=$MODDIR/kernel/drivers/md/dm-cowtree/dm-cowtree.ko
	base=$build/base-debug.cpio.gz
	scale=${VM_TIMEOUT_SCALE:-4} mem_extra=${VM_MEM_EXTRA:-512}
	# no5lvl: with -cpu max (LA57) identify_cpu() clears the LA57 bit for
	# a moment during boot, and KASAN reports any interrupt in that window
	# as a wild-memory-access (a 6.1 false positive that disables lockdep).
	debug_append="cowtest.kmemleak=1 no5lvl"
	sfx=-debug	# own logs, initrds and disks: a normal run may be queued too
fi
sfx=$sfx${VM_SUFFIX:+-$VM_SUFFIX}
accel=${VM_ACCEL:-tcg}
# VMs take this lock in turn; VM_LOCK=another file lets a second harness
# boot at the same time (a load test of the harness itself).
vm_lock=${VM_LOCK:-/tmp/dm-cowtree-vm.lock}
smp=${VM_SMP:-2}
icount=()
if [[ ${VM_ICOUNT:-0} == 1 ]]; then
	# -smp 2 with icount did not boot here: one CPU.
	icount=(-icount shift=0,sleep=off)
	smp=1
fi
mode=run

scenario_dir=$vm/scenarios
case ${1:-} in
--shell) mode=shell; shift ;;
--demo) mode=demo; shift ;;
--selftest) scenario_dir=$vm/selftest; shift ;;
--dir) scenario_dir=$(cd "$2" && pwd); shift 2 ;;
esac

[[ -r $kernel ]] || { echo "run.sh: no kernel $kernel (run 'make deps')" >&2; exit 1; }
mkdir -p "$build/logs" "$build/disks"

# Rebuild the base initramfs (one per kernel) when any input is newer than it.
inputs=("$vm/mkinitramfs.sh" "$vm/init" "$vm/lib.sh" $(ls "$vm"/cowtree-lib.sh "$vm"/fs-lib.sh "$build"/guest-bin/* 2>/dev/null)
	"$COWTREE_KO" "$MODDIR/modules.dep" "$top/tools/dmcowctl/build/dmcowctl")
for f in "${inputs[@]}"; do
	[[ -e $f ]] || { echo "run.sh: missing $f (run 'make')" >&2; exit 1; }
done
(
	flock 9
	for f in "${inputs[@]}"; do
		if [[ ! -e $base || $f -nt $base ]]; then
			# The image is dated when its build started: an input
			# rebuilt meanwhile (it may or may not be in it) is newer
			# and makes the next run build it again.
			started=$(date +%s.%N)
			"$vm/mkinitramfs.sh" "$kver" "$build" "$top" "$base" || exit 1
			touch -d "@$started" "$base"
			break
		fi
	done
) 9> "$build/initramfs.lock" || exit 1

header() { # header FILE KEY DEFAULT
	local v
	v=$(sed -n "s/^# $2: *//p" "$1" | head -1)
	echo "${v:-$3}"
}

# scenario_initrd SCRIPT OUT: base initramfs + a second archive holding
# /scenario.sh (the kernel unpacks concatenated archives in order).
scenario_initrd() {
	local tmp
	tmp=$(mktemp -d)
	{
		echo '. /etc/cowtest-lib.sh'
		echo '[ -e /etc/cowtree-lib.sh ] && . /etc/cowtree-lib.sh'
		echo "export COW_BOOTS=${boots:-1}"
		local v
		for v in ${VM_ENV:-}; do
			printf 'export %s=%q\n' "$v" "${!v:-}"
		done
		cat "$1"
	} > "$tmp/scenario.sh"
	(cd "$tmp" && echo scenario.sh | cpio -o -H newc --quiet) | gzip -1 > "$tmp/s.cpio.gz"
	cat "$base" ${VM_EXTRA_INITRD:-} "$tmp/s.cpio.gz" > "$2"
	rm -rf "$tmp"
}

kernel_problems() { # kernel_problems LOG: print the first report found
	grep -m1 -E 'BUG:|Oops|WARNING:|KASAN|UBSAN|unreferenced object|kmemleak: .*(suspected memory leak|[Dd]isabl|[Cc]annot|[Ee]rror)|Kernel panic|general protection|possible (recursive|circular) locking|inconsistent lock state|INFO: task .* blocked|Call Trace:' "$1"
}

# boot_vm NAME INITRD BOOT MEM DISKS... ; console to $log.boot (or the
# terminal), the result channel to $log.channel (truncated at every boot).
# no_timer_check: on a loaded host the guest's early check of the IO-APIC
# timer may see too few ticks under TCG and panic ("IO-APIC + timer
# doesn't work!", seen in a loaded delete-reboot run).
boot_vm() {
	local name=$1 initrd=$2 boot=$3 mem=$(($4 + mem_extra)) tmo=$(($5 * scale))
	shift 5
	local args=(-machine q35 -accel "$accel" "${icount[@]}" -cpu max -smp "$smp" -m "$mem"
		-kernel "$kernel" -initrd "$initrd" -no-reboot -nic none
		-append "console=ttyS0 panic=1 loglevel=6 no_timer_check cowtest.boot=$boot $debug_append $extra_append"
		-device virtio-serial-pci,id=cowser
		-chardev "file,id=cowres,path=$log.channel"
		-device virtserialport,bus=cowser.0,chardev=cowres,name=cowtest.result)
	local i=0 d
	rm -f "$log.channel"
	for d in "$@"; do
		args+=(-drive "file=$d,format=raw,if=virtio,cache=unsafe")
		i=$((i + 1))
	done
	if [[ $mode == shell ]]; then
		qemu-system-x86_64 "${args[@]}" -nographic -serial mon:stdio
	elif [[ $mode == demo ]]; then
		timeout -s KILL "$tmo" qemu-system-x86_64 "${args[@]}" -display none \
			-serial stdio -monitor none < /dev/null | tee -a "$log" |
			grep --line-buffered -vE '^\[ *[0-9]+\.[0-9]+\]'
	else
		# The console stays in $log.boot for run_scenario.
		timeout -s KILL "$tmo" qemu-system-x86_64 "${args[@]}" -display none \
			-serial "file:$log.boot" -monitor none < /dev/null &
		init_watchdog $! "$boot"
	fi
}

# init_watchdog PID BOOT: wait for the guest (timeout's PID) and return its
# status; if /init has not written COWTEST-INIT after init_tmo seconds, the
# boot hung in the kernel's own start (a TCG guest stuck early on a loaded
# host; it would sit there until the scenario's timeout, up to 40 minutes):
# kill it and return 137, as the timeout would have.
init_watchdog() {
	local pid=$1 boot=$2 waited=0
	while kill -0 "$pid" 2>/dev/null; do
		if grep -qx COWTEST-INIT "$log.channel" 2>/dev/null; then
			wait "$pid"
			return
		fi
		if ((waited >= init_tmo)); then
			echo "=== boot $boot: no COWTEST-INIT after ${init_tmo}s: killed by the init watchdog" >> "$log"
			pkill -KILL -P "$pid"
			wait "$pid"
			return 137
		fi
		sleep 1
		waited=$((waited + 1))
	done
	wait "$pid"
}

# boot_verdict CHANNEL BOOT BOOTS TIMEOUT QEMU_STATUS: read one boot's
# result channel; print "next" (a power cut before the last boot: go on),
# "pass" (rc=0) or why the boot failed.  COWTEST-DATA lines are the
# scenario's own (cow_data), for other parsers: not judged here.
boot_verdict() {
	local channel=$1 b=$2 boots=$3 tmo=$4 qemu=$5 lines rc cuts other
	if ((qemu == 137)) && ! grep -qx 'COWTEST-INIT' "$channel" 2>/dev/null; then
		echo no-init
		return
	fi
	lines=$(grep -vE '^(COWTEST-DATA .*|COWTEST-INIT)$' "$channel" 2>/dev/null)
	rc=$(grep -E '^COWTEST-RESULT: rc=[0-9]+$' <<< "$lines")
	cuts=$(grep -c '^COWTEST-POWER-CUT$' <<< "$lines")
	other=$(grep -vE '^(COWTEST-RESULT: rc=[0-9]+|COWTEST-POWER-CUT)$' <<< "$lines" | grep -m1 .)
	if ((qemu == 137)); then
		# Killed by the timeout: whatever the channel says, the
		# guest did not end (a cut resets it, a result powers it off).
		echo "no result in boot $b: killed by the timeout ($((tmo * scale))s)"
	elif [[ -n $other ]]; then
		echo "unexpected line on the result channel in boot $b: $other"
	elif [[ $(wc -l <<< "$rc") -gt 1 ]]; then
		echo "more than one result in boot $b"
	elif ((cuts > 0)) && [[ -n $rc ]]; then
		echo "boot $b reported a power cut and then ${rc#COWTEST-RESULT: } (the cut did not happen)"
	elif ((cuts > 0)) && ((b < boots)); then
		echo next
	elif ((cuts > 0)); then
		echo "power cut in the last boot ($b): the script must end there"
	elif [[ $rc == 'COWTEST-RESULT: rc=0' ]]; then
		echo pass
	elif [[ -n $rc ]]; then
		echo "script failed in boot $b (${rc#COWTEST-RESULT: })"
	else
		echo "no result in boot $b (timeout $((tmo * scale))s or crash)"
	fi
}

run_scenario() { # run_scenario SCRIPT -> 0 pass, 1 fail
	local script=$1 name tmo mem boots disks initrd start b d verdict problem qemu
	name=$(basename "$script" .sh)
	tmo=$(header "$script" timeout 300)
	init_tmo=$(($(header "$script" init-timeout "${VM_INIT_TIMEOUT:-300}") * scale))
	((init_tmo <= tmo * scale)) || init_tmo=$((tmo * scale))
	mem=$(header "$script" mem 1024)
	boots=$(header "$script" boots 1)
	local boots_var=VM_BOOTS_${name//-/_}
	boots=${!boots_var:-$boots}
	log=$build/logs/$name$sfx.log
	data=$build/logs/$name$sfx.data
	initrd=$build/$name$sfx.initrd
	: > "$log"
	: > "$data"
	rm -f "$log".hung-*
	scenario_initrd "$script" "$initrd"

	local disk_files=() i=0
	for d in $(header "$script" disks ""); do
		local f=$build/disks/$name$sfx-$i.img
		rm -f "$f"
		truncate -s "$d" "$f"
		disk_files+=("$f")
		i=$((i + 1))
	done

	start=$SECONDS
	verdict=pass
	local hung=0 init_hang append=$extra_append
	init_hang=$(header "$script" init-hang 0)
	for ((b = 1; b <= boots; b++)); do
		echo "=== boot $b of $boots" >> "$log"
		# One VM at a time on this machine, whoever runs the harness.
		qemu=0
		(
			flock 9
			extra_append="$append cowtest.init_hang=$((init_hang > hung ? init_hang - hung : 0))"
			boot_vm "$name" "$initrd" "$b" "$mem" "$tmo" "${disk_files[@]}"
		) 9> "$vm_lock" || qemu=$?
		verdict=$(boot_verdict "$log.channel" "$b" "$boots" "$tmo" "$qemu")
		if [[ $verdict == no-init ]] && ((hung < 2)); then
			# Killed before /init said COWTEST-INIT: none of our code
			# ran and no disk was written (seen on a loaded host: a
			# TCG guest stuck in the kernel's crypto self-tests, and
			# guests still loading Debian's modules at the timeout).
			# Boot again; the hung console goes aside, out of the
			# kernel report scan.
			hung=$((hung + 1))
			mv "$log.boot" "$log.hung-$hung"
			echo "=== boot $b did not reach the test (no COWTEST-INIT before the init watchdog or the timeout; console: ${log#"$top"/}.hung-$hung): booting again" >> "$log"
			rm -f "$log.channel"
			b=$((b - 1))
			continue
		fi
		[[ $verdict == no-init ]] &&
			verdict="boot $b did not reach the test in $((hung + 1)) tries (timeout $((tmo * scale))s)"
		cat "$log.boot" >> "$log" 2>/dev/null
		rm -f "$log.boot"
		{
			echo "=== result channel of boot $b:"
			grep -v '^COWTEST-DATA ' "$log.channel" 2>/dev/null | sed 's/^/  /'
		} >> "$log"
		sed -n 's/^COWTEST-DATA //p' "$log.channel" 2>/dev/null >> "$data"
		rm -f "$log.channel"
		[[ $verdict == pass || $verdict == next ]] || break
	done
	problem=$(kernel_problems "$log")
	if [[ -n $problem && $verdict == pass ]]; then
		verdict="kernel report: $problem"
	fi
	rm -f "$initrd" "${disk_files[@]}"
	if [[ $verdict == pass ]]; then
		echo "PASS $name ($((SECONDS - start))s)"
		return 0
	fi
	echo "FAIL $name: $verdict ($((SECONDS - start))s) log: ${log#"$top"/}"
	grep -E '^cowtest: FAIL|device-mapper' "$log" | tail -5 | sed 's/^/    /'
	return 1
}

extra_append=""
case $mode in
shell)
	extra_append="cowtest.shell=1"
	script=$vm/scenarios/${1:-module-load}.sh
	[[ -e $script ]] || script=$vm/scenarios/module-load.sh
	initrd=$build/shell.initrd
	scenario_initrd "$script" "$initrd"
	disk_files=()
	i=0
	for d in $(header "$script" disks ""); do
		truncate -s "$d" "$build/disks/shell-$i.img"
		disk_files+=("$build/disks/shell-$i.img")
		i=$((i + 1))
	done
	log=$build/logs/shell.log
	boot_vm shell "$initrd" 1 "$(header "$script" mem 1024)" 0 "${disk_files[@]}"
	rm -f "$log.channel"
	exit 0
	;;
demo)
	log=$build/logs/demo.log
	: > "$log"
	initrd=$build/demo.initrd
	scenario_initrd "$vm/demo.sh" "$initrd"
	truncate -s 0 "$build/disks/demo-0.img"
	truncate -s 1G "$build/disks/demo-0.img"
	truncate -s 0 "$build/disks/demo-1.img"
	truncate -s 4G "$build/disks/demo-1.img"
	(
		flock 9
		boot_vm demo "$initrd" 1 1536 600 "$build/disks/demo-0.img" "$build/disks/demo-1.img"
	) 9> "$vm_lock"
	rm -f "$build"/disks/demo-*.img "$initrd"
	verdict=$(boot_verdict "$log.channel" 1 1 600 0)
	rm -f "$log.channel"
	if [[ $verdict == pass && -z $(kernel_problems "$log") ]]; then
		echo "demo: done (full console log: ${log#"$top"/})"
		exit 0
	fi
	echo "demo: FAILED (log: ${log#"$top"/})"
	exit 1
	;;
esac

if (($# == 0)); then
	set -- $(cd "$scenario_dir" && ls *.sh | sed 's/\.sh$//')
fi
passed=0 failed=0
for name in "$@"; do
	script=$scenario_dir/$name.sh
	if [[ ! -e $script ]]; then
		echo "FAIL $name: no such scenario ($script)"
		failed=$((failed + 1))
		continue
	fi
	if run_scenario "$script"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "vm: $passed passed, $failed failed"
((failed == 0))
