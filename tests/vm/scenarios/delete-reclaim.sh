# Deleting a volume returns at once and reclaims its chunks in the
# background: the pool status shows reclaiming chunks, then 0, and the used
# data chunks drop by what the volume held exclusively; chunks it shared
# with a snapshot survive; I/O to other volumes keeps working meanwhile.
# needs: target
# timeout: 500

load_cowtree
brd_load 2 128
chunk=8			# 4 KiB chunks: many of them, so reclaim takes a while
pool_create pool /dev/ram0 /dev/ram1 $chunk
vol_create pool 1 keep $(mib_sectors 8)
pat_write /dev/mapper/keep --tag 1 --gen 1
vol_create pool 2 doomed $(mib_sectors 32)
pat_write /dev/mapper/doomed --tag 2 --gen 1
snapshot pool 3 2 snap
# the doomed volume overwrites its first 8 MiB: 2048 chunks of its own
pat_write /dev/mapper/doomed --tag 2 --gen 2 --length 8M
used=$(pool_used_data pool)
log "before delete: used $used data chunks: $(dmsetup status pool)"
[ "$(pool_reclaiming pool)" = 0 ] || die "reclaiming before any delete: $(dmsetup status pool)"

log "check: an open volume cannot be deleted"
expect_fail try_msg pool delete 2
vol_deactivate doomed

# I/O to another volume during reclaim must keep verifying.
rm -f /tmp/stop /tmp/io.fail
(
	g=2
	while [ ! -e /tmp/stop ]; do
		cowpattern write /dev/mapper/keep --tag 1 --gen $g --stride 7 --random-order $g --quiet &&
		cowpattern verify /dev/mapper/keep --tag 1 --gen $g --stride 7 --quiet ||
			{ echo $g > /tmp/io.fail; exit 1; }
		g=$((g + 1))
	done
	echo $g > /tmp/io.done
) &
io=$!

t0=$(uptime_cs)
msg pool delete 2
t1=$(uptime_cs)
r=$(pool_reclaiming pool)
log "delete returned after $((t1 - t0))0 ms; status right after: $(dmsetup status pool)"
# Reclaim may already be over on a fast machine: then the space is back.
if [ "$r" = 0 ] && [ "$(pool_used_data pool)" -ge "$used" ]; then
	die "nothing reclaiming right after delete, and no space back: $(dmsetup status pool)"
fi
expect_fail try_vol_activate pool 2 doomed2 $(mib_sectors 32)

log "waiting for reclaim to finish"
reclaim_done() {
	r=$(pool_reclaiming pool)
	log "  reclaiming $r, used $(pool_used_data pool)"
	[ "$r" = 0 ]
}
wait_until 300 "reclaim to finish" reclaim_done
touch /tmp/stop
wait $io || die "I/O during reclaim failed at gen $(cat /tmp/io.fail 2>/dev/null)"
log "I/O during reclaim: $(($(cat /tmp/io.done) - 2)) write+verify passes"

want=$((used - 2048))
log "check: used data chunks dropped by the doomed volume's 2048 exclusive chunks"
[ "$(pool_used_data pool)" = $want ] || die "want $want used data chunks: $(dmsetup status pool)"

log "check: the snapshot that shared the other chunks is intact"
vol_activate pool 3 snap $(mib_sectors 32)
pat_verify /dev/mapper/snap --tag 2 --gen 1
log "check: deleting the last sharer frees everything it held"
vol_deactivate snap
msg pool delete 3
wait_until 300 "reclaim of the snapshot" reclaim_done
[ "$(pool_used_data pool)" = $((want - 8192)) ] || die "want $((want - 8192)) used: $(dmsetup status pool)"
pat_verify /dev/mapper/keep --tag 1 --gen 1 --offset 4k --length 24k
log "delete-reclaim ok"
