# restore-files on ext4 and xfs.  A subtree with hard links inside it and
# to outside it, a sparse and a fallocated file, xattrs, ACLs, a file
# capability, a setuid file, owners, a symlink, a fifo and a device node is
# snapshotted; then the origin's subtree is damaged: files deleted,
# appended, overwritten in place (one block of a 4 MiB file), truncated,
# chmod/chown, xattrs removed, a hard link removed, a file replaced by a
# directory, new files added.
#   -n prints what it would do and changes nothing;
#   the restore (--delete) makes the subtree equal to the snapshot's (every
#   path, mode, owner, size, link count, mtime, content, xattr and link
#   set), keeps holes and the capability, rewrites only the changed block
#   of the 4 MiB file (bytes written counted);
#   a second restore writes nothing.
# Bad input: DEST not on the pool, DEST in a view, PATH outside the view,
# a malformed source: clear errors, nothing changed.
# needs: target
# timeout: 1500
# mem: 1536

. /etc/fs-lib.sh
load_cowtree
brd_load 2 300
run_ok /tmp/o dmcowctl pool create p /dev/ram0 /dev/ram1
CAP=0x0100000200200000000000000000000000000000	# cap_net_raw+ep

populate() {
	local m=$1 i
	mkdir -p $m/sub/a/b $m/sub/empty $m/out
	i=0
	while [ $i -lt 30 ]; do
		printf 'file %d\n' $i > $m/sub/a/f$i
		i=$((i + 1))
	done
	dd if=/dev/urandom of=$m/sub/big bs=64k count=64 2>/dev/null
	truncate -s 20M $m/sub/sparse
	dd if=/dev/urandom of=$m/sub/sparse bs=4k count=2 seek=1000 conv=notrunc 2>/dev/null
	fallocate -l 256k $m/sub/falloc
	ln $m/sub/a/f1 $m/sub/a/b/f1-link
	ln $m/sub/a/f2 $m/sub/f2-link
	ln $m/sub/a/f3 $m/out/f3-outside
	echo cap > $m/sub/capfile
	setfattr -n security.capability -v $CAP $m/sub/capfile
	echo suid > $m/sub/suid
	chmod 4755 $m/sub/suid
	setfattr -n user.note -v hello $m/sub/a/f4
	setfacl -m u:1234:rwx $m/sub/a/f5
	setfacl -d -m g:55:rx $m/sub/a/b
	chown 1234:5678 $m/sub/a/f6
	chmod 0640 $m/sub/a/f7
	ln -s a/f8 $m/sub/sym
	mkfifo $m/sub/fifo
	mknod $m/sub/null c 1 3
	touch -d '2001-02-03 04:05:06' $m/sub/a/f9
}

damage() {
	local m=$1
	rm $m/sub/a/f10 $m/sub/sym $m/sub/fifo
	echo more >> $m/sub/a/f11
	dd if=/dev/urandom of=$m/sub/big bs=4k count=1 seek=500 conv=notrunc 2>/dev/null
	truncate -s 1 $m/sub/a/f12
	chmod 0600 $m/sub/suid
	chown 1:1 $m/sub/a/f13
	setfattr -x user.note $m/sub/a/f4
	setfacl -b $m/sub/a/f5
	rm $m/sub/a/b/f1-link
	rm $m/sub/a/f14
	mkdir $m/sub/a/f14
	echo inside > $m/sub/a/f14/x
	echo new > $m/sub/new
	mkdir -p $m/sub/newdir/deeper
	echo scrambled > $m/sub/capfile
	dd if=/dev/urandom of=$m/sub/sparse bs=4k count=1 seek=1000 conv=notrunc 2>/dev/null
	sync
}

for fs in ext4 xfs; do
	m=/mnt/$fs
	log "$fs: populate, snapshot, damage"
	fs_volume p $fs $fs 256M $m
	populate $m
	sync
	run_ok /tmp/o dmcowctl snapshot p/$fs $fs-s
	run_ok /tmp/o dmcowctl mount p/$fs-s /mnt/v
	TS_NO_CTIME=1 tree_state /mnt/v/sub > /tmp/snap.state
	run_ok /tmp/o dmcowctl umount /mnt/v
	grep -q "capfile X security.capability=$CAP" /tmp/snap.state || die "no capability in the snapshot"
	damage $m
	TS_NO_CTIME=1 tree_state $m/sub > /tmp/damaged.state
	! cmp -s /tmp/snap.state /tmp/damaged.state || die "damage changed nothing"

	log "$fs: -n changes nothing"
	run_ok /tmp/n dmcowctl restore-files p/$fs-s:/sub $m/sub -n --delete
	grep -q '^would create /a/f10$' /tmp/n || die "-n: f10"
	grep -q '^would delete /new$' /tmp/n || die "-n: new"
	grep -q '^would update /big (4096 bytes differ)$' /tmp/n || die "-n: big"
	grep -q '^# dry run: ' /tmp/n || die "-n: no dry run summary"
	TS_NO_CTIME=1 tree_state $m/sub > /tmp/after-n.state
	cmp -s /tmp/damaged.state /tmp/after-n.state || die "-n changed the destination"

	log "$fs: bad input changes nothing"
	mkdir -p /tmp/elsewhere
	run_fail "is not on a mounted volume of pool 'p'" dmcowctl restore-files p/$fs-s:/sub /tmp/elsewhere
	run_ok /tmp/o dmcowctl mount p/$fs-s /mnt/v
	run_fail "in a view made by dmcowctl" dmcowctl restore-files p/$fs-s:/sub /mnt/v/sub
	run_ok /tmp/o dmcowctl umount /mnt/v
	run_fail "is outside the view" dmcowctl restore-files p/$fs-s:/../.. $m/sub
	run_fail "is not POOL/SNAP:PATH" dmcowctl restore-files p/$fs-s $m/sub
	run_fail "No such file" dmcowctl restore-files p/$fs-s:/nosuch $m/sub
	run_fail "is a directory" dmcowctl restore-files p/$fs-s:/sub/big $m/sub
	TS_NO_CTIME=1 tree_state $m/sub > /tmp/after-bad.state
	cmp -s /tmp/damaged.state /tmp/after-bad.state || die "bad input changed the destination"

	log "$fs: restore"
	run_ok /tmp/r dmcowctl restore-files p/$fs-s:/sub $m/sub --delete
	grep -q '^update /big (4096 bytes differ)$' /tmp/r || die "big: not updated in place"
	grep -q '^link /a/b/f1-link /a/f1$' /tmp/r || die "f1-link: not linked"
	written=$(sed -n 's/.* \([0-9]*\) bytes written in .*/\1/p' /tmp/r)
	[ "$written" -lt 131072 ] || die "restore wrote $written bytes: more than what changed"
	TS_NO_CTIME=1 tree_state $m/sub > /tmp/restored.state
	if ! cmp -s /tmp/snap.state /tmp/restored.state; then
		diff /tmp/snap.state /tmp/restored.state || true
		die "$fs: the restored subtree differs from the snapshot"
	fi
	[ $(stat -c %b $m/sub/sparse) -le 64 ] || die "sparse file lost its holes: $(stat -c %b $m/sub/sparse) blocks"
	[ $(stat -c %h $m/out/f3-outside) = 2 ] || die "the link outside the subtree was broken"
	[ $(stat -c %i $m/out/f3-outside) = $(stat -c %i $m/sub/a/f3) ] || die "f3 is not the outside link's inode"

	log "$fs: a second restore writes nothing"
	run_ok /tmp/r2 dmcowctl restore-files p/$fs-s:/sub $m/sub --delete
	grep -q '^# 0 created, 0 updated, 0 linked, 0 deleted, [0-9]* unchanged; 0 bytes written' /tmp/r2 ||
		die "second restore did something"
	run_ok /tmp/o dmcowctl check --live p
	umount $m
	run_ok /tmp/o dmcowctl deactivate p/$fs
done
log "fs-restore ok"
