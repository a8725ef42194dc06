# dmcowctl reshare on ext4 and xfs.  An origin with files is snapshotted;
# then the origin rewrites identical data: whole files copied over
# themselves through a temporary copy (cp), files rewritten in place with
# their own bytes (dd conv=notrunc), a tree damaged in places and re-synced
# from a copy taken before the snapshot (rsync -a -c --no-whole-file
# --inplace), and a file rewritten with one byte changed.  The filesystem
# is synced and frozen (nothing moves while the counts are taken); what
# reshare must share is computed independently: the chunks 'dmcowctl delta'
# lists as mapped to different data chunks whose contents, read through
# the two volumes' devices, are equal.  Then:
#   --dry-run reports exactly those chunks, as JSON that parses, and
#   changes nothing (counters, pool usage, delta, data);
#   reshare shares exactly those (all into the origin: its chunks are the
#   new ones), the exclusive counters of both volumes and (once the
#   released metadata snapshot is reclaimed) the pool's used chunks drop by
#   that many, the delta's different chunks too, the data of
#   both volumes is unchanged (checksums), the chunk with the changed byte
#   is still different, 'check --live' is clean, and a second run shares
#   nothing (text report);
#   at the end the pool's metadata checks clean offline with --strict-leaks.
# Bad input: an unknown volume, volumes of two snapshot trees.
# needs: target
# timeout: 900
# mem: 1536

. /etc/fs-lib.sh
load_cowtree
brd_load 2 600
run_ok /tmp/o dmcowctl pool create p /dev/ram0 /dev/ram1
CS=128			# chunk sectors (the default 64 KiB)
CB=$((CS * 512))

# jget FILE KEY: a member of a JSON report (jsonget fails if it is not JSON).
jget() {
	jsonget $2 < $1 || { cat $1; die "$1: no valid JSON with '$2'"; }
}

md5dev() { dd if=$1 bs=1M iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1; }

# delta_list A B: the chunks 'dmcowctl delta A B' lists as mapped to
# different data chunks, one a line, into /tmp/different; the counts of
# every kind into /tmp/kinds ("different N left_only N right_only N").
delta_list() {
	dmcowctl delta $1 $2 > /tmp/delta.out || { cat /tmp/delta.out; die "delta $1 $2"; }
	awk '$1 == "different" { for (i = 0; i < $3; i++) print $2 + i }' /tmp/delta.out > /tmp/different
	awk '!/^#/ { n[$1] += $3 } END { printf "different %d left_only %d right_only %d\n",
		n["different"], n["left_only"], n["right_only"] }' /tmp/delta.out > /tmp/kinds
}

# equal_chunks DEV_A DEV_B < CHUNKS: the chunks whose contents are equal.
equal_chunks() {
	local c a b
	while read -r c; do
		a=$(dd if=$1 bs=$CB skip=$c count=1 iflag=direct 2>/dev/null | md5sum)
		b=$(dd if=$2 bs=$CB skip=$c count=1 iflag=direct 2>/dev/null | md5sum)
		[ "$a" != "$b" ] || echo $c
	done
}

populate() {
	local m=$1 i=0
	mkdir -p $m/cp $m/dd $m/tree/sub $m/keep
	while [ $i -lt 4 ]; do
		dd if=/dev/urandom of=$m/cp/f$i bs=64k count=8 2>/dev/null
		dd if=/dev/urandom of=$m/dd/f$i bs=64k count=8 2>/dev/null
		i=$((i + 1))
	done
	i=0
	while [ $i -lt 12 ]; do
		dd if=/dev/urandom of=$m/tree/f$i bs=64k count=4 2>/dev/null
		echo "small $i" > $m/tree/sub/s$i
		i=$((i + 1))
	done
	dd if=/dev/urandom of=$m/onebyte bs=64k count=16 2>/dev/null
	dd if=/dev/urandom of=$m/keep/big bs=1M count=4 2>/dev/null
}

# flip_byte FILE OFFSET: FILE's byte at OFFSET becomes another value.
flip_byte() {
	local b
	b=$(dd if=$1 bs=1 skip=$2 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	printf "\\$(printf %o $(((b + 1) % 256)))" | dd of=$1 bs=1 seek=$2 conv=notrunc 2>/dev/null
}

# rewrite MNT TREE_COPY: identical data written again, one byte changed.
rewrite() {
	local m=$1 f i=0
	for f in $m/cp/f*; do
		cp $f /tmp/t && cp /tmp/t $f || die "cp over $f"
	done
	for f in $m/dd/f*; do
		dd if=$f of=$f bs=64k conv=notrunc 2>/dev/null || die "dd over $f"
	done
	while [ $i -lt 12 ]; do
		dd if=/dev/urandom of=$m/tree/f$i bs=64k count=1 seek=$((i % 4)) conv=notrunc 2>/dev/null
		i=$((i + 2))
	done
	sync
	# -c: the damage may land in the second the files were written in, and
	# rsync's size-and-mtime check would take them for unchanged.
	rsync -a -c --no-whole-file --inplace $2/ $m/tree/ || die "rsync"
	diff -r $2 $m/tree > /dev/null || die "rsync did not restore the tree"
	cp $m/onebyte /tmp/ob
	flip_byte /tmp/ob 1000
	dd if=/tmp/ob of=$m/onebyte bs=64k conv=notrunc 2>/dev/null
	rm -f /tmp/t /tmp/ob
}

# state O S: counters, pool usage, delta kinds and checksums, one a line.
state() {
	echo "excl $1 $(vol_counter p $1 exclusive_chunks)"
	echo "excl $2 $(vol_counter p $2 exclusive_chunks)"
	echo "used $(pool_used_data p)"
	delta_list p/$1 p/$2
	cat /tmp/kinds
	echo "md5 $1 $(md5dev /dev/mapper/p-$1)"
	echo "md5 $2 $(md5dev /dev/mapper/p-$2)"
}

used_is() { [ $(pool_used_data p) = $1 ]; }

# field FILE KEY...: the number after "KEY" in a state file.
field() { grep "^$2 " $1 | sed -n "s/^.* \([0-9]*\)$/\1/p" | head -1; }
kind() { sed -n "s/.*$2 \([0-9]*\).*/\1/p" $1; }

for fs in ext4 xfs; do
	o=$fs s=$fs-s m=/mnt/$fs
	log "$fs: origin with files, tree copy, snapshot"
	fs_volume p $o $fs 256M $m
	populate $m
	rm -rf /tmp/tree
	cp -a $m/tree /tmp/tree
	sync
	run_ok /tmp/o dmcowctl snapshot p/$o $s
	run_ok /tmp/o dmcowctl activate p/$s
	log "$fs: rewrite identical data (cp, dd conv=notrunc, rsync), one byte changed"
	rewrite $m /tmp/tree
	sync
	fsfreeze --freeze $m || die "freeze $m"
	onebyte=$(first_chunk $m/onebyte $CS)

	state $o $s > /tmp/before
	cat /tmp/before
	equal_chunks /dev/mapper/p-$o /dev/mapper/p-$s < /tmp/different > /tmp/equal
	want=$(wc -l < /tmp/equal)
	diff0=$(kind /tmp/before different)
	log "$fs: $diff0 chunks mapped to different data chunks, $want of them equal"
	# 4 files x 8 chunks rewritten in place with dd alone.
	[ $want -ge 32 ] || die "only $want equal chunks: the rewrites did not break sharing"
	! grep -qx $onebyte /tmp/equal || die "the chunk with the changed byte ($onebyte) compares equal"
	grep -qx $onebyte /tmp/different || die "the chunk with the changed byte ($onebyte) is not in the delta"

	log "$fs: --dry-run --json"
	run_ok /tmp/dry.json dmcowctl reshare p/$o p/$s --dry-run --json
	[ "$(jget /tmp/dry.json dry_run)" = true ] || die "dry_run is not true"
	[ "$(jget /tmp/dry.json shared_chunks)" = $want ] || die "--dry-run would share $(jget /tmp/dry.json shared_chunks) chunks, $want are equal"
	[ "$(jget /tmp/dry.json candidate_chunks)" = $diff0 ] || die "candidates differ from the delta ($diff0)"
	[ "$(jget /tmp/dry.json different_chunks)" = $((diff0 - want)) ] || die "--dry-run: different_chunks wrong"
	state $o $s > /tmp/after-dry
	cmp -s /tmp/before /tmp/after-dry || { diff /tmp/before /tmp/after-dry; die "--dry-run changed something"; }

	log "$fs: reshare --json"
	run_ok /tmp/real.json dmcowctl reshare p/$o p/$s --json
	[ "$(jget /tmp/real.json dry_run)" = false ] || die "dry_run is not false"
	[ "$(jget /tmp/real.json shared_chunks)" = $want ] || die "shared $(jget /tmp/real.json shared_chunks) chunks, $want are equal"
	[ "$(jget /tmp/real.json shared_bytes)" = $((want * CB)) ] || die "shared_bytes wrong"
	[ "$(jget /tmp/real.json shared_into_a)" = $want ] || die "the origin did not take the snapshot's chunks"
	[ "$(jget /tmp/real.json different_chunks)" = $((diff0 - want)) ] || die "different_chunks wrong"
	[ "$(jget /tmp/real.json busy_chunks)" = 0 ] || die "busy chunks in a frozen filesystem"
	[ "$(jget /tmp/real.json skipped_chunks)" = 0 ] || die "skipped chunks"
	state $o $s > /tmp/after
	cat /tmp/after
	for v in $o $s; do
		[ $(field /tmp/after "excl $v") = $(($(field /tmp/before "excl $v") - want)) ] ||
			die "exclusive chunks of $v: $(field /tmp/before "excl $v") before, $(field /tmp/after "excl $v") after, $want shared"
		[ "$(grep "^md5 $v " /tmp/after)" = "$(grep "^md5 $v " /tmp/before)" ] || die "the data of $v changed"
	done
	# The metadata snapshot reshare held references the freed chunks until
	# its release; the pool reclaims the released tree in the background.
	wait_until 60 "the pool to free $want chunks" used_is $(($(field /tmp/before used) - want))
	[ $(kind /tmp/after different) = $((diff0 - want)) ] || die "the delta did not shrink by $want"
	[ $(kind /tmp/after left_only) = $(kind /tmp/before left_only) ] &&
		[ $(kind /tmp/after right_only) = $(kind /tmp/before right_only) ] || die "one-sided chunks changed"
	grep -qx $onebyte /tmp/different || die "the chunk with the changed byte ($onebyte) was shared"
	run_ok /tmp/o dmcowctl check --live p

	log "$fs: a second run shares nothing (text report)"
	run_ok /tmp/again dmcowctl reshare p/$s p/$o
	grep -q "^shared: *0 chunks" /tmp/again || die "a second run shared chunks"
	grep -q "^compared: *$((diff0 - want)) chunks" /tmp/again || die "a second run compared other chunks"
	fsfreeze --unfreeze $m || die "unfreeze $m"
	run_ok /tmp/o dmcowctl deactivate p/$s
done

log "bad input"
run_fail "pool 'p' has no volume 'nosuch'" dmcowctl reshare p/ext4 p/nosuch
run_fail "not of one snapshot tree" dmcowctl reshare p/ext4 p/xfs --dry-run

log "offline check --strict-leaks"
umount /mnt/ext4 && umount /mnt/xfs || die "umount"
run_ok /tmp/o dmcowctl deactivate p/ext4
run_ok /tmp/o dmcowctl deactivate p/xfs
run_ok /tmp/o dmcowctl pool deactivate p
dmcowctl check --strict-leaks /dev/ram0 > /tmp/c 2>&1 || { cat /tmp/c; die "offline check --strict-leaks"; }
cat /tmp/c
