# The sysadmin workflow with dmcowctl only, on ext4 and on xfs: pool
# create, create a volume, mkfs, mount, write files (checksums recorded),
# snapshot while a writer with fsync is running, list (origin relation,
# mount points, JSON), activate and fsck the snapshot, mount it read-only
# and verify every file completed before the snapshot, rollback the origin
# to the snapshot and verify, delete the snapshot, check --live,
# deactivate, offline check of the metadata device.
# needs: target
# timeout: 900
# mem: 1536

load_cowtree
brd_load 4 384
# xfsprogs refuses file systems under 300 MB unless it believes it runs
# under fstests.
export QA_CHECK_FS=1 TEST_DIR=/tmp TEST_DEV=/dev/null

out() {
	local f=$1
	shift
	"$@" > $f 2>&1 || { cat $f; die "'$*' failed"; }
	cat $f
}

md5() { md5sum < "$1" | cut -d' ' -f1; }

# writer DIR STOP SUMS: 1 MiB files w1, w2... each written with fsync;
# "N md5" is appended to SUMS once file N is on disk.  Stops at STOP.
writer() {
	local i=1
	while [ ! -e $2 ]; do
		if ! dd if=/dev/urandom of=$1/w$i bs=64k count=16 conv=fsync 2>/dev/null; then
			echo "writer: w$i failed" >> $3.err
			return 1
		fi
		echo "$i $(md5 $1/w$i)" >> $3
		i=$((i + 1))
	done
}

done_count() { wc -l < $1 | tr -d ' '; }
done_ge() { [ $(done_count $1) -ge $2 ]; }

# verify_sums DIR SUMS: every "N md5" of SUMS matches DIR/wN.
verify_sums() {
	local n sum
	while read n sum; do
		[ -e $1/w$n ] || die "$1/w$n missing"
		[ "$(md5 $1/w$n)" = "$sum" ] || die "$1/w$n has the wrong checksum"
	done < $2
}

# verify_files DIR SUMFILE: the md5sum -c list of the f* files.
verify_files() {
	(cd $1 && md5sum -c -s $2) || { (cd $1 && md5sum -c $2) || true; die "files in $1 differ"; }
}

workflow() {
	local fs=$1 meta=$2 data=$3 pool=p$1 mnt=/mnt/$1 snapmnt=/mnt/$1-snap
	local i d n line mkfs fsck ro
	case $fs in
	ext4) mkfs="mkfs.ext4 -q -E nodiscard"; fsck="e2fsck -fn"; ro="ro" ;;
	xfs) mkfs="mkfs.xfs -q -f -K"; fsck="xfs_repair -n"; ro="ro,nouuid" ;;
	esac

	log "$fs: pool create, create a volume, mkfs, mount"
	out /tmp/o dmcowctl pool create $pool $meta $data
	out /tmp/o dmcowctl create $pool/vol 256M
	[ -b /dev/mapper/$pool-vol ] || die "no /dev/mapper/$pool-vol"
	$mkfs /dev/mapper/$pool-vol || die "mkfs $fs"
	mkdir -p $mnt $snapmnt
	mount -t $fs /dev/mapper/$pool-vol $mnt || die "mount $fs"

	log "$fs: write files, record checksums"
	mkdir -p $mnt/dir/sub
	i=0
	while [ $i -lt 8 ]; do
		dd if=/dev/urandom of=$mnt/dir/f$i bs=4k count=$((i * 37 + 1)) 2>/dev/null
		i=$((i + 1))
	done
	dd if=/dev/urandom of=$mnt/dir/sub/big bs=1M count=8 2>/dev/null
	echo hello > $mnt/small
	(cd $mnt && find . -type f | sort | xargs md5sum) > /tmp/$fs.files
	[ $(wc -l < /tmp/$fs.files) = 10 ] || die "expected 10 files: $(cat /tmp/$fs.files)"
	sync

	log "$fs: snapshot while a writer runs"
	rm -f /tmp/$fs.stop /tmp/$fs.sums /tmp/$fs.sums.err
	touch /tmp/$fs.sums
	writer $mnt /tmp/$fs.stop /tmp/$fs.sums &
	wpid=$!
	wait_until 60 "3 files from the writer" done_ge /tmp/$fs.sums 3
	cp /tmp/$fs.sums /tmp/$fs.before
	out /tmp/o dmcowctl snapshot $pool/vol snap1
	d=$(done_count /tmp/$fs.sums)
	grep -q "snapshot $pool/snap1 of $pool/vol" /tmp/o || die "snapshot did not name pool/snap1"
	grep -q "suspended for [0-9.]* ms" /tmp/o || die "snapshot did not print the suspend time"
	# File d+2 was started after the snapshot returned.
	n=$((d + 2))
	wait_until 60 "the writer to go on after the snapshot" done_ge /tmp/$fs.sums $n
	touch /tmp/$fs.stop
	wait $wpid || die "writer failed: $(cat /tmp/$fs.sums.err 2>/dev/null)"
	[ ! -e /tmp/$fs.sums.err ] || die "writer: $(cat /tmp/$fs.sums.err)"
	log "$fs: $(done_count /tmp/$fs.before) files complete before the snapshot, $(done_count /tmp/$fs.sums) in all"
	[ -e $mnt/w$n ] || die "origin lacks w$n"

	log "$fs: list shows the snapshot under its origin and the mount point"
	out /tmp/l dmcowctl list $pool -o name,origin,mounted
	line=$(grep -- '-snap1 ' /tmp/l) || die "list has no snap1 row"
	echo "$line" | grep -q '^  `-snap1 *vol *-$' || die "snap1 row is '$line': not a child of vol, unmounted"
	grep -q '^`-vol *- */mnt/'$fs'$' /tmp/l || die "list does not show vol mounted at $mnt"
	[ "$(head -2 /tmp/l | tail -1 | awk '{print $1}')" = $pool ] || die "first row is not the pool"
	out /tmp/lj dmcowctl list $pool --json
	tr -d ' \n' < /tmp/lj > /tmp/lj1
	grep -q '"name":"snap1"[^}]*"origin":"vol"' /tmp/lj1 || die "list --json: snap1 without origin vol"
	grep -q '"name":"vol"[^}]*"mounted":"/mnt/'$fs'"' /tmp/lj1 || die "list --json: vol not mounted at $mnt"
	[ "$(grep -o '"name":"[^"]*"' /tmp/lj1 | wc -l)" = 3 ] || die "list --json: expected pool, vol and snap1"

	log "$fs: activate the snapshot, fsck it, mount it read-only, verify"
	out /tmp/o dmcowctl activate $pool/snap1
	if [ $fs = xfs ]; then
		# A frozen XFS keeps a dirty log (as with LVM snapshots): replay
		# it with a read-write mount first; xfs_repair -n refuses a
		# dirty log.
		mount -t xfs -o nouuid /dev/mapper/$pool-snap1 $snapmnt || die "mount xfs snapshot (log replay)"
		umount $snapmnt
	fi
	$fsck /dev/mapper/$pool-snap1 > /tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; die "$fsck of the snapshot"; }
	mount -t $fs -o $ro /dev/mapper/$pool-snap1 $snapmnt || die "mount the $fs snapshot read-only"
	verify_files $snapmnt /tmp/$fs.files
	verify_sums $snapmnt /tmp/$fs.before
	[ ! -e $snapmnt/w$n ] || die "snapshot has w$n, written after it"
	dmcowctl list $pool -o name,mounted | grep -q -- "-snap1 *$snapmnt$" ||
		die "list does not show snap1 mounted at $snapmnt"
	expect_fail dmcowctl delete $pool/snap1 --force
	umount $snapmnt
	out /tmp/o dmcowctl deactivate $pool/snap1

	log "$fs: rollback the origin to the snapshot"
	expect_fail dmcowctl rollback $pool/vol snap1
	umount $mnt
	out /tmp/o dmcowctl rollback $pool/vol snap1
	$fsck /dev/mapper/$pool-vol > /tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; die "$fsck of the rolled back origin"; }
	mount -t $fs /dev/mapper/$pool-vol $mnt || die "mount the rolled back origin"
	verify_files $mnt /tmp/$fs.files
	verify_sums $mnt /tmp/$fs.before
	[ ! -e $mnt/w$n ] || die "rolled back origin still has w$n"
	umount $mnt

	log "$fs: delete the snapshot, check, deactivate, offline check"
	out /tmp/o dmcowctl delete $pool/snap1
	dmcowctl list $pool > /tmp/l
	! grep -q snap1 /tmp/l || die "snap1 still listed after delete"
	out /tmp/o dmcowctl check --live $pool
	grep -q "clean" /tmp/o || die "check --live not clean"
	out /tmp/o dmcowctl deactivate $pool/vol
	out /tmp/o dmcowctl pool deactivate $pool
	[ ! -e /dev/mapper/$pool ] || die "pool $pool still active"
	dmcowctl check $meta > /tmp/o 2>&1 || { cat /tmp/o; die "offline check of $meta failed"; }
	cat /tmp/o
}

workflow ext4 /dev/ram0 /dev/ram1
workflow xfs /dev/ram2 /dev/ram3
log "dmcowctl-workflow ok"
