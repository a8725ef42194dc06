# diff on ext4 and xfs: a tree of 2000 files changes by randomized change
# sets (several seeds): files created, deleted, appended, overwritten in
# place keeping mtime (touch -r), truncated, chmod/chown, xattrs and ACLs
# set, renamed, hard links added and removed, inodes reused, directories
# made, symlinks, files only read (atime).  After each set a snapshot is
# taken and 'dmcowctl diff' of the two snapshots must equal an independent
# comparison of the two mounted views (find + stat + md5 + getfattr + the
# link sets): every path added, removed or changed, nothing else.
# Also: a second snapshot with no file change has changed chunks (journal,
# log, atime) but no diff line; a renamed directory is one R line; --json
# has the byte ranges of an in-place overwrite; a PATH limits the output;
# bad input fails cleanly.
# needs: target
# timeout: 2400
# mem: 1536

. /etc/fs-lib.sh
load_cowtree
brd_load 2 300
run_ok /tmp/o dmcowctl pool create p /dev/ram0 /dev/ram1

# rnd N: a pseudo-random number in [0, N) from the seed and a counter (in
# a file: rnd runs in command substitutions, whose variables are lost).
echo 0 > /tmp/rnd.count
rnd() {
	local c=$(($(cat /tmp/rnd.count) + 1))
	echo $c > /tmp/rnd.count
	awk -v s=$((SEED * 1000 + c)) -v n=$1 'BEGIN { srand(s); print int(rand() * n) }'
}

# pick DIR TYPE: a random path of TYPE (f, d) below DIR, relative to it.
pick() {
	(cd $1 && find t -type $2) > /tmp/pick
	sed -n "$(($(rnd $(wc -l < /tmp/pick)) + 1))p" /tmp/pick
}

build_tree() {
	local m=$1 d f
	mkdir -p $m/t
	d=0
	while [ $d -lt 40 ]; do
		mkdir $m/t/d$d
		f=0
		while [ $f -lt 50 ]; do
			printf 'file %d %d\n' $d $f > $m/t/d$d/f$f
			f=$((f + 1))
		done
		d=$((d + 1))
	done
	dd if=/dev/urandom of=$m/t/big bs=64k count=32 2>/dev/null
	ln $m/t/d1/f1 $m/t/d2/hl1
	ln $m/t/d1/f2 $m/t/d3/hl2
	ln $m/t/d1/f2 $m/t/d4/hl2b
	ln -s d1/f3 $m/t/sym
}

# change_set MNT COUNT: COUNT random changes.
change_set() {
	local m=$1 n=$2 i op p q
	i=0
	: > /tmp/ops.$SEED
	while [ $i -lt $n ]; do
		op=$(rnd 14)
		echo $op >> /tmp/ops.$SEED
		case $op in
		0) p=$(pick $m d); dd if=/dev/urandom of=$m/$p/new$SEED.$i bs=4k count=$(($(rnd 20) + 1)) 2>/dev/null ;;
		1) p=$(pick $m f); rm -f $m/$p ;;
		2) p=$(pick $m f); dd if=/dev/urandom bs=1k count=$(($(rnd 9) + 1)) 2>/dev/null >> $m/$p ;;
		3) p=$(pick $m f); touch -r $m/$p /tmp/ref
		   dd if=/dev/urandom of=$m/$p bs=1 count=7 seek=$(rnd 8) conv=notrunc 2>/dev/null
		   touch -r /tmp/ref $m/$p ;;
		4) p=$(pick $m f); chmod $((600 + $(rnd 78))) $m/$p ;;
		5) p=$(pick $m f); chown $(($(rnd 3) + 1000)):$(rnd 3) $m/$p ;;
		6) p=$(pick $m f); setfattr -n user.k$(rnd 3) -v v$i $m/$p ;;
		7) p=$(pick $m f); setfacl -m u:$(($(rnd 5) + 2000)):r $m/$p ;;
		8) p=$(pick $m f); q=$(pick $m d); mv $m/$p $m/$q/mv$SEED.$i ;;
		9) p=$(pick $m f); q=$(pick $m d); ln $m/$p $m/$q/ln$SEED.$i ;;
		10) p=$(pick $m f); rm $m/$p; echo reused $i > $m/$p ;;
		11) p=$(pick $m d); mkdir $m/$p/dir$SEED.$i; echo x > $m/$p/dir$SEED.$i/a; echo y > $m/$p/dir$SEED.$i/b ;;
		12) p=$(pick $m f); truncate -s $(rnd 100) $m/$p ;;
		13) p=$(pick $m f); cat $m/$p > /dev/null ;;
		esac
		i=$((i + 1))
	done
	sync
	[ $(sort -u /tmp/ops.$SEED | wc -l) -ge 8 ] || die "change set $SEED is not random: ops $(cat /tmp/ops.$SEED)"
}

# expected A B OUT: the independent comparison of two mounted trees as
# "+ path", "- path" and "M path" lines, sorted.
expected() {
	tree_state $1 | grep -v '^links:' > /tmp/sa
	tree_state $2 | grep -v '^links:' > /tmp/sb
	# One line per path: its state lines joined.
	for s in a b; do
		awk '{ p = $1; $1 = ""; st[p] = st[p] "|" $0; if (!(p in seen)) { seen[p] = 1; order[++n] = p } }
		     END { for (i = 1; i <= n; i++) print order[i] "\t" st[order[i]] }' /tmp/s$s |
			sed 's|^\./|/|' | sort > /tmp/j$s
	done
	awk -F'\t' 'NR == FNR { a[$1] = $2; next } { b[$1] = $2 }
		END { for (p in a) if (!(p in b)) print "- " p; else if (a[p] != b[p]) print "M " p
		      for (p in b) if (!(p in a)) print "+ " p }' /tmp/ja /tmp/jb | sort > $3
}

# normalised OUT: dmcowctl diff's lines as the independent comparison sees
# them: R a -> b is "- a" and "+ b"; "- p" with "+ p" is "M p"; an M of a
# path also added is only the addition; the root is left out.
normalised() {
	awk -F'\t' '$1 == "R" { split($2, ab, " -> "); print "- " ab[1]; print "+ " ab[2]; next }
		    { print $1 " " $2 }' $1 | grep -v ' /$' | sort -u |
		awk '{ seen[$0] = 1; line[NR] = $0 }
		     END { for (i = 1; i <= NR; i++) { split(line[i], f, " "); p = f[2]
			if (f[1] == "-" && ("+ " p) in seen) { print "M " p; continue }
			if (f[1] == "+" && ("- " p) in seen) continue
			if (f[1] == "M" && ("+ " p) in seen && !(("- " p) in seen)) continue
			print line[i] } }' | sort -u
}

diff_check() {
	local fs=$1 a=$2 b=$3
	run_ok /tmp/o dmcowctl mount p/$a /mnt/va
	run_ok /tmp/o dmcowctl mount p/$b /mnt/vb
	expected /mnt/va /mnt/vb /tmp/expected
	run_ok /tmp/o dmcowctl umount /mnt/va
	run_ok /tmp/o dmcowctl umount /mnt/vb
	dmcowctl diff p/$a p/$b > /tmp/diff 2> /tmp/diff.err || { cat /tmp/diff /tmp/diff.err; die "diff failed"; }
	cat /tmp/diff.err
	normalised /tmp/diff > /tmp/got
	if ! cmp -s /tmp/expected /tmp/got; then
		echo "--- dmcowctl diff:"; cat /tmp/diff
		echo "--- expected (-) vs got (+):"; diff /tmp/expected /tmp/got || true
		die "$fs: diff $a $b differs from the independent comparison"
	fi
	log "$fs: diff $a $b: $(wc -l < /tmp/got) paths, as the independent comparison says"
}

mkdir -p /mnt/va /mnt/vb
for fs in ext4 xfs; do
	log "$fs: a tree of 2000 files"
	fs_volume p $fs $fs 256M /mnt/$fs
	m=/mnt/$fs
	build_tree $m
	sync
	run_ok /tmp/o dmcowctl snapshot p/$fs $fs-0

	log "$fs: no file change, only atime: changed chunks, no diff line"
	cat $m/t/d5/* > /dev/null
	sync
	run_ok /tmp/o dmcowctl snapshot p/$fs $fs-0b
	dmcowctl diff p/$fs-0 p/$fs-0b > /tmp/diff 2> /tmp/diff.err || die "diff failed"
	cat /tmp/diff /tmp/diff.err
	[ ! -s /tmp/diff ] || die "$fs: diff reports changes where there are none"
	grep -q '^# 0 added, 0 removed, 0 modified, 0 renamed; from [1-9][0-9]* changed chunks' /tmp/diff.err ||
		die "$fs: expected changed chunks and no change"

	# Each directory was made just before its files (build_tree): on ext4
	# the directory whose first entries have the largest inode number not
	# above a file's is its own (fsx dir_key), so diff lists exactly one
	# directory per rewritten file, not its flex group's 40 (xfs lists its
	# AGs' directories).
	log "$fs: names of files rewritten in place, from the directory predicted"
	for p in d10/f7 d20/f8 d30/f9; do
		printf 'rewritten' | dd of=$m/t/$p conv=notrunc 2>/dev/null || die "rewrite $p"
	done
	sync
	run_ok /tmp/o dmcowctl snapshot p/$fs $fs-0c
	dmcowctl diff p/$fs-0b p/$fs-0c > /tmp/diff 2> /tmp/diff.err || die "diff failed"
	cat /tmp/diff /tmp/diff.err
	[ "$(cut -f1,2 /tmp/diff | tr '\t\n' ' ;')" = "M /t/d10/f7;M /t/d20/f8;M /t/d30/f9;" ] ||
		die "$fs: diff of three rewritten files"
	listed=$(sed -n 's/.*, \([0-9]*\) directories listed for names$/\1/p' /tmp/diff.err)
	[ -n "$listed" ] || die "$fs: no count of directories listed"
	[ $fs = xfs ] || [ "$listed" = 3 ] ||
		die "$fs: $listed directories listed to name 3 files, each in the directory predicted"

	prev=$fs-0
	for SEED in 1 2 3; do
		log "$fs: change set $SEED"
		change_set $m 25
		run_ok /tmp/o dmcowctl snapshot p/$fs $fs-$SEED
		diff_check $fs $prev $fs-$SEED
		prev=$fs-$SEED
	done
	diff_check $fs $fs-0 $fs-3

	log "$fs: directory rename, in-place overwrite ranges, PATH"
	mv $m/t/d7 $m/t/d7moved
	dd if=/dev/urandom of=$m/t/big bs=4k count=1 seek=100 conv=notrunc 2>/dev/null
	sync
	run_ok /tmp/o dmcowctl snapshot p/$fs $fs-4
	run_ok /tmp/diff dmcowctl diff p/$fs-3 p/$fs-4
	grep -q '^R	/t/d7 -> /t/d7moved$' /tmp/diff || die "$fs: no R line for the directory"
	! grep -q '/t/d7moved/' /tmp/diff || die "$fs: the moved directory's files are reported"
	grep -q '^M	/t/big	data,.* 409600+4096$' /tmp/diff || die "$fs: big's changed range is not 409600+4096"
	run_ok /tmp/dj dmcowctl diff p/$fs-3 p/$fs-4 --json
	tr -d ' \n' < /tmp/dj | grep -q '"change":"modified","path":"/t/big","type":"file","what":\["data","mtime","ctime"\],"ranges":\[{"offset":409600,"length":4096}\]' ||
		die "$fs: --json lacks big's range"
	run_ok /tmp/dp dmcowctl diff p/$fs-3 p/$fs-4 /t/d7moved
	[ "$(grep -v '^#' /tmp/dp | cut -f1 | sort -u | tr -d '\n')" = R ] || die "$fs: PATH did not limit the output"

	log "$fs: bad input"
	n0=$(nr_volumes p)
	run_fail "is outside the view" dmcowctl diff p/$fs-3 p/$fs-4 /../..
	run_fail "no volume 'nosuch'" dmcowctl diff p/$fs-3 p/nosuch
	run_fail "give two different volumes" dmcowctl diff p/$fs-3 p/$fs-3
	[ $(nr_volumes p) = $n0 ] || die "bad input left volumes"
	! grep -q /run/dmcowctl /proc/mounts || die "bad input left mounts"
	umount $m
	run_ok /tmp/o dmcowctl deactivate p/$fs
done
log "fs-diff ok"
