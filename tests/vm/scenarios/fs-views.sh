# Views: 'dmcowctl mount POOL/SNAP DIR' and 'umount DIR' on ext4 and xfs.
# Snapshots are taken while the origin is mounted and a writer logs the
# states it got acknowledged; one snapshot is frozen (dmcowctl snapshot),
# one is taken without a freeze (suspend --nolockfs) so that ext4 needs
# journal recovery too.  The view is mounted while the origin is being
# written, shows a recovered filesystem holding a state that existed, and
# the recovery happened on the throwaway: the snapshot's counters and its
# delta against a reference snapshot taken before the mount are unchanged.
# Bad input: not a snapshot, busy or missing DIR, unknown filesystem, umount
# of something that is no view, a busy view; a view unmounted behind our
# back is cleaned up by 'umount DIR'.  Nothing is left behind.
# needs: target
# timeout: 900
# mem: 1536

. /etc/fs-lib.sh
load_cowtree
brd_load 2 400
run_ok /tmp/o dmcowctl pool create p /dev/ram0 /dev/ram1

# snapshot_nolockfs POOL VOL SNAP: a snapshot of a mounted volume without
# freezing its filesystem (crash consistent), as the raw messages do it.
snapshot_nolockfs() {
	local id origin
	origin=$(vol_counter $1 $2 id)
	id=$(($(dmcowctl list $1 --all -o id | tail -n +3 | tr -dc '0-9\n' | sort -n | tail -1) + 1))
	dmsetup suspend --nolockfs $1-$2 || die "suspend --nolockfs $1-$2"
	dmsetup message $1 0 "snapshot $id $origin $3" || { dmsetup resume $1-$2; die "snapshot message"; }
	dmsetup resume $1-$2 || die "resume $1-$2"
	dmsetup message $1 0 "set_size $id $(blockdev --getsz /dev/mapper/$1-$2)" || die "set_size"
}

# lines_ge FILE N: FILE has at least N lines.
lines_ge() { [ $(wc -l < $1) -ge $2 ]; }

# check_view FS SNAP BEFORE RECOVERY: BEFORE states were acknowledged before
# SNAP was taken; RECOVERY=yes: the view must have replayed a journal/log.
check_view() {
	local fs=$1 snap=$2 before=$3 recovery=$4 mapped written
	mapped=$(vol_counter p $snap mapped_chunks)
	written=$(vol_counter p $snap written_chunks)
	run_ok /tmp/o dmcowctl snapshot p/$snap $snap-ref
	n0=$(nr_volumes p)

	log "$fs: mount view of $snap while the origin is being written"
	rm -f /tmp/stop2
	: > /tmp/bg.log
	states_writer /mnt/$fs/bg /tmp/stop2 /tmp/bg.log &
	bgpid=$!
	dmesg -c > /dev/null
	run_ok /tmp/o dmcowctl mount p/$snap /mnt/v
	grep -q "^mounted p/$snap ($fs, read-only) at /mnt/v through view volume [0-9]*$" /tmp/o ||
		die "mount did not say what it mounted"
	touch /tmp/stop2
	wait $bgpid || die "background writer failed"
	dmesg > /tmp/dmesg
	if [ $recovery = yes ]; then
		case $fs in
		ext4) pat='EXT4-fs \(dm-[0-9]*\): recovery complete' ;;
		xfs) pat='XFS \(dm-[0-9]*\): Ending recovery' ;;
		esac
		grep -Eq "$pat" /tmp/dmesg || { cat /tmp/dmesg; die "$fs: no recovery on the view"; }
	fi
	grep /mnt/v /proc/mounts | grep -q " $fs ro[ ,]" || die "view not mounted read-only as $fs"
	view=$(sed -n 's/.* through view volume \([0-9]*\)$/\1/p' /tmp/o)
	! dmcowctl list p -o id | grep -q "^[|\` -]*$view\$" || die "the view is listed without --all"
	dmcowctl list p --all -o name,id,flags | grep -q "^[|\` -]*\.view-$view  *$view  *throwaway\$" ||
		die "list --all does not show the view as throwaway: $(dmcowctl list p --all -o name,id,flags)"
	expect_fail touch /mnt/v/x

	log "$fs: the view holds a state that existed"
	(cd /mnt/v && md5sum -c -s /tmp/$fs.files) || die "view lacks the files of before the snapshot"
	sum=$(md5sum < /mnt/v/state | cut -d' ' -f1)
	n=$(grep " $sum\$" /tmp/$fs.states | cut -d' ' -f1) || die "view's state file is no acknowledged state"
	[ $n -ge $before ] || die "view holds state $n, older than $before acknowledged before the snapshot"
	log "$fs: view holds acknowledged state $n ($before acknowledged before the snapshot)"

	log "$fs: bad input leaves the view and the pool alone"
	run_fail "is busy: something is mounted on it" dmcowctl mount p/$snap /mnt/v
	run_fail "not a snapshot" dmcowctl mount p/$fs /mnt/w
	run_fail "cannot use '/mnt/nonexistent'" dmcowctl mount p/$snap /mnt/nonexistent
	run_fail "no volume 'nosuch'" dmcowctl mount p/nosuch /mnt/w
	run_fail "not a view made by 'dmcowctl mount'.*volume $fs" dmcowctl umount /mnt/$fs
	run_fail "not a view made by 'dmcowctl mount'" dmcowctl umount /mnt/w
	sh -c 'cd /mnt/v && exec sleep 60' &
	busy=$!
	sleep 1
	run_fail "cannot unmount /mnt/v" dmcowctl umount /mnt/v
	grep -q ' /mnt/v ' /proc/mounts || die "busy view was unmounted"
	kill $busy
	wait $busy || true
	[ $(nr_volumes p) = $((n0 + 1)) ] || die "bad input changed the number of volumes"

	run_ok /tmp/o dmcowctl umount /mnt/v
	! grep -q ' /mnt/v ' /proc/mounts || die "view still mounted"
	[ $(nr_volumes p) = $n0 ] || die "umount left the view's volume: $(dmcowctl list p)"
	log "$fs: $snap is pristine: counters and delta against $snap-ref unchanged"
	[ "$(vol_counter p $snap mapped_chunks)" = $mapped ] || die "$snap mapped changed: $mapped -> $(vol_counter p $snap mapped_chunks)"
	[ "$(vol_counter p $snap written_chunks)" = $written ] || die "$snap written changed"
	run_ok /tmp/d dmcowctl delta p/$snap p/$snap-ref
	[ $(grep -vc '^#' /tmp/d) = 0 ] || die "$snap differs from $snap-ref after the view"
	run_ok /tmp/o dmcowctl delete p/$snap-ref
}

mkdir -p /mnt/v /mnt/w
for fs in ext4 xfs; do
	log "$fs: volume, files, and a writer of acknowledged states"
	fs_volume p $fs $fs 320M /mnt/$fs
	mkdir -p /mnt/$fs/d/e /mnt/$fs/bg
	i=0
	while [ $i -lt 20 ]; do
		dd if=/dev/urandom of=/mnt/$fs/d/f$i bs=4k count=$((i + 1)) 2>/dev/null
		i=$((i + 1))
	done
	ln /mnt/$fs/d/f1 /mnt/$fs/d/e/link
	(cd /mnt/$fs && find d -type f | xargs md5sum) > /tmp/$fs.files
	sync
	rm -f /tmp/stop
	: > /tmp/$fs.states
	states_writer /mnt/$fs /tmp/stop /tmp/$fs.states &
	wpid=$!
	wait_until 60 "3 states" lines_ge /tmp/$fs.states 3
	b1=$(wc -l < /tmp/$fs.states)
	run_ok /tmp/o dmcowctl snapshot p/$fs $fs-s1
	wait_until 60 "4 more states" lines_ge /tmp/$fs.states $((b1 + 4))
	b2=$(wc -l < /tmp/$fs.states)
	snapshot_nolockfs p $fs $fs-s2
	wait_until 60 "4 more states" lines_ge /tmp/$fs.states $((b2 + 4))
	touch /tmp/stop
	wait $wpid || die "writer failed"

	# A frozen ext4 is clean; a frozen xfs may keep a log to replay.
	check_view $fs $fs-s1 $b1 no
	check_view $fs $fs-s2 $b2 yes

	log "$fs: --rw view is writable; a plain umount leaves leftovers 'umount DIR' removes"
	n0=$(nr_volumes p)
	run_ok /tmp/o dmcowctl mount p/$fs-s1 /mnt/v --rw
	echo new > /mnt/v/new || die "--rw view is not writable"
	umount /mnt/v
	[ $(nr_volumes p) = $((n0 + 1)) ] || die "expected the view's volume to remain"
	run_ok /tmp/o dmcowctl umount /mnt/v
	grep -q "removed the leftovers of the view at /mnt/v" /tmp/o || die "umount did not say it cleaned up"
	[ $(nr_volumes p) = $n0 ] || die "leftover view volume not deleted"
	run_fail "not a view made by 'dmcowctl mount'" dmcowctl umount /mnt/v
	run_ok /tmp/o dmcowctl mount p/$fs-s1 /mnt/v
	[ ! -e /mnt/v/new ] || die "a write to an earlier --rw view reached $fs-s1"
	run_ok /tmp/o dmcowctl umount /mnt/v
	umount /mnt/$fs
	run_ok /tmp/o dmcowctl deactivate p/$fs
done

log "unknown filesystem: refused, nothing left behind"
run_ok /tmp/o dmcowctl create p/raw 16M
dd if=/dev/urandom of=/dev/mapper/p-raw bs=1M count=16 2>/dev/null
run_ok /tmp/o dmcowctl snapshot p/raw raws
n0=$(nr_volumes p)
run_fail "holds nothing blkid recognises, not an ext4 or xfs filesystem" dmcowctl mount p/raws /mnt/v
[ $(nr_volumes p) = $n0 ] || die "failed mount left a volume"
! grep -q ' /mnt/v ' /proc/mounts || die "failed mount left a mount"
[ -z "$(ls /run/dmcowctl/views 2>/dev/null)" ] || die "records left: $(ls /run/dmcowctl/views)"

run_ok /tmp/o dmcowctl check --live p
log "fs-views ok"
