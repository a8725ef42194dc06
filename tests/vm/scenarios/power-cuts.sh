# Power cuts at random instants: every boot reopens the pool after the
# previous boot's cut, checks the metadata offline (strict: the pool must
# be at its last commit with no leaked block or chunk), verifies every
# write and operation acknowledged before the cut, then runs a control
# operation (snapshot / delete with reclaim left running / rollback) and a
# burst of fsync'ed writes that the power cut interrupts at a random
# moment, after at least one write was acknowledged.
#
# What this cannot catch: the disks use cache=unsafe and a cut kills QEMU,
# which loses only writes still in flight, never a volatile write cache
# (writes the host already took stay, flushed or not), so a missing
# REQ_PREFLUSH/REQ_FUA goes unnoticed here; so does an operation
# acknowledged before it was committed, as long as a later flush commits
# it before the cut (every cut here comes after an acknowledged fsync).
# The log-writes replays catch both: they check the pool at every
# flush/FUA/mark point of a log that holds unflushed writes back.
# crash-replay puts each operation of this scenario under the log
# (fsync'ed writes, snapshot, delete with reclaim running on, rollback,
# the counters, recomputed at every point by check --strict-leaks), and
# crash-replay-fs the same under ext4 and xfs.  Documentation/testing.rst
# ("What the crash tests can catch") has the table of every power-cut
# scenario's paths and the replay step covering each.
# timeout: 300
# disks: 64M 256M 1M
# boots: 11
# (cuts = boots - 1; VM_BOOTS_power_cuts=51 make vm-test T=power-cuts: 50 cuts)

load_cowtree
meta=/dev/vda data=/dev/vdb notes=/dev/vdc
SZ=$(mib_sectors 16)
REGIONS=8			# 2 MiB regions per volume
LAST_BOOT=${COW_BOOTS:-11}	# run.sh: "# boots:" or VM_BOOTS_power_cuts

# Notes: "write ID R GEN" (done), "intent ID R GEN" (maybe), "snap NEW ORIG",
# "del ID", "rollback ID SNAP".  State: /tmp/st/ID.R holds "TAG GEN" (the
# tag of the volume that wrote it: snapshots inherit it) or "?".
note() { echo "$*" >> /tmp/notes; notes_save $notes /tmp/notes; }
replay_notes() {
	rm -rf /tmp/st; mkdir -p /tmp/st
	while read -r op a b c; do
		case $op in
		create) : > /tmp/st/$a.vol ;;
		write) echo "$a $c" > /tmp/st/$a.$b ;;	# tag = writer id
		intent) echo "?" > /tmp/st/$a.$b ;;
		snap) for f in /tmp/st/$b.*; do cp $f /tmp/st/$a.${f##*.}; done ;;
		del) rm -f /tmp/st/$a.* ;;
		rollback) rm -f /tmp/st/$a.*; for f in /tmp/st/$b.*; do cp $f /tmp/st/$a.${f##*.}; done ;;
		esac
	done < /tmp/notes
}
vols() { ls /tmp/st | grep '\.vol$' | sed 's/\.vol$//' | sort -n; }

if [ "$COW_BOOT" = 1 ]; then
	: > /tmp/notes
	pool_create pool $meta $data $COW_CHUNK
	msg pool create 1 v
	note create 1
else
	notes_load $notes /tmp/notes
	dmcowctl check --strict-leaks $meta ||
		die "dmcowctl check --strict-leaks failed after power cut $((COW_BOOT - 1))"
	pool_create pool $meta $data $COW_CHUNK
	[ "$(pool_mode pool)" = rw ] || die "pool not rw after a power cut: $(dmsetup status pool)"
fi
replay_notes
log "boot $COW_BOOT: volumes $(vols | tr '\n' ' '); status $(dmsetup status pool)"

for id in $(vols); do
	vol_activate pool $id v$id $SZ
	r=0
	while [ $r -lt $REGIONS ]; do
		tag=$id g=0
		[ -e /tmp/st/$id.$r ] && read -r tag g < /tmp/st/$id.$r
		[ "$tag" = "?" ] && g="?"
		off=$((r * 2))M
		case $g in
		"?") ;;		# a write in flight at the cut: old or new
		0) cowpattern verify /dev/mapper/v$id --expect-zero --offset $off --length 2M --quiet ||
			die "boot $COW_BOOT: volume $id region $r should be unwritten" ;;
		*) if ! cowpattern verify /dev/mapper/v$id --tag $tag --gen $g --offset $off --length 2M; then
			grep -v '^intent\|^write' /tmp/notes; grep " $id $r \| 1 $r " /tmp/notes | tail -5
			die "boot $COW_BOOT: volume $id region $r lost acknowledged gen $g"
		   fi ;;
		esac
		r=$((r + 1))
	done
done
log "boot $COW_BOOT: every acknowledged write and operation is there"
# acked BOOT: writes of the burst of boot BOOT acknowledged (gen BOOT*1000+i)
acked() {
	awk -v lo=$(($1 * 1000)) '$1 == "write" && $4 > lo && $4 < lo + 1000 { n++ }
		END { print n + 0 }' /tmp/notes
}
if [ $COW_BOOT = $LAST_BOOT ]; then
	b=1 per_cut=""
	while [ $b -lt $LAST_BOOT ]; do
		[ "$(acked $b)" -gt 0 ] || die "no write of boot $b was acknowledged before its cut"
		per_cut="$per_cut $(acked $b)"
		b=$((b + 1))
	done
	log "power-cuts ok: $((LAST_BOOT - 1)) cuts survived; writes acknowledged before each:$per_cut"
	exit 0
fi

# Control operation of this boot.
snaps=$(vols | grep -v '^1$' || true)
case $((COW_BOOT % 3)) in
1)	new=$((COW_BOOT + 100))
	snapshot pool $new 1 s$new
	note snap $new 1
	vol_activate pool $new v$new $SZ ;;
2)	victim=$(echo "$snaps" | head -1)
	if [ -n "$victim" ]; then
		vol_deactivate v$victim
		msg pool delete $victim	# reclaim keeps running into the cut
		note del $victim
	fi ;;
0)	src=$(echo "$snaps" | tail -1)
	if [ -n "$src" ]; then
		vol_deactivate v1
		msg pool rollback 1 $src
		note rollback 1 $src
		vol_activate pool 1 v1 $SZ
	fi ;;
esac
replay_notes

# A burst of acknowledged writes, cut at a random instant.
: > /tmp/durable
seed=$(awk -v b=$COW_BOOT 'BEGIN { srand(b * 7919); print int(rand() * 100000) }')
(
	i=0
	while :; do
		i=$((i + 1))
		set -- $(vols)
		id=$(eval echo \${$(( (seed + i) % $# + 1 ))})
		r=$(( (seed / 7 + i * 3) % REGIONS ))
		g=$((COW_BOOT * 1000 + i))
		note intent $id $r $g
		cowpattern write /dev/mapper/v$id --tag $id --gen $g --offset $((r * 2))M \
			--length 2M --random-order $i --fsync --quiet || exit 1
		note write $id $r $g
		echo $g >> /tmp/durable	# the note is on disk: verified next boot
	done
) &
writer=$!
cut_ms=$(( 500 + seed % 3500 ))
usleep $((cut_ms * 1000))
# The writer must still be writing, and have had at least one write
# acknowledged and noted on disk (else this cut tests nothing): wait for
# the first if need be.
writer_alive() {
	kill -0 $writer 2>/dev/null && return 0
	rc=0
	wait $writer || rc=$?
	die "boot $COW_BOOT: the writer burst ended (status $rc) before the power cut"
}
waited=0
while writer_alive && [ ! -s /tmp/durable ]; do
	[ $waited -lt 300 ] || die "boot $COW_BOOT: no write acknowledged in $cut_ms ms + 30 s"
	usleep 100000
	waited=$((waited + 1))
done
writer_alive
log "boot $COW_BOOT: power cut after $((cut_ms + waited * 100)) ms of writes, $(wc -l < /tmp/durable) acknowledged"
power_cut
sleep 60
die "still running after power_cut"
