# rollback gives an inactive volume its snapshot's mapping in one step: the
# volume reads the snapshot's data again, the snapshot stays intact and
# independent, and the volume's replaced chunks are freed.  An active,
# unsuspended volume cannot be rolled back.
# needs: target
# timeout: 300

load_cowtree
brd_load 2 128
pool_create pool /dev/ram0 /dev/ram1 $COW_CHUNK
sz=$(mib_sectors 16)
vol_create pool 1 v $sz
pat_write /dev/mapper/v --tag 1 --gen 1 --length 12M
snapshot pool 2 1 snap
used_snap=$(pool_used_data pool)
pat_write /dev/mapper/v --tag 1 --gen 2 --offset 4M --length 12M --record /tmp/v.map
log "after gen 2: $(dmsetup status pool)"

log "check: rollback of an active unsuspended volume is refused"
before=$(all_status)
expect_fail try_msg pool rollback 1 2
[ "$(all_status)" = "$before" ] || die "refused rollback changed the status"
log "check: rollback with an unknown snapshot is refused"
vol_deactivate v
expect_fail try_msg pool rollback 1 999

log "rollback 1 to 2 while inactive"
msg pool rollback 1 2
vol_activate pool 1 v $sz
log "check: the volume reads the snapshot's data (gen 1, zero after 12 MiB)"
pat_verify /dev/mapper/v --tag 1 --gen 1 --length 12M
pat_verify /dev/mapper/v --expect-zero --offset 12M
[ "$(vol_mapped v)" = 192 ] || die "want 192 mapped chunks: $(dmsetup status v)"

log "check: the gen 2 chunks are freed"
# freed at once or by the background worker: either way, eventually
freed() { [ "$(pool_reclaiming pool)" = 0 ] && [ "$(pool_used_data pool)" = $used_snap ]; }
wait_until 120 "used data chunks back to $used_snap after rollback" freed

log "check: the snapshot stays and stays independent of the volume"
vol_activate pool 2 snap $sz
pat_verify /dev/mapper/snap --tag 1 --gen 1 --length 12M
pat_write /dev/mapper/v --tag 1 --gen 3 --length 2M
pat_verify /dev/mapper/snap --tag 1 --gen 1 --length 12M
pat_write /dev/mapper/snap --tag 2 --gen 4 --offset 2M --length 2M
pat_verify /dev/mapper/v --tag 1 --gen 3 --length 2M
pat_verify /dev/mapper/v --tag 1 --gen 1 --offset 2M --length 10M

log "check: rollback of a suspended volume"
snapshot pool 3 1 snap2
pat_write /dev/mapper/v --tag 1 --gen 5 --length 12M
dmsetup suspend v
msg pool rollback 1 3
dmsetup resume v
# the volume was suspended, not reloaded: it must see the new mapping
pat_verify /dev/mapper/v --tag 1 --gen 3 --length 2M
pat_verify /dev/mapper/v --tag 1 --gen 1 --offset 2M --length 10M
log "rollback ok"
