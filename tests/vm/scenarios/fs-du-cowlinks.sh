# du and cowlinks on ext4 and xfs.  A tree with hard links inside and
# outside a subtree, sparse and fallocated files, xattrs, ACLs, a symlink, a
# fifo and a device node is snapshotted (s1) while a writer rewrites files in
# place and logs the states it got acknowledged; then the origin changes:
# append, in-place overwrite keeping mtime (touch -r), delete, create,
# chmod, inode reuse at one path, hard links added and removed, a new big
# file, and one block changed under the filesystem (through the device).
#   du: an untouched file is shared with s1 (and --with names it), a new one
#   is exclusive, a sparse file allocates what was written; the volume's
#   exclusive chunks equal the pool's counter; files + overhead fit the
#   mapped chunks; du of an unmounted snapshot works through a view.
#   cowlinks: every file gets its expected state; hard-link groups changed
#   are reported, intact ones are not; the neighbour of an overwritten
#   small file in the same chunk is flagged with equal content; the block
#   changed under the filesystem is flagged with other content; the
#   writer's files in s1 are acknowledged states, and shared ones are equal.
# Bad input: unknown volume, PATH outside the view, no filesystem.
# needs: target
# timeout: 1200
# mem: 1536

. /etc/fs-lib.sh
load_cowtree
brd_load 2 400
run_ok /tmp/o dmcowctl pool create p /dev/ram0 /dev/ram1
CS=128	# chunk sectors (the default 64 KiB)
mkdir -p /mnt/v

# expect_state OUT STATE PATH: cowlinks output OUT says PATH is STATE.
expect_state() {
	grep -q "^$2 *$3\(	\|$\)" $1 || { grep -F " $3" $1; die "cowlinks: $3 is not $2"; }
}

# expect_intact OUT PATH: PATH unchanged: shared, or diverged only because
# a neighbour's write copied a chunk it is in (content equal).
expect_intact() {
	grep -q "^shared *$2\(	\|$\)" $1 ||
		grep -q "^diverged *$2	.*(content equal: copied with its chunk)$" $1 ||
		{ grep -F " $2" $1; die "cowlinks: $2 is not intact"; }
}

populate() {
	local m=$1 i
	mkdir -p $m/d/sub $m/d/small $m/out $m/w
	# Files that stay unchanged first, a spacer, then the ones that change:
	# no chunk holds both.
	dd if=/dev/urandom of=$m/d/untouched bs=64k count=16 2>/dev/null
	dd if=/dev/urandom of=$m/d/chmod bs=4k count=3 2>/dev/null
	truncate -s 10M $m/d/sparse
	dd if=/dev/urandom of=$m/d/sparse bs=64k count=1 seek=80 conv=notrunc 2>/dev/null
	fallocate -l 1M $m/d/falloc
	echo linked > $m/d/l1
	ln $m/d/l1 $m/d/sub/l1b
	echo linked2 > $m/d/l2
	ln $m/d/l2 $m/d/sub/l2b
	ln $m/d/l2 $m/d/sub/l2c
	echo across > $m/d/x1
	ln $m/d/x1 $m/out/x1-outside
	setfattr -n user.color -v blue $m/d/chmod
	setfacl -m u:1234:rw $m/d/chmod
	ln -s untouched $m/d/symlink
	mkfifo $m/d/fifo
	mknod $m/d/null c 1 3
	sync
	dd if=/dev/urandom of=$m/spacer bs=64k count=16 2>/dev/null
	sync
	dd if=/dev/urandom of=$m/d/append bs=64k count=4 2>/dev/null
	dd if=/dev/urandom of=$m/d/overwrite bs=64k count=4 2>/dev/null
	dd if=/dev/urandom of=$m/d/delete bs=64k count=2 2>/dev/null
	dd if=/dev/urandom of=$m/d/reuse bs=4k count=2 2>/dev/null
	dd if=/dev/urandom of=$m/d/under bs=64k count=2 2>/dev/null
	i=0
	while [ $i -lt 16 ]; do
		dd if=/dev/urandom of=$m/d/small/n$i bs=4k count=1 2>/dev/null
		i=$((i + 1))
	done
	i=0
	while [ $i -lt 8 ]; do
		dd if=/dev/urandom of=$m/w/f$i bs=128k count=1 2>/dev/null
		i=$((i + 1))
	done
}

# hammer DIR STOP LOG: overwrites DIR/w/fN in place with one write each
# (a freeze comes between writes, not inside one) and fsync, logging
# "fN md5" once each write is acknowledged.
hammer() {
	local i=0 f
	while [ ! -e $2 ]; do
		f=f$((i % 8))
		dd if=/dev/urandom of=$1/w/$f bs=128k count=1 conv=notrunc,fsync 2>/dev/null || return 1
		echo "$f $(md5sum < $1/w/$f | cut -d' ' -f1)" >> $3
		i=$((i + 1))
	done
}

change() {
	local m=$1 fs=$2 a b
	dd if=/dev/urandom bs=4k count=5 2>/dev/null >> $m/d/append
	touch -r $m/d/overwrite /tmp/ref
	dd if=/dev/urandom of=$m/d/overwrite bs=4k count=2 seek=3 conv=notrunc 2>/dev/null
	touch -r /tmp/ref $m/d/overwrite
	rm $m/d/delete
	dd if=/dev/urandom of=$m/d/new bs=64k count=16 2>/dev/null
	chmod 600 $m/d/chmod
	rm $m/d/reuse
	echo reused > $m/d/reuse
	ln $m/d/l1 $m/d/sub/l1c
	rm $m/d/sub/l2c
	# Two small files in one chunk: overwrite one in place.
	pair=
	for a in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do
		b=$((a + 1))
		if [ $(first_chunk $m/d/small/n$a $CS) = $(first_chunk $m/d/small/n$b $CS) ]; then
			pair="n$a n$b"
			break
		fi
	done
	[ -n "$pair" ] || die "no two small files share a chunk"
	set -- $pair
	dd if=/dev/urandom of=$m/d/small/$1 bs=4k count=1 conv=notrunc 2>/dev/null
	neighbour=$2
	sync
	# One block of d/under changed below the filesystem.
	under=$(xfs_io -r -c fiemap $m/d/under | sed -n 's/^[[:space:]]*0: \[[0-9.]*\]: \([0-9]*\)\.\..*/\1/p')
	dd if=/dev/urandom of=/dev/mapper/p-$fs bs=512 count=8 seek=$under conv=notrunc,fsync 2>/dev/null
}

for fs in ext4 xfs; do
	s1=$fs-s1
	log "$fs: populate, snapshot while a writer hammers files"
	fs_volume p $fs $fs 256M /mnt/$fs
	m=/mnt/$fs
	populate $m
	sync
	(cd $m/w && md5sum f* | awk '{ print $2, $1 }') > /tmp/acked
	rm -f /tmp/stop
	hammer $m /tmp/stop /tmp/acked &
	hpid=$!
	sleep 2
	cp /tmp/acked /tmp/acked-before
	run_ok /tmp/o dmcowctl snapshot p/$fs $s1
	sleep 2
	touch /tmp/stop
	wait $hpid || die "hammer failed"
	change $m $fs
	log "$fs: neighbour in the same chunk: $neighbour"

	log "$fs: du of the live origin"
	# Background writes (xfs log covering) may move the counters: retry.
	for try in 1 2 3; do
		c1=$(vol_counter p $fs exclusive_chunks)
		run_ok /tmp/du dmcowctl du p/$fs --with
		c2=$(vol_counter p $fs exclusive_chunks)
		[ "$c1" != "$c2" ] || break
	done
	[ "$(du_field /tmp/du /d/untouched 2)" = 1048576 ] || die "untouched: allocated"
	# Its first and last chunk may hold a neighbour's blocks, copied since.
	[ "$(du_field /tmp/du /d/untouched 3)" -ge $((1048576 - 131072)) ] || die "untouched: not shared"
	[ "$(du_field /tmp/du /d/untouched 5)" = $s1 ] || die "untouched: not shared with s1"
	[ "$(du_field /tmp/du /d/new 4)" = 1048576 ] || die "new: not all exclusive"
	[ "$(du_field /tmp/du /d/new 3)" = 0 ] || die "new: shares something"
	[ "$(du_field /tmp/du /d/sparse 1)" = 10485760 ] || die "sparse: size"
	[ "$(du_field /tmp/du /d/sparse 2)" = 65536 ] || die "sparse: allocated"
	[ "$(du_field /tmp/du /d/falloc 2)" = 1048576 ] || die "falloc: allocated"
	total=$(du_field /tmp/du total 2)
	sumd=$(du_field /tmp/du /d 2)
	[ $sumd -le $total ] || die "/d allocates more than the total"
	excl=$(du_summary /tmp/du exclusive)
	mapped=$(du_summary /tmp/du mapped)
	[ "$excl" = "$c2" ] || die "du: $excl exclusive chunks, the pool counts $c2"
	[ "$mapped" = "$(vol_counter p $fs mapped_chunks)" ] || die "du: mapped chunks differ from the pool"
	files=$(du_summary /tmp/du files)
	over=$(du_summary /tmp/du overhead)
	unmapped=$(du_summary /tmp/du unmapped)
	[ $((files + over)) = $((mapped * 65536)) ] || die "files + overhead != mapped"
	[ $over -lt $((mapped * 65536)) ] || die "overhead exceeds the volume"
	# Every block is counted once: the union of all files' extents.
	[ $((files + unmapped)) = $total ] ||
		die "total allocated $total != $files in chunks + $unmapped unmapped"

	log "$fs: du of the snapshot (through a view), JSON, subtree"
	n0=$(nr_volumes p)
	run_ok /tmp/dus dmcowctl du p/$s1 --with
	[ "$(du_field /tmp/dus /d/untouched 5)" = $fs ] || die "s1 untouched: not shared with $fs"
	# The origin overwrote 8 KiB of it: that chunk is s1's alone now.
	[ "$(du_field /tmp/dus /d/overwrite 4)" -ge 8192 ] || die "s1: overwritten range not exclusive"
	[ "$(du_field /tmp/dus /d/overwrite 3)" -ge 131072 ] || die "s1: overwrite shares too little"
	run_ok /tmp/duj dmcowctl du p/$s1 /d/sub --json
	grep -q '"path": "/d/sub/l1b"' /tmp/duj || die "du --json lacks /d/sub/l1b"
	! grep -q '"path": "/d/untouched"' /tmp/duj || die "du of /d/sub shows /d/untouched"
	[ $(nr_volumes p) = $n0 ] || die "du left a view behind"
	wait_reclaimed p
	[ "$(du_summary /tmp/dus exclusive)" = "$(vol_counter p $s1 exclusive_chunks)" ] ||
		die "du s1: $(du_summary /tmp/dus exclusive) exclusive chunks, the pool counts $(vol_counter p $s1 exclusive_chunks)"

	log "$fs: cowlinks s1 -> origin"
	run_ok /tmp/cl dmcowctl cowlinks p/$s1 p/$fs
	expect_intact /tmp/cl /d/untouched
	expect_intact /tmp/cl /d/sparse
	expect_state /tmp/cl diverged /d/append
	expect_state /tmp/cl diverged /d/overwrite
	expect_state /tmp/cl removed /d/delete
	expect_state /tmp/cl new /d/new
	expect_intact /tmp/cl /d/chmod
	grep "^[a-z]* *\/d\/chmod	" /tmp/cl | grep -q "metadata changed" || die "chmod: no metadata change"
	expect_state /tmp/cl rewritten /d/reuse
	expect_state /tmp/cl new /d/sub/l1c
	expect_state /tmp/cl removed /d/sub/l2c
	grep "^diverged *\/d\/small\/$neighbour	" /tmp/cl |
		grep -q "metadata unchanged, blocks diverged (content equal: copied with its chunk)" ||
		die "neighbour $neighbour not flagged as copied with its chunk"
	grep "^diverged *\/d\/under	" /tmp/cl | grep -q "metadata unchanged, blocks diverged (CONTENT DIFFERS)" ||
		die "the block changed under the filesystem is not flagged"
	grep -q "^links *inode [0-9]*:	left (2 links): /d/l1 /d/sub/l1b	right (3 links): /d/l1 /d/sub/l1b /d/sub/l1c$" /tmp/cl ||
		die "l1 link group change not reported"
	grep -q "^links .* /d/l2 /d/sub/l2b /d/sub/l2c	right (2 links): /d/l2 /d/sub/l2b$" /tmp/cl ||
		die "l2 link group change not reported"
	! grep -q "^links .*/d/x1" /tmp/cl || die "intact group x1 reported"
	grep -q "^# .* 2 hard-link groups changed$" /tmp/cl || die "expected exactly 2 changed link groups"

	log "$fs: cowlinks of a subtree; the writer's files hold acknowledged states"
	run_ok /tmp/cl2 dmcowctl cowlinks p/$s1 p/$fs /d/sub --json
	grep -q '"path": "/d/sub/l1c"' /tmp/cl2 || die "cowlinks --json /d/sub lacks l1c"
	! grep -q '"path": "/d/untouched"' /tmp/cl2 || die "cowlinks /d/sub reports /d/untouched"
	run_ok /tmp/o dmcowctl mount p/$s1 /mnt/v
	for f in 0 1 2 3 4 5 6 7; do
		sum=$(md5sum < /mnt/v/w/f$f | cut -d' ' -f1)
		grep -q "^f$f $sum\$" /tmp/acked || die "s1: w/f$f holds no acknowledged state"
		last=$(grep "^f$f " /tmp/acked-before | tail -1 | cut -d' ' -f2)
		# States are acknowledged in order: s1's must not be older.
		awk -v f=f$f -v s=$sum -v l=$last '$1 == f { if ($2 == l) seen = 1; if ($2 == s && !seen) old = 1 } END { exit old }' /tmp/acked ||
			die "s1: w/f$f holds a state older than one acknowledged before the snapshot"
		if grep -q "^shared *\/w\/f$f\$" /tmp/cl; then
			cmp -s /mnt/v/w/f$f $m/w/f$f || die "w/f$f reported shared but differs"
		fi
	done
	run_ok /tmp/o dmcowctl umount /mnt/v

	log "$fs: bad input"
	n0=$(nr_volumes p)
	run_fail "no volume 'nosuch'" dmcowctl cowlinks p/$s1 p/nosuch
	run_fail "is outside the view" dmcowctl cowlinks p/$s1 p/$fs ../..
	run_fail "is outside the view" dmcowctl du p/$s1 /d/../../..
	run_fail "No such file" dmcowctl du p/$s1 /nonexistent
	run_fail "different pools" dmcowctl cowlinks p/$s1 q/$fs
	[ $(nr_volumes p) = $n0 ] || die "bad input left volumes"
	[ -z "$(ls /run/dmcowctl/views 2>/dev/null)" ] || die "bad input left view records"
	! grep -q /run/dmcowctl /proc/mounts || die "bad input left mounts"
	run_ok /tmp/o dmcowctl check --live p
	umount $m
	run_ok /tmp/o dmcowctl deactivate p/$fs
done

log "no filesystem: refused"
run_ok /tmp/o dmcowctl create p/raw 16M
run_fail "not an ext4 or xfs filesystem" dmcowctl du p/raw
log "fs-du-cowlinks ok"
