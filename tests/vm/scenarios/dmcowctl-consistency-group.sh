# dmcowctl snapshot of several volumes is one consistency group: one call
# names the snapshots NAME@SNAP, and they come from the same instant (a
# writer stamping v1 then v2 with increasing generations never shows v1
# behind v2, nor more than one generation ahead), also with filesystems
# mounted on the volumes.
# needs: target
# timeout: 300

load_cowtree
brd_load 2 256
dmcowctl pool create pool /dev/ram0 /dev/ram1 || die "pool create failed"
dmcowctl create pool/v1 16M || die "create v1"
dmcowctl create pool/v2 16M || die "create v2"
pat_write /dev/mapper/pool-v1 --tag 1 --gen 1
pat_write /dev/mapper/pool-v2 --tag 2 --gen 1

rm -f /tmp/stop
(
	g=2
	while [ ! -e /tmp/stop ]; do
		cowpattern write /dev/mapper/pool-v1 --tag 1 --gen $g --length 4k --quiet || exit 1
		cowpattern write /dev/mapper/pool-v2 --tag 2 --gen $g --length 4k --quiet || exit 1
		g=$((g + 1))
	done
) &
writer=$!
sleep 2
log "snapshot v1 and v2 in one call while the writer runs"
dmcowctl snapshot pool/v1,pool/v2 cg > /tmp/o || { cat /tmp/o; die "group snapshot failed"; }
cat /tmp/o
sleep 1
touch /tmp/stop
wait $writer || die "writer failed"
grep -q "snapshot pool/v1@cg of pool/v1" /tmp/o || die "no v1@cg in the output"
grep -q "snapshot pool/v2@cg of pool/v2" /tmp/o || die "no v2@cg in the output"
grep -q "suspended for" /tmp/o || die "no suspend time in the output"

dmcowctl list pool > /tmp/l
cat /tmp/l
grep -q '`-v1@cg .* v1 ' /tmp/l || die "v1@cg not listed under v1"
grep -q '`-v2@cg .* v2 ' /tmp/l || die "v2@cg not listed under v2"

dmcowctl activate pool/v1@cg || die "activate v1@cg"
dmcowctl activate pool/v2@cg || die "activate v2@cg"
g1=$(cowpattern describe /dev/mapper/pool-v1@cg --offset 0 | sed -n 's/^block 0: tag 1 gen \([0-9]*\)$/\1/p')
g2=$(cowpattern describe /dev/mapper/pool-v2@cg --offset 0 | sed -n 's/^block 0: tag 2 gen \([0-9]*\)$/\1/p')
log "snapshot block 0: v1@cg gen '$g1', v2@cg gen '$g2'"
[ -n "$g1" ] && [ -n "$g2" ] || die "snapshot block 0 unreadable"
[ $g1 -eq $g2 ] || [ $g1 -eq $((g2 + 1)) ] || die "snapshots not from one instant: gen $g1 / $g2"
pat_verify /dev/mapper/pool-v1@cg --tag 1 --gen 1 --offset 4k
pat_verify /dev/mapper/pool-v2@cg --tag 2 --gen 1 --offset 4k

log "rollback finds a group snapshot by its SNAP part"
dmcowctl deactivate pool/v1 || die "deactivate v1"
dmcowctl rollback pool/v1 cg || die "rollback v1 to cg"
dmcowctl activate pool/v1 || die "activate v1"
g1r=$(cowpattern describe /dev/mapper/pool-v1 --offset 0 | sed -n 's/^block 0: tag 1 gen \([0-9]*\)$/\1/p')
[ "$g1r" = "$g1" ] || die "rollback to v1@cg: gen '$g1r', want $g1"

log "group snapshot of two mounted filesystems"
mkfs.ext4 -q /dev/mapper/pool-v1
mkfs.ext4 -q /dev/mapper/pool-v2
mkdir -p /mnt/v1 /mnt/v2 /mnt/s1 /mnt/s2
mount /dev/mapper/pool-v1 /mnt/v1
mount /dev/mapper/pool-v2 /mnt/v2
echo one > /mnt/v1/f
echo two > /mnt/v2/f
dmcowctl snapshot pool/v1,pool/v2 fs || die "group snapshot of mounted volumes failed"
echo changed > /mnt/v1/f
echo changed > /mnt/v2/f
dmcowctl activate pool/v1@fs || die "activate v1@fs"
dmcowctl activate pool/v2@fs || die "activate v2@fs"
mount -o ro /dev/mapper/pool-v1@fs /mnt/s1
mount -o ro /dev/mapper/pool-v2@fs /mnt/s2
[ "$(cat /mnt/s1/f)" = one ] || die "v1@fs has '$(cat /mnt/s1/f)'"
[ "$(cat /mnt/s2/f)" = two ] || die "v2@fs has '$(cat /mnt/s2/f)'"
umount /mnt/s1 /mnt/s2 /mnt/v1 /mnt/v2
log "dmcowctl-consistency-group ok"
