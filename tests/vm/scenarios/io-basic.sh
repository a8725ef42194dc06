# A fresh volume reads zeroes, keeps what is written, allocates one chunk per
# touched chunk (zeroing the rest of a new chunk), and reports its mapping
# in the pool and volume status.
# needs: target
# timeout: 300

load_cowtree
brd_load 2 128
pat_garbage /dev/ram1		# stale data the pool must never expose
pool_create pool /dev/ram0 /dev/ram1 $COW_CHUNK
base=$(pool_used_data pool)
total=$(pool_total_data pool)
log "fresh pool: used $base of $total data chunks"
[ "$total" -eq $((128 * 2048 / COW_CHUNK)) ] || die "total data chunks $total, want $((128 * 2048 / COW_CHUNK))"
[ "$(pool_mode pool)" = rw ] || die "fresh pool not rw: $(dmsetup status pool)"
[ "$(pool_reclaiming pool)" = 0 ] || die "fresh pool reclaiming: $(dmsetup status pool)"

vol_create pool 1 v1 $(mib_sectors 32)
log "check: unwritten volume reads zeroes, maps nothing"
[ "$(vol_mapped v1)" = 0 ] || die "fresh volume maps chunks: $(dmsetup status v1)"
[ "$(vol_status_field v1 4)" = - ] || die "fresh volume highest sector not '-': $(dmsetup status v1)"
pat_verify /dev/mapper/v1 --expect-zero

log "check: 4 MiB at 8 MiB maps 64 chunks, reads back, the rest still zero"
pat_write /dev/mapper/v1 --tag 1 --gen 1 --offset 8M --length 4M --record /tmp/map
pat_verify /dev/mapper/v1 --map /tmp/map --expect-zero
[ "$(vol_mapped v1)" = 64 ] || die "want 64 mapped chunks: $(dmsetup status v1)"
[ "$(vol_status_field v1 4)" = $((12 * 2048 - 1)) ] || die "want highest mapped sector $((12 * 2048 - 1)): $(dmsetup status v1)"
[ "$(pool_used_data pool)" = $((base + 64)) ] || die "want $((base + 64)) used data chunks: $(dmsetup status pool)"

log "check: overwriting in place allocates nothing"
pat_write /dev/mapper/v1 --tag 1 --gen 2 --offset 8M --length 4M --random-order 3 --record /tmp/map
pat_verify /dev/mapper/v1 --map /tmp/map --expect-zero
[ "$(vol_mapped v1)" = 64 ] || die "overwrite changed mapped chunks: $(dmsetup status v1)"
[ "$(pool_used_data pool)" = $((base + 64)) ] || die "overwrite allocated: $(dmsetup status pool)"

log "check: one 4 KiB write inside a new chunk zeroes the rest of that chunk"
pat_write /dev/mapper/v1 --tag 1 --gen 3 --offset $((20 * 1048576 + 12288)) --length 4k --record /tmp/map
pat_verify /dev/mapper/v1 --map /tmp/map --expect-zero
[ "$(vol_mapped v1)" = 65 ] || die "want 65 mapped chunks: $(dmsetup status v1)"
[ "$(pool_used_data pool)" = $((base + 65)) ] || die "want $((base + 65)) used: $(dmsetup status pool)"

log "check: a second volume is independent"
vol_create pool 2 v2 $(mib_sectors 16)
pat_verify /dev/mapper/v2 --expect-zero
pat_write /dev/mapper/v2 --tag 2 --gen 1 --stride 32 --fsync
pat_verify /dev/mapper/v2 --tag 2 --gen 1 --stride 32
pat_verify /dev/mapper/v1 --map /tmp/map --expect-zero
[ "$(vol_mapped v2)" = 128 ] || die "want 128 chunks mapped by v2: $(dmsetup status v2)"

log "check: data survives deactivate/reactivate of the volume and the pool"
vol_deactivate v1
vol_deactivate v2
pool_remove pool
pool_create pool /dev/ram0 /dev/ram1 $COW_CHUNK
vol_activate pool 1 v1 $(mib_sectors 32)
pat_verify /dev/mapper/v1 --map /tmp/map --expect-zero
[ "$(pool_used_data pool)" = $((base + 65 + 128)) ] || die "used data after reopen: $(dmsetup status pool)"
vol_deactivate v1
pool_remove pool
log "io-basic ok"
