# Metadata fuzzing against the kernel.  A pool is populated in the guest
# (volumes written with cowpattern, a snapshot, 24 snapshots of it so the
# volumes btree has an internal node, a diverged snapshot, a held metadata
# snapshot, a deleted volume awaiting reclaim) and its metadata image saved.
# Then for each case cowfuzz (tests/tools/cowfuzz.c) corrupts one reachable
# block of one type (superblock, space map root/index/count blocks, data
# space map counts and index btree, mapping/volumes/dead btree leaves and
# internal nodes, held root) by bit flips, zeroing, a copy of another block
# of the same type, a stale version, a header field with a recomputed
# checksum, a truncated device, or a payload bit with a recomputed
# checksum, and:
#  - dmcowctl check must reject every strict case (damage that the format
#    detects: checksum, type, location, stamp, header, device size) with
#    exit 1 (2 for a truncated device: refused at open), and exit 0 or 1
#    on the others; any other status (a crash, a signal) fails;
#  - the kernel activates the pool on the image (loop device) or refuses
#    with a DMERR in the log; if it activates, every written block of
#    volumes 1, 2 and 10 reads back as the right pattern or fails with EIO
#    (and an error in the log), never wrong data on a strict case; one new
#    chunk, one shared chunk overwrite, a message and a commit either work
#    (and then read back) or fail with EIO / a mode change;
#  - wrong data fails in every case: a block that does not read back as
#    written must hold what the corrupted image itself maps it to, as
#    cowfuzz reads the image (its own walk of the format, not the core):
#    the data chunk some leaf entry of the volume names for that chunk,
#    or zeros when none does or a tree is out of key order (cowfuzz
#    verify --image).  Only a payload flip with a recomputed checksum
#    (how=field, strict=0) can do that (make a mapping name another
#    chunk, which no reader can tell from the block itself), and the
#    offline check must then reject the image (its reference counts
#    disagree): a case where the kernel read remapped data and dmcowctl
#    check passed fails.  An acknowledged write that reads back wrong is
#    judged the same way against the metadata the pool then commits (a
#    pool that failed after the write commits nothing: then only the
#    check must reject the image).  In a strict case any wrong data or
#    lost write fails; a crash of cowfuzz verify fails;
#  - no oops, WARNING or hang (the harness checks the console).
# Not covered: internal nodes of the dead and data-space-map index trees
# (they need > 84 dead entries / > 126 x 1016 data chunks in use; they are
# the same node code as the covered trees).
# FUZZ=N cases (default 60, about 2.5 s each; LONG=1: 1000), FUZZ_SEED=S to
# repeat a run, FUZZ_CLASS=C / FUZZ_HOW=H to fuzz one block class or one
# kind of damage only (cowfuzz corrupt --class / --how).
# timeout: 2400
# mem: 1024

N=${FUZZ:-60}
SEED=${FUZZ_SEED:-$(date +%s)}
only=""
[ -z "${FUZZ_CLASS:-}" ] || only="$only --class $FUZZ_CLASS"
[ -z "${FUZZ_HOW:-}" ] || only="$only --how $FUZZ_HOW"
log "metadata fuzz: $N cases, seed $SEED$only (FUZZ_SEED=$SEED FUZZ=$N to repeat)"
load_cowtree
brd_load 2 64

CH=8				# 4 KiB chunks: deep mapping trees
META_SECT=8192			# 4 MiB of metadata
DATA_SECT=$(mib_sectors 16)
SZ=$(mib_sectors 8)		# volume size
dmsetup create meta --table "0 $META_SECT linear /dev/ram0 0" || die "meta slice"
dmsetup create data --table "0 $DATA_SECT linear /dev/ram1 0" || die "data slice"
dd if=/dev/zero of=/dev/mapper/meta bs=4k count=1 2>/dev/null

# ---- populate ----
M=/tmp/maps
mkdir -p $M
rec() {	# rec VOL_DEV MAPFILE TAG GEN OFFSET LENGTH
	cowpattern write /dev/mapper/$1 --tag $3 --gen $4 --offset $5 --length $6 \
		--record $2 --fsync --quiet || die "write to $1 failed"
}
pool_create pool /dev/mapper/meta /dev/mapper/data $CH
vol_create pool 1 v1 $SZ
rec v1 $M/1 1 1 0 3M
snapshot pool 2 1 snap
cp $M/1 $M/2
rec v1 $M/1 1 2 1M 512K
# An older image: the source of stale blocks.
dmsetup suspend pool || die "suspend pool"
dd if=/dev/mapper/meta of=/tmp/meta-old.img bs=1M 2>/dev/null || die "save old image"
dmsetup resume pool || die "resume pool"
msg pool reserve_metadata_snap
rec v1 $M/1 1 3 2M 256K
args=""
for id in $(seq 10 33); do args="$args $id 2 s$id"; done
msg pool snapshot $args
cp $M/2 $M/10
vol_activate pool 10 v10 $SZ
rec v10 $M/10 1 4 512K 128K
vol_create pool 3 v3 $SZ
rec v3 $M/3 3 1 0 1M
vol_deactivate v3
vol_deactivate v10
vol_deactivate v1
# Delete volume 3 with the pool suspended: its reclamation stays pending in
# the image, and every activation below resumes it.
dmsetup suspend pool || die "suspend pool"
msg pool delete 3
# Deleted volumes are accounted (a deleting record) before their trees reach
# the dead list: releasing the held root puts a tree there at once; hold
# again so the image has both.
msg pool release_metadata_snap
msg pool reserve_metadata_snap
log "populated: $(dmsetup status pool)"
[ "$(pool_reclaiming pool)" -gt 0 ] || die "no reclamation pending: $(dmsetup status pool)"
pool_remove pool
dd if=/dev/mapper/meta of=/tmp/meta.img bs=1M 2>/dev/null || die "save image"
dd if=/dev/mapper/data of=/tmp/data.img bs=1M 2>/dev/null || die "save data"
dmsetup remove meta
dmsetup remove data
dmcowctl check /tmp/meta.img || die "the pristine image is not clean"
cowfuzz classify /tmp/meta.img | grep '^count' | tr '\n' ' '
echo
for c in sb msm-root msm-index msm-rc dsm-rc held map-leaf map-internal vol-leaf \
	 vol-internal dead-leaf dsm-leaf; do
	n=$(cowfuzz classify /tmp/meta.img | awk -v c=$c '$1 == "count" && $2 == c { print $3 }')
	[ "${n:-0}" -gt 0 ] || die "the image has no $c block: the fuzz would not cover it"
done

# ---- one case ----
# errors_logged: the kernel said why (DMERR / cow_err lines since the
# case started: the log is cleared then; a corrupt block read again and
# again can log thousands of lines, overwriting the case's marker).
errors_logged() {
	dmesg | grep -q 'device-mapper: .*\(cowtree\|table\)'
}
echo on > /proc/sys/kernel/printk_devkmsg	# no rate limit on the markers

# Each case activates a new pool, and the kernel rate-limits the error
# lines a bio can repeat per pool (dm-cowtree.rst): a case's errors are
# logged however many lines the cases before it logged.

# run_case DESC STRICT: the image is /tmp/case.img; sets $outcome.
run_case() {
	local desc=$1 strict=$2 mloop dloop id r wrong ioerr explained mode
	outcome=""
	cp /tmp/data.img /tmp/dcase.img
	cp /tmp/case.img /tmp/case-as-activated.img	# the pool rewrites case.img
	mloop=/dev/loop0 dloop=/dev/loop1
	losetup $mloop /tmp/case.img || die "losetup meta"
	losetup $dloop /tmp/dcase.img || die "losetup data"
	dmesg -c > /dev/null
	echo "COWFUZZ-MARK $desc" > /dev/kmsg
	if ! dmsetup create fzpool --table "0 $DATA_SECT cowtree-pool $mloop $dloop $CH 16" \
			2> /tmp/ctr.err; then
		errors_logged || { dmesg | tail -5; die "$desc: pool refused without a DMERR"; }
		dmsetup remove fzpool 2>/dev/null || true
		outcome=refused
		losetup -d $mloop; losetup -d $dloop
		return
	fi
	mode=$(pool_mode fzpool)
	outcome="act-$mode"
	for id in 1 2 10; do
		if ! dmsetup create fzv$id --table "0 $SZ cowtree /dev/mapper/fzpool $id" 2>/dev/null; then
			errors_logged || die "$desc: volume $id refused without a DMERR"
			dmsetup remove fzv$id 2>/dev/null || true
			outcome="$outcome vol$id-refused"
			continue
		fi
		r=0
		cowfuzz verify /dev/mapper/fzv$id $M/$id --image /tmp/case-as-activated.img \
			--data /tmp/data.img --volume $id > /tmp/ver.out || r=$?
		set -- $(tail -1 /tmp/ver.out)
		ioerr=$4 wrong=$6 explained=$8
		[ "$1" = ok ] && [ -n "$explained" ] && [ "$r" -le 1 ] ||
			{ cat /tmp/ver.out; die "$desc: cowfuzz verify failed (rc $r)"; }
		if [ "$r" = 1 ] || [ "$wrong" != "$explained" ]; then
			cat /tmp/ver.out
			die "$desc: volume $id returned wrong data for $((wrong - explained)) blocks (not what the image maps them to; $wrong blocks differ from what was written)"
		fi
		if [ "$wrong" != 0 ]; then
			if [ "$strict" = 1 ]; then
				cat /tmp/ver.out
				die "$desc: volume $id returned wrong data for $wrong blocks"
			fi
			outcome="$outcome vol$id-remapped"
			remapped_total=$((remapped_total + 1))
		fi
		if [ "$ioerr" != 0 ]; then
			errors_logged || die "$desc: volume $id: $ioerr read errors without a DMERR"
			outcome="$outcome vol$id-eio"
		fi
	done
	# Writes: a fresh chunk and a shared one (snapshot, held root), a
	# message, a commit.  Either they work and read back, or they fail.
	if [ -b /dev/mapper/fzv1 ]; then
		: > /tmp/wmap
		if cowpattern write /dev/mapper/fzv1 --tag 1 --gen 9 --offset 4M --length 8K \
			--record /tmp/wmap --fsync --quiet > /dev/null 2>&1 &&
		   cowpattern write /dev/mapper/fzv1 --tag 1 --gen 9 --offset 0 --length 4K \
			--record /tmp/wmap --fsync --quiet > /dev/null 2>&1; then
			r=0
			cowfuzz verify /dev/mapper/fzv1 /tmp/wmap --save /tmp/wread.img \
				> /tmp/ver.out || r=$?
			set -- $(tail -1 /tmp/ver.out)
			[ "$1" = ok ] && [ "$r" -le 1 ] ||
				{ cat /tmp/ver.out; die "$desc: cowfuzz verify failed (rc $r)"; }
			if [ "$r" != 0 ] || [ "$4" != 0 ]; then
				cat /tmp/ver.out
				[ "$strict" = 1 ] && die "$desc: an acknowledged write does not read back"
			fi
			if [ "$4" != 0 ]; then
				errors_logged || die "$desc: an acknowledged write: $4 read errors without a DMERR"
				outcome="$outcome readback-eio"
			fi
			# Judged after the commit below, against what it committed.
			[ "$r" = 0 ] || outcome="$outcome write-lost"
		else
			errors_logged || die "$desc: a write failed without a DMERR"
			outcome="$outcome write-eio"
		fi
	fi
	dmsetup message fzpool 0 release_metadata_snap 2>/dev/null || outcome="$outcome release-refused"
	for id in 1 2 10; do
		if [ -b /dev/mapper/fzv$id ]; then
			dmsetup remove fzv$id || die "$desc: remove fzv$id"
		fi
	done
	dmsetup suspend fzpool || die "$desc: suspend (commit) failed"
	mode=$(pool_mode fzpool)
	outcome="$outcome end-$mode"
	# A write read back wrong must have read what the committed metadata
	# maps (cowfuzz's reading), as volume reads must.  A pool that failed
	# after the write committed nothing since: then only the rule below
	# (dmcowctl check rejects the image) applies.
	case "$outcome $mode" in
	*" write-lost "*" rw"|*" write-lost "*" out_of_data_space")
		r=0
		cowfuzz verify /tmp/wread.img /tmp/wmap --image /tmp/case.img \
			--data /tmp/dcase.img --volume 1 > /tmp/ver.out || r=$?
		set -- $(tail -1 /tmp/ver.out)
		[ "$1" = ok ] && [ "$r" -le 1 ] ||
			{ cat /tmp/ver.out; die "$desc: cowfuzz verify failed (rc $r)"; }
		[ "$r" = 0 ] || { cat /tmp/ver.out;
			die "$desc: an acknowledged write read back as data the committed metadata does not map"; }
		;;
	esac
	case $mode in
	rw|out_of_data_space) ;;
	*) errors_logged || die "$desc: pool ended in $mode mode without a DMERR" ;;
	esac
	dmsetup remove fzpool || die "$desc: remove pool failed"
	losetup -d $mloop; losetup -d $dloop
}

# The pristine image: everything verifies, nothing fails.
remapped_total=0
cp /tmp/meta.img /tmp/case.img
run_case "pristine" 1
case "$outcome" in
"act-rw end-rw") ;;
*) die "the pristine image: $outcome" ;;
esac
log "pristine image: $outcome"

# ---- the cases ----
# fuzz_case SEED CASE [COWFUZZ OPTIONS]: one corrupted image, checked
# offline and activated.
fuzz_case() {
	local seed=$1 n=$2 line how class strict crc
	shift 2
	line=$(cowfuzz corrupt /tmp/meta.img /tmp/case.img --case $n --seed $seed \
		--old /tmp/meta-old.img "$@") || die "cowfuzz corrupt case $n (seed $seed $*) failed"
	set -- $line
	how=${3#how=} class=${4#class=} strict=${6#strict=}
	crc=0
	dmcowctl check /tmp/case.img > /tmp/chk.out 2>&1 || crc=$?
	case $crc in
	0|1) ;;
	2) [ $how = trunc ] || { cat /tmp/chk.out; die "dmcowctl check could not check (exit 2): $line"; } ;;
	*) cat /tmp/chk.out; die "dmcowctl check crashed (exit $crc): $line" ;;
	esac
	if [ $strict = 1 ]; then
		strict_n=$((strict_n + 1))
		if [ $crc = 0 ]; then
			cat /tmp/chk.out
			die "dmcowctl check missed strict corruption: $line"
		fi
	fi
	run_case "$line check=$crc" $strict
	case " $outcome " in
	*-remapped\ *|*write-lost*)
		[ $crc != 0 ] || die "the kernel read remapped data and dmcowctl check passed the image: $line ($outcome)"
		;;
	esac
	echo "$how $class check=$crc $outcome" >> /tmp/summary
}

i=0 strict_n=0 t0=$(uptime_cs)
: > /tmp/summary
while [ $i -lt $N ]; do
	fuzz_case $SEED $i $only
	i=$((i + 1))
done
# Cases that once failed ("SEED CASE CLASS HOW"), run every time: the pool
# above is populated the same way in every run, so they corrupt the same
# byte.  4242 2: volume 10's mapping named a data chunk beyond the data
# device, and the kernel failed the read with no error of its own.
for r in "4242 2 map-leaf field"; do
	set -- $r
	fuzz_case $1 $2 --class $3 --how $4
	i=$((i + 1))
done
t1=$(uptime_cs)
log "per kind and class: check exit status and kernel outcome (count)"
awk '{ k = $1 " " $2; n[k]++; if ($3 != "check=0") d[k]++; o[k] = o[k] " " $4 }
	END { for (k in n) printf "  %-22s %3d cases, check rejects %3d\n", k, n[k], d[k] }' \
	/tmp/summary | sort
log "kernel outcomes:"
cut -d' ' -f4- /tmp/summary | sed 's/ vol[0-9]*-eio/ eio/g' | sort | uniq -c | sort -rn
log "non-strict cases (how=field): check exit status and kernel outcome"
grep '^field ' /tmp/summary | sort | uniq -c
log "metadata fuzz ok: $i cases ($strict_n strict, all rejected by dmcowctl check), $remapped_total non-strict volume reads of remapped data (each what the image maps, on an image dmcowctl check rejects), no unexplained data, $(((t1 - t0) / 100)) s, seed $SEED"
