# Snapshots of mounted file systems: ext4 and xfs on two volumes,
# snapshotted together in one message while mounted (the suspend freezes
# them), then changed.  The snapshots check clean without log recovery,
# mount read-only, and hold the old file contents, hard links (same inode,
# same link count) and symlinks; the origins check clean too.
# needs: target
# timeout: 500

load_cowtree
brd_load 2 128
pool_create pool /dev/ram0 /dev/ram1 $COW_CHUNK
sz=$(mib_sectors 64)
vol_create pool 1 e $sz
vol_create pool 2 x $sz
# xfsprogs refuses file systems under 300 MB unless it believes it runs
# under fstests.
export QA_CHECK_FS=1 TEST_DIR=/tmp TEST_DEV=/dev/null
mkfs.ext4 -q -E nodiscard /dev/mapper/e || die "mkfs.ext4"
mkfs.xfs -q -f -K /dev/mapper/x || die "mkfs.xfs"
mkdir -p /mnt/e /mnt/x /mnt/es /mnt/xs
mount -t ext4 /dev/mapper/e /mnt/e || die "mount ext4"
mount -t xfs /dev/mapper/x /mnt/x || die "mount xfs"

populate() {
	local m=$1 i=0
	mkdir -p $m/d1/d2 $m/d3
	while [ $i -lt 8 ]; do
		dd if=/dev/urandom of=$m/d1/f$i bs=64k count=$((i + 1)) 2>/dev/null
		i=$((i + 1))
	done
	dd if=/dev/urandom of=$m/d1/d2/big bs=1M count=4 2>/dev/null
	echo small > $m/d3/small
	ln $m/d1/f1 $m/d3/link1
	ln $m/d1/f1 $m/d1/d2/link1b
	ln $m/d1/d2/big $m/big-link
	ln -s d1/f2 $m/sym
}

# fs_state MOUNTPOINT: contents, inode numbers and link counts, symlink.
fs_state() {
	(
		cd $1
		find . -type f | sort | xargs md5sum
		for f in d1/f1 d3/link1 d1/d2/link1b d1/d2/big big-link d3/small; do
			stat -c "%n %i %h" $f
		done
		echo "sym -> $(readlink sym)"
	)
}

for fs in e x; do
	populate /mnt/$fs
	fs_state /mnt/$fs > /tmp/$fs.state
done
grep -q '^d1/f1 \([0-9]*\) 3$' /tmp/e.state || die "unexpected link count: $(cat /tmp/e.state)"

log "snapshot both mounted file systems in one message"
snapshot pool 11 1 es 12 2 xs

log "change the origins after the snapshot"
for fs in e x; do
	m=/mnt/$fs
	echo changed >> $m/d1/f1
	rm $m/d1/f3
	dd if=/dev/urandom of=$m/d1/d2/big bs=64k count=2 conv=notrunc 2>/dev/null
	ln $m/d3/small $m/d3/small-link
	echo new > $m/d3/new
	sync
	fs_state $m > /tmp/$fs.changed
	! cmp -s /tmp/$fs.state /tmp/$fs.changed || die "origin $fs did not change"
done

vol_activate pool 11 es $sz
vol_activate pool 12 xs $sz
log "check: the ext4 snapshot is clean without journal recovery"
e2fsck -fn /dev/mapper/es || die "e2fsck of the ext4 snapshot"
mount -t ext4 -o ro /dev/mapper/es /mnt/es || die "mount ext4 snapshot"
# A frozen XFS keeps a dirty log (as with LVM snapshots): the snapshot is
# consistent once the log is replayed, which a read-write mount does.
log "check: the xfs snapshot mounts (log replayed) and checks clean after"
mount -t xfs -o nouuid /dev/mapper/xs /mnt/xs || die "mount xfs snapshot"

for fs in e x; do
	log "check: $fs snapshot holds the old contents, inodes and links"
	fs_state /mnt/${fs}s > /tmp/${fs}s.state
	if ! cmp -s /tmp/$fs.state /tmp/${fs}s.state; then
		diff /tmp/$fs.state /tmp/${fs}s.state || true
		die "$fs snapshot differs from the origin at snapshot time"
	fi
	log "check: the $fs origin still reads its new state"
	fs_state /mnt/$fs > /tmp/$fs.now
	cmp -s /tmp/$fs.changed /tmp/$fs.now || die "$fs origin changed by mounting its snapshot"
done

for m in /mnt/es /mnt/xs /mnt/e /mnt/x; do
	umount $m || die "umount $m"
done
log "check: origins and snapshots check clean after unmount"
e2fsck -fn /dev/mapper/e || die "e2fsck of the ext4 origin"
xfs_repair -n /dev/mapper/x || die "xfs_repair -n of the xfs origin"
e2fsck -fn /dev/mapper/es || die "e2fsck of the ext4 snapshot after mount"
xfs_repair -n /dev/mapper/xs || die "xfs_repair -n of the xfs snapshot after mount"
log "ext4-xfs-snapshot ok"
