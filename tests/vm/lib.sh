# SPDX-License-Identifier: GPL-2.0-only
# Helpers for VM scenarios (sourced by every scenario in the guest).

COW_MOD=/lib/modules/dm-cowtree.ko

# log MESSAGE: a progress line, with the guest's uptime (where time goes).
log() {
	local log_up log_rest
	read -r log_up log_rest < /proc/uptime
	echo "cowtest: [$log_up] $*"
}

die() {
	echo "cowtest: FAIL: $*"
	exit 1
}

# expect_fail CMD...: CMD must fail (non-zero exit).
expect_fail() {
	if "$@"; then
		die "expected failure: $*"
	fi
	return 0
}

# A kernel with dm-cowtree built in (CONFIG_DM_COWTREE=y) has no .ko.
load_cowtree() {
	[ ! -e $COW_MOD ] && [ -d /sys/module/dm_cowtree ] && return 0
	insmod $COW_MOD || die "insmod dm-cowtree failed"
}

# brd_load NR SIZE_MIB: NR ram disks /dev/ram0.. of SIZE_MIB each.  brd must
# be a module: a built-in brd cannot take these parameters.
brd_load() {
	[ -e /lib/modules/brd.ko ] || die "no brd.ko (brd built in? it must be a module)"
	insmod /lib/modules/brd.ko rd_nr=$1 rd_size=$(($2 * 1024)) || die "insmod brd"
}

# dm_dev_size NAME: size in sectors of /dev/mapper/NAME.
dm_dev_size() {
	blockdev --getsz /dev/mapper/$1
}

# cow_result LINE: a line for the host (tests/vm/run.sh) on the result
# channel, the virtio-serial port /init found ($COW_RESULT_DEV).  The write
# returns once the host has taken the bytes, so a reset right after it
# cannot lose them.  The only lines run.sh accepts there are
# "COWTEST-INIT" and "COWTEST-RESULT: rc=N" (written by /init),
# "COWTEST-POWER-CUT" and "COWTEST-DATA ..." (cow_data).
cow_result() {
	if [ -z "${COW_RESULT_DEV:-}" ]; then
		echo "COWTEST: no result channel for: $*"
		return 1
	fi
	echo "$*" > "$COW_RESULT_DEV"
}

# cow_data LINE: a line of results for a parser on the host (not a
# verdict): tests/vm/run.sh collects them, without the prefix, in
# tests/vm/build/logs/NAME.data, away from kernel messages.
cow_data() {
	cow_result "COWTEST-DATA $*"
}

# Crash the guest now, like a power cut: no sync, no unmount.  The marker
# tells run.sh that this boot ended on purpose (the next boot goes on).
power_cut() {
	cow_result COWTEST-POWER-CUT || die "cannot report the power cut"
	echo "cowtest: power cut" > /dev/kmsg	# for people reading the console
	echo b > /proc/sysrq-trigger
}
