# Crash consistency of file systems on cowtree volumes, by log replay
# (issue #7).  As in crash-replay.sh, the pool's metadata and data devices
# are slices of one dm-log-writes device, so the log holds every write (one
# without FUA only from the next flush on: what a volatile cache may lose
# before it; see Documentation/testing.rst on what the power cuts cannot
# catch).  The workload is ext4 on volume 1 and xfs on volume 2,
# both mounted: files written with known content and made durable (new +
# fsync of file and directory, rewritten in place + fsync, replaced by
# rename + fsync), deleted and trimmed (fstrim: discards through the
# pool), a snapshot of both mounted volumes in one message (3 <- 1,
# 4 <- 2, file systems frozen by the suspend), files written to the
# mounted ext4 snapshot, the xfs snapshot deleted (pool 'delete'; its
# reclaim runs on).  The log is marked after each step; the state expected
# at each mark (file systems, file checksums) is kept.
#
# Then the log is replayed to every flush/FUA/mark point; at each, on a
# throw-away dm-snapshot of the replayed device: offline 'dmcowctl check
# --strict-leaks' of the metadata exits 0 (the last commit, no leaked
# block or chunk, counters recomputed and equal), the pool activates, and every file system of
# the last completed step mounts (journal/log recovery), holds every file
# of that step with its checksum, and after umount passes e2fsck -fn /
# xfs_repair -n; the pool is still rw without needs_check.  What the step
# in flight at the point changes or deletes is not checked.
#
# REPLAY_POINTS_MIN is the number of points wanted (default 60 here: the
# 140+ points of the default run come from crash-replay, which is 5x
# cheaper a point; LONG=1 asks for 1000); the workload's step count follows
# from it (REPLAY_FS_STEPS overrides).  Measured under TCG (2 vCPUs): a
# log holds about 104 + 5.9 points per step (13 steps: 180 points, 36: 317,
# 63: 477), checked at 2.3-2.7 s a point (ext4 and xfs checks about half,
# dm setup most of the rest): 13 steps take 7 minutes with every point
# checked, 4 with every other (the default, REPLAY_FS_STRIDE).
# timeout: 1800
# mem: 1536

POINTS_MIN=${REPLAY_POINTS_MIN:-60}
# Points are replayed in order, and every REPLAY_FS_STRIDE-th (default 2:
# every other, so the default run stays short; LONG=1: each) is checked,
# and the last.  crash-replay checks every point of its log.
STRIDE=${REPLAY_FS_STRIDE:-2}
# Each fsync is a journal commit with preflush and FUA, each a pool commit:
# 5 points a step at the least (1000 points: 184 steps, about 1190
# points).  13 steps at the least, so that files are also rewritten in
# place, renamed and deleted (with fstrim), not only created.
STEPS=$(((POINTS_MIN - 80) / 5))
[ $STEPS -ge 13 ] || STEPS=13
STEPS=${REPLAY_FS_STEPS:-$STEPS}
load_cowtree
brd_load 4 $((176 + STEPS / 2))
BACK=/dev/ram0 LOG=/dev/ram1 REPLAY=/dev/ram2 COWSTORE=/dev/ram3
SZ=$(blockdev --getsz $BACK)
META_SECT=32768			# 16 MiB
DATA_SECT=262144		# 128 MiB
VOL_SECT=131072			# 64 MiB volumes
# xfsprogs refuses file systems under 300 MB unless it believes it runs
# under fstests.
export QA_CHECK_FS=1 TEST_DIR=/tmp TEST_DEV=/dev/null
log "crash-replay-fs: $STEPS steps, want >= $POINTS_MIN replay points"

fail() {
	dmesg | tail -30
	die "$*"
}

dd if=/dev/zero of=$BACK bs=1M count=1 2>/dev/null
dmsetup create logw --table "0 $SZ log-writes $BACK $LOG" || die "log-writes"
stack_up() { # DEV: meta and data as slices of DEV
	dmsetup create rmeta --table "0 $META_SECT linear $1 0" || die "meta slice"
	dmsetup create rdata --table "0 $DATA_SECT linear $1 $META_SECT" || die "data slice"
}
stack_up /dev/mapper/logw

mark() { dmsetup message logw 0 mark "$1" || die "mark $1"; }

#---------------------------------------------------------------- workload
# /tmp/cur is the state the current step makes durable; step_done keeps
# it as /tmp/state.K and marks the log "stepK".  Lines:
#   fs ID TYPE          volume ID holds a file system of TYPE (ext4|xfs)
#   file ID PATH MD5    a durable file on it
: > /tmp/cur
cp /tmp/cur /tmp/state.0
STEP=0
step_done() {
	STEP=$((STEP + 1))
	cp /tmp/cur /tmp/state.$STEP
	mark "step$STEP"
}
cur_drop() { # drop the lines that start with $1
	awk -v p="$1" 'substr($0, 1, length(p)) != p' /tmp/cur > /tmp/cur.n
	mv /tmp/cur.n /tmp/cur
}
files_of() { awk -v id=$1 '$1 == "file" && $2 == id { print $3 }' /tmp/cur; }

# put_file ID PATH KIB HOW: KIB KiB of random data to PATH on volume ID,
# made durable: new (write, fsync file and directory), inplace (rewrite the
# blocks of the existing file, same size, fsync), rename (write PATH.tmp,
# fsync, rename over PATH, fsync the directory).
put_file() {
	local id=$1 p=$2 kib=$3 how=$4 m=/mnt/v$1 sum
	[ $how = inplace ] && kib=$(($(stat -c %s $m/$p) / 1024))
	head -c $((kib * 1024)) /dev/urandom > /tmp/src
	sum=$(md5sum < /tmp/src)
	sum=${sum%% *}
	case $how in
	new)	dd if=/tmp/src of=$m/$p bs=4k conv=fsync 2>/dev/null || die "writing $p on $id"
		sync $m/${p%/*} || die "fsync of the directory of $p on $id" ;;
	inplace) dd if=/tmp/src of=$m/$p bs=4k conv=notrunc,fsync 2>/dev/null ||
			die "rewriting $p on $id" ;;
	rename)	dd if=/tmp/src of=$m/$p.tmp bs=4k conv=fsync 2>/dev/null || die "writing $p.tmp on $id"
		mv $m/$p.tmp $m/$p || die "renaming over $p on $id"
		sync $m/${p%/*} || die "fsync of the directory of $p on $id" ;;
	esac
	cur_drop "file $id $p "
	echo "file $id $p $sum" >> /tmp/cur
}

pool_create pool /dev/mapper/rmeta /dev/mapper/rdata 128
vol_create pool 1 v1 $VOL_SECT
vol_create pool 2 v2 $VOL_SECT
mark "setup"

mkfs.ext4 -q -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 /dev/mapper/v1 || die "mkfs.ext4"
mkfs.xfs -q -f -K /dev/mapper/v2 || die "mkfs.xfs"
mkdir -p /mnt/v1 /mnt/v2 /mnt/v3 /mnt/c
mount -t ext4 /dev/mapper/v1 /mnt/v1 || die "mount ext4"
mount -t xfs /dev/mapper/v2 /mnt/v2 || die "mount xfs"
for id in 1 2; do
	mkdir /mnt/v$id/d0 /mnt/v$id/d1 /mnt/v$id/d2 /mnt/v$id/d3
	sync -f /mnt/v$id || die "syncfs of volume $id"
done
printf 'fs 1 ext4\nfs 2 xfs\n' >> /tmp/cur
step_done

SNAP_AT=$((STEPS / 3)) DEL_AT=$((2 * STEPS / 3))
ids="1 2" i=0 trims=0
while [ $i -lt $STEPS ]; do
	if [ $i = $SNAP_AT ]; then
		snapshot pool 3 1 s3 4 2 s4
		awk '($1 == "fs" || $1 == "file") && ($2 == 1 || $2 == 2) { $2 += 2; print }' \
			/tmp/cur > /tmp/cur.s
		cat /tmp/cur.s >> /tmp/cur
		step_done
		# The ext4 snapshot is written too (mounted next to its origin).
		vol_activate pool 3 v3 $VOL_SECT
		mount -t ext4 /dev/mapper/v3 /mnt/v3 || die "mount the ext4 snapshot"
		ids="1 2 3"
	fi
	if [ $i = $DEL_AT ]; then
		msg pool delete 4	# never activated; reclaim runs on
		cur_drop "fs 4 "
		cur_drop "file 4 "
		step_done
	fi
	set -- $ids
	id=$(eval echo \${$((i % $# + 1))})
	set -- $(files_of $id)
	victim=""
	[ $# -gt 2 ] && victim=$(eval echo \${$(((i * 7) % $# + 1))})
	case $((i % 6)) in
	2)	[ -n "$victim" ] && op=inplace || op=new ;;
	4)	[ -n "$victim" ] && op=rename || op=new ;;
	5)	[ -n "$victim" ] && op=delete || op=new ;;
	*)	op=new ;;
	esac
	kib=$((4 * (4 + (i * 7) % 60)))
	case $op in
	new)	put_file $id d$((i % 4))/f$i $kib new ;;
	inplace|rename) put_file $id $victim $kib $op ;;
	delete)	rm /mnt/v$id/$victim || die "rm $victim on $id"
		sync /mnt/v$id/${victim%/*} || die "fsync of the directory of $victim"
		fstrim /mnt/v$id || die "fstrim of volume $id"
		cur_drop "file $id $victim "
		trims=$((trims + 1)) ;;
	esac
	step_done
	i=$((i + 1))
done
log "workload: $STEP steps ($trims deletes with fstrim); pool $(dmsetup status pool)"
log "log-writes status (entries, last sector): $(dmsetup status logw)"
umount /mnt/v3 || die "umount v3"
umount /mnt/v2 || die "umount v2"
umount /mnt/v1 || die "umount v1"
for v in v1 v2 v3; do vol_deactivate $v; done
pool_remove pool
dmsetup remove rmeta
dmsetup remove rdata
dmsetup remove logw

#---------------------------------------------------------------- replay
replay-log --log $LOG --points > /tmp/points || die "reading the log"
npoints=$(wc -l < /tmp/points)
log "log has $npoints flush/FUA/mark points"
[ $npoints -ge $POINTS_MIN ] ||
	die "only $npoints replay points (want >= $POINTS_MIN; raise REPLAY_FS_STEPS above $STEPS)"

# check_fs ID TYPE: the file system of volume ID mounts, holds the files
# of /tmp/want, and checks clean after umount.
check_fs() {
	local id=$1 type=$2 dev=/dev/mapper/c$1 opts="" n rc=0 t
	t=$(uptime_cs)
	dmsetup create c$id --table "0 $VOL_SECT cowtree /dev/mapper/pool $id" ||
		fail "point $point (after step $state): volume $id missing"
	[ $type = xfs ] && opts="-o nouuid"
	mount -t $type $opts $dev /mnt/c ||
		fail "point $point (after step $state): $type on volume $id does not mount"
	awk -v id=$id '$1 == "file" && $2 == id { print $4 "  /mnt/c/" $3 }' /tmp/want > /tmp/sums
	n=$(wc -l < /tmp/sums)
	if [ $n -gt 0 ] && ! md5sum -c -s /tmp/sums; then
		md5sum -c /tmp/sums 2>&1 | grep -v ': OK$' || true
		fail "point $point (after step $state): files on volume $id ($type) lost acknowledged content"
	fi
	umount /mnt/c || fail "point $point: umount of volume $id"
	case $type in
	ext4) e2fsck -fn $dev > /tmp/fsck.out 2>&1 || rc=$? ;;
	xfs) xfs_repair -n $dev > /tmp/fsck.out 2>&1 || rc=$? ;;
	esac
	if [ $rc != 0 ]; then
		cat /tmp/fsck.out
		fail "point $point (after step $state): $type on volume $id is not clean (fsck exit $rc)"
	fi
	dmsetup remove c$id || fail "removing c$id"
	files=$((files + n))
	fschecks=$((fschecks + 1))
	eval "t_$type=\$((t_$type + \$(uptime_cs) - t))"
}

# Keep mount/recovery chatter (info, notice) off the console; warnings
# and worse still show.
echo 5 > /proc/sys/kernel/printk
dd if=/dev/zero of=$REPLAY bs=1M count=1 2>/dev/null
prev=0 checked=0 state=0 setup=0 files=0 fschecks=0 seen=0
# Points from the setup mark on: the last of them is always checked.
nlast=$(awk '$2 == "setup" { s = 1 } s { n++ } END { print n }' /tmp/points)
t_replay=0 t_check=0 t_ext4=0 t_xfs=0 t_start=$(uptime_cs)
while read -r point name <&3; do
	t=$(uptime_cs)
	replay-log --log $LOG --replay $REPLAY --from $prev --to $point || die "replay to $point"
	t_replay=$((t_replay + $(uptime_cs) - t))
	prev=$point
	case $name in
	setup) setup=1 ;;
	step*) state=${name#step} ;;
	esac
	[ $setup = 1 ] || continue	# before the pool existed: nothing to check
	seen=$((seen + 1))
	[ $((seen % STRIDE)) = 0 ] || [ $seen = $nlast ] || continue

	# What step $state made durable, less what the step in flight changes.
	if [ -e /tmp/state.$((state + 1)) ]; then
		grep -Fxf /tmp/state.$((state + 1)) /tmp/state.$state > /tmp/want || true
	else
		cp /tmp/state.$state /tmp/want
	fi
	dmsetup create rsnap --table "0 $SZ snapshot $REPLAY $COWSTORE N 8" || die "snapshot at $point"
	stack_up /dev/mapper/rsnap
	t=$(uptime_cs)
	if ! dmcowctl check --strict-leaks /dev/mapper/rmeta > /tmp/check.out 2>&1; then
		cat /tmp/check.out
		fail "point $point (after step $state): dmcowctl check --strict-leaks of the replayed metadata failed"
	fi
	t_check=$((t_check + $(uptime_cs) - t))
	dmsetup create pool --table "0 $DATA_SECT cowtree-pool /dev/mapper/rmeta /dev/mapper/rdata 128 16" ||
		fail "pool does not activate at replay point $point (after step $state)"
	grep '^fs ' /tmp/want > /tmp/want.fs || true
	while read -r kind id type <&4; do
		check_fs $id $type
	done 4< /tmp/want.fs
	[ "$(pool_mode pool)" = rw ] && [ "$(pool_status_field pool 8)" = - ] ||
		fail "point $point: pool not rw or needs_check after the checks: $(dmsetup status pool)"
	dmsetup remove pool || fail "removing the pool at point $point"
	dmsetup remove rmeta
	dmsetup remove rdata
	dmsetup remove rsnap
	dd if=/dev/zero of=$COWSTORE bs=4k count=1 2>/dev/null
	checked=$((checked + 1))
	[ $((checked % 50)) != 0 ] ||
		log "$checked points checked ($fschecks file system checks) in $((($(uptime_cs) - t_start) / 100)) s"
done 3< /tmp/points
echo 7 > /proc/sys/kernel/printk
log "checked $checked replay points: $fschecks file system checks (mount, $files file checksums, fsck) in $(((($(uptime_cs) - t_start) + 50) / 100)) s"
log "time in s: replay-log $((t_replay / 100)), dmcowctl check $((t_check / 100)), ext4 $((t_ext4 / 100)), xfs $((t_xfs / 100))"
[ $checked -ge $((POINTS_MIN / STRIDE)) ] || die "only $checked points checked"
