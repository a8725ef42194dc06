# dmcowctl monitor follows the pool's dm events: crossing the low water
# mark wakes it, it prints the pool status and, past the threshold with a
# data device that is not an LVM LV, warns instead of extending.
# needs: target
# timeout: 300

load_cowtree
brd_load 2 256
# Low water at 250 MiB of a 256 MiB pool: the first writes cross it.
dmcowctl pool create pool /dev/ram0 /dev/ram1 --low-water 250M || die "pool create"
dmcowctl create pool/v 64M || die "create"
dmcowctl monitor pool --once --threshold 1 > /tmp/mon.out 2> /tmp/mon.err &
mon=$!
sleep 2
kill -0 $mon 2>/dev/null || die "monitor exited before any event: $(cat /tmp/mon.out /tmp/mon.err)"
dd if=/dev/urandom of=/dev/mapper/pool-v bs=1M count=16 conv=fsync 2>/dev/null
i=0
while kill -0 $mon 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 30 ] || die "monitor saw no event in 30 s"
	sleep 1
done
wait $mon || die "monitor failed: $(cat /tmp/mon.err)"
cat /tmp/mon.out /tmp/mon.err
grep -q "^--- event" /tmp/mon.out || die "monitor printed no event line"
grep -q "mode: *rw" /tmp/mon.out || die "monitor printed no status"
grep -q "not an LVM logical volume" /tmp/mon.err || die "monitor did not warn about the full non-LVM pool"
log "dmcowctl-monitor ok"
