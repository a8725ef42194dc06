# Discarding whole chunks unmaps them: the range reads zeroes, the volume's
# mapped chunks and the pool's used data chunks drop; a discard of chunks
# shared with a snapshot leaves the snapshot intact and frees nothing.
# needs: target
# timeout: 300

load_cowtree
brd_load 2 128
pat_garbage /dev/ram1
pool_create pool /dev/ram0 /dev/ram1 $COW_CHUNK
sz=$(mib_sectors 16)
vol_create pool 1 v $sz
pat_write /dev/mapper/v --tag 1 --gen 1 --record /tmp/v.map
used=$(pool_used_data pool)
[ "$(vol_mapped v)" = 256 ] || die "want 256 mapped chunks: $(dmsetup status v)"
log "volume discard limits: granularity $(cat /sys/block/$(basename $(readlink -f /dev/mapper/v))/queue/discard_granularity)"

log "discard 4 MiB at 4 MiB (64 whole chunks)"
blkdiscard -o $((4 * 1048576)) -l $((4 * 1048576)) /dev/mapper/v || die "blkdiscard failed"
echo "zero offset=$((4 * 1048576)) length=$((4 * 1048576))" >> /tmp/v.map
log "check: the range reads zeroes, the rest is intact"
pat_verify /dev/mapper/v --map /tmp/v.map
[ "$(vol_mapped v)" = 192 ] || die "want 192 mapped chunks after discard: $(dmsetup status v)"
freed() { [ "$(pool_used_data pool)" = $((used - 64)) ]; }
wait_until 60 "used data chunks to drop by 64 (status: $(dmsetup status pool))" freed

log "check: a rewrite of the discarded range allocates again and reads back"
pat_write /dev/mapper/v --tag 1 --gen 2 --offset 4M --length 1M --record /tmp/v.map
pat_verify /dev/mapper/v --map /tmp/v.map
[ "$(pool_used_data pool)" = $((used - 48)) ] || die "want $((used - 48)) used: $(dmsetup status pool)"

log "check: discarding chunks shared with a snapshot"
snapshot pool 2 1 snap
cp /tmp/v.map /tmp/snap.map
u=$(pool_used_data pool)
blkdiscard -o $((8 * 1048576)) -l $((2 * 1048576)) /dev/mapper/v || die "blkdiscard failed"
echo "zero offset=$((8 * 1048576)) length=$((2 * 1048576))" >> /tmp/v.map
pat_verify /dev/mapper/v --map /tmp/v.map
vol_activate pool 2 snap $sz
pat_verify /dev/mapper/snap --map /tmp/snap.map
[ "$(pool_used_data pool)" = $u ] || die "discarding shared chunks freed data: $u -> $(dmsetup status pool)"
log "check: the snapshot still owns them after the origin's discard"
vol_deactivate snap
msg pool delete 2
reclaim_done() { [ "$(pool_reclaiming pool)" = 0 ]; }
wait_until 120 "reclaim" reclaim_done
[ "$(pool_used_data pool)" = $((u - 32)) ] || die "want $((u - 32)) after deleting the snapshot: $(dmsetup status pool)"
pat_verify /dev/mapper/v --map /tmp/v.map

log "check: a pool with ignore_discard keeps the mapping"
vol_deactivate v
pool_remove pool
pool_create pool /dev/ram0 /dev/ram1 $COW_CHUNK ignore_discard
vol_activate pool 1 v $sz
m=$(vol_mapped v)
blkdiscard -o 0 -l 1048576 /dev/mapper/v 2>/dev/null || true
[ "$(vol_mapped v)" = $m ] || die "ignore_discard pool unmapped chunks: $(dmsetup status v)"
pat_verify /dev/mapper/v --map /tmp/v.map
log "discard ok"
