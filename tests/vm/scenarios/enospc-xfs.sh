# Space exhaustion under xfs load (enospc.sh covers ext4 and raw volumes).
# A cowpattern writer (fsync'ed file) and an fio random-write job run on
# xfs on a volume bigger than the pool:
#  1. queue_if_no_space, then the data device grows: the writers block (not
#     fail), complete after the reload, fio's own verify passes;
#  2. queue_if_no_space with no_space_timeout=5: queued writes fail after
#     the timeout (the status shows out_of_data_space), the pool grows;
#  3. error_if_no_space: writes fail at once with ENOSPC, the pool grows;
#  4. metadata exhaustion: the pool goes ro with needs_check and a DMERR;
#     offline check, clear needs_check, reactivate on a grown metadata
#     device: rw again.
# After each: xfs mounts (log recovery), xfs_repair -n is clean, and the
# file written and fsync'ed before the exhaustion verifies.
# timeout: 1500
# mem: 1536

load_cowtree
brd_load 4 256
# xfsprogs refuses file systems under 300 MB unless it believes it runs
# under fstests.
export QA_CHECK_FS=1 TEST_DIR=/tmp TEST_DEV=/dev/null
mkdir -p /mnt/x

# setup NAME META DATA_DEV CHUNK VOL_MIB [FEATURE...]: pool, volume NAME-v
# with xfs mounted on /mnt/x, and /mnt/x/acked written and fsync'ed.
setup() {
	local name=$1 meta=$2 data=$3 chunk=$4 vmib=$5
	shift 5
	dd if=/dev/zero of=$meta bs=4k count=1 2>/dev/null
	pool_create $name $meta $data $chunk "$@"
	vol_create $name 1 $name-v $(mib_sectors $vmib)
	mkfs.xfs -q -f -K /dev/mapper/$name-v || die "mkfs.xfs"
	mount -t xfs /dev/mapper/$name-v /mnt/x || die "mount xfs"
	pat_write /mnt/x/acked --tag 1 --gen 1 --length 4M --fsync
	sync
	log "$name after mkfs and 4 MiB: $(dmsetup status $name)"
}

# load SIZE: start the writers (cowpattern big file, fio random writes).
load() {
	cowpattern write /mnt/x/big --tag 2 --gen 1 --length $1 --fsync --quiet \
		> /tmp/w.out 2>&1 &
	writer=$!
	fio --name=load --filename=/mnt/x/fio --size=8M --rw=randwrite --bs=4k \
		--ioengine=psync --fsync=16 --verify=crc32c --do_verify=1 \
		--output=/tmp/fio.out > /dev/null 2>&1 &
	fio=$!
}

# wait_pid PID SECONDS: wait for PID at most SECONDS; its exit status, or
# 124 if it is still running.
wait_pid() {
	local i=0
	while kill -0 $1 2>/dev/null; do
		i=$((i + 1))
		[ $i -le $2 ] || return 124
		sleep 1
	done
	wait $1
}

# recover NAME: unmount, mount again (replays the log of a file system
# that shut down), unmount, xfs_repair -n, and verify the acknowledged file.
recover() {
	local dev=/dev/mapper/$1-v
	umount /mnt/x || die "umount"
	mount -t xfs $dev /mnt/x || die "xfs does not mount after recovery"
	umount /mnt/x || die "umount after log recovery"
	xfs_repair -n $dev > /tmp/repair.out 2>&1 || { cat /tmp/repair.out; die "xfs_repair -n found problems"; }
	mount -t xfs -o ro $dev /mnt/x || die "mount ro"
	pat_verify /mnt/x/acked --tag 1 --gen 1 --length 4M
	umount /mnt/x
	log "$1: xfs clean, the acknowledged file verifies"
}

grow_data() { # grow_data LINEAR SRC MIB POOL META
	dmsetup reload $1 --table "0 $(mib_sectors $3) linear $2 0" || die "reload $1"
	dmsetup resume $1 || die "resume $1"
	pool_reload $4 $5 /dev/mapper/$1 $COW_CHUNK ${6:-}
	[ "$(pool_mode $4)" = rw ] || die "$4 not rw after growing: $(dmsetup status $4)"
}

out_of_space() { [ "$(pool_mode $1)" = out_of_data_space ]; }

teardown() { # teardown NAME
	vol_deactivate $1-v
	pool_remove $1
}

# ---- 1. queue_if_no_space, recovered by growing the data device ----
dmsetup create d1 --table "0 $(mib_sectors 32) linear /dev/ram1 0" || die "linear d1"
setup p1 /dev/ram0 /dev/mapper/d1 $COW_CHUNK 128
load 96M
wait_until 50 "p1 to run out of data space ($(dmsetup status p1))" out_of_space p1
log "p1 full: $(dmsetup status p1)"
sleep 3
kill -0 $writer 2>/dev/null || die "writer ended in queue mode: $(cat /tmp/w.out)"
kill -0 $fio 2>/dev/null || log "fio finished before the pool filled"
grow_data d1 /dev/ram1 192 p1 /dev/ram0
wait_pid $writer 120 || die "queued writes failed after growing: $(cat /tmp/w.out)"
wait_pid $fio 120 || die "fio failed after growing: $(tail -20 /tmp/fio.out)"
grep -q 'err= 0' /tmp/fio.out || die "fio reports errors: $(tail -20 /tmp/fio.out)"
pat_verify /mnt/x/big --tag 2 --gen 1 --length 96M
log "check: queued xfs writes completed after growing and verify"
recover p1
teardown p1

# ---- 2. queue_if_no_space with a 5 s no_space_timeout ----
echo 5 > /sys/module/dm_cowtree/parameters/no_space_timeout || die "set no_space_timeout"
dmsetup create d2 --table "0 $(mib_sectors 32) linear /dev/ram3 0" || die "linear d2"
setup p2 /dev/ram2 /dev/mapper/d2 $COW_CHUNK 128
load 96M
wait_until 50 "p2 to run out of data space ($(dmsetup status p2))" out_of_space p2
t0=$(uptime_cs)
rc=0
wait_pid $writer 60 || rc=$?
t1=$(uptime_cs)
log "writer exit $rc $(((t1 - t0) / 100)) s after the pool filled: $(cat /tmp/w.out)"
[ $rc != 124 ] || die "writes still queued 60 s after a 5 s no_space_timeout"
[ $rc != 0 ] || die "the writer succeeded on a full pool"
dmesg | grep -q 'out of data space for 5 s: failing queued writes' || die "no message for the timeout"
wait_pid $fio 60 || true
out_of_space p2 || die "p2 not out_of_data_space: $(dmsetup status p2)"
echo 60 > /sys/module/dm_cowtree/parameters/no_space_timeout
grow_data d2 /dev/ram3 192 p2 /dev/ram2
recover p2
teardown p2
dmsetup remove d2

# ---- 3. error_if_no_space ----
dmsetup create d3 --table "0 $(mib_sectors 32) linear /dev/ram3 0" || die "linear d3"
setup p3 /dev/ram2 /dev/mapper/d3 $COW_CHUNK 128 error_if_no_space
load 96M
rc=0
wait_pid $writer 120 || rc=$?
log "writer exit $rc: $(cat /tmp/w.out); $(dmsetup status p3)"
[ $rc != 124 ] || die "writes hang in error_if_no_space mode"
[ $rc != 0 ] || die "the writer succeeded on a full error_if_no_space pool"
wait_pid $fio 120 || true
out_of_space p3 || die "p3 not out_of_data_space: $(dmsetup status p3)"
grow_data d3 /dev/ram3 192 p3 /dev/ram2 error_if_no_space
recover p3
teardown p3
dmsetup remove d3

# ---- 4. metadata exhaustion: 2 MiB of metadata, 4 KiB chunks ----
dmsetup create m4 --table "0 4096 linear /dev/ram2 0" || die "linear m4"
setup p4 /dev/mapper/m4 /dev/ram3 8 240
load 200M
ro_mode() { [ "$(pool_mode p4)" = ro ]; }
wait_until 300 "p4 to go read-only ($(dmsetup status p4))" ro_mode
log "p4: $(dmsetup status p4)"
[ "$(pool_status_field p4 8)" = needs_check ] || die "needs_check not set"
dmesg | grep -q "pool .*: metadata operation .* failed: error = -28" ||
	die "no DMERR for the metadata exhaustion"
rc=0
wait_pid $writer 120 || rc=$?
[ $rc != 124 ] || die "writes hang on a read-only pool"
[ $rc != 0 ] || die "200 MiB of 4 KiB chunks fit in 2 MiB of metadata?"
wait_pid $fio 120 || true
log "check: the acknowledged file reads back from the read-only pool"
pat_verify /mnt/x/acked --tag 1 --gen 1 --length 4M
umount /mnt/x || die "umount"
teardown p4
dmcowctl check /dev/mapper/m4 || die "dmcowctl check after metadata exhaustion"
dmcowctl check --clear-needs-check /dev/mapper/m4 || die "clearing needs_check"
dmsetup reload m4 --table "0 $(mib_sectors 16) linear /dev/ram2 0" || die "reload m4"
dmsetup resume m4 || die "resume m4"
pool_create p4 /dev/mapper/m4 /dev/ram3 8
[ "$(pool_mode p4)" = rw ] || die "p4 not rw on a grown metadata device: $(dmsetup status p4)"
[ "$(pool_used_meta p4)" -gt 0 ] && [ "$(pool_status_field p4 2 | cut -d/ -f2)" = 4096 ] ||
	die "metadata did not grow: $(dmsetup status p4)"
vol_activate p4 1 p4-v $(mib_sectors 240)
mount -t xfs /dev/mapper/p4-v /mnt/x || die "mount after growing the metadata"
pat_write /mnt/x/after --tag 3 --gen 1 --length 8M --fsync
recover p4
teardown p4
log "enospc-xfs ok"
