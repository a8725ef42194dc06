# After a clean shutdown (volumes and pool removed) and a reboot, the pool
# reopens from its metadata device with every volume, snapshot, mapping,
# the transaction id and the data counters as they were.
# needs: target
# timeout: 300
# disks: 64M 256M 1M
# boots: 2

load_cowtree
meta=/dev/vda data=/dev/vdb notes=/dev/vdc
sz=$(mib_sectors 16)
# transaction id, used/total data, mode, discard, space mode, needs_check,
# reclaiming (metadata block use may legitimately change on reopen)
key_status() {
	dmsetup status pool | awk '{ print $4, $6, $8, $9, $10, $11, $12 }'
}

if [ "$COW_BOOT" = 1 ]; then
	pool_create pool $meta $data $COW_CHUNK
	vol_create pool 1 v $sz
	pat_write /dev/mapper/v --tag 1 --gen 1 --length 12M --record /tmp/v.map
	snapshot pool 2 1 snap
	cp /tmp/v.map /tmp/snap.map
	pat_write /dev/mapper/v --tag 1 --gen 2 --offset 2M --length 4M --random-order 8 --record /tmp/v.map
	pat_write /dev/mapper/v --tag 1 --gen 3 --offset $((10 * 1048576 + 4096)) --length 4k --record /tmp/v.map
	vol_activate pool 2 snap $sz
	pat_write /dev/mapper/snap --tag 2 --gen 4 --offset 8M --length 1M --record /tmp/snap.map
	pat_verify /dev/mapper/v --map /tmp/v.map --expect-zero
	pat_verify /dev/mapper/snap --map /tmp/snap.map --expect-zero
	vol_deactivate snap
	vol_deactivate v
	tid=$(pool_status_field pool 1)
	msg pool set_transaction_id $tid $((tid + 7))
	key_status > /tmp/status
	log "clean shutdown with status: $(cat /tmp/status)"
	pool_remove pool
	{ cat /tmp/status; echo ---; cat /tmp/v.map; echo ---; cat /tmp/snap.map; } > /tmp/notes
	notes_save $notes /tmp/notes
	exit 0
fi

notes_load $notes /tmp/notes
awk 'BEGIN { f = 0 } /^---$/ { f++; next } { print > ("/tmp/part" f) }' /tmp/notes
log "boot 2: reopening"
pool_create pool $meta $data $COW_CHUNK
now=$(key_status)
log "check: pool status as before the shutdown"
[ "$now" = "$(cat /tmp/part0)" ] || die "status after reopen '$now', before '$(cat /tmp/part0)'"
vol_activate pool 1 v $sz
vol_activate pool 2 snap $sz
log "check: every write of boot 1 reads back"
pat_verify /dev/mapper/v --map /tmp/part1 --expect-zero
pat_verify /dev/mapper/snap --map /tmp/part2 --expect-zero
log "check: sharing is still known (a write to the origin does not touch the snapshot)"
pat_write /dev/mapper/v --tag 1 --gen 5 --offset 6M --length 2M --record /tmp/part1
pat_verify /dev/mapper/v --map /tmp/part1 --expect-zero
pat_verify /dev/mapper/snap --map /tmp/part2 --expect-zero
log "reopen-clean ok"
