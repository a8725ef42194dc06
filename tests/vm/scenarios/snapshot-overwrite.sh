# A snapshot keeps the origin's data as it was when taken: overwriting the
# origin (whole chunks and a single block inside a shared chunk) leaves the
# snapshot intact, writing the snapshot leaves the origin intact, and the
# snapshot itself costs no data chunks.
# needs: target
# timeout: 400

load_cowtree
brd_load 2 128
pat_garbage /dev/ram1
pool_create pool /dev/ram0 /dev/ram1 $COW_CHUNK
sz=$(mib_sectors 32)
vol_create pool 1 origin $sz

log "write gen 1 over the whole origin"
pat_write /dev/mapper/origin --tag 1 --gen 1 --fsync --record /tmp/origin.map
used1=$(pool_used_data pool)
[ "$(vol_mapped origin)" = 512 ] || die "want 512 mapped chunks: $(dmsetup status origin)"

snapshot pool 2 1 snap
cp /tmp/origin.map /tmp/snap.map
log "check: the snapshot allocated no data chunks"
[ "$(pool_used_data pool)" = $used1 ] || die "snapshot used data chunks: $used1 -> $(pool_used_data pool)"

log "overwrite the first half of the origin (gen 2) and one block in a shared chunk"
pat_write /dev/mapper/origin --tag 1 --gen 2 --length 16M --random-order 1 --record /tmp/origin.map
pat_write /dev/mapper/origin --tag 1 --gen 2 --offset $((24 * 1048576 + 8192)) --length 4k --record /tmp/origin.map
log "check: origin reads the mixed layout (COW copied the rest of the chunk)"
pat_verify /dev/mapper/origin --map /tmp/origin.map
want=$((used1 + 256 + 1))
[ "$(pool_used_data pool)" = $want ] || die "want $want used data chunks after COW: $(dmsetup status pool)"
[ "$(vol_mapped origin)" = 512 ] || die "origin mapped chunks changed: $(dmsetup status origin)"

log "check: the snapshot (activated after the overwrite) holds gen 1 everywhere"
vol_activate pool 2 snap $sz
pat_verify /dev/mapper/snap --tag 1 --gen 1
[ "$(vol_mapped snap)" = 512 ] || die "snapshot should map 512 chunks: $(dmsetup status snap)"

log "write gen 3 to the snapshot; check the origin is unaffected"
pat_write /dev/mapper/snap --tag 2 --gen 3 --offset 8M --length 16M --stride 3 --record /tmp/snap.map
pat_verify /dev/mapper/snap --map /tmp/snap.map
pat_verify /dev/mapper/origin --map /tmp/origin.map

log "check: writes after the first COW of a chunk do not copy again"
u=$(pool_used_data pool)
pat_write /dev/mapper/origin --tag 1 --gen 4 --length 16M --stride 5 --record /tmp/origin.map
[ "$(pool_used_data pool)" = $u ] || die "rewriting exclusive chunks allocated: $u -> $(pool_used_data pool)"
pat_verify /dev/mapper/origin --map /tmp/origin.map
pat_verify /dev/mapper/snap --map /tmp/snap.map

log "check: both survive a pool reload"
vol_deactivate snap
vol_deactivate origin
pool_remove pool
pool_create pool /dev/ram0 /dev/ram1 $COW_CHUNK
vol_activate pool 1 origin $sz
vol_activate pool 2 snap $sz
pat_verify /dev/mapper/origin --map /tmp/origin.map
pat_verify /dev/mapper/snap --map /tmp/snap.map
log "snapshot-overwrite ok"
