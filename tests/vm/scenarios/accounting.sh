# Live space accounting: every volume's exclusive chunks (what deleting it
# alone would free) and chunks written since its origin, through a snapshot
# tree with break-sharing writes, discards, a delete with background
# reclamation, a rollback, and a power cut.  Each step's numbers are worked
# out by hand below and compared with the live status; `dmcowctl list`
# shows them.  At quiesced points, `dmcowctl check --live` (the pool
# commits a held root) recomputes every volume's counters from the held
# mapping trees, compares them with the counters the held records store
# and, since no I/O moved the live counters between its reading before the
# hold and the one after the check, with the live ones: the pool's volumes
# listing and each active device's status.  The scenario requires that
# check --live says it compared every volume's live counters (a volume it
# did not compare fails here) and cross-checks its recomputed numbers with
# the status itself.  After the power cut, the offline check (strict: no
# leak either) recomputes them from the last commit.
# needs: target
# timeout: 400
# disks: 64M 256M 1M
# boots: 2

load_cowtree
meta=/dev/vda data=/dev/vdb notes=/dev/vdc
chunk=128			# 64 KiB: 16 chunks per MiB
sz=$(mib_sectors 16)

# expect_counters NAME MAPPED EXCLUSIVE WRITTEN
expect_counters() {
	local got
	got="$(vol_status_field $1 1) $(vol_status_field $1 2) $(vol_status_field $1 3)"
	[ "$got" = "$2 $3 $4" ] ||
		die "$1: mapped/exclusive/written are $got, want $2 $3 $4 ($(dmsetup status $1))"
	log "  $1: mapped $2 exclusive $3 written $4"
}

# live_check: the pool commits (reserve_metadata_snap) and the independent
# checker recomputes every counter from the held root: any difference from
# the held records or, for a volume whose live counters did not move
# during the check, from the live ones is an error.  No I/O runs now, so
# check --live must have compared every volume's live counters, each
# active volume's device status too; and its numbers must be the status.
live_check() {
	local f dev pool id want got
	if ! dmcowctl check --live pool > /tmp/live; then
		cat /tmp/live
		die "dmcowctl check --live pool: counters or metadata wrong"
	fi
	if grep '^volume ' /tmp/live | grep -v '; live pool '; then
		cat /tmp/live
		die "check --live did not compare the live counters of every volume (no I/O runs)"
	fi
	for f in $COW_STATE/vol.*; do
		dev=${f#$COW_STATE/vol.}
		read -r pool id < $f
		grep -q "^volume $id: .*; live pool and device status equal\$" /tmp/live ||
			die "check --live did not compare $dev's device status: $(grep "^volume $id:" /tmp/live)"
		want="$(vol_status_field $dev 1) $(vol_status_field $dev 2) $(vol_status_field $dev 3)"
		got=$(awk -v v="$id:" '$1 == "volume" && $2 == v { print $4, $6, $8 + 0 }' /tmp/live)
		[ "$got" = "$want" ] ||
			die "check --live recomputed '$got' for $dev (mapped exclusive written), status says '$want'"
	done
	log "  check --live: $(tail -1 /tmp/live | sed 's/.*mappings, //')"
}

reclaim_done() { [ "$(pool_reclaiming pool)" = 0 ]; }

if [ "$COW_BOOT" = 1 ]; then
	pool_create pool $meta $data $chunk
	vol_create pool 1 v1 $sz
	pat_write /dev/mapper/v1 --tag 1 --gen 1
	expect_counters v1 256 256 256

	log "snapshot: every chunk now has two holders"
	snapshot pool 2 1 s1
	vol_activate pool 2 s1 $sz
	expect_counters v1 256 0 256
	expect_counters s1 256 0 0

	log "v1 breaks sharing on 0..4M: 64 chunks each side become exclusive"
	pat_write /dev/mapper/v1 --tag 1 --gen 2 --length 4M
	expect_counters v1 256 64 256
	expect_counters s1 256 64 0

	log "a snapshot of the snapshot; it rewrites 4M..6M (still held by v1, s1)"
	snapshot pool 3 2 s2
	vol_activate pool 3 s2 $sz
	expect_counters s1 256 0 0
	pat_write /dev/mapper/s2 --tag 3 --gen 1 --offset 4M --length 2M
	expect_counters s2 256 32 32
	expect_counters s1 256 0 0
	expect_counters v1 256 64 256

	log "discard v1's own 0..1M: 16 exclusive chunks freed"
	blkdiscard -o 0 -l 1048576 /dev/mapper/v1 || die "blkdiscard failed"
	expect_counters v1 240 48 240
	live_check

	log "delete s1: as reclamation goes, its chunks move to their last holder"
	vol_deactivate s1
	msg pool delete 2
	wait_until 120 "reclaim after delete" reclaim_done
	# s1's 0..4M went to s2 alone (+64); its 4M..6M to v1 alone (+32).
	expect_counters v1 240 80 240
	expect_counters s2 256 96 32
	live_check
	dmcowctl list pool -o name,mapped,excl,shared,written > /tmp/list ||
		die "dmcowctl list failed"
	cat /tmp/list
	grep -Eq 'v1 +15M +5M +10M +15M$' /tmp/list ||
		die "dmcowctl list does not show v1's 15M mapped, 5M excl, 10M shared, 15M written"

	log "rollback v1 to s2: both hold everything of s2, nothing exclusive"
	vol_deactivate v1
	msg pool rollback 1 3
	vol_activate pool 1 v1 $sz
	expect_counters v1 256 0 0
	expect_counters s2 256 0 32
	wait_until 120 "reclaim after rollback" reclaim_done
	expect_counters v1 256 0 0
	expect_counters s2 256 0 32
	pat_verify /dev/mapper/v1 --tag 3 --gen 1 --offset 4M --length 2M

	log "v1 writes 8M..10M after the rollback"
	pat_write /dev/mapper/v1 --tag 1 --gen 3 --offset 8M --length 2M
	expect_counters v1 256 32 32
	expect_counters s2 256 32 32
	live_check

	log "unflushed writes to an unrelated volume, then a power cut"
	vol_create pool 4 other $sz
	pat_write /dev/mapper/other --tag 4 --gen 1 --length 2M
	power_cut
	sleep 60
	die "still running after power_cut"
fi

log "boot 2: counters after the power cut"
dmcowctl check --strict-leaks $meta || die "offline check --strict-leaks after the power cut failed"
pool_create pool $meta $data $chunk
vol_activate pool 1 v1 $sz
vol_activate pool 3 s2 $sz
expect_counters v1 256 32 32
expect_counters s2 256 32 32
log "the next write and delete keep them exact"
pat_write /dev/mapper/s2 --tag 3 --gen 2 --offset 8M --length 1M
expect_counters s2 256 32 48
expect_counters v1 256 32 32
vol_deactivate s2
msg pool delete 3
wait_until 120 "reclaim after the last delete" reclaim_done
expect_counters v1 256 256 32
live_check
log "accounting exact through snapshots, writes, discard, delete, rollback and a power cut"
