# A read in flight to a chunk never returns the data of the volume the
# chunk is given to next: volume a's reads are held 2 s by dm-delay under
# the data device while a discard unmaps their chunks, a commit frees them
# and volume b writes into them (the pool is full, so b can only get a's
# chunks).  Without the reuse barrier (dm-cowtree-io.c: no chunk is
# allocated until the I/O started before the last commit has completed),
# those reads return b's blocks.  Each volume's pattern tag is 8 ASCII
# letters (aaaaaaaa, bbbbbbbb), stamped in every 512-byte sector.  The
# race is forced, not hoped for: the discard is sent only once dm-delay's
# status counts every read of a held, and a round counts only if reads are
# still held after the commit that frees the chunks.  Every read must
# succeed and return exactly a's blocks as they were before the discard.
# Then a discard of a chunk being unshared waits in its cell, idle.
# ROUNDS=0 (VM_ENV=ROUNDS) runs only that second part.
# needs: target
# timeout: 400

load_cowtree
brd_load 2 8			# 8 MiB data: 128 chunks of 64 KiB
DELAY_MS=${DELAY_MS:-2000}
ROUNDS=${ROUNDS:-8}
TA=0x6161616161616161		# "aaaaaaaa"
TB=0x6262626262626262		# "bbbbbbbb"

dsz=$(blockdev --getsz /dev/ram1)
log "data device: /dev/ram1 under dm-delay, reads held ${DELAY_MS} ms"
dmsetup create slowdata --table "0 $dsz delay /dev/ram1 0 $DELAY_MS /dev/ram1 0 0" ||
	die "dm-delay"
# read_delay MS: hold the data device's reads MS ms from here on (0 for
# the checks of what the volumes hold: they read every chunk).
read_delay() {
	dmsetup reload slowdata --table "0 $dsz delay /dev/ram1 0 $1 /dev/ram1 0 0" &&
		dmsetup resume slowdata || die "dm-delay: reads held $1 ms"
}
pool_create pool /dev/ram0 /dev/mapper/slowdata 128
vol_create pool 1 a $(mib_sectors 4)
vol_create pool 2 b $(mib_sectors 8)

tid=0
commit() {
	msg pool set_transaction_id $tid $((tid + 1))
	tid=$((tid + 1))
}

# write_a GEN: all of a, its odd chunks allocated before its even ones, so
# no two consecutive chunks of a are consecutive on the data device: the
# pool cannot remap a read of a as runs, and a 4 MiB read of a is exactly
# 64 bios below the pool (one per chunk), as read_a counts on.
write_a() {
	pat_write /dev/mapper/a --tag $TA --gen $1 --offset 64k --length 4032k --stride 32
	pat_write /dev/mapper/a --tag $TA --gen $1
}

write_a 1
pat_write /dev/mapper/b --tag $TB --gen 1 --length 4M
commit
[ "$(pool_used_data pool)" = 128 ] || die "want a full pool: $(dmsetup status pool)"

# read_a ROUND: reads of all of a in flight at once (one 4 MiB read: 64
# chunk bios) or 32 concurrent 4 KiB reads; each read lands in /tmp/r.* at
# its own offset (sparse files), so cowpattern can verify it.  Sets
# $readers (pids) and $nr_bios (data device reads they make).
read_a() {
	local i off
	rm -f /tmp/r.*
	readers=""
	if [ $(($1 % 2)) = 1 ]; then
		dd if=/dev/mapper/a of=/tmp/r.all bs=4M count=1 iflag=direct 2>/dev/null &
		readers=$!
		nr_bios=64
	else
		i=0
		while [ $i -lt 32 ]; do
			off=$(((i * 37 + $1 * 11) % 1024))
			dd if=/dev/mapper/a of=/tmp/r.$off bs=4k count=1 skip=$off seek=$off \
				iflag=direct 2>/dev/null &
			readers="$readers $!"
			i=$((i + 1))
		done
		nr_bios=32
	fi
}

# held_reads: reads dm-delay holds now (its status: reads writes flushes).
held_reads() { dmsetup status slowdata | awk '{ print $4 }'; }
all_reads_held() { [ "$(held_reads)" -ge $nr_bios ]; }

proved=0
r=1
while [ $r -le $ROUNDS ]; do
	h=$((r % 2))		# the half of b written this round
	read_a $r
	# Every read of a must be mapped (and held below the pool) before
	# the discard: then each must return a's blocks.
	i=0
	until all_reads_held; do
		[ $i -lt 600 ] || die "round $r: only $(held_reads) of $nr_bios reads of a reached dm-delay in 30 s"
		usleep 50000
		i=$((i + 1))
	done
	blkdiscard -o 0 -l $((4 * 1048576)) /dev/mapper/a || die "discard a"
	commit			# a's chunks are free from here on
	held=$(held_reads)
	pat_write /dev/mapper/b --tag $TB --gen $((r + 1)) \
		--offset $((h * 4))M --length 4M
	for pid in $readers; do
		wait $pid || die "round $r: a read of volume a failed"
	done
	for f in /tmp/r.*; do
		off=${f#/tmp/r.}
		[ "$off" = all ] && off=0 len=4M || len=4k
		[ "$off" = 0 ] || off=$((off * 4096))
		if ! cowpattern verify $f --tag $TA --gen $r --offset $off --length $len --quiet; then
			grep -q bbbbbbbb $f && log "round $r: $f holds volume b's blocks"
			die "round $r: a read of volume a did not return a's blocks (gen $r)"
		fi
	done
	# Reads still held after the commit were in flight while their chunks
	# were freed and (the barrier aside) given to b: the race happened.
	[ "$held" -gt 0 ] && proved=$((proved + 1))
	log "round $r: $held of $nr_bios reads of a still held after the discard and commit; all returned a's blocks"
	# Give b's other half back and rewrite a into it.
	blkdiscard -o $(((1 - h) * 4 * 1048576)) -l $((4 * 1048576)) /dev/mapper/b ||
		die "discard b"
	commit
	write_a $((r + 1))
	[ "$(pool_used_data pool)" = 128 ] || die "want a full pool: $(dmsetup status pool)"
	r=$((r + 1))
done

# The reads must really have been in flight across the discard and the
# commit (a loaded host may stretch a round past the delay now and then).
[ $proved -ge $((ROUNDS / 2)) ] ||
	die "reads were in flight across the commit in only $proved of $ROUNDS rounds: the race was not exercised"
log "the race happened in $proved of $ROUNDS rounds"
log "check: both volumes hold what was written last"
read_delay 0
pat_verify /dev/mapper/a --tag $TA --gen $((ROUNDS + 1))
pat_verify /dev/mapper/b --tag $TB --gen $((ROUNDS + 1)) --offset $((ROUNDS % 2 * 4))M --length 4M

# A discard of a chunk whose unsharing is in flight (its copy reads the old
# chunk through dm-delay) waits in the chunk's cell: it completes after the
# write, and the worker does not spin meanwhile.
log "a discard waits, idle, for the unsharing of its chunk"
blkdiscard -o $((ROUNDS % 2 * 4 * 1048576)) -l $((4 * 1048576)) /dev/mapper/b || die "discard b"
commit
snapshot pool 3 1 asnap
read_delay $DELAY_MS
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
dd if=/dev/zero of=/dev/mapper/a bs=4k count=1 seek=1 oflag=direct 2>/dev/null &
usleep 500000
b0=$(cpu_busy)
t0=$(uptime_cs)
blkdiscard -o 0 -l 65536 /dev/mapper/a || die "discard of a's first chunk"
t1=$(uptime_cs)
b1=$(cpu_busy)
wait
el=$((t1 - t0))
busy=$((b1 - b0))
log "discard took ${el}0 ms; CPU busy meanwhile ${busy}0 ms (2 CPUs)"
[ $el -ge 80 ] || die "the discard did not wait for the write in flight (${el}0 ms)"
[ $busy -lt $((el / 2)) ] || die "CPU busy ${busy}0 ms in ${el}0 ms: the worker spins"
read_delay 0
pat_verify /dev/mapper/a --expect-zero --length 64k
pat_verify /dev/mapper/a --tag $TA --gen $((ROUNDS + 1)) --offset 64k
vol_activate pool 3 asnap $(mib_sectors 4)
pat_verify /dev/mapper/asnap --tag $TA --gen $((ROUNDS + 1))
vol_deactivate asnap
vol_deactivate a
vol_deactivate b
pool_remove pool
dmsetup remove slowdata
log "discard-inflight ok"
