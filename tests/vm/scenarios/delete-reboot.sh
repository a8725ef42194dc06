# A delete is durable once the message returns and its reclaim resumes
# after a crash: delete, cut the power at once; on the next boot the pool
# finishes reclaiming, the used data chunks come out exact, and the
# surviving volumes (one sharing chunks with the deleted one) verify.
# needs: target
# timeout: 400
# disks: 64M 256M 1M
# boots: 2

load_cowtree
chunk=8			# 4 KiB chunks: many of them, so reclaim takes a while
meta=/dev/vda data=/dev/vdb notes=/dev/vdc

if [ "$COW_BOOT" = 1 ]; then
	pool_create pool $meta $data $chunk
	base=$(pool_used_data pool)
	vol_create pool 1 keep $(mib_sectors 8)
	pat_write /dev/mapper/keep --tag 1 --gen 1 --fsync
	vol_create pool 2 doomed $(mib_sectors 16)
	pat_write /dev/mapper/doomed --tag 2 --gen 1 --fsync
	snapshot pool 3 2 snap
	pat_write /dev/mapper/doomed --tag 2 --gen 2 --length 8M --fsync
	# keep: 2048 chunks; snap: 4096; doomed's own: 2048
	used=$(pool_used_data pool)
	[ "$used" = $((base + 8192)) ] || die "want $((base + 8192)) used: $(dmsetup status pool)"
	echo "$base" > /tmp/notes
	notes_save $notes /tmp/notes
	vol_deactivate doomed
	msg pool delete 2
	log "deleted; status: $(dmsetup status pool); cutting power"
	power_cut
	sleep 60
	die "still running after power_cut"
fi

notes_load $notes /tmp/notes
read base < /tmp/notes
log "boot 2: the last commit has no leak; reopening the pool (base $base)"
dmcowctl check --strict-leaks $meta || die "dmcowctl check --strict-leaks after the power cut failed"
pool_create pool $meta $data $chunk
log "status after reopen: $(dmsetup status pool)"
expect_fail try_vol_activate pool 2 doomed $(mib_sectors 16)
reclaim_done() {
	r=$(pool_reclaiming pool)
	log "  reclaiming $r, used $(pool_used_data pool)"
	[ "$r" = 0 ]
}
wait_until 300 "reclaim to finish after reboot" reclaim_done
want=$((base + 2048 + 4096))
log "check: used data chunks are exactly what the survivors hold"
[ "$(pool_used_data pool)" = $want ] || die "want $want used data chunks: $(dmsetup status pool)"
vol_activate pool 1 keep $(mib_sectors 8)
vol_activate pool 3 snap $(mib_sectors 16)
pat_verify /dev/mapper/keep --tag 1 --gen 1
pat_verify /dev/mapper/snap --tag 2 --gen 1
[ "$(pool_status_field pool 8)" = - ] || die "pool needs_check after reclaim: $(dmsetup status pool)"
log "check: freed chunks are reusable"
vol_create pool 4 new $(mib_sectors 8)
pat_write /dev/mapper/new --tag 4 --gen 1
pat_verify /dev/mapper/new --tag 4 --gen 1
pat_verify /dev/mapper/snap --tag 2 --gen 1
pat_verify /dev/mapper/keep --tag 1 --gen 1
log "delete-reboot ok"
