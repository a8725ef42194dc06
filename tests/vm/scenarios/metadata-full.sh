# Metadata space exhaustion: the pool goes read-only with needs_check set,
# never corrupts; reads and overwrites of owned chunks keep working, new
# chunks fail; a reactivation stays read-only until the flag is cleared.
# timeout: 300

load_cowtree
brd_load 2 128
# 512 KiB of metadata (128 blocks) cannot map 128 MiB in 4 KiB
# chunks: 32768 mappings need at least 138 leaves even when ascending
# inserts fill them to 15/16 (1 MiB held them all once that landed).
dmsetup create meta --table "0 1024 linear /dev/ram1 0" || die "meta slice"
dd if=/dev/zero of=/dev/mapper/meta bs=4k count=1 2>/dev/null
pool_create pool /dev/mapper/meta /dev/ram0 8
msg pool create 1 v
vol_activate pool 1 v 262144

log "write until the metadata device is full"
pat_write /dev/mapper/v --tag 1 --gen 1 --length 1M --fsync
if cowpattern write /dev/mapper/v --tag 1 --gen 2 --offset 1M --fsync --quiet 2>/tmp/err; then
	die "128 MiB of 4 KiB chunks fit in 512 KiB of metadata?"
fi
log "status after exhaustion: $(dmsetup status pool)"
[ "$(pool_mode pool)" = ro ] || die "pool not read-only after metadata exhaustion: $(dmsetup status pool)"
[ "$(pool_status_field pool 8)" = needs_check ] || die "needs_check not set"
dmesg | grep -q "metadata operation .* failed" || die "no DMERR for the failed metadata operation"

log "check: committed data reads back; owned chunks can be overwritten"
pat_verify /dev/mapper/v --tag 1 --gen 1 --length 1M
pat_write /dev/mapper/v --tag 1 --gen 3 --length 1M --fsync
pat_verify /dev/mapper/v --tag 1 --gen 3 --length 1M
log "check: messages are refused in read-only mode"
expect_fail try_msg pool create 2 w

log "check: reactivation stays read-only (needs_check)"
vol_deactivate v
pool_remove pool
pool_create pool /dev/mapper/meta /dev/ram0 8
[ "$(pool_mode pool)" = ro ] || die "pool with needs_check activated rw: $(dmsetup status pool)"
vol_activate pool 1 v 262144
pat_verify /dev/mapper/v --tag 1 --gen 3 --length 1M
vol_deactivate v
pool_remove pool

# The same with one 4 KiB write at a time: each write's chunk is
# allocated after the previous write's mapping was inserted, so when an
# insert takes the metadata below its reserve, the next allocation is what
# finds it full.  That -ENOSPC is the metadata's: the pool must go
# read-only, not out_of_data_space (the data device is far from full).
log "exhaust the metadata with one write at a time"
dd if=/dev/zero of=/dev/mapper/meta bs=4k count=1 2>/dev/null
pool_create pool /dev/mapper/meta /dev/ram0 8
msg pool create 1 v
vol_activate pool 1 v 262144
if dd if=/dev/zero of=/dev/mapper/v bs=4k oflag=direct 2>/tmp/err; then
	die "dd filled 128 MiB of 4 KiB chunks with 512 KiB of metadata"
fi
log "status after exhaustion: $(dmsetup status pool)"
[ "$(pool_mode pool)" = ro ] || die "pool not read-only after metadata exhaustion by single writes: $(dmsetup status pool)"
[ "$(pool_status_field pool 8)" = needs_check ] || die "needs_check not set"
vol_deactivate v
pool_remove pool
log "metadata-full ok"
