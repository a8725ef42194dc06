# dmcowctl monitor with an LVM data device: the pool's metadata and data
# devices are LVs of a volume group on a virtio disk.  While a writer
# fills a volume in steps, the monitor sees the pool pass its threshold,
# runs lvextend and 'pool extend': the LV and the pool's data chunks grow
# several times and every write succeeds (the pool errors instead of
# queueing when full, so a missed extension shows up as EIO/ENOSPC).
# needs: target
# timeout: 600
# disks: 1G

load_cowtree

out() {
	local f=$1
	shift
	"$@" > $f 2>&1 || { cat $f; die "'$*' failed"; }
	cat $f
}

lv_sectors() { blockdev --getsz /dev/mapper/vg-data; }
used_pct() { echo $(($(pool_used_data pool) * 100 / $(pool_total_data pool))); }

log "volume group on /dev/vda: metadata and data LVs"
out /tmp/o pvcreate -y /dev/vda
out /tmp/o vgcreate vg /dev/vda
out /tmp/o lvcreate -y -L 8M -n meta vg
out /tmp/o lvcreate -y -L 64M -n data vg
[ -b /dev/mapper/vg-data ] || die "no /dev/mapper/vg-data after lvcreate"
dmsetup info -c --noheadings -o uuid vg-data | grep -q '^LVM-' ||
	die "vg-data has no LVM- uuid: $(dmsetup info -c --noheadings -o uuid vg-data)"

# 64 MiB of 64 KiB chunks = 1024; low water 16 MiB: the kernel's event
# comes at 75% used, the monitor's threshold is 60%, which it checks every
# 2 s (--interval; 10 s by default would make each extension wait).
out /tmp/o dmcowctl pool create pool /dev/mapper/vg-meta /dev/mapper/vg-data \
	--low-water 16M --error-if-no-space
total0=$(pool_total_data pool)
[ "$total0" = 1024 ] || die "pool has $total0 data chunks, expected 1024"
out /tmp/o dmcowctl create pool/v 256M

dmcowctl monitor pool --threshold 60 --extend-by 32M --interval 2 > /tmp/mon.out 2> /tmp/mon.err &
mon=$!
sleep 2
kill -0 $mon 2>/dev/null || die "monitor exited: $(cat /tmp/mon.out /tmp/mon.err)"

# 24 steps of 8 MiB (192 MiB, three times the first data LV).  After each
# step, past the threshold, give the monitor up to 60 s to grow the pool
# below it again.
log "write 192 MiB in 8 MiB steps"
step=0
while [ $step -lt 24 ]; do
	cowpattern write /dev/mapper/pool-v --tag 7 --gen 1 --offset $((step * 8))M \
		--length 8M --fsync --quiet ||
		die "write step $step failed (pool $(dmsetup status pool)); monitor: $(cat /tmp/mon.out /tmp/mon.err)"
	kill -0 $mon 2>/dev/null || die "monitor died at step $step: $(cat /tmp/mon.out /tmp/mon.err)"
	if [ $(used_pct) -ge 60 ]; then
		i=0
		while [ $(used_pct) -ge 60 ]; do
			i=$((i + 1))
			[ $i -le 60 ] || die "step $step: pool $(used_pct)% used for 60 s, not extended ($(dmsetup status pool)); monitor: $(cat /tmp/mon.out /tmp/mon.err)"
			sleep 1
		done
	fi
	step=$((step + 1))
done
log "all writes done: pool $(dmsetup status pool)"

kill $mon
wait $mon || true
cat /tmp/mon.out /tmp/mon.err
ext=$(grep -c "^monitor: pool pool extended" /tmp/mon.out || true)
[ "$ext" -ge 3 ] || die "monitor extended the pool $ext times, expected at least 3"
grep -q "^monitor: running lvextend -L+65536s /dev/mapper/vg-data" /tmp/mon.out ||
	die "monitor did not run lvextend -L+65536s on vg-data"
[ ! -s /tmp/mon.err ] || die "monitor or lvextend complained: $(cat /tmp/mon.err)"

total=$(pool_total_data pool)
sz=$(lv_sectors)
log "data LV $sz sectors, pool $total chunks (was $total0)"
[ "$total" -gt "$total0" ] || die "pool did not grow"
[ $((total * 128)) = "$sz" ] || die "pool has $total chunks but the LV has $sz sectors"
[ "$sz" = $(((64 + ext * 32) * 2048)) ] || die "LV is $sz sectors after $ext extensions of 32 MiB"
lvs --noheadings --units s -o lv_size vg/data | grep -q "${sz}S" ||
	die "lvs disagrees: $(lvs --noheadings --units s -o lv_size vg/data)"
[ "$(pool_mode pool)" = rw ] || die "pool mode $(pool_mode pool)"

log "verify what was written, check the pool"
pat_verify /dev/mapper/pool-v --tag 7 --gen 1 --length 192M
out /tmp/o dmcowctl check --live pool
out /tmp/o dmcowctl deactivate pool/v
out /tmp/o dmcowctl pool deactivate pool
out /tmp/o dmcowctl check /dev/mapper/vg-meta
log "dmcowctl-monitor-lvm ok"
