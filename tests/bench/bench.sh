# Benchmark guest script: every target in ONE boot, on the same brd devices.
# Prints "BENCH-JSON <target> <workload>" followed by fio's JSON (one
# line; workload "*": several jobs, each named by its workload), "BENCH-VALUE <target> <metric> <value>" for non-fio figures
# and "BENCH-PROFILE <target> <workload> <sort> <percent> <name>" for the
# perf profile.  tests/bench/report.py turns the console log into results.
#
# BENCH_CLOCK=icount (default; run.sh boots QEMU with -icount shift=0,
# sleep=off -smp 1): guest time is a function of executed instructions, so
# a job gives the same IOPS in every run and boot, to fio's resolution (a
# whole millisecond of runtime; report.py runs_agree).  What
# it measures is CPU work per I/O (about 1 ns per instruction), not device
# latency.  Jobs are sized by I/O count (--io_size, fixed --randseed), and
# each comparison runs once.  BENCH_CLOCK=realtime: plain TCG, jobs run for
# BENCH_RUNTIME seconds, comparisons interleaved (A B B A ...) so that
# drift cancels.
# timeout: 3000
# mem: 4096

QUICK=${QUICK:-0}
CLOCK=${BENCH_CLOCK:-icount}
if [ "$QUICK" = 1 ]; then
	VOL_MIB=16 RUNTIME=1 SNAP_COUNTS="1 3" LAT_REPS=3 DEL_MIB=8
	RAND_MIB=8 SEQ_MIB=32 PROF_RAND_MIB=4 PROF_SEQ_MIB=16
	# one run of each kind: the smoke test covers every path, measures nothing
	QDS=16 CM_QDS=16 CM_MODES="kcopyd rmw" ACCT_ORDER="Y N"
	PROFILE_TARGETS="cow64k" PROFILE_WORKLOADS="randwrite-4k-qd16"
else
	VOL_MIB=${BENCH_VOL_MIB:-256} RUNTIME=${BENCH_RUNTIME:-5}
	SNAP_COUNTS="1 4 6 100" LAT_REPS=20 DEL_MIB=256
	# 16384 random 4 KiB I/Os, 512 (or 1024) 1 MiB ones
	RAND_MIB=64 SEQ_MIB=$((VOL_MIB * 2)) PROF_RAND_MIB=32 PROF_SEQ_MIB=$VOL_MIB
	QDS="1 16" CM_QDS="1 16"	# queue depths: standard set, copy modes
	CM_MODES="kcopyd rmw rmw kcopyd kcopyd rmw rmw kcopyd"
	ACCT_ORDER="Y N N Y Y N N Y"
	PROFILE_TARGETS="linear thin64k cow64k"
	PROFILE_WORKLOADS="randwrite-4k-qd16 randread-4k-qd16 seqwrite-1M-qd16 seqread-1M-qd16 firstwrite-snap1"
fi
RESHARE_MIB=${BENCH_RESHARE_MIB:-$VOL_MIB}
ACT_SNAPS=200
[ "$QUICK" = 1 ] && ACT_SNAPS=3
AB_KINDS="thin cow cow thin thin cow cow thin"
[ "$QUICK" = 1 ] && AB_KINDS="thin cow"
if [ "$CLOCK" = icount ]; then
	# Repeats are identical: one run of each variant is the measurement.
	CM_MODES="kcopyd rmw" ACCT_ORDER="Y N" AB_KINDS="thin cow"
fi
DATA_MIB=$((VOL_MIB * 3 + 64))
[ $DATA_MIB -lt $((DEL_MIB * 2 + 64)) ] && DATA_MIB=$((DEL_MIB * 2 + 64))
[ $DATA_MIB -lt $((RESHARE_MIB * 6 / 5 + 64)) ] && DATA_MIB=$((RESHARE_MIB * 6 / 5 + 64))
VOL_SECT=$((VOL_MIB * 2048))
# Console output costs guest instructions: keep the kernel quiet, and look
# for kernel reports in dmesg at the end instead (finish).
dmesg -n 1

# finish: fail on any kernel report the quiet console did not show, then end.
KERNEL_REPORT='BUG:|Oops|WARNING:|KASAN|UBSAN|Kernel panic|general protection|possible (recursive|circular) locking|inconsistent lock state|INFO: task .* blocked|Call Trace:'
finish() {
	if dmesg | grep -E "$KERNEL_REPORT" > /tmp/kernel-report; then
		cat /tmp/kernel-report
		die "kernel report in dmesg (hidden from the console by dmesg -n 1)"
	fi
	log "bench: done"
	exit 0
}

brd_load 3 $DATA_MIB
DATA=/dev/ram0 META=/dev/ram1 COWSTORE=/dev/ram2
DATA_SECT=$(blockdev --getsz $DATA)
load_cowtree
log "bench: kernel $(uname -r), clock $CLOCK, volume ${VOL_MIB} MiB, quick=$QUICK"
echo "BENCH-VALUE env kernel $(uname -r)"
echo "BENCH-VALUE env clock $CLOCK"
echo "BENCH-VALUE env volume_mib $VOL_MIB"
if [ "$CLOCK" = icount ]; then
	echo "BENCH-VALUE env random_io_mib $RAND_MIB"
	echo "BENCH-VALUE env sequential_io_mib $SEQ_MIB"
else
	echo "BENCH-VALUE env runtime_s $RUNTIME"
fi

# fio_run TARGET WORKLOAD DEV ARGS...: one fio job, JSON on one line.
fio_run() {
	t=$1 w=$2 dev=$3
	shift 3
	fio --name="$w" --filename="$dev" --ioengine=libaio --direct=1 \
		--output-format=json "$@" > /tmp/fio.json 2>/tmp/fio.err ||
		{ cat /tmp/fio.err; die "fio $t $w failed"; }
	echo "BENCH-JSON $t $w $(tr -d '\n' < /tmp/fio.json)"
}

# fio_jobs TARGET DEV WORKLOAD...: standard workloads one after the other
# in ONE fio process (starting fio, with its 60 libraries, costs more
# guest instructions than a job); report.py takes each job's name.
fio_jobs() {
	t=$1 dev=$2
	shift 2
	jobs=""
	for w in "$@"; do
		jobs="$jobs --name=$w $(workload_args $w) --stonewall"
	done
	fio --filename="$dev" --ioengine=libaio --direct=1 --output-format=json \
		$jobs > /tmp/fio.json 2>/tmp/fio.err ||
		{ cat /tmp/fio.err; die "fio $t $* failed"; }
	echo "BENCH-JSON $t * $(tr -d '\n' < /tmp/fio.json)"
}

# prep DEV MIB: write the first MIB of DEV once (provisions every chunk).
# The flush at the end (conv=fsync) commits the provisioning now: left to
# the pool's periodic commit (1 s), it may land inside the measured job.
prep() {
	dd if=/dev/zero of=$1 bs=1M count=$2 oflag=direct conv=fsync 2>/tmp/dd.err ||
		{ cat /tmp/dd.err; die "prep $1"; }
}

# Load of a standard job: a number of I/Os (icount), or a time (realtime).
rand_load() {
	if [ "$CLOCK" = icount ]; then
		echo "--size=${VOL_MIB}M --io_size=${1:-$RAND_MIB}M --randseed=1"
	else
		echo "--time_based --runtime=$RUNTIME --size=${VOL_MIB}M"
	fi
}
seq_load() {
	if [ "$CLOCK" = icount ]; then
		echo "--size=${VOL_MIB}M --io_size=${1:-$SEQ_MIB}M"
	else
		echo "--time_based --runtime=$RUNTIME --size=${VOL_MIB}M"
	fi
}

# fio arguments of standard workload NAME (for measuring and profiling).
workload_args() { # NAME [IO_MIB]
	case $1 in
	randwrite-4k-qd*) echo "--rw=randwrite --bs=4k --iodepth=${1##*qd} $(rand_load $2)" ;;
	randread-4k-qd*) echo "--rw=randread --bs=4k --iodepth=${1##*qd} $(rand_load $2)" ;;
	send-seq*) workload_args ${1#send-} $2 ;;
	seqwrite-1M-qd*) echo "--rw=write --bs=1M --iodepth=${1##*qd} $(seq_load $2)" ;;
	seqread-1M-qd*) echo "--rw=read --bs=1M --iodepth=${1##*qd} $(seq_load $2)" ;;
	*) die "unknown workload $1" ;;
	esac
}

# The standard set on a provisioned device (written once first).
standard_workloads() {
	t=$1 dev=$2
	prep "$dev" $VOL_MIB
	ws=""
	for qd in $QDS; do
		for w in randwrite-4k randread-4k seqwrite-1M seqread-1M; do
			ws="$ws $w-qd$qd"
		done
	done
	fio_jobs "$t" "$dev" $ws
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
					prep /dev/mapper/bvol $mib
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
		prep /dev/mapper/bvol $VOL_MIB
		fio_run cow64k-acct$acct acct-randwrite-4k-qd16.$rep /dev/mapper/bvol \
			$(workload_args randwrite-4k-qd16)
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
		prep /dev/mapper/bvol $VOL_MIB
		${kind}_snap > /dev/null || die "snapshot"
		first_write ${kind}64k ab-firstwrite-snap1.$rep /dev/mapper/bvol 64
		${kind}_down
	done
}
#---------------------------------------------------------------- standard set

standard_set() { # CHUNK_SECTORS... (cowtree chunk sizes; dm-thin: 64 and 1024 KiB)
	log "bench: raw device"
	standard_workloads raw $DATA
	log "bench: dm-linear"
	linear_up; standard_workloads linear /dev/mapper/bvol; linear_down
	for bs in $THIN_BS; do
		log "bench: dm-thin ${bs} sectors"
		thin_up $bs; standard_workloads thin$((bs / 2))k /dev/mapper/bvol; thin_down
	done
	for cs in "$@"; do
		log "bench: cowtree ${cs} sectors"
		cow_up $cs; standard_workloads cow$((cs / 2))k /dev/mapper/bvol
		st=$(dmsetup status bpool | cut -d' ' -f5)
		vs=$(dmsetup status bvol | cut -d' ' -f4)
		echo "BENCH-VALUE cow$((cs / 2))k meta_used_blocks ${st%/*}"
		echo "BENCH-VALUE cow$((cs / 2))k mapped_chunks $vs"
		cow_down
	done
	thin_up 128
	prep /dev/mapper/bvol $VOL_MIB
	st=$(dmsetup status bpool)
	# dm-thin counts its reserve, min(4096, total / 10) blocks, as used:
	# report.py takes it off.
	echo "BENCH-VALUE thin64k meta_used_blocks $(echo $st | cut -d' ' -f5 | cut -d/ -f1)"
	echo "BENCH-VALUE thin64k meta_total_blocks $(echo $st | cut -d' ' -f5 | cut -d/ -f2)"
	echo "BENCH-VALUE thin64k mapped_chunks $(echo $st | cut -d' ' -f6 | cut -d/ -f1)"
	thin_down
}
THIN_BS="128 2048"

#---------------------------------------------------------------- first write after N snapshots

# snapshot_scaling "COUNTS" "KIND:CHUNK_SECTORS...": the chunk-size sweep
# only for one snapshot; the scaling test at 64 KiB.
snapshot_scaling() {
	for n in $1; do
		for spec in $2; do
			kind=${spec%:*} cs=${spec#*:}
			[ $n != 1 ] && [ $cs != 128 ] && continue
			t=$kind$((cs / 2))k
			log "bench: $t first write after $n snapshots"
			${kind}_up $cs
			prep /dev/mapper/bvol $VOL_MIB
			i=0
			while [ $i -lt $n ]; do ${kind}_snap >/dev/null || die "snapshot $i"; i=$((i + 1)); done
			first_write $t firstwrite-snap$n /dev/mapper/bvol $((cs / 2))
			${kind}_down
		done
	done
}

# dm-linear doing the same writes, for the ratio.
first_write_pattern() { # CHUNK_SECTORS...
	linear_up
	for cs in "$@"; do
		first_write linear firstwrite-pattern$((cs / 2))k /dev/mapper/bvol $((cs / 2))
	done
	linear_down
}

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
dm_snapshot_first_write() {
	vol_mib_saved=$VOL_MIB
	VOL_MIB=$SNAP_MIB VOL_SECT=$((SNAP_MIB * 2048))
	for n in 1 4; do
		[ "$QUICK" = 1 ] && [ $n = 4 ] && continue
		for cs in 8 128; do
			t=snap$((cs / 2))k
			log "bench: $t first write after $n snapshots (${VOL_MIB} MiB)"
			snap_up $cs
			prep /dev/mapper/bvol $VOL_MIB
			i=0
			while [ $i -lt $n ]; do snap_snap; i=$((i + 1)); done
			first_write $t firstwrite-snap$n /dev/mapper/bvol $((cs / 2))
			snap_check_valid
			snap_down
		done
	done
	VOL_MIB=$vol_mib_saved VOL_SECT=$((vol_mib_saved * 2048))
}

#---------------------------------------------------------------- latencies

# Snapshot create: suspend + message + resume with dmsetup (what a user
# runs), and the message ioctl alone (cowmsg), both with clock_gettime.
snapshot_latency() {
	for kind in thin cow; do
		${kind}_up 128
		prep /dev/mapper/bvol $VOL_MIB
		i=0
		while [ $i -lt $LAT_REPS ]; do
			if [ $kind = thin ]; then
				m="create_snap $((i + 1)) 0"
			else
				m="snapshot $((i + 1)) 0 s$i"
			fi
			us=$(cowtime sh -c "dmsetup suspend bvol && dmsetup message bpool 0 '$m' && dmsetup resume bvol") ||
				die "$kind snapshot $i failed"
			echo "BENCH-VALUE ${kind}64k snapshot_create_us $us"
			i=$((i + 1))
		done
		i=0
		while [ $i -lt $LAT_REPS ]; do
			id=$((LAT_REPS + i + 1))
			if [ $kind = thin ]; then
				m="create_snap $id 0"
			else
				m="snapshot $id 0 s$id"
			fi
			dmsetup suspend bvol || die "suspend"
			us=$(cowmsg bpool $m) || die "$kind snapshot message failed"
			dmsetup resume bvol || die "resume"
			echo "BENCH-VALUE ${kind}64k snapshot_message_us $us"
			i=$((i + 1))
		done
		${kind}_down
	done
}

# Delete of a snapshot holding DEL_MIB of its own: the message ioctl alone
# (cowmsg; dmsetup's start-up is not the target's), and until the space is
# back (cowtree reclaims in the background).
delete_latency() {
	DEL_SECT=$((DEL_MIB * 2048))
	for kind in thin cow; do
		${kind}_up 128
		dmsetup remove bvol
		dmsetup create bvol --table "0 $DEL_SECT $( [ $kind = thin ] && echo thin || echo cowtree) /dev/mapper/bpool 0"
		prep /dev/mapper/bvol $DEL_MIB
		${kind}_snap
		dmsetup create bsnap --table "0 $DEL_SECT $( [ $kind = thin ] && echo thin || echo cowtree) /dev/mapper/bpool 1"
		prep /dev/mapper/bsnap $DEL_MIB
		dmsetup remove bsnap
		used_before=$(dmsetup status bpool | cut -d' ' -f6 | cut -d/ -f1)
		us=$(cowmsg bpool delete 1) || die "$kind delete message failed"
		if [ $kind = thin ]; then
			back=$us
		else
			back=$(cowtime sh -c 'while [ "$(dmsetup status bpool | cut -d" " -f12)" != 0 ]; do usleep 5000; done')
			back=$((back + us))
		fi
		used_after=$(dmsetup status bpool | cut -d' ' -f6 | cut -d/ -f1)
		echo "BENCH-VALUE ${kind}64k delete_message_us $us"
		echo "BENCH-VALUE ${kind}64k delete_space_back_us $back"
		echo "BENCH-VALUE ${kind}64k delete_freed_chunks $((used_before - used_after))"
		${kind}_down
	done
}

# perf_ready: perf is there and may sample the kernel with its symbols.
perf_ready() {
	command -v perf > /dev/null || die "no perf in the guest (linux-perf)"
	echo 0 > /proc/sys/kernel/kptr_restrict
	echo -1 > /proc/sys/kernel/perf_event_paranoid
}

# timed NAME CMD: CMD's time in microseconds (cowtime); with
# BENCH_TOOL_PROFILE=1, perf samples of the whole guest while it runs
# instead ("BENCH-PROFILE cow64k NAME ..."; sampling costs instructions,
# so the time printed then is not a figure to compare).
timed() {
	tn=$1
	shift
	if [ -z "${BENCH_TOOL_PROFILE:-}" ]; then
		cowtime sh -c "$*"
		return
	fi
	perf_ready
	cowtime perf record -q -e cpu-clock -F $PROF_FREQ -a -o /tmp/perf.data -- sh -c "$*" || return
	perf report -i /tmp/perf.data --stdio --no-children --sort dso,sym \
		--percent-limit 0.5 2>/dev/null |
		sed -n "s/^ *\([0-9.]*\)%  *\(.*\)$/BENCH-PROFILE cow64k $tn \1 \2/p" >&2
	rm -f /tmp/perf.data
}

#---------------------------------------------------------------- send and receive

# dmcowctl send and receive (issue #16), in two parts.
#
# Times, on RAM disks (send_times): a volume of SEND_MIB (1 GiB; quick 16)
# written once, snapshot 1; every 100th chunk rewritten (1 %), snapshot 2.
# The full send of 1 and the incremental send of 2 from 1: each one's time
# (cowtime), stream bytes, data bytes and metadata blocks read (its JSON
# report).  Then the full stream is received into a new pool on the same
# RAM disks from a file in the guest's RAM.  dm-linear's sequential read
# and write in this boot give the throughput ratios, and so does dd of the
# same stream file to dm-linear: the copy of the stream into user memory
# that every receive from a file or pipe pays (under icount the kernel's
# copy to user space, rep movsb, costs about four times dm-linear's whole
# write per byte).
#
# Metadata read by the delta (send_metadata): for each size of SEND_META_MIBS
# (1 and 4 GiB; quick 16 and 64) a volume written once, snapshot; 1 % of its
# chunks rewritten spread out (every 100th), snapshot; 1 % rewritten in one
# run in the middle, snapshot.  What an incremental send of each change
# reads (dmcowctl send --dry-run --from) is compared with thin_delta, which
# thin-send-recv runs on dm-thin, on a dm-thin pool made the same way.  The
# data device is dm-zero (writes keep nothing: a 4 GiB volume costs no RAM);
# each pool's metadata device is a dm-linear device over a RAM disk, whose
# sectors read (/sys/block/dm-N/stat) measure both tools alike.
SEND_MIB=${BENCH_SEND_MIB:-1024}
SEND_META_MIBS=${BENCH_SEND_META_MIBS:-1024 4096}
if [ "$QUICK" = 1 ]; then
	SEND_MIB=16 SEND_META_MIBS="16 64"
fi

# fill DEV MIB: every chunk written once (fio's buffers: not zeroes).
fill() {
	fio --name=fill --filename="$1" --ioengine=libaio --direct=1 --rw=write --bs=1M \
		--iodepth=16 --size=${2}M > /tmp/fio.out 2>&1 || { cat /tmp/fio.out; die "fill $1"; }
}

# change DEV MIB spread|clustered: 1 % of the 64 KiB chunks rewritten,
# every 100th, or one run from the middle; prints the chunks changed.
change() {
	chunks=$(($2 * 16)) nr=$((($2 * 16 + 99) / 100))
	case $3 in
	spread) set -- "$1" --rw=write:6336k --bs=64k --size=${2}M ;;
	clustered) set -- "$1" --rw=write --bs=64k --offset=$((chunks / 2 * 64))k --size=$((nr * 64))k ;;
	esac
	dev=$1
	shift
	fio --name=change --filename="$dev" --ioengine=libaio --direct=1 --iodepth=16 "$@" \
		> /tmp/fio.out 2>&1 || { cat /tmp/fio.out; die "change $dev $*"; }
	echo $nr
}

# Sectors read so far from device-mapper device NAME (its node in
# /dev/mapper is no link to dm-N here: no udev).
dm_sectors_read() {
	dev=$(dmsetup info -c --noheadings --separator : -o major,minor $1 | tr -d ' ')
	read -r _ _ sect _ < /sys/dev/block/$dev/stat || die "no I/O statistics for $1 ($dev)"
	[ -n "$sect" ] || die "no sectors read in /sys/dev/block/$dev/stat"
	echo $sect
}

send_times() {
	mib=$SEND_MIB t=cow64k-$SEND_MIB
	wipe $META
	dmcowctl pool create sp $META $DATA --force > /tmp/sr.out 2>&1 ||
		{ cat /tmp/sr.out; die "send: pool create"; }
	dmcowctl create sp/v ${mib}M > /tmp/sr.out 2>&1 || { cat /tmp/sr.out; die "send: create"; }
	fill /dev/mapper/sp-v $mib
	dmcowctl snapshot sp/v v-1 > /tmp/sr.out 2>&1 || { cat /tmp/sr.out; die "send: snapshot v-1"; }
	changed=$(change /dev/mapper/sp-v $mib spread)
	dmcowctl snapshot sp/v v-2 > /tmp/sr.out 2>&1 || { cat /tmp/sr.out; die "send: snapshot v-2"; }
	for kind in full incremental; do
		args="sp/v-1"
		[ $kind = incremental ] && args="sp/v-2 --from sp/v-1"
		us=$(timed send-$kind-$mib "dmcowctl send $args -o /dev/null --json > /tmp/send.json 2>/tmp/send.err") ||
			{ cat /tmp/send.err; die "send $args"; }
		echo "BENCH-VALUE $t send_${kind}_us $us"
		echo "BENCH-VALUE $t send_${kind}_bytes $(jsonget bytes < /tmp/send.json)"
		echo "BENCH-VALUE $t send_${kind}_data_bytes $(jsonget data_bytes < /tmp/send.json)"
		echo "BENCH-VALUE $t send_${kind}_metadata_blocks_read $(jsonget metadata_blocks_read < /tmp/send.json)"
	done
	echo "BENCH-VALUE $t send_changed_chunks $changed"
	dmcowctl send sp/v-1 -o /tmp/stream > /tmp/sr.out 2>&1 || { cat /tmp/sr.out; die "send to a file"; }
	dmcowctl pool deactivate sp --force > /tmp/sr.out 2>&1 || { cat /tmp/sr.out; die "send: deactivate"; }
	wipe $META
	dmcowctl pool create rp $META $DATA --force > /tmp/sr.out 2>&1 ||
		{ cat /tmp/sr.out; die "receive: pool create"; }
	us=$(timed receive "dmcowctl receive rp/copy -i /tmp/stream > /tmp/sr.out 2>&1") ||
		{ cat /tmp/sr.out; die "receive"; }
	echo "BENCH-VALUE $t receive_full_us $us"
	echo "BENCH-VALUE $t receive_full_bytes $(wc -c < /tmp/stream)"
	dmcowctl pool deactivate rp --force > /tmp/sr.out 2>&1 || { cat /tmp/sr.out; die "receive: deactivate"; }
	VOL_SECT=$((mib * 2048)) linear_up
	VOL_MIB=$mib fio_jobs linear /dev/mapper/bvol send-seqread-1M-qd16 send-seqwrite-1M-qd16
	# What any receive from this file pays at least: its bytes read from
	# the RAM file (the copy into user memory) and written to dm-linear.
	us=$(timed stream-copy "dd if=/tmp/stream of=/dev/mapper/bvol bs=1M count=$mib iflag=fullblock oflag=direct 2>/tmp/dd.err") ||
		{ cat /tmp/dd.err; die "dd of the stream to dm-linear"; }
	echo "BENCH-VALUE linear-$mib stream_copy_us $us"
	echo "BENCH-VALUE linear-$mib stream_copy_bytes $((mib * 1048576))"
	rm -f /tmp/stream
	linear_down
}

# cowtree: the dry-run incremental send of each change, for each size.
send_metadata_cowtree() {
	dmsetup create smeta --table "0 $(blockdev --getsz $META) linear $META 0" || die "smeta"
	wipe /dev/mapper/smeta
	dmcowctl pool create mp /dev/mapper/smeta /dev/mapper/szero --force > /tmp/sr.out 2>&1 ||
		{ cat /tmp/sr.out; die "send metadata: pool create"; }
	for mib in $SEND_META_MIBS; do
		dmcowctl create mp/v$mib ${mib}M > /tmp/sr.out 2>&1 || { cat /tmp/sr.out; die "create v$mib"; }
		fill /dev/mapper/mp-v$mib $mib
		prev=v$mib-0
		dmcowctl snapshot mp/v$mib $prev > /tmp/sr.out 2>&1 || { cat /tmp/sr.out; die "snapshot $prev"; }
		for kind in spread clustered; do
			changed=$(change /dev/mapper/mp-v$mib $mib $kind)
			dmcowctl snapshot mp/v$mib v$mib-$kind > /tmp/sr.out 2>&1 ||
				{ cat /tmp/sr.out; die "snapshot v$mib-$kind"; }
			before=$(dm_sectors_read smeta)
			dmcowctl send mp/v$mib-$kind --from mp/$prev --dry-run --json > /tmp/send.json 2>/tmp/send.err ||
				{ cat /tmp/send.err; die "send --dry-run v$mib-$kind"; }
			after=$(dm_sectors_read smeta)
			t=meta-$mib-$kind
			echo "BENCH-VALUE $t changed_chunks $changed"
			echo "BENCH-VALUE $t cowtree_metadata_bytes_read $(((after - before) * 512))"
			echo "BENCH-VALUE $t cowtree_metadata_blocks_read $(jsonget metadata_blocks_read < /tmp/send.json)"
			echo "BENCH-VALUE $t cowtree_data_bytes $(jsonget data_bytes < /tmp/send.json)"
			prev=v$mib-$kind
		done
	done
	dmcowctl pool deactivate mp --force > /tmp/sr.out 2>&1 || { cat /tmp/sr.out; die "send metadata: deactivate"; }
	dmsetup remove smeta
}

# dm-thin: the same volumes and changes, thin_delta between the snapshots
# (of a reserved metadata snapshot: how thin-send-recv runs it live).
send_metadata_thin() {
	dmsetup create smeta --table "0 $(blockdev --getsz $META) linear $META 0" || die "smeta"
	wipe /dev/mapper/smeta
	dmsetup create tp --table "0 $(dm_dev_size szero) thin-pool /dev/mapper/smeta /dev/mapper/szero 128 0" ||
		die "send metadata: thin-pool"
	id=0
	for mib in $SEND_META_MIBS; do
		vol=$id
		dmsetup message tp 0 "create_thin $vol" || die "create_thin $vol"
		dmsetup create tv --table "0 $((mib * 2048)) thin /dev/mapper/tp $vol" || die "thin $vol"
		fill /dev/mapper/tv $mib
		prev=$((id + 1))
		dmsetup suspend tv && dmsetup message tp 0 "create_snap $prev $vol" && dmsetup resume tv ||
			die "create_snap $prev"
		id=$prev
		for kind in spread clustered; do
			change /dev/mapper/tv $mib $kind > /dev/null
			id=$((id + 1))
			dmsetup suspend tv && dmsetup message tp 0 "create_snap $id $vol" && dmsetup resume tv ||
				die "create_snap $id"
			dmsetup message tp 0 reserve_metadata_snap || die "reserve_metadata_snap"
			before=$(dm_sectors_read smeta)
			thin_delta --metadata-snap --snap1 $prev --snap2 $id /dev/mapper/smeta > /tmp/delta.xml 2>/tmp/delta.err ||
				{ cat /tmp/delta.err; die "thin_delta $prev $id"; }
			after=$(dm_sectors_read smeta)
			dmsetup message tp 0 release_metadata_snap || die "release_metadata_snap"
			# The delta must have seen the change: one range at least.
			grep -q "<different\|<left_only\|<right_only" /tmp/delta.xml ||
				{ head -20 /tmp/delta.xml; die "thin_delta $prev $id found no change"; }
			echo "BENCH-VALUE meta-$mib-$kind thin_delta_metadata_bytes_read $(((after - before) * 512))"
			prev=$id
		done
		dmsetup remove tv || die "remove tv"
		id=$((id + 1))
	done
	dmsetup remove tp && dmsetup remove smeta || die "send metadata: teardown"
}

send_metadata() {
	sum=0
	for mib in $SEND_META_MIBS; do sum=$((sum + mib)); done
	dmsetup create szero --table "0 $((sum * 2 * 2048 + 262144)) zero" || die "dm-zero"
	send_metadata_cowtree
	send_metadata_thin
	dmsetup remove szero
}

# The RAM disks are loaded again for this job alone (earlier jobs leave
# their pages allocated: brd frees nothing), and as before afterwards.
send_receive_bench() {
	rmmod brd || die "send: rmmod brd"
	brd_load 2 $((SEND_MIB * 11 / 10 + 128))
	send_times
	send_metadata
	rmmod brd || die "send: rmmod brd"
	brd_load 3 $DATA_MIB
}

#---------------------------------------------------------------- activation and check

# A pool with ACT_SNAPS snapshots of a written volume, each snapshot
# followed by a 4-chunk overwrite so that the trees differ: the time to
# activate the pool (dmsetup create of the pool target, which opens the
# metadata) and to check its metadata offline (dmcowctl check, thin_check),
# for cowtree and dm-thin, cowtime each.  The volume is the bench volume
# (BENCH_VOL_MIB).
activation_check() {
	for kind in thin cow; do
		log "bench: ${kind}64k activation and check with $ACT_SNAPS snapshots"
		${kind}_up 128
		prep /dev/mapper/bvol $VOL_MIB
		i=0
		while [ $i -lt $ACT_SNAPS ]; do
			${kind}_snap > /dev/null || die "$kind snapshot $i"
			dd if=/dev/urandom of=/dev/mapper/bvol bs=64k count=4 \
				seek=$(((i * 13) % (VOL_MIB * 16 - 4))) oflag=direct 2>/dev/null ||
				die "$kind overwrite $i"
			i=$((i + 1))
		done
		dmsetup remove bvol || die "remove $kind volume"
		table=$(dmsetup table bpool)
		dmsetup remove bpool || die "remove $kind pool"
		us=$(cowtime dmsetup create bpool --table "$table") || die "activate $kind pool"
		echo "BENCH-VALUE ${kind}64k activate_${ACT_SNAPS}_snapshots_us $us"
		dmsetup remove bpool || die "remove $kind pool"
		if [ $kind = thin ]; then
			us=$(cowtime sh -c "thin_check $META > /tmp/check.out 2>&1") ||
				{ cat /tmp/check.out; die "thin_check"; }
		else
			us=$(cowtime sh -c "dmcowctl check $META > /tmp/check.out 2>&1") ||
				{ cat /tmp/check.out; die "dmcowctl check"; }
		fi
		echo "BENCH-VALUE ${kind}64k check_${ACT_SNAPS}_snapshots_us $us"
	done
}

#---------------------------------------------------------------- reshare

# dmcowctl reshare of a volume and its snapshot after a tenth of the
# volume (ten spread regions) was rewritten with the same bytes: its time
# (cowtime, clock_gettime) and that of a dry run (the same reads and
# compares, no share messages: the pool's own compare is the rest), the
# bytes it read (its JSON report) against the bytes that differ, and
# dm-linear's sequential read in this boot for the throughput ratio.
# Random data (urandom), so nothing is zero.  RESHARE_MIB: the volume
# (BENCH_RESHARE_MIB, default VOL_MIB).
reshare_bench() {
	mib=$RESHARE_MIB cb=65536
	chunks=$((mib * 1048576 / cb))
	per=$((chunks / 100))	# ten regions of 1 %
	wipe $META
	dmcowctl pool create rp $META $DATA --force > /tmp/rs.out 2>&1 ||
		{ cat /tmp/rs.out; die "reshare: pool create"; }
	dmcowctl create rp/a ${mib}M > /tmp/rs.out 2>&1 || { cat /tmp/rs.out; die "reshare: create"; }
	dd if=/dev/urandom of=/dev/mapper/rp-a bs=1M count=$mib oflag=direct 2>/tmp/dd.err ||
		{ cat /tmp/dd.err; die "reshare: fill"; }
	dmcowctl snapshot rp/a s > /tmp/rs.out 2>&1 || { cat /tmp/rs.out; die "reshare: snapshot"; }
	i=0
	while [ $i -lt 10 ]; do
		at=$((i * chunks / 10))
		dd if=/dev/mapper/rp-a of=/tmp/region bs=$cb skip=$at count=$per iflag=direct 2>/dev/null &&
			dd if=/tmp/region of=/dev/mapper/rp-a bs=$cb seek=$at count=$per \
				oflag=direct conv=notrunc 2>/dev/null || die "reshare: rewrite region $i"
		i=$((i + 1))
	done
	rm -f /tmp/region
	sync
	# The dry run reads and compares as much, and asks the pool nothing.
	dry=$(cowtime sh -c "dmcowctl reshare rp/a rp/s --dry-run --json > /tmp/rs.json 2>/tmp/rs.err") ||
		{ cat /tmp/rs.err /tmp/rs.json; die "reshare --dry-run failed"; }
	us=$(timed reshare "dmcowctl reshare rp/a rp/s --json > /tmp/rs.json 2>/tmp/rs.err") ||
		{ cat /tmp/rs.err /tmp/rs.json; die "reshare failed"; }
	shared=$(jsonget shared_chunks < /tmp/rs.json) || die "reshare: no JSON report"
	read_b=$(jsonget bytes_read < /tmp/rs.json)
	cand=$(jsonget candidate_chunks < /tmp/rs.json)
	pool_cmp=$(jsonget pool_compared_chunks < /tmp/rs.json)
	[ "$shared" = $((per * 10)) ] || { cat /tmp/rs.json; die "reshare shared $shared chunks, $((per * 10)) were rewritten"; }
	echo "BENCH-VALUE cow64k reshare_volume_mib $mib"
	echo "BENCH-VALUE cow64k reshare_us $us"
	echo "BENCH-VALUE cow64k reshare_dry_run_us $dry"
	echo "BENCH-VALUE cow64k reshare_shared_chunks $shared"
	echo "BENCH-VALUE cow64k reshare_candidate_chunks $cand"
	echo "BENCH-VALUE cow64k reshare_differing_bytes $((cand * cb))"
	echo "BENCH-VALUE cow64k reshare_bytes_read $read_b"
	# The pool reads both sides of each chunk it is asked to share again.
	echo "BENCH-VALUE cow64k reshare_pool_bytes_read $((pool_cmp * 2 * cb))"
	dmcowctl pool deactivate rp --force > /tmp/rs.out 2>&1 || { cat /tmp/rs.out; die "reshare: pool deactivate"; }
	# dm-linear's sequential read in this boot (the standard job).
	linear_up
	fio_run linear reshare-seqread-1M-qd16 /dev/mapper/bvol $(workload_args seqread-1M-qd16)
	linear_down
}

#---------------------------------------------------------------- file-level commands

# Issue #15's figures for dmcowctl diff, du and restore-files on ext4
# (BENCH_ONLY=files).  The pool's data device is a dm-linear over the RAM
# disk, so that /sys/block/dm-N/stat counts every byte any volume of the
# pool reads or writes (views made inside a command included).
#  - diff of 10 files rewritten in place (same size, 10 directories)
#    between two snapshots of a FILES_BIG-file volume and of a
#    FILES_SMALL-file one (flatness), against rsync -rn --checksum and
#    rsync -rn over the two snapshots mounted with dmcowctl mount; diff
#    must list exactly those 10 files, or the job fails.
#  - du of each volume: bytes read from the data device against the bytes
#    of file data.
#  - restore-files of a FILES_BIG_MIB file of which 1 MiB was rewritten:
#    bytes written to the destination volume and time, against cp of the
#    file from a view of the snapshot.
# Every timed command runs with a cold page cache and ends with a sync.
if [ "$QUICK" = 1 ]; then
	FILES_DIRS=10 FILES_BIG=1000 FILES_SMALL=200 FILES_BIG_VOL_MIB=32 FILES_SMALL_VOL_MIB=32
else
	FILES_DIRS=100 FILES_BIG=100000 FILES_SMALL=10000 FILES_BIG_VOL_MIB=256 FILES_SMALL_VOL_MIB=64
fi

# dm_stat NAME FIELD: field FIELD of /dev/mapper/NAME's block statistics
# (3: sectors read, 7: sectors written).
dm_stat() {
	for d in /sys/block/dm-*; do
		if [ "$(cat $d/dm/name)" = "$1" ]; then
			awk -v f=$2 '{ print $f }' $d/stat
			return
		fi
	done
	die "dm_stat: no device-mapper device $1"
}

cold_cache() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# files_pool NAME MIB: pool NAME on a dm-linear fdata over the first MIB of DATA.
files_pool() {
	wipe $META
	dmsetup create fdata --table "0 $(($2 * 2048)) linear $DATA 0" || die "files: fdata"
	dmcowctl pool create $1 $META /dev/mapper/fdata --force > /tmp/fb.out 2>&1 ||
		{ cat /tmp/fb.out; die "files: pool create $1"; }
}
files_pool_down() {
	dmcowctl pool deactivate $1 --force > /tmp/fb.out 2>&1 || { cat /tmp/fb.out; die "files: deactivate $1"; }
	dmsetup remove fdata || die "files: remove fdata"
}

# files_tree N MIB: volume fp/tN (ext4, 1 KiB blocks) with N small files in
# FILES_DIRS directories, snapshot tN-a; 10 files in 10 directories
# rewritten in place (same size); snapshot tN-b.  /tmp/fchanged.N: the
# diff lines expected.
files_tree() {
	n=$1 v=fp-t$1
	dmcowctl create fp/t$n ${2}M > /tmp/fb.out 2>&1 || { cat /tmp/fb.out; die "files: create t$n"; }
	# One inode per 2 KiB in both volumes: the same groups (8 MiB, 4096
	# inodes), so the two differ only in how many there are.
	mkfs.ext4 -q -b 1024 -I 256 -i 2048 \
		-E nodiscard,lazy_itable_init=0,lazy_journal_init=0 /dev/mapper/$v || die "files: mkfs t$n"
	mkdir -p /mnt/$v
	mount -t ext4 /dev/mapper/$v /mnt/$v || die "files: mount t$n"
	per=$((n / FILES_DIRS))
	made=$(mkfiletree /mnt/$v $FILES_DIRS $per) || die "files: mkfiletree t$n"
	echo "BENCH-VALUE files-$n file_data_bytes ${made##*, }" | sed 's/ bytes$//'
	sync
	dmcowctl snapshot fp/t$n t$n-a > /tmp/fb.out 2>&1 || { cat /tmp/fb.out; die "files: snapshot t$n-a"; }
	# A second later (under icount sleep skips the idle time): rsync's
	# quick check sees mtimes in whole seconds.
	sleep 1
	: > /tmp/fchanged.$n
	i=0
	while [ $i -lt 10 ]; do
		p=$(printf '/d%03d/f%05d' $((i * FILES_DIRS / 10)) $(((i * 37 + 5) % per)))
		printf 'changed %d\n' $i | dd of=/mnt/$v$p conv=notrunc 2>/dev/null || die "files: rewrite $p"
		printf 'M\t%s\n' $p >> /tmp/fchanged.$n
		i=$((i + 1))
	done
	sort -o /tmp/fchanged.$n /tmp/fchanged.$n
	umount /mnt/$v || die "files: umount t$n"
	dmcowctl snapshot fp/t$n t$n-b > /tmp/fb.out 2>&1 || { cat /tmp/fb.out; die "files: snapshot t$n-b"; }
}

# files_diff N: dmcowctl diff tN-a tN-b, checked; then both rsync runs over
# the two snapshots' views.
files_diff() {
	n=$1 t=files-$1
	cold_cache
	us=$(timed diff-$n "dmcowctl diff fp/t$n-a fp/t$n-b > /tmp/fdiff 2>/tmp/fdiff.err") ||
		{ cat /tmp/fdiff /tmp/fdiff.err; die "files: diff t$n failed"; }
	cut -f1,2 /tmp/fdiff | sort > /tmp/fdiff.got
	if ! cmp -s /tmp/fchanged.$n /tmp/fdiff.got; then
		cat /tmp/fdiff /tmp/fdiff.err
		diff /tmp/fchanged.$n /tmp/fdiff.got || true
		die "files: diff of t$n does not list exactly the 10 rewritten files"
	fi
	echo "BENCH-VALUE $t diff_us $us"
	echo "BENCH-VALUE $t diff_changed_chunks $(sed -n 's/.* from \([0-9]*\) changed chunks.*/\1/p' /tmp/fdiff.err)"
	echo "BENCH-VALUE $t diff_inodes_examined $(sed -n 's/.* chunks, \([0-9]*\) inodes.*/\1/p' /tmp/fdiff.err)"
	mkdir -p /mnt/fa /mnt/fb
	dmcowctl mount fp/t$n-a /mnt/fa > /tmp/fb.out 2>&1 || { cat /tmp/fb.out; die "files: mount t$n-a"; }
	dmcowctl mount fp/t$n-b /mnt/fb > /tmp/fb.out 2>&1 || { cat /tmp/fb.out; die "files: mount t$n-b"; }
	for kind in checksum meta; do
		opt=
		[ $kind = checksum ] && opt=--checksum
		cold_cache
		us=$(timed rsync-$kind-$n "rsync -rn $opt --out-format=%n /mnt/fb/ /mnt/fa/ > /tmp/frsync") ||
			die "files: rsync $kind t$n failed"
		echo "BENCH-VALUE $t rsync_${kind}_us $us"
		echo "BENCH-VALUE $t rsync_${kind}_files_listed $(grep -vc '/$' /tmp/frsync)"
	done
	dmcowctl umount /mnt/fa > /tmp/fb.out 2>&1 || { cat /tmp/fb.out; die "files: umount t$n-a"; }
	dmcowctl umount /mnt/fb > /tmp/fb.out 2>&1 || { cat /tmp/fb.out; die "files: umount t$n-b"; }
}

# files_du N: dmcowctl du of volume tN (not mounted: through a view), the
# bytes it read from the pool's data device.
files_du() {
	n=$1 t=files-$1
	cold_cache
	r0=$(dm_stat fdata 3)
	us=$(timed du-$n "dmcowctl du fp/t$n > /tmp/fdu 2>&1") || { cat /tmp/fdu; die "files: du t$n failed"; }
	r1=$(dm_stat fdata 3)
	echo "BENCH-VALUE $t du_us $us"
	echo "BENCH-VALUE $t du_bytes_read $(((r1 - r0) * 512))"
}

# files_restore MIB: restore-files of a MIB file with 1 MiB rewritten, then
# cp of the whole file from a view of the snapshot, each with the bytes
# written to the destination volume (its dm device's statistics).
files_restore() {
	mib=$1 t=files-restore
	files_pool fr $((mib * 2 + 384))
	dmcowctl create fr/r $((mib * 2 + 256))M > /tmp/fb.out 2>&1 || { cat /tmp/fb.out; die "files: create r"; }
	mkfs.ext4 -q -b 4096 -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 /dev/mapper/fr-r ||
		die "files: mkfs r"
	mkdir -p /mnt/fr /mnt/fs
	mount -t ext4 /dev/mapper/fr-r /mnt/fr || die "files: mount r"
	dd if=/dev/urandom of=/mnt/fr/big bs=1M count=$mib 2>/tmp/dd.err || { cat /tmp/dd.err; die "files: big"; }
	sync
	dmcowctl snapshot fr/r s > /tmp/fb.out 2>&1 || { cat /tmp/fb.out; die "files: snapshot s"; }
	dd if=/dev/urandom of=/mnt/fr/big bs=1M seek=$((mib / 2)) count=1 conv=notrunc 2>/tmp/dd.err ||
		{ cat /tmp/dd.err; die "files: rewrite 1 MiB"; }
	cold_cache
	w0=$(dm_stat fr-r 7)
	us=$(timed restore-$mib "dmcowctl restore-files fr/s:/big /mnt/fr/big > /tmp/frs 2>&1 && sync") ||
		{ cat /tmp/frs; die "files: restore-files failed"; }
	w1=$(dm_stat fr-r 7)
	cat /tmp/frs
	dmcowctl mount fr/s /mnt/fs > /tmp/fb.out 2>&1 || { cat /tmp/fb.out; die "files: mount s"; }
	cmp /mnt/fs/big /mnt/fr/big || die "files: the restored file differs from the snapshot's"
	echo "BENCH-VALUE $t file_mib $mib"
	echo "BENCH-VALUE $t modified_bytes 1048576"
	echo "BENCH-VALUE $t restore_us $us"
	echo "BENCH-VALUE $t restore_bytes_written $(((w1 - w0) * 512))"
	echo "BENCH-VALUE $t restore_reported_bytes_written $(sed -n 's/.* \([0-9]*\) bytes written in .*/\1/p' /tmp/frs)"
	cold_cache
	w0=$(dm_stat fr-r 7)
	us=$(timed cp-$mib "cp /mnt/fs/big /mnt/fr/big && sync") || die "files: cp failed"
	w1=$(dm_stat fr-r 7)
	echo "BENCH-VALUE $t cp_us $us"
	echo "BENCH-VALUE $t cp_bytes_written $(((w1 - w0) * 512))"
	dmcowctl umount /mnt/fs > /tmp/fb.out 2>&1 || { cat /tmp/fb.out; die "files: umount s"; }
	umount /mnt/fr || die "files: umount r"
	files_pool_down fr
}

# The largest restore-files file that fits: the pool holds it twice (the
# snapshot's and cp's copy) in a RAM disk, beside 1.5 GiB for the rest.
files_big_mib() {
	[ -n "${BENCH_FILES_BIG_MIB:-}" ] && { echo $BENCH_FILES_BIG_MIB; return; }
	[ "$QUICK" = 1 ] && { echo 8; return; }
	mem=$(($(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024))
	big=1024
	while [ $big -gt 64 ] && [ $((big * 2 + 1536)) -gt $mem ]; do big=$((big / 2)); done
	echo $big
}

# The RAM disks are loaded again for this job alone (earlier jobs leave
# their pages allocated: brd frees nothing), and as before afterwards.
files_bench() {
	big_mib=$(files_big_mib)
	rmmod brd || die "files: rmmod brd"
	brd_load 2 $((big_mib * 2 + 512))
	log "bench: dmcowctl diff and du, $FILES_BIG and $FILES_SMALL files"
	files_pool fp $((FILES_BIG_VOL_MIB + FILES_SMALL_VOL_MIB + 128))
	files_tree $FILES_BIG $FILES_BIG_VOL_MIB
	files_tree $FILES_SMALL $FILES_SMALL_VOL_MIB
	# A boot's first diff can pay 10-16 ms more in removing its views
	# (scratch VM with no device removed before it in the boot: whichever
	# size ran first paid it), which would tilt the flatness: a first diff
	# is timed and reported on its own, then both sizes after it.
	cold_cache
	us=$(timed diff-first "dmcowctl diff fp/t$FILES_SMALL-a fp/t$FILES_SMALL-b > /dev/null 2>&1") ||
		die "files: first diff of the boot failed"
	echo "BENCH-VALUE files-first-of-boot diff_us $us"
	for n in $FILES_BIG $FILES_SMALL; do
		files_diff $n
		files_du $n
	done
	files_pool_down fp
	log "bench: dmcowctl restore-files, a $big_mib MiB file"
	files_restore $big_mib
	rmmod brd || die "files: rmmod brd"
	brd_load 3 $DATA_MIB
}

#---------------------------------------------------------------- determinism

# The same job twice on cowtree (pool, worker, bufio, btree lookups on the
# way): report.py fails an icount run whose two results differ.  Each run
# gets a pool made and provisioned the same way: on one pool, the second
# run would start with the translation cache the first one left (a 1 GiB
# volume does not fit in it) and measure a different job.
determinism() {
	log "bench: the same job twice"
	for rep in 1 2; do
		cow_up 128
		prep /dev/mapper/bvol $VOL_MIB
		fio_run cow64k same-randwrite-4k-qd16.$rep /dev/mapper/bvol \
			$(workload_args randwrite-4k-qd16)
		cow_down
	done
}

#---------------------------------------------------------------- profile

# Where the instructions go: perf samples on cpu-clock (under icount, guest
# time is executed instructions), whole system, while fio runs; only the
# samples from the job's start to its end count (fio's exec_prerun and
# exec_postrun note the time: starting fio costs more than a job), by
# module and symbol.  Run apart from the measured jobs (sampling costs
# instructions too); idle samples are left out by report.py.
PROF_FREQ=${BENCH_PROF_FREQ:-4000}
profile_one() { # TARGET WORKLOAD DEV FIO_ARGS...
	t=$1 w=$2 dev=$3
	shift 3
	rm -f /tmp/perf.data /tmp/prof.start /tmp/prof.end
	perf record -q -e cpu-clock -F $PROF_FREQ -a -k mono -o /tmp/perf.data -- \
		fio --name="$w" --filename="$dev" --ioengine=libaio --direct=1 \
		--output-format=json --exec_prerun="cowtime --now > /tmp/prof.start" \
		--exec_postrun="cowtime --now > /tmp/prof.end" \
		"$@" > /tmp/fio.json 2>/tmp/fio.err ||
		{ cat /tmp/fio.err; die "perf/fio $t $w failed"; }
	# fio prints where the pre/postrun output went before its JSON
	echo "BENCH-JSON $t profiled-$w $(tr -d '\n' < /tmp/fio.json | sed 's/^[^{]*//')"
	window=$(cat /tmp/prof.start),$(cat /tmp/prof.end)
	perf report -i /tmp/perf.data --stdio --no-children --sort dso,sym \
		--time "$window" --percent-limit 0.2 2>/tmp/perf.err > /tmp/perf.txt ||
		{ cat /tmp/perf.err; die "perf report $t $w failed"; }
	sed -n "s/^ *\([0-9.]*\)%  *\(.*\)$/BENCH-PROFILE $t $w \1 \2/p" /tmp/perf.txt |
		sed 's/  */ /g' | head -80 > /tmp/profile.txt
	if [ ! -s /tmp/profile.txt ]; then
		cat /tmp/perf.err; head -30 /tmp/perf.txt
		die "perf report $t $w: no samples"
	fi
	cat /tmp/profile.txt
	rm -f /tmp/perf.data
}

profile_target() { # TARGET WORKLOAD (fio_run sets t, w and dev)
	pt=$1 pw=$2
	case $pt in
	linear) linear_up ;;
	thin64k) thin_up 128 ;;
	cow64k) cow_up 128 ;;
	cow4k) cow_up 8 ;;
	*) die "profile: unknown target $pt" ;;
	esac
	prep /dev/mapper/bvol $VOL_MIB
	case $pw in
	firstwrite-snap*)
		i=0
		while [ $pt != linear ] && [ $i -lt ${pw#firstwrite-snap} ]; do
			${pt%%[0-9]*}_snap > /dev/null || die "snapshot"
			i=$((i + 1))
		done
		profile_one $pt $pw /dev/mapper/bvol --rw=write:60k --bs=4k --iodepth=16 --size=${VOL_MIB}M ;;
	randwrite-*|randread-*)
		profile_one $pt $pw /dev/mapper/bvol $(workload_args $pw $PROF_RAND_MIB) ;;
	*) profile_one $pt $pw /dev/mapper/bvol $(workload_args $pw $PROF_SEQ_MIB) ;;
	esac
	${pt%%[0-9]*}_down
}

# BENCH_PROFILE="TARGET:WORKLOAD ..." chooses the profiled runs.
profile() {
	perf_ready
	echo "BENCH-VALUE env profile_hz $PROF_FREQ"
	runs=${BENCH_PROFILE:-}
	if [ -z "$runs" ]; then
		for w in $PROFILE_WORKLOADS; do
			for t in $PROFILE_TARGETS; do
				runs="$runs $t:$w"
			done
		done
	fi
	for run in $runs; do
		log "bench: profile ${run%%:*} ${run#*:}"
		profile_target ${run%%:*} ${run#*:}
	done
}

#---------------------------------------------------------------- main

case ${BENCH_ONLY:-} in
kernel-report-selftest)
	# make check's proof that finish() fails the bench on a kernel
	# report the quiet console does not show: a WARNING (at a WARN's
	# level) reaches only dmesg, and this run must fail.
	echo "<4>WARNING: CPU: 0 PID: 1 at cowtest-bench-selftest (simulated report)" > /dev/kmsg
	finish ;;
versus-thin)
	ab_first_write "$AB_KINDS"
	finish ;;
accounting)
	log "bench: exclusive accounting cost only"
	acct_bench
	finish ;;
copy-mode)
	log "bench: copy strategy only"
	copy_mode_bench
	finish ;;
profile)
	profile
	finish ;;
reshare)
	log "bench: dmcowctl reshare only"
	determinism
	reshare_bench
	finish ;;
send)
	determinism
	send_receive_bench
	finish ;;
activation)
	determinism
	activation_check
	finish ;;
files)
	determinism
	files_bench
	finish ;;
io)
	# The quick comparison while changing the I/O path: one boot.
	determinism
	QDS=16 THIN_BS=128 standard_set 8 128
	snapshot_scaling "1 6" "thin:128 cow:128"
	first_write_pattern 128
	snapshot_latency
	delete_latency
	[ -n "${BENCH_PROFILE:-}" ] && profile
	finish ;;
"") ;;
*) die "unknown BENCH_ONLY=$BENCH_ONLY" ;;
esac

determinism
standard_set 8 128 2048
snapshot_scaling "$SNAP_COUNTS" "thin:128 cow:8 cow:128 cow:2048"
dm_snapshot_first_write
ab_first_write "$AB_KINDS"
log "bench: copy strategy (copy_mode kcopyd vs rmw)"
copy_mode_bench
first_write_pattern 8 128 2048
snapshot_latency
log "bench: exclusive accounting on/off"
acct_bench
delete_latency
log "bench: dmcowctl reshare"
reshare_bench
activation_check
log "bench: dmcowctl send and receive"
send_receive_bench
files_bench
profile
finish
