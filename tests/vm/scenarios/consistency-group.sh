# One snapshot message covering two volumes (a consistency group) creates
# both snapshots from the same instant; a group naming an unknown origin
# fails as a whole and creates neither snapshot.
# needs: target
# timeout: 300

load_cowtree
brd_load 2 128
pool_create pool /dev/ram0 /dev/ram1 $COW_CHUNK
sz=$(mib_sectors 16)
vol_create pool 1 v1 $sz
vol_create pool 2 v2 $sz
pat_write /dev/mapper/v1 --tag 1 --gen 1 --record /tmp/v1.map
pat_write /dev/mapper/v2 --tag 2 --gen 1 --record /tmp/v2.map

# A writer stamps block 0 of v1, then of v2, with an increasing generation:
# at any instant v1's generation equals v2's or is one ahead.
rm -f /tmp/stop
(
	g=2
	while [ ! -e /tmp/stop ]; do
		cowpattern write /dev/mapper/v1 --tag 1 --gen $g --length 4k --quiet || exit 1
		cowpattern write /dev/mapper/v2 --tag 2 --gen $g --length 4k --quiet || exit 1
		g=$((g + 1))
	done
) &
writer=$!
sleep 2

log "snapshot v1 and v2 in one message while the writer runs"
snapshot pool 11 1 s1 12 2 s2
sleep 1
touch /tmp/stop
wait $writer || die "writer failed"

vol_activate pool 11 s1 $sz
vol_activate pool 12 s2 $sz
g1=$(cowpattern describe /dev/mapper/s1 --offset 0 | sed -n 's/^block 0: tag 1 gen \([0-9]*\)$/\1/p')
g2=$(cowpattern describe /dev/mapper/s2 --offset 0 | sed -n 's/^block 0: tag 2 gen \([0-9]*\)$/\1/p')
log "snapshot block 0: s1 gen '$g1', s2 gen '$g2'"
[ -n "$g1" ] && [ -n "$g2" ] || die "snapshot block 0 unreadable: $(cowpattern describe /dev/mapper/s1 --offset 0) / $(cowpattern describe /dev/mapper/s2 --offset 0)"
[ $g1 -eq $g2 ] || [ $g1 -eq $((g2 + 1)) ] || die "snapshots not from one instant: s1 gen $g1, s2 gen $g2"

log "check: the rest of both snapshots holds gen 1"
pat_verify /dev/mapper/s1 --tag 1 --gen 1 --offset 4k
pat_verify /dev/mapper/s2 --tag 2 --gen 1 --offset 4k

log "check: group snapshot with the origins written afterwards"
pat_write /dev/mapper/v1 --tag 1 --gen 50 --offset 1M --length 1M
pat_write /dev/mapper/v2 --tag 2 --gen 50 --offset 2M --length 1M
pat_verify /dev/mapper/s1 --tag 1 --gen 1 --offset 4k
pat_verify /dev/mapper/s2 --tag 2 --gen 1 --offset 4k

log "check: a group with an unknown origin fails and creates neither snapshot"
before=$(all_status)
expect_fail try_snapshot pool 21 1 bad1 22 999 bad2
expect_fail try_snapshot pool 23 999 bad3 24 2 bad4
[ "$(all_status)" = "$before" ] || die "failed group changed the status"
for id in 21 22 23 24; do
	expect_fail try_vol_activate pool $id probe$id $sz
done
[ ! -e /dev/mapper/probe21 ] || die "probe device left behind"

log "check: a group reusing one new id fails and creates nothing"
expect_fail try_snapshot pool 31 1 dup1 31 2 dup2
expect_fail try_vol_activate pool 31 probe31 $sz
log "check: the ids of the failed groups are still free"
snapshot pool 21 1 s21 22 2 s22
vol_activate pool 21 s21 $sz
vol_activate pool 22 s22 $sz
pat_verify /dev/mapper/s21 --tag 1 --gen 50 --offset 1M --length 1M
pat_verify /dev/mapper/s22 --tag 2 --gen 50 --offset 2M --length 1M
log "consistency-group ok"
