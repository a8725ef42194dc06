# The pool's share message: chunks of the origin rewritten with identical
# data after a snapshot are shared with the snapshot again, chunks that
# differ (by one byte too) are left alone, and neither volume's data
# changes (checksums).  The counters follow exactly (worked out below),
# `dmcowctl check --live` and --strict-leaks agree, and the freed chunks
# come back to the pool.  A write to a re-shared chunk breaks sharing
# (the snapshot keeps its data).  Bad requests get a DMERR and change
# nothing.  Then the race: fio writes (and verifies) random blocks of the
# origin while share messages run over the same chunks again and again,
# each pass after the chunks were made equal and exclusive once more; no
# acknowledged write may be lost.  Last, chunks freed while a metadata
# snapshot was held come back once it is released (the tools hold one).
# needs: target
# timeout: 600

load_cowtree
brd_load 2 160
chunk=128			# 64 KiB
# The data device sits on dm-delay: the race below holds writes 100 ms.
dsz=$(blockdev --getsz /dev/ram1)
write_delay() {
	dmsetup reload slowdata --table "0 $dsz delay /dev/ram1 0 0 /dev/ram1 0 $1" &&
		dmsetup resume slowdata || die "dm-delay: writes held $1 ms"
}
dmsetup create slowdata --table "0 $dsz delay /dev/ram1 0 0 /dev/ram1 0 0" || die "dm-delay"
pool_create pool /dev/ram0 /dev/mapper/slowdata $chunk
vol_create pool 1 origin $(mib_sectors 8)

# expect_counters NAME MAPPED EXCLUSIVE WRITTEN
expect_counters() {
	local got
	got="$(vol_status_field $1 1) $(vol_status_field $1 2) $(vol_status_field $1 3)"
	[ "$got" = "$2 $3 $4" ] ||
		die "$1: mapped/exclusive/written are $got, want $2 $3 $4 ($(dmsetup status $1))"
}

sum() { md5sum < /dev/mapper/$1 | cut -d' ' -f1; }

# share "ARGS" EXPECTED: the message's output must be EXPECTED.
share() {
	local out
	out=$(dmsetup message pool 0 share $1) || die "share $1 failed"
	[ "$out" = "$2" ] || die "share $1: got '$out', want '$2'"
	log "share $1: $out"
}

log "origin: 64 chunks; snapshot; the origin rewrites 24 of them"
pat_write /dev/mapper/origin --tag 1 --gen 1 --length 4M
snapshot pool 2 1 snap
vol_activate pool 2 snap $(mib_sectors 8)
# Chunks 0-19 with the same bytes, then one byte changed in chunks 17
# (the last of its first page), 18 (its first) and 19 (its last);
# chunks 20-23 with other data.
pat_write /dev/mapper/origin --tag 1 --gen 1 --length 1280k
for at in $((17 * 65536 + 4095)) $((18 * 65536)) $((20 * 65536 - 1)); do
	printf 'X' | dd of=/dev/mapper/origin bs=1 seek=$at conv=notrunc 2>/dev/null
done
pat_write /dev/mapper/origin --tag 1 --gen 2 --offset 1280k --length 256k
sync
dd if=/dev/mapper/origin of=/tmp/o17 bs=64k skip=17 count=1 2>/dev/null
dd if=/dev/mapper/snap of=/tmp/s17 bs=64k skip=17 count=1 2>/dev/null
cmp -s /tmp/o17 /tmp/s17 && die "chunk 17 should differ by one byte"
expect_counters origin 64 24 64
expect_counters snap 64 24 0
origin_sum=$(sum origin)
snap_sum=$(sum snap)
used=$(pool_used_data pool)

log "bad requests: refused with a DMERR, nothing changes"
dmesg -c > /dev/null
expect_fail try_msg pool share 1 0 2 1 4
dmesg | grep -q "share: chunks are shared only at the same offset" || die "no DMERR for different offsets"
expect_fail try_msg pool share 1 0 9 0 4
dmesg | grep -q "share: no volume 9" || die "no DMERR for an unknown volume"
expect_fail try_msg pool share 1 0 1 0 4
expect_fail try_msg pool share 1 0 2 0 0
expect_fail try_msg pool share 1 0 2 0 1025
expect_fail try_msg pool share 1 x 2 0
msg pool create 3 other
expect_fail try_msg pool share 3 0 2 0 4
dmesg | grep -q "share: volumes 3 and 2 are not of one family" || die "no DMERR for another family"
msg pool delete 3
expect_counters origin 64 24 64

log "share the origin's chunks 0-31 with the snapshot's"
share "1 0 2 0 32" "compared 24 shared 17 different 7 busy 0 skipped 8 outcome sssssssssssssssssddddddd--------"
expect_counters origin 64 7 64
expect_counters snap 64 7 0
[ "$(sum origin)" = "$origin_sum" ] || die "the origin's data changed"
[ "$(sum snap)" = "$snap_sum" ] || die "the snapshot's data changed"
[ "$(pool_used_data pool)" = $((used - 17)) ] ||
	die "pool uses $(pool_used_data pool) chunks, want $((used - 17))"
log "again: nothing left to share; the other direction is refused by time"
share "1 0 2 0 32" "compared 7 shared 0 different 7 busy 0 skipped 25 outcome -----------------ddddddd--------"
share "2 0 1 0 24" "compared 0 shared 0 different 0 busy 0 skipped 24 outcome ------------------------"
dmcowctl check --live pool > /tmp/live || { cat /tmp/live; die "check --live after share"; }

log "a write to a re-shared chunk breaks sharing; the snapshot keeps its data"
pat_write /dev/mapper/origin --tag 1 --gen 3 --length 64k
expect_counters origin 64 8 64
expect_counters snap 64 8 0
[ "$(sum snap)" = "$snap_sum" ] || die "a write to the origin changed the snapshot"
pat_verify /dev/mapper/origin --tag 1 --gen 3 --length 64k
pat_verify /dev/mapper/origin --tag 1 --gen 1 --offset 64k --length 1024k

log "race: fio writes to the origin while share passes run"
# Each round makes chunks 32-63 of the origin equal to the snapshot's and
# the origin's own, starts fio (random 4 KiB writes with verification,
# 8 in flight, each held 100 ms below the pool: overwrites in place), and
# runs share passes over those chunks meanwhile.  The first pass finds
# them equal on disk while writes to them are in flight: without the
# fence and the wait for I/O in flight, it shares them and those writes
# land in chunks the origin no longer maps.
ROUNDS=${ROUNDS:-6}
engine=psync
fio --enghelp 2>/dev/null | grep -qw libaio && engine=libaio
r=1
shared_total=0
busy_total=0
while [ $r -le $ROUNDS ]; do
	write_delay 0
	dd if=/dev/mapper/snap of=/dev/mapper/origin bs=64k skip=32 seek=32 count=32 \
		oflag=direct 2>/dev/null || die "dd"
	write_delay 100
	fio --name=race --filename=/dev/mapper/origin --offset=2m --size=2m \
		--rw=randwrite --bs=4k --ioengine=$engine --iodepth=8 --direct=1 \
		--number_ios=128 --verify=crc32c --verify_fatal=1 \
		--randseed=$r >/tmp/fio.out 2>&1 &
	fio_pid=$!
	until [ "$(dmsetup status slowdata | awk '{ print $5 }')" -gt 0 ]; do
		kill -0 $fio_pid 2>/dev/null || break
		usleep 10000
	done
	while kill -0 $fio_pid 2>/dev/null; do
		out=$(dmsetup message pool 0 share 1 32 2 32 32) || die "share during I/O failed"
		log "round $r: $out"
		set -- $out
		shared_total=$((shared_total + $4))
		busy_total=$((busy_total + $8))
	done
	wait $fio_pid || { cat /tmp/fio.out; die "round $r: fio verify failed: a write was lost"; }
	r=$((r + 1))
done
write_delay 0
log "race: $shared_total chunks shared, $busy_total busy over $ROUNDS rounds; every write verified"
[ $shared_total -gt 0 ] || die "the race never shared a chunk: it was not exercised"
dmcowctl check --live pool > /tmp/live || { cat /tmp/live; die "check --live after the race"; }
[ "$(sum snap)" = "$snap_sum" ] || die "the race changed the snapshot"

log "a released metadata snapshot gives back the chunks only it held"
# (dmcowctl reshare, send and check --live hold one while they read.)
msg pool create 5 scratch
vol_activate pool 5 scratch $(mib_sectors 1)
used=$(pool_used_data pool)
pat_write /dev/mapper/scratch --tag 5 --gen 1 --length 1M --fsync
[ "$(pool_used_data pool)" = $((used + 16)) ] || die "16 chunks written: $(dmsetup status pool)"
msg pool reserve_metadata_snap
blkdiscard /dev/mapper/scratch || die "discard"
msg pool set_transaction_id 0 1
[ "$(pool_used_data pool)" = $((used + 16)) ] || die "the held snapshot's chunks were freed"
msg pool release_metadata_snap
pool_back_to() { [ "$(pool_used_data pool)" = $1 ]; }
wait_until 20 "the released snapshot's 16 chunks to come back ($(dmsetup status pool))" pool_back_to $used
vol_deactivate scratch

vol_deactivate snap
vol_deactivate origin
pool_remove pool
dmsetup remove slowdata
dmcowctl check --strict-leaks /dev/ram0 > /tmp/check ||
	{ cat /tmp/check; die "offline check --strict-leaks"; }
log "share ok"
