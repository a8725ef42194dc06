# Benchmark guest script: every target in ONE boot, on the same brd devices.
# Prints "BENCH-JSON <target> <workload> <extra>" followed by fio's JSON
# (one line), and "BENCH-VALUE <target> <metric> <value>" for non-fio
# figures.  tests/bench/report.py turns the console log into the results.
# timeout: 3000
# mem: 3072

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	VOL_MIB=16 RUNTIME=1 SNAP_COUNTS="1 3" LAT_REPS=3 DEL_MIB=8
	# one run of each kind: the smoke test covers every path, measures nothing
	QDS=16 CM_QDS=16 CM_MODES="kcopyd rmw" ACCT_ORDER="Y N"
else
	VOL_MIB=${BENCH_VOL_MIB:-256} RUNTIME=${BENCH_RUNTIME:-5}
	SNAP_COUNTS="1 4 10 100" LAT_REPS=20 DEL_MIB=256
	QDS="1 16" CM_QDS="1 16"	# queue depths: standard set, copy modes
	CM_MODES="kcopyd rmw rmw kcopyd kcopyd rmw rmw kcopyd"
	ACCT_ORDER="Y N N Y Y N N Y"
fi
DATA_MIB=$((VOL_MIB * 3 + 64))
[ $DATA_MIB -lt $((DEL_MIB * 2 + 64)) ] && DATA_MIB=$((DEL_MIB * 2 + 64))
VOL_SECT=$((VOL_MIB * 2048))
dmesg -n 1

brd_load 3 $DATA_MIB
DATA=/dev/ram0 META=/dev/ram1 COWSTORE=/dev/ram2
DATA_SECT=$(blockdev --getsz $DATA)
load_cowtree
log "bench: kernel $(uname -r), volume ${VOL_MIB} MiB, runtime ${RUNTIME}s, quick=$QUICK"
echo "BENCH-VALUE env kernel $(uname -r)"
echo "BENCH-VALUE env volume_mib $VOL_MIB"

# fio_run TARGET WORKLOAD DEV ARGS...: one fio job, JSON on one line.
fio_run() {
	t=$1 w=$2 dev=$3
	shift 3
	fio --name="$w" --filename="$dev" --ioengine=libaio --direct=1 \
		--output-format=json "$@" > /tmp/fio.json 2>/tmp/fio.err ||
		{ cat /tmp/fio.err; die "fio $t $w failed"; }
	echo "BENCH-JSON $t $w $(tr -d '\n' < /tmp/fio.json)"
}

timed() { fio_args="--time_based --runtime=$RUNTIME --size=${VOL_MIB}M"; }
timed

# The standard set on a provisioned device (written once first).
standard_workloads() {
	t=$1 dev=$2
	fio_run "$t" prep "$dev" --rw=write --bs=1M --iodepth=16 --size=${VOL_MIB}M
	for qd in $QDS; do
		fio_run "$t" randwrite-4k-qd$qd "$dev" --rw=randwrite --bs=4k --iodepth=$qd $fio_args
		fio_run "$t" randread-4k-qd$qd "$dev" --rw=randread --bs=4k --iodepth=$qd $fio_args
		fio_run "$t" seqwrite-1M-qd$qd "$dev" --rw=write --bs=1M --iodepth=$qd $fio_args
		fio_run "$t" seqread-1M-qd$qd "$dev" --rw=read --bs=1M --iodepth=$qd $fio_args
	done
}

# One 4 KiB write at the start of every chunk: each write breaks sharing.
first_write() { # TARGET WORKLOAD DEV CHUNK_KIB
	if [ "$4" -gt 4 ]; then
		fio_run "$1" "$2" "$3" --rw=write:$(($4 - 4))k --bs=4k --iodepth=16 --size=${VOL_MIB}M
	else
		fio_run "$1" "$2" "$3" --rw=write --bs=4k --iodepth=16 --size=${VOL_MIB}M
	fi
}

wipe() { dd if=/dev/zero of=$1 bs=4096 count=1 conv=fsync 2>/dev/null; }

#---------------------------------------------------------------- targets

thin_up() { # BLOCK_SECTORS
	wipe $META
	dmsetup create bpool --table "0 $DATA_SECT thin-pool $META $DATA $1 0" || die "thin-pool"
	dmsetup message bpool 0 "create_thin 0"
	dmsetup create bvol --table "0 $VOL_SECT thin /dev/mapper/bpool 0" || die "thin"
	NSNAP=0
}
thin_snap() {
	NSNAP=$((NSNAP + 1))
	dmsetup suspend bvol && dmsetup message bpool 0 "create_snap $NSNAP 0" && dmsetup resume bvol
}
thin_down() { dmsetup remove bvol; dmsetup remove bpool; }

cow_up() { # CHUNK_SECTORS
	wipe $META
	dmsetup create bpool --table "0 $DATA_SECT cowtree-pool $META $DATA $1 0" || die "cowtree-pool"
	dmsetup message bpool 0 "create 0 bench"
	dmsetup create bvol --table "0 $VOL_SECT cowtree /dev/mapper/bpool 0" || die "cowtree"
	NSNAP=0
}
cow_snap() {
	NSNAP=$((NSNAP + 1))
	dmsetup suspend bvol && dmsetup message bpool 0 "snapshot $NSNAP 0 s$NSNAP" && dmsetup resume bvol
}
cow_down() { dmsetup remove bvol; dmsetup remove bpool; }

linear_up() { dmsetup create bvol --table "0 $VOL_SECT linear $DATA 0"; }
linear_down() { dmsetup remove bvol; }

# dm-snapshot: origin on DATA, each snapshot's exception store a slice of COWSTORE.
snap_up() { NSNAP=0; SNAP_CHUNK=$1; dmsetup create bvol --table "0 $VOL_SECT snapshot-origin $DATA"; }
snap_snap() {
	slice=$(( $(blockdev --getsz $COWSTORE) / 4 ))
	dmsetup suspend bvol
	dmsetup create bcow$NSNAP --table "0 $slice linear $COWSTORE $((NSNAP * slice))"
	dmsetup create bsnap$NSNAP --table "0 $VOL_SECT snapshot $DATA /dev/mapper/bcow$NSNAP P $SNAP_CHUNK"
	dmsetup resume bvol
	NSNAP=$((NSNAP + 1))
}
snap_down() {
	dmsetup remove bvol
	i=0
	while [ $i -lt $NSNAP ]; do
		dmsetup remove bsnap$i; dmsetup remove bcow$i; wipe $COWSTORE
		i=$((i + 1))
	done
}

#---------------------------------------------------------------- copy strategy

# copy_mode (kcopyd or read-merge-write) for the first 4 KiB write to a
# chunk after a snapshot of a full volume, in random chunk order, one write
# per chunk (so each copies the rest of its chunk; with 4 KiB chunks
# nothing is copied: the two modes run the same code, which shows the
# noise).  Both modes in the same boot, interleaved ABBA twice per case so
# that drift cancels.
CM_PARAM=/sys/module/dm_cowtree/parameters/copy_mode

# cm_iolog FILE DEV VOL_MIB CHUNK_KIB: a fio iolog writing 4 KiB at the
# start of every chunk in a random order.
cm_iolog() {
	{
		echo "fio version 2 iolog"
		echo "$2 add"
		echo "$2 open"
		awk -v n=$(($3 * 1024 / $4)) -v c=$(($4 * 1024)) -v seed=$4 'BEGIN {
			srand(seed)
			for (i = 0; i < n; i++) a[i] = i
			for (i = n - 1; i > 0; i--) {
				j = int(rand() * (i + 1)); t = a[i]; a[i] = a[j]; a[j] = t
			}
			for (i = 0; i < n; i++) print "'"$2"' write", a[i] * c, 4096
		}'
		echo "$2 close"
	} > $1
}

copy_mode_bench() {
	for cs in 8 128 2048; do
		kib=$((cs / 2))
		case $cs in
		8) mib=32 ;;
		128) mib=128 ;;
		*) mib=256 ;;
		esac
		[ "$QUICK" = 1 ] && mib=16
		cm_iolog /tmp/cm.iolog /dev/mapper/bvol $mib $kib
		for kind in snap; do
			for qd in $CM_QDS; do
				rep=0
				for mode in $CM_MODES; do
					rep=$((rep + 1))
					echo $mode > $CM_PARAM || die "copy_mode=$mode"
					cow_up $cs
					fio --name=prep --filename=/dev/mapper/bvol --ioengine=libaio \
						--direct=1 --rw=write --bs=1M --iodepth=16 \
						--size=${mib}M > /dev/null || die "prep"
					cow_snap > /dev/null || die "snapshot"
					fio --name=cm --read_iolog=/tmp/cm.iolog --replay_no_stall=1 \
						--ioengine=libaio --direct=1 --iodepth=$qd \
						--output-format=json > /tmp/fio.json 2>/tmp/fio.err ||
						{ cat /tmp/fio.err; die "fio copy $mode $kind"; }
					echo "BENCH-JSON cow${kib}k-$mode copy-$kind-qd$qd.$rep $(tr -d '\n' < /tmp/fio.json)"
					cow_down
				done
			done
		done
	done
	echo auto > $CM_PARAM
}

#---------------------------------------------------------------- accounting cost

# exclusive_accounting=Y vs N, same boot, interleaved YNNYYNNY so drift
# cancels: provisioned 4k random writes (overwrites of exclusive chunks never reach
# the metadata core: the two should match) and the first 4 KiB write per
# 64 KiB chunk after one snapshot (every write breaks sharing: the holder
# scan runs each time).
ACCT_PARAM=/sys/module/dm_cowtree/parameters/exclusive_accounting
acct_bench() {
	rep=0
	for acct in $ACCT_ORDER; do
		rep=$((rep + 1))
		echo $acct > $ACCT_PARAM || die "exclusive_accounting=$acct"
		cow_up 128
		fio_run cow64k-acct$acct prep /dev/mapper/bvol --rw=write --bs=1M \
			--iodepth=16 --size=${VOL_MIB}M
		fio_run cow64k-acct$acct acct-randwrite-4k-qd16.$rep /dev/mapper/bvol \
			--rw=randwrite --bs=4k --iodepth=16 $fio_args
		cow_snap > /dev/null || die "snapshot"
		first_write cow64k-acct$acct acct-firstwrite-snap1.$rep /dev/mapper/bvol 64
		cow_down
	done
	echo Y > $ACCT_PARAM
}

#---------------------------------------------------------------- cowtree vs dm-thin

# The headline first-write ratio once more: dm-thin and cowtree at 64 KiB
# interleaved (thin cow cow thin ...) in the same boot so that drift cancels
# (single TCG runs vary by 30 %).  ab_first_write "KIND...".
ab_first_write() {
	rep=0
	for kind in $1; do
		rep=$((rep + 1))
		log "bench: ${kind}64k first write after 1 snapshot (interleaved run $rep)"
		${kind}_up 128
		fio_run ${kind}64k prep /dev/mapper/bvol --rw=write --bs=1M --iodepth=16 --size=${VOL_MIB}M
		${kind}_snap > /dev/null || die "snapshot"
		first_write ${kind}64k ab-firstwrite-snap1.$rep /dev/mapper/bvol 64
		${kind}_down
	done
}
AB_KINDS="thin cow cow thin thin cow cow thin"
[ "$QUICK" = 1 ] && AB_KINDS="thin cow"

if [ "${BENCH_ONLY:-}" = versus-thin ]; then
	ab_first_write "$AB_KINDS"
	log "bench: done"
	exit 0
fi
if [ "${BENCH_ONLY:-}" = accounting ]; then
	log "bench: exclusive accounting cost only"
	acct_bench
	log "bench: done"
	exit 0
fi
if [ "${BENCH_ONLY:-}" = copy-mode ]; then
	log "bench: copy strategy only"
	copy_mode_bench
	log "bench: done"
	exit 0
fi

#---------------------------------------------------------------- standard set

log "bench: raw device"
standard_workloads raw $DATA
log "bench: dm-linear"
linear_up; standard_workloads linear /dev/mapper/bvol; linear_down
for bs in 128 2048; do
	log "bench: dm-thin ${bs} sectors"
	thin_up $bs; standard_workloads thin$((bs / 2))k /dev/mapper/bvol; thin_down
done
for cs in 8 128 2048; do
	log "bench: cowtree ${cs} sectors"
	cow_up $cs; standard_workloads cow$((cs / 2))k /dev/mapper/bvol
	st=$(dmsetup status bpool | cut -d' ' -f5)
	vs=$(dmsetup status bvol | cut -d' ' -f4)
	echo "BENCH-VALUE cow$((cs / 2))k meta_used_blocks ${st%/*}"
	echo "BENCH-VALUE cow$((cs / 2))k mapped_chunks $vs"
	cow_down
done
thin_up 128
fio_run thin64k prep /dev/mapper/bvol --rw=write --bs=1M --iodepth=16 --size=${VOL_MIB}M
st=$(dmsetup status bpool)
echo "BENCH-VALUE thin64k meta_used_blocks $(echo $st | cut -d' ' -f5 | cut -d/ -f1)"
echo "BENCH-VALUE thin64k mapped_chunks $(echo $st | cut -d' ' -f6 | cut -d/ -f1)"
thin_down

#---------------------------------------------------------------- first write after N snapshots

for n in $SNAP_COUNTS; do
	for spec in thin:128 cow:8 cow:128 cow:2048; do
		kind=${spec%:*} cs=${spec#*:}
		# chunk-size sweep only for one snapshot; the scaling test at 64 KiB
		[ $n != 1 ] && [ $cs != 128 ] && continue
		t=$kind$((cs / 2))k
		log "bench: $t first write after $n snapshots"
		${kind}_up $cs
		fio_run $t prep /dev/mapper/bvol --rw=write --bs=1M --iodepth=16 --size=${VOL_MIB}M
		i=0
		while [ $i -lt $n ]; do ${kind}_snap >/dev/null || die "snapshot $i"; i=$((i + 1)); done
		first_write $t firstwrite-snap$n /dev/mapper/bvol $((cs / 2))
		${kind}_down
	done
done
# dm-snapshot: each snapshot has its own exception store, a quarter of
# COWSTORE, which must hold a copy of every chunk written: a store that
# overflows invalidates its snapshot, which then costs nothing.  So the
# origin region written is at most 7/8 of a store (IOPS do not depend on
# it), and every snapshot must still be valid afterwards (the sectors each
# store holds are reported: every snapshot got its copies).
SNAP_MIB=$((DATA_MIB / 4 * 7 / 8))
[ $SNAP_MIB -gt $VOL_MIB ] && SNAP_MIB=$VOL_MIB
echo "BENCH-VALUE env dm_snapshot_volume_mib $SNAP_MIB"
snap_check_valid() {
	i=0
	while [ $i -lt $NSNAP ]; do
		st=$(dmsetup status bsnap$i | cut -d' ' -f4-)
		case $st in
		*/*) echo "BENCH-VALUE $t-$NSNAP store_used_sectors ${st%%/*}" ;;
		*) die "dm-snapshot $i is no longer valid: $st" ;;
		esac
		i=$((i + 1))
	done
}
vol_mib_saved=$VOL_MIB
VOL_MIB=$SNAP_MIB VOL_SECT=$((SNAP_MIB * 2048))
for n in 1 4; do
	[ "$QUICK" = 1 ] && [ $n = 4 ] && continue
	for cs in 8 128; do
		t=snap$((cs / 2))k
		log "bench: $t first write after $n snapshots (${VOL_MIB} MiB)"
		snap_up $cs
		fio_run $t prep /dev/mapper/bvol --rw=write --bs=1M --iodepth=16 --size=${VOL_MIB}M
		i=0
		while [ $i -lt $n ]; do snap_snap; i=$((i + 1)); done
		first_write $t firstwrite-snap$n /dev/mapper/bvol $((cs / 2))
		snap_check_valid
		snap_down
	done
done
VOL_MIB=$vol_mib_saved VOL_SECT=$((vol_mib_saved * 2048))
ab_first_write "$AB_KINDS"
log "bench: copy strategy (copy_mode kcopyd vs rmw)"
copy_mode_bench
# dm-linear doing the same writes, for the ratio.
linear_up
for cs in 8 128 2048; do
	first_write linear firstwrite-pattern$((cs / 2))k /dev/mapper/bvol $((cs / 2))
done
linear_down

#---------------------------------------------------------------- snapshot create latency

for kind in thin cow; do
	${kind}_up 128
	fio_run ${kind}64k prep /dev/mapper/bvol --rw=write --bs=1M --iodepth=16 --size=${VOL_MIB}M
	i=0
	while [ $i -lt $LAT_REPS ]; do
		us=$(cowtime sh -c "dmsetup suspend bvol && dmsetup message bpool 0 '$( [ $kind = thin ] && echo "create_snap $((i + 1)) 0" || echo "snapshot $((i + 1)) 0 s$i")' && dmsetup resume bvol")
		echo "BENCH-VALUE ${kind}64k snapshot_create_us $us"
		i=$((i + 1))
	done
	${kind}_down
done

log "bench: exclusive accounting on/off"
acct_bench

#---------------------------------------------------------------- delete latency

DEL_SECT=$((DEL_MIB * 2048))
for kind in thin cow; do
	${kind}_up 128
	dmsetup remove bvol
	dmsetup create bvol --table "0 $DEL_SECT $( [ $kind = thin ] && echo thin || echo cowtree) /dev/mapper/bpool 0"
	fio_run ${kind}64k prep /dev/mapper/bvol --rw=write --bs=1M --iodepth=16 --size=${DEL_MIB}M
	${kind}_snap
	dmsetup create bsnap --table "0 $DEL_SECT $( [ $kind = thin ] && echo thin || echo cowtree) /dev/mapper/bpool 1"
	fio_run ${kind}64k prep-snap /dev/mapper/bsnap --rw=write --bs=1M --iodepth=16 --size=${DEL_MIB}M
	dmsetup remove bsnap
	used_before=$(dmsetup status bpool | cut -d' ' -f6 | cut -d/ -f1)
	# The message ioctl alone (cowmsg); dmsetup's start-up is not the target's.
	us=$(cowmsg bpool delete 1) || die "$kind delete message failed"
	if [ $kind = thin ]; then
		back=$us
	else
		back=$(cowtime sh -c 'while [ "$(dmsetup status bpool | cut -d" " -f12)" != 0 ]; do usleep 20000; done')
		back=$((back + us))
	fi
	used_after=$(dmsetup status bpool | cut -d' ' -f6 | cut -d/ -f1)
	echo "BENCH-VALUE ${kind}64k delete_message_us $us"
	echo "BENCH-VALUE ${kind}64k delete_space_back_us $back"
	echo "BENCH-VALUE ${kind}64k delete_freed_chunks $((used_before - used_after))"
	${kind}_down
done
log "bench: done"
