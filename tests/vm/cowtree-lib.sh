# SPDX-License-Identifier: GPL-2.0-only
# dm-cowtree helpers for VM scenarios: sourced after lib.sh (log, die,
# expect_fail, load_cowtree, brd_load, power_cut).  Busybox sh, run with -e:
# every helper either succeeds or dies with a sentence, except the try_*
# ones, which return the command's status for expect_fail.
#
# Interface followed: Documentation/admin-guide/device-mapper/cowtree.rst.

COW_CHUNK=128		# default chunk size in sectors (64 KiB)
COW_LOW_WATER=16	# low water mark in chunks
COW_STATE=/tmp/cowtree-state	# which dm device is active for (pool, id)
mkdir -p $COW_STATE

mib_sectors() { echo $(($1 * 2048)); }

# ---- pools ----

# pool_table META DATA CHUNK [FEATURE...]: print a cowtree-pool table.
pool_table() {
	local meta=$1 data=$2 chunk=$3 sz
	shift 3
	sz=$(blockdev --getsz $data) || die "cannot size $data"
	if [ $# -gt 0 ]; then
		echo "0 $sz cowtree-pool $meta $data $chunk $COW_LOW_WATER $# $*"
	else
		echo "0 $sz cowtree-pool $meta $data $chunk $COW_LOW_WATER"
	fi
}

# pool_create NAME META DATA CHUNK [FEATURE...]
pool_create() {
	local name=$1 table
	shift
	table=$(pool_table "$@")
	log "create pool $name: $table"
	dmsetup create $name --table "$table" || die "creating pool $name failed"
	[ -b /dev/mapper/$name ] || die "no /dev/mapper/$name"
}

# pool_reload NAME META DATA CHUNK [FEATURE...]: load a new table (e.g. a
# grown data device or other features) and swap it in.
pool_reload() {
	local name=$1 table
	shift
	table=$(pool_table "$@")
	log "reload pool $name: $table"
	dmsetup reload $name --table "$table" || die "reloading pool $name failed"
	dmsetup resume $name || die "resuming pool $name failed"
}

pool_remove() {
	dmsetup remove $1 || die "removing pool $1 failed"
	rm -f $COW_STATE/$1.*
}

# msg POOL WORD...: send a pool message; dies on failure.
msg() {
	local pool=$1
	shift
	dmsetup message $pool 0 "$@" || die "message '$*' to $pool failed"
}

# try_msg POOL WORD...: send a pool message, return its status.
try_msg() {
	local pool=$1
	shift
	dmsetup message $pool 0 "$@"
}

# pool_status_field POOL N: field N (1-based) of the pool status, after the
# "start length cowtree-pool" prefix:
#   1 transaction id   2 used/total meta blocks   3 used/total data chunks
#   4 held root|-      5 rw|ro|out_of_data_space|fail
#   6 discard_passdown|no_discard_passdown   7 queue_if_no_space|error_if_no_space
#   8 needs_check|-    9 reclaiming chunks
pool_status_field() {
	local s
	s=$(dmsetup status $1) || die "status of $1 failed"
	echo "$s" | awk -v n=$(($2 + 3)) '{ print $n }'
}

pool_used_data() { pool_status_field $1 3 | cut -d/ -f1; }
pool_total_data() { pool_status_field $1 3 | cut -d/ -f2; }
pool_used_meta() { pool_status_field $1 2 | cut -d/ -f1; }
pool_mode() { pool_status_field $1 5; }
pool_reclaiming() { pool_status_field $1 9; }

# ---- volumes ----

# vol_activate POOL ID NAME SECTORS: activate volume ID as /dev/mapper/NAME.
vol_activate() {
	log "activate volume $2 of $1 as $3 ($4 sectors)"
	try_vol_activate "$@" || die "activating volume $2 as $3 failed"
	[ -b /dev/mapper/$3 ] || die "no /dev/mapper/$3"
}

try_vol_activate() {
	dmsetup create $3 --table "0 $4 cowtree /dev/mapper/$1 $2" || return
	echo $3 > $COW_STATE/$1.$2
	echo "$1 $2" > $COW_STATE/vol.$3
}

# vol_create POOL ID NAME SECTORS: create an empty volume and activate it.
vol_create() {
	msg $1 create $2 $3
	vol_activate "$@"
}

# vol_deactivate NAME
vol_deactivate() {
	local pool id
	dmsetup remove $1 || die "removing volume $1 failed"
	if [ -e $COW_STATE/vol.$1 ]; then
		read pool id < $COW_STATE/vol.$1
		rm -f $COW_STATE/vol.$1 $COW_STATE/$pool.$id
	fi
}

# vol_name_of POOL ID: the active dm device of volume ID, or nothing.
vol_name_of() {
	cat $COW_STATE/$1.$2 2>/dev/null || true
}

# vol_status_field NAME N: 1 mapped chunks, 2 exclusive chunks, 3 written since
# origin, 4 highest mapped sector|-
vol_status_field() {
	local s
	s=$(dmsetup status $1) || die "status of $1 failed"
	echo "$s" | awk -v n=$(($2 + 3)) '{ print $n }'
}

vol_mapped() { vol_status_field $1 1; }

is_suspended() {
	dmsetup info -c --noheadings -o suspended $1 | grep -q Suspended
}

# try_snapshot POOL NEW ORIGIN NAME [NEW ORIGIN NAME]...: suspend every
# active origin (which freezes a mounted file system), send ONE snapshot
# message, resume what was suspended; returns the message's status.
try_snapshot() {
	local pool=$1 dev suspended="" rc=0
	shift
	local args="$*"
	while [ $# -ge 3 ]; do
		dev=$(vol_name_of $pool $2)
		if [ -n "$dev" ] && ! is_suspended $dev; then
			dmsetup suspend $dev || die "suspending $dev failed"
			suspended="$suspended $dev"
		fi
		shift 3
	done
	dmsetup message $pool 0 snapshot $args || rc=$?
	for dev in $suspended; do
		dmsetup resume $dev || die "resuming $dev failed"
	done
	return $rc
}

# snapshot POOL NEW ORIGIN NAME [NEW ORIGIN NAME]...: as try_snapshot; dies
# on failure.
snapshot() {
	log "snapshot in $*"
	try_snapshot "$@" || die "snapshot $* failed"
}

# ---- patterns (cowpattern) ----

pat_write() {
	cowpattern write "$@" --quiet || die "cowpattern write $* failed"
}

pat_verify() {
	cowpattern verify "$@" --quiet || die "cowpattern verify $* failed"
}

# pat_garbage DEV: stamp one 4 KiB block in every 64 KiB of DEV with a
# foreign pattern (tag 666), so data that was never zeroed shows up.
pat_garbage() {
	cowpattern write $1 --tag 666 --gen 666 --stride 16 --quiet ||
		die "pre-filling $1 failed"
}

# ---- misc ----

# wait_until SECONDS WHAT CMD...: poll CMD every second until it succeeds
# (locals are prefixed: sh scoping is dynamic and CMD may be a function).
wait_until() {
	local _wu_t=$1 _wu_what=$2 _wu_i=0
	shift 2
	while ! "$@"; do
		_wu_i=$((_wu_i + 1))
		[ $_wu_i -lt $_wu_t ] || die "timed out after ${_wu_t}s waiting for $_wu_what"
		sleep 1
	done
}

# all_status: every dm device's status and table, sorted (for before/after
# comparisons).
all_status() {
	{ dmsetup status; dmsetup table; } | sort
}

# notes_save DEV FILE / notes_load DEV FILE: keep a small text file on a
# spare disk across boots (the guest's /tmp is lost on reboot).
notes_save() {
	{ cat $2; head -c 4096 /dev/zero; } > $1
	sync
}

notes_load() {
	head -c 1048576 $1 | tr -d '\000' > $2
}

# uptime_cs: uptime in centiseconds (10 ms resolution).
uptime_cs() {
	awk '{ split($1, a, "."); print a[1] * 100 + a[2] }' /proc/uptime
}
