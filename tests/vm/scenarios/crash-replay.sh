# Crash consistency by log replay: the pool's metadata and data devices sit
# on one dm-log-writes device, so the log holds every write, a write
# without FUA only from the next flush on (what a volatile write cache may
# still lose before it).  This is the test that catches a missing
# PREFLUSH/FUA or commit: the power-cut scenarios kill QEMU over
# cache=unsafe disks, which never loses a write the host took
# (power-cuts.sh).  The workload marks the log after each step it saw
# durable (fsync or the message returned).  The workload, covering what
# the power-cut scenarios exercise (Documentation/testing.rst has the
# table): writes, a snapshot, writes to both sides, a share message
# re-sharing rewritten chunks with the snapshot, a discard, a delete whose
# reclaim runs on under more writes, a second snapshot and a rollback to
# it, a throwaway snapshot deleted (and reclaimed) by the next activation
# of the pool, and a hidden volume written and then published under its
# final name (a receive's last step).  Then the log is replayed to every
# flush/FUA/mark point; at each, on a throw-away snapshot of the replayed
# device, the pool must pass `dmcowctl check --strict-leaks` (the last
# commit, no leaked block or chunk, every volume's counters recomputed and
# equal to the stored ones) and activate, and every step that completed
# before the point must read back exactly (discarded regions as zeroes).
# (A step still in flight at the point is not checked.)  One log for both
# devices keeps their writes in one order, but it also means a flush of
# either device flushes both: a missing flush of the data device alone
# before a commit would go unseen.
# timeout: 2400
# mem: 1536

POINTS_MIN=${REPLAY_POINTS_MIN:-140}
load_cowtree
# The log holds ~0.7 MiB a step: size the ram disks (which use memory only
# as they fill) for REPLAY_STEPS, 136 MiB for the default 48.  A log holds
# about 2 points a step, and about 35 more for the steps after the loop
# (measured: 48 steps 227 points, 239 with other timing; before the
# discard, throwaway and receive steps: 190; REPLAY_STEPS=20 102, 80 210, 660
# 1373), so LONG=1 (1000 points) asks for 660 steps (tests/check.sh).
STEPS=${REPLAY_STEPS:-48}
brd_load 4 $((100 + STEPS * 3 / 4))
BACK=/dev/ram0 LOG=/dev/ram1 REPLAY=/dev/ram2 COWSTORE=/dev/ram3
SZ=$(blockdev --getsz $BACK)
META_SECT=32768			# 16 MiB
DATA_SECT=163840		# 80 MiB
VOL_SECT=65536			# 32 MiB volumes
MiB=1048576

dd if=/dev/zero of=$BACK bs=1M count=1 2>/dev/null
dmsetup create logw --table "0 $SZ log-writes $BACK $LOG" || die "log-writes"
stack_up() { # DEV: meta and data as slices of DEV
	dmsetup create rmeta --table "0 $META_SECT linear $1 0" || die "meta slice"
	dmsetup create rdata --table "0 $DATA_SECT linear $1 $META_SECT" || die "data slice"
}
stack_up /dev/mapper/logw

mark() { dmsetup message logw 0 mark "$1" || die "mark $1"; }

#---------------------------------------------------------------- workload
# Step K writes (tag, gen) into a region; the expected state after step K
# is the list of "region tag gen" lines in /tmp/state.K.
: > /tmp/state.0
STEP=0
step_done() { # region tag gen: record and mark
	STEP=$((STEP + 1))
	{ grep -v "^$1 " /tmp/state.$((STEP - 1)) || true; echo "$1 $2 $3"; } > /tmp/state.$STEP
	mark "step$STEP"
}
region_off() { echo $(($1 * 2 * MiB)); }
# new_state: the next step's state from /tmp/state.tmp, marked in the log.
new_state() {
	STEP=$((STEP + 1)); mv /tmp/state.tmp /tmp/state.$STEP; mark "step$STEP"
}

pool_create pool /dev/mapper/rmeta /dev/mapper/rdata 128
msg pool create 1 origin
vol_activate pool 1 origin $VOL_SECT
mark "setup"

pat_write /dev/mapper/origin --tag 1 --gen 1 --offset 0 --length 4M --fsync
step_done "1:0" 1 1
step_done "1:1" 1 1

snapshot pool 2 1 snap
step_done "2:0" 1 1
step_done "2:1" 1 1

pat_write /dev/mapper/origin --tag 1 --gen 2 --offset 0 --length 2M --fsync
step_done "1:0" 1 2

# Region 1 rewritten with the same data (the origin's own copies), then
# shared with the snapshot's again by a share message (one transaction).
pat_write /dev/mapper/origin --tag 1 --gen 1 --offset $(region_off 1) --length 2M --fsync
step_done "1:1" 1 1
out=$(dmsetup message pool 0 share 1 32 2 32 32) || die "share"
case "$out" in
"compared 32 shared 32 "*) ;;
*) die "share: $out" ;;
esac
cp /tmp/state.$STEP /tmp/state.tmp
new_state

# The origin's own region 0 (gen 2, not shared) discarded: its chunks are
# freed and its counters drop; the next fsync'ed write commits both.
blkdiscard -o 0 -l $((2 * MiB)) /dev/mapper/origin || die "blkdiscard"
pat_write /dev/mapper/origin --tag 1 --gen 4 --offset $(region_off 2) --length 2M --stride 3 --fsync
{ grep -v '^1:[02] ' /tmp/state.$STEP; echo "1:0 0 0"; echo "1:2 1 4"; } > /tmp/state.tmp
new_state

vol_activate pool 2 snap $VOL_SECT
pat_write /dev/mapper/snap --tag 2 --gen 3 --offset $(region_off 1) --length 2M --fsync
step_done "2:1" 2 3

# The snapshot is deleted 3/8 of the way through (step 18 of the default
# 48); at 5/8 the origin is snapshotted as volume 3, and two writes later
# rolled back to it.
DEL_AT=$((STEPS * 3 / 8))
SNAP_AT=$((STEPS * 5 / 8))
ROLL_AT=$((SNAP_AT + 2))
i=0
while [ $i -lt $STEPS ]; do
	r=$((2 + i % 6)) g=$((10 + i))
	pat_write /dev/mapper/origin --tag 1 --gen $g --offset $(region_off $r) --length 2M \
		--stride 3 --fsync
	step_done "1:$r" 1 $g
	if [ $i = $DEL_AT ]; then
		vol_deactivate snap
		msg pool delete 2
		grep -v '^2:' /tmp/state.$STEP > /tmp/state.tmp
		new_state
	fi
	if [ $i = $SNAP_AT ]; then
		snapshot pool 3 1 snap3
		{ cat /tmp/state.$STEP; sed -n 's/^1:/3:/p' /tmp/state.$STEP; } > /tmp/state.tmp
		new_state
	fi
	if [ $i = $ROLL_AT ]; then
		vol_deactivate origin
		msg pool rollback 1 3
		{ grep -v '^1:' /tmp/state.$STEP; sed -n 's/^3:/1:/p' /tmp/state.$STEP; } > /tmp/state.tmp
		new_state
		vol_activate pool 1 origin $VOL_SECT
	fi
	i=$((i + 1))
done
[ $i -gt $ROLL_AT ] || die "REPLAY_STEPS=$STEPS too small for the rollback"

# A throwaway snapshot (a file-level view's) left behind: the next
# activation of the pool deletes it and reclaims its chunks, here under
# the log, with origin writes running.
snapshot pool 4 1 .view-4 throwaway
pat_write /dev/mapper/origin --tag 1 --gen 90 --offset $(region_off 3) --length 2M --stride 3 --fsync
step_done "1:3" 1 90
vol_deactivate origin
pool_remove pool
pool_create pool /dev/mapper/rmeta /dev/mapper/rdata 128
dmcowctl list pool --all -o name | grep -q 'view-4' && die "the throwaway volume 4 survived the activation"
vol_activate pool 1 origin $VOL_SECT
pat_write /dev/mapper/origin --tag 1 --gen 91 --offset $(region_off 4) --length 2M --stride 3 --fsync
step_done "1:4" 1 91

# A receive's steps: a hidden volume written, its resume point recorded,
# then made visible under its final name in one message.
msg pool create 5 .recv-5 hidden
vol_activate pool 5 recv $VOL_SECT
pat_write /dev/mapper/recv --tag 5 --gen 1 --offset 0 --length 2M --fsync
step_done "5:0" 5 1
msg pool set_received 5 0x5eed 0x2
msg pool set_visibility 5 visible received
cp /tmp/state.$STEP /tmp/state.tmp
new_state
pat_write /dev/mapper/origin --tag 1 --gen 92 --offset $(region_off 5) --length 2M --stride 3 --fsync
step_done "1:5" 1 92
vol_deactivate recv
vol_deactivate origin
pool_remove pool
dmsetup remove rmeta
dmsetup remove rdata
dmsetup remove logw
log "workload done: $STEP steps"

#---------------------------------------------------------------- replay
replay-log --log $LOG --points > /tmp/points || die "reading the log"
npoints=$(wc -l < /tmp/points)
log "log has $npoints flush/FUA/mark points"
[ $npoints -ge $POINTS_MIN ] || die "only $npoints replay points (want >= $POINTS_MIN)"

dd if=/dev/zero of=$REPLAY bs=1M count=1 2>/dev/null
prev=0 checked=0 state=0 setup=0
while read -r point name; do
	replay-log --log $LOG --replay $REPLAY --from $prev --to $point || die "replay to $point"
	prev=$point
	case $name in
	setup) setup=1 ;;
	step*) state=${name#step} ;;
	esac
	[ $setup = 1 ] || continue	# before the pool existed: nothing to check

	dmsetup create rsnap --table "0 $SZ snapshot $REPLAY $COWSTORE N 8" || die "snapshot at $point"
	stack_up /dev/mapper/rsnap
	if ! dmcowctl check --strict-leaks /dev/mapper/rmeta > /tmp/check.out 2>&1; then
		cat /tmp/check.out
		die "dmcowctl check --strict-leaks finds the metadata wrong at replay point $point (after step $state)"
	fi
	dmsetup create pool --table "0 $DATA_SECT cowtree-pool /dev/mapper/rmeta /dev/mapper/rdata 128 16" ||
		die "pool does not activate at replay point $point (after step $state)"
	while read -r region tag gen; do
		# The step in flight at this point may have changed this region.
		if [ -e /tmp/state.$((state + 1)) ] &&
		   ! grep -qx "$region $tag $gen" /tmp/state.$((state + 1)); then
			continue
		fi
		id=${region%:*} r=${region#*:}
		dev=v$id
		[ -b /dev/mapper/$dev ] || dmsetup create $dev --table "0 $VOL_SECT cowtree /dev/mapper/pool $id" ||
			die "volume $id missing at point $point (step $state)"
		stride=1
		[ $r -ge 2 ] && stride=3
		if [ $tag = 0 ]; then	# discarded
			cowpattern verify /dev/mapper/$dev --expect-zero --offset $(region_off $r) \
				--length 2M --quiet ||
				die "point $point (after step $state): volume $id region $r is not discarded"
			continue
		fi
		cowpattern verify /dev/mapper/$dev --tag $tag --gen $gen --offset $(region_off $r) \
			--length 2M --stride $stride --quiet ||
			die "point $point (after step $state): volume $id region $r is not gen $gen"
	done < /tmp/state.$state
	for d in v1 v2 v3 v5; do [ -b /dev/mapper/$d ] && dmsetup remove $d; done
	dmsetup remove pool
	dmsetup remove rmeta
	dmsetup remove rdata
	dmsetup remove rsnap
	dd if=/dev/zero of=$COWSTORE bs=4k count=1 2>/dev/null
	checked=$((checked + 1))
done < /tmp/points
log "checked $checked replay points"
[ $checked -ge $POINTS_MIN ] || die "only $checked points checked"
