# Errors from the devices under a running pool.  The metadata and data
# devices are dm devices whose tables are switched between linear,
# dm-flakey error_writes and the error target while a writer does fsync'ed
# partial-chunk writes to a volume whose chunks are shared with a snapshot
# (so every write allocates and copies).
#  1. data device write errors: writes fail with EIO, the pool stays rw,
#     nothing else changes;
#  2. data device read errors: reads of mapped chunks fail with EIO,
#     unmapped chunks still read as zeroes, the pool stays rw;
#  3. metadata write errors: the next commit fails, the pool leaves rw mode
#     (ro, or fail if needs_check cannot be written either) with a DMERR
#     and the mode in its status; after the fault is removed and the pool
#     reactivated, dmcowctl check is clean (clearing needs_check if set);
#  4. metadata read errors: lookups that miss the cache fail the bio with
#     EIO and a DMERR naming the pool; reads work again once the device
#     does; a pool cannot be activated on an unreadable metadata device;
#     errors are rate-limited per pool: right after a flood of the first
#     pool's errors, a second pool's first error is still logged;
# and after each, every write acknowledged before or after the fault reads
# back, blocks never written keep the snapshot's data, and the snapshot is
# untouched.
# timeout: 900
# mem: 1024

load_cowtree
brd_load 2 256
META=$(mib_sectors 8)
DATA=$(mib_sectors 256)
SZ=$(mib_sectors 32)
REGIONS=16			# 1 MiB regions of the written area
dmsetup create meta --table "0 $META linear /dev/ram0 0" || die "meta"
dmsetup create data --table "0 $DATA linear /dev/ram1 0" || die "data"
dd if=/dev/zero of=/dev/mapper/meta bs=4k count=1 2>/dev/null

# fault DEV linear|error_writes|error: switch the table of DEV (meta,
# data, meta2).
fault() {
	local dev=$1 kind=$2 sz src
	case $dev in
	meta) sz=$META src="/dev/ram0 0" ;;
	data) sz=$DATA src="/dev/ram1 0" ;;
	meta2) sz=$META src="/dev/ram0 $META" ;;
	esac
	case $kind in
	linear) t="0 $sz linear $src" ;;
	error_writes) t="0 $sz flakey $src 0 3600 1 error_writes" ;;
	error) t="0 $sz error" ;;
	esac
	log "$dev: $kind"
	dmsetup reload $dev --table "$t" || die "reload $dev ($kind)"
	dmsetup resume $dev || die "resume $dev"
}

start_pool() {
	pool_create pool /dev/mapper/meta /dev/mapper/data $COW_CHUNK
	vol_activate pool 1 v1 $SZ
	vol_activate pool 2 snap $SZ
}

stop_pool() {
	vol_deactivate v1
	vol_deactivate snap
	pool_remove pool
}

# ---- writer: fsync'ed writes of every other 4 KiB block of a region ----
# /tmp/notes: "ack R G" (acknowledged), "fail R G" (returned an error).
G=100
writer() {
	local i=0 r g
	while [ ! -e /tmp/stop ]; do
		i=$((i + 1))
		r=$(( (i * 7) % REGIONS ))
		g=$((G + i))
		if cowpattern write /dev/mapper/v1 --tag 1 --gen $g --offset ${r}M \
				--length 1M --stride 2 --fsync --quiet 2>> /tmp/werr; then
			echo "ack $r $g" >> /tmp/notes
		else
			echo "fail $r $g" >> /tmp/notes
		fi
	done
}
start_writer() {
	rm -f /tmp/stop
	: > /tmp/werr
	writer &
	wpid=$!
}
stop_writer() {
	touch /tmp/stop
	wait $wpid || true
	G=$((G + 1000))
	log "writer: $(grep -c ack /tmp/notes) acknowledged, $(grep -c fail /tmp/notes) failed writes so far"
}
acks_since() { # acks_since N: acknowledged writes after line N of the notes
	tail -n +$(($1 + 1)) /tmp/notes | grep -c '^ack' || true
}

# verify_all: the snapshot is whole; in v1, the odd blocks of every region
# were never written (snapshot data through copies), the even blocks hold
# the last acknowledged generation unless a later write failed.
verify_all() {
	local r g
	pat_verify /dev/mapper/snap --tag 1 --gen 1 --length 16M
	awk -v n=$REGIONS 'BEGIN { for (r = 0; r < n; r++) s[r] = 1 }
		$1 == "ack" { s[$2] = $3 } $1 == "fail" { s[$2] = "?" }
		END { for (r = 0; r < n; r++) print r, s[r] }' /tmp/notes > /tmp/state
	while read -r r g; do
		pat_verify /dev/mapper/v1 --tag 1 --gen 1 --offset $((r * 1024 + 4))K \
			--length $((1024 - 4))K --stride 2
		[ "$g" = "?" ] && continue
		cowpattern verify /dev/mapper/v1 --tag 1 --gen $g --offset ${r}M --length 1M \
			--stride 2 --quiet || die "region $r lost acknowledged generation $g"
	done < /tmp/state
	log "verified: snapshot whole, $(grep -vc '?' /tmp/state) regions at their acknowledged generation"
}

mode_is() { [ "$(pool_mode pool)" = "$1" ]; }
mark() { dmesg -c > /dev/null; }

# ---- setup: volume 1 written, snapshot 2 shares every chunk ----
start_pool_fresh() {
	pool_create pool /dev/mapper/meta /dev/mapper/data $COW_CHUNK
	vol_create pool 1 v1 $SZ
	pat_write /dev/mapper/v1 --tag 1 --gen 1 --length 16M --fsync
	snapshot pool 2 1 snap
	vol_activate pool 2 snap $SZ
}
start_pool_fresh
: > /tmp/notes
start_writer
sleep 3
stop_writer
verify_all

# A new snapshot of v1 shares every chunk again: the writer's next writes
# allocate and copy (and change metadata) instead of overwriting in place.
reshare() {
	snapshot pool $1 1 s$1
}

# ---- 1. data device write errors ----
reshare 3
mark
start_writer
sleep 2
n0=$(wc -l < /tmp/notes)
fault data error_writes
sleep 4
n1=$(wc -l < /tmp/notes)
fault data linear
sleep 3
stop_writer
log "status: $(dmsetup status pool); kernel: $(dmesg | grep cowtree | sort | uniq -c | sort -rn | head -3)"
grep -q 'Input/output error' /tmp/werr || die "no write failed with EIO while the data device failed writes: $(head -3 /tmp/werr)"
tail -n +$((n0 + 1)) /tmp/notes | head -n $((n1 - n0)) | grep -q '^fail' ||
	die "no write failed during the data fault"
[ "$(acks_since $n1)" -gt 0 ] || die "no write succeeded after the data fault was removed"
mode_is rw || die "pool left rw on data write errors: $(dmsetup status pool)"
[ "$(pool_status_field pool 8)" = - ] || die "needs_check set on a data error"
verify_all

# ---- 2. data device read errors ----
reshare 5
mark
fault data error
log "check: a write needing a copy fails, the pool stays rw"
expect_fail cowpattern write /dev/mapper/v1 --tag 1 --gen 7 --offset 64K --length 4K --fsync --quiet
echo "fail 0 7" >> /tmp/notes
if cowpattern verify /dev/mapper/snap --tag 1 --gen 1 --length 1M --quiet > /tmp/rerr 2>&1; then
	die "reads of mapped chunks succeeded while the data device fails"
fi
grep -q 'read error: Input/output error' /tmp/rerr || die "not EIO: $(head -3 /tmp/rerr)"
pat_verify /dev/mapper/snap --expect-zero --offset 20M --length 1M
mode_is rw || die "pool left rw on data read errors: $(dmsetup status pool)"
fault data linear
verify_all
stop_pool
dmcowctl check /dev/mapper/meta || die "dmcowctl check after data errors"
start_pool
verify_all

# ---- 3. metadata write errors ----
reshare 4
mark
start_writer
sleep 2
fault meta error_writes
# The writer may by now only overwrite chunks it owns (no metadata change):
# a write to a never mapped area needs a mapping and a commit.
log "check: a write needing a new mapping fails"
expect_fail cowpattern write /dev/mapper/v1 --tag 1 --gen 8 --offset 24M --length 64K --fsync --quiet
i=0
while mode_is rw; do
	i=$((i + 1))
	if [ $i -gt 30 ]; then
		dmesg | tail -30
		cat /tmp/werr
		echo w > /proc/sysrq-trigger	# blocked tasks, for the post-mortem
		die "the pool stayed rw 30 s after metadata writes began to fail: $(dmsetup status pool)"
	fi
	sleep 1
done
mode=$(pool_mode pool)
log "after metadata write errors: $(dmsetup status pool)"
case $mode in
ro|fail) ;;
*) die "pool in $mode mode after metadata write errors" ;;
esac
dmesg | grep -q "cowtree: pool .*: metadata operation '.*' failed" ||
	die "no DMERR for the failed metadata operation"
dmesg | grep -q "switching from rw to \(ro\|fail\) mode" || die "no message for the mode switch"
sleep 2
stop_writer
grep -q 'Input/output error' /tmp/werr || die "no write failed with EIO in $mode mode"
if [ $mode = ro ]; then
	log "check: ro mode serves reads of committed data"
	verify_all
	expect_fail try_msg pool create 5 x
fi
fault meta linear
mode_is $mode || die "pool left $mode mode without a reload"
stop_pool
log "check: offline check after the fault; reactivation"
rc=0
dmcowctl check /dev/mapper/meta > /tmp/chk 2>&1 || rc=$?
cat /tmp/chk
[ $rc = 0 ] || die "dmcowctl check after metadata write errors: exit $rc"
pool_create pool /dev/mapper/meta /dev/mapper/data $COW_CHUNK
if [ "$(pool_status_field pool 8)" = needs_check ]; then
	mode_is ro || die "needs_check set but pool not ro: $(dmsetup status pool)"
	pool_remove pool
	dmcowctl check --clear-needs-check /dev/mapper/meta || die "clear needs_check"
	pool_create pool /dev/mapper/meta /dev/mapper/data $COW_CHUNK
fi
mode_is rw || die "pool not rw after the fault was removed: $(dmsetup status pool)"
vol_activate pool 1 v1 $SZ
vol_activate pool 2 snap $SZ
verify_all
n2=$(wc -l < /tmp/notes)
start_writer
sleep 2
stop_writer
[ "$(acks_since $n2)" -gt 0 ] || die "no write succeeded after recovery"
verify_all
stop_pool

# ---- 4. metadata read errors ----
# A second pool on the unused rest of ram0, its volume mapped in full (two
# levels of mapping tree) and reactivated, so its leaves are not cached.
dmsetup create meta2 --table "0 $META linear /dev/ram0 $META" || die "meta2"
dmsetup create data2 --table "0 $(mib_sectors 64) linear /dev/ram0 $((2 * META))" ||
	die "data2"
dd if=/dev/zero of=/dev/mapper/meta2 bs=4k count=1 2>/dev/null
pool_create pool2 /dev/mapper/meta2 /dev/mapper/data2 $COW_CHUNK
vol_create pool2 1 w2 $SZ
pat_write /dev/mapper/w2 --tag 2 --gen 1
vol_deactivate w2
pool_remove pool2
pool_create pool2 /dev/mapper/meta2 /dev/mapper/data2 $COW_CHUNK
vol_activate pool2 1 w2 $SZ

mark
fault meta error
expect_fail dmsetup create pool --table "$(pool_table /dev/mapper/meta /dev/mapper/data $COW_CHUNK)"
dmsetup remove pool 2>/dev/null || true
dmesg | grep -q 'cowtree-pool: Cannot read the metadata superblock' ||
	die "no clear error for an unreadable metadata device"
fault meta linear
# Fresh activation: the mapping trees are not cached yet.
start_pool
mark
fault meta error
if cowpattern verify /dev/mapper/v1 --tag 1 --gen 1 --offset 4K --length 16M --stride 2 \
		--quiet > /tmp/rerr 2>&1; then
	die "every lookup hit the cache? reads succeeded with the metadata device failing"
fi
grep -q 'read error: Input/output error' /tmp/rerr || die "not EIO: $(head -3 /tmp/rerr)"
# Messages name the pool device by its number, as dm-thin's do.
devno() { dmsetup info -c --noheadings -o major,minor $1 | tr -d ' '; }
dmesg | grep -q "cowtree: pool $(devno pool): volume 1: chunk lookup failed" ||
	die "no DMERR for the failed lookup"
# Flood: 40 reads of pool's volume within about a second, most failing
# (more than the 10 lines a limit allows in 5 s), then one read of
# pool2's volume must fail with its own message.  With one limit per call
# site (DMERR_LIMIT) pool2's line would be suppressed.
i=0 nfail=0
while [ $i -lt 40 ]; do
	dd if=/dev/mapper/v1 of=/dev/null bs=4k count=1 skip=$((i * 197 % 8192)) \
		iflag=direct 2>/dev/null || nfail=$((nfail + 1))
	i=$((i + 1))
done
[ $nfail -ge 20 ] || die "only $nfail of 40 reads of pool failed: no flood"
fault meta2 error
dd if=/dev/mapper/w2 of=/dev/null bs=4k count=1 skip=$((SZ / 8 - 1)) iflag=direct 2>/dev/null &&
	die "a read of pool2's last chunk succeeded with its metadata device failing"
dmesg | grep -q "cowtree: pool $(devno pool2): volume 1: chunk lookup failed" ||
	die "pool2's failed lookup was not logged after pool's flood of $nfail errors"
log "pool2's error logged right after $nfail errors of pool"
fault meta2 linear
vol_deactivate w2
pool_remove pool2
log "status with unreadable metadata: $(dmsetup status pool)"
fault meta linear
mode=$(pool_mode pool)
case $mode in
rw) ;;
ro) dmesg | grep -q "metadata operation" || die "ro without a DMERR" ;;
*) die "pool in $mode mode after metadata read errors" ;;
esac
verify_all
stop_pool
dmcowctl check /dev/mapper/meta || die "dmcowctl check after metadata read errors"
log "device-errors ok"
