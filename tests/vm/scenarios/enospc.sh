# Out of data space.  Default (queue_if_no_space): writes to ext4 on a
# volume bigger than the pool block, the pool reports out_of_data_space,
# and once the data device grows (dm-linear reload + pool reload) the
# queued I/O completes and the file system is clean.  error_if_no_space:
# the write fails at once and what was written before stays readable.
# needs: target
# timeout: 500

load_cowtree
brd_load 4 128

# ---- queue_if_no_space (default) ----
dmsetup create data --table "0 $(mib_sectors 16) linear /dev/ram1 0" || die "linear data"
pool_create pool /dev/ram0 /dev/mapper/data $COW_CHUNK
[ "$(pool_status_field pool 7)" = queue_if_no_space ] || die "default is not queue_if_no_space: $(dmsetup status pool)"
vol_create pool 1 vol $(mib_sectors 64)
mkfs.ext4 -q -b 4096 -E nodiscard,lazy_itable_init=1,lazy_journal_init=1 /dev/mapper/vol || die "mkfs.ext4"
mkdir -p /mnt/e
mount -t ext4 -o noinit_itable /dev/mapper/vol /mnt/e || die "mount ext4"
log "after mkfs: $(dmsetup status pool)"

# Queued writes fail after no_space_timeout (60 s by default): the pool
# must fill and be grown well within that.
log "write 40 MiB into a 16 MiB pool"
cowpattern write /mnt/e/big --tag 9 --gen 1 --length 40M --fsync --quiet > /tmp/w.out 2>&1 &
writer=$!
full() { [ "$(pool_mode pool)" = out_of_data_space ]; }
wait_until 180 "pool to report out_of_data_space ($(dmsetup status pool))" full
log "pool full: $(dmsetup status pool)"
sleep 3
kill -0 $writer 2>/dev/null || die "writer ended in queue mode: $(cat /tmp/w.out)"
log "check: the writer is blocked, not failed; growing the data device to 96 MiB"
dmsetup reload data --table "0 $(mib_sectors 96) linear /dev/ram1 0" || die "reload linear"
dmsetup resume data || die "resume linear"
pool_reload pool /dev/ram0 /dev/mapper/data $COW_CHUNK
log "after growing: $(dmsetup status pool)"
[ "$(pool_total_data pool)" = $((96 * 2048 / COW_CHUNK)) ] || die "pool did not grow: $(dmsetup status pool)"
wait $writer || die "queued writes failed after growing: $(cat /tmp/w.out)"
log "check: the queued writes completed, the file verifies, the pool is rw"
[ "$(pool_mode pool)" = rw ] || die "pool not back to rw: $(dmsetup status pool)"
pat_verify /mnt/e/big --tag 9 --gen 1
umount /mnt/e
e2fsck -fn /dev/mapper/vol || die "e2fsck found problems"
mount -t ext4 -o ro /dev/mapper/vol /mnt/e || die "remount"
pat_verify /mnt/e/big --tag 9 --gen 1
umount /mnt/e

# ---- error_if_no_space ----
dmsetup create data2 --table "0 $(mib_sectors 8) linear /dev/ram3 0" || die "linear data2"
pool_create pool2 /dev/ram2 /dev/mapper/data2 $COW_CHUNK error_if_no_space
[ "$(pool_status_field pool2 7)" = error_if_no_space ] || die "feature not in status: $(dmsetup status pool2)"
vol_create pool2 1 vol2 $(mib_sectors 32)
log "fill a 32 MiB volume of an 8 MiB error_if_no_space pool"
t0=$(uptime_cs)
rc=0
timeout 120 cowpattern fill-check /dev/mapper/vol2 --tag 3 --gen 1 > /tmp/f.out 2>&1 || rc=$?
t1=$(uptime_cs)
cat /tmp/f.out
log "fill-check rc $rc after $(((t1 - t0) / 100)) s; $(dmsetup status pool2)"
[ $rc -ne 124 ] && [ $rc -ne 143 ] || die "writes hung in error_if_no_space mode"
grep -q 'failed: No space left on device' /tmp/f.out || die "no write failed with ENOSPC on a full error_if_no_space pool"
[ $rc = 0 ] || die "blocks written before ENOSPC do not verify"
[ "$(pool_mode pool2)" = out_of_data_space ] || die "pool2 not out_of_data_space: $(dmsetup status pool2)"
log "check: more writes fail at once too"
rc=0
timeout 60 cowpattern write /dev/mapper/vol2 --tag 3 --gen 2 --offset 28M --length 1M > /tmp/f2.out 2>&1 || rc=$?
[ $rc = 1 ] || die "write to a full error_if_no_space pool: rc $rc (want 1): $(cat /tmp/f2.out)"
grep -q 'No space left on device' /tmp/f2.out || die "not ENOSPC: $(cat /tmp/f2.out)"
log "check: after growing, writes succeed"
dmsetup reload data2 --table "0 $(mib_sectors 48) linear /dev/ram3 0" || die "reload linear"
dmsetup resume data2 || die "resume linear"
pool_reload pool2 /dev/ram2 /dev/mapper/data2 $COW_CHUNK error_if_no_space
pat_write /dev/mapper/vol2 --tag 3 --gen 2 --offset 28M --length 1M
pat_verify /dev/mapper/vol2 --tag 3 --gen 2 --offset 28M --length 1M
[ "$(pool_mode pool2)" = rw ] || die "pool2 not rw after growing: $(dmsetup status pool2)"
log "enospc ok"
