# A crash with views mounted (ext4 and xfs, one of them --rw and written)
# leaves no hidden volume: the next 'pool activate' deletes the throwaway
# snapshots (kernel message), the snapshots and origins are intact, views
# can be mounted again, and the metadata checks clean without leaks.
# needs: target
# timeout: 900
# disks: 64M 1G
# boots: 2
# mem: 1536

. /etc/fs-lib.sh
load_cowtree
meta=/dev/vda data=/dev/vdb
mkdir -p /mnt/ext4 /mnt/xfs /mnt/v-ext4 /mnt/v-xfs

if [ "$COW_BOOT" = 1 ]; then
	run_ok /tmp/o dmcowctl pool create p $meta $data
	for fs in ext4 xfs; do
		fs_volume p $fs $fs 320M /mnt/$fs
		mkdir /mnt/$fs/d
		dd if=/dev/urandom of=/mnt/$fs/d/f bs=64k count=8 2>/dev/null
		sync
		run_ok /tmp/o dmcowctl snapshot p/$fs $fs-s
		md5sum < /mnt/$fs/d/f > /mnt/$fs/sum
		sync
	done
	run_ok /tmp/o dmcowctl mount p/ext4-s /mnt/v-ext4
	run_ok /tmp/o dmcowctl mount p/xfs-s /mnt/v-xfs --rw
	dd if=/dev/urandom of=/mnt/v-xfs/d/f bs=64k count=2 conv=notrunc,fsync 2>/dev/null
	[ $(nr_volumes p) = 6 ] || die "expected 2 origins, 2 snapshots, 2 views: $(dmcowctl list p --all)"
	log "power cut with two views mounted"
	power_cut
	sleep 60
	die "still running after power_cut"
fi

log "boot 2: activation deletes the views' throwaway snapshots"
run_ok /tmp/o dmcowctl pool activate p $meta $data
dmesg | grep -q "deleted 2 throwaway volume(s) left by a crash" ||
	die "no message about the deleted views: $(dmesg | grep cowtree | tail -3)"
[ $(nr_volumes p) = 4 ] || die "hidden volumes survived: $(dmcowctl list p --all -o name,flags)"
! dmcowctl list p --all -o name | grep -q '\.view-' || die "a view survived"
for fs in ext4 xfs; do
	run_ok /tmp/o dmcowctl activate p/$fs
	mount -t $fs /dev/mapper/p-$fs /mnt/$fs || die "mount $fs"
	run_ok /tmp/o dmcowctl mount p/$fs-s /mnt/v-$fs
	[ "$(md5sum < /mnt/v-$fs/d/f)" = "$(cat /mnt/$fs/sum)" ] ||
		die "$fs: the snapshot's file changed (the --rw view wrote into it?)"
	run_ok /tmp/o dmcowctl umount /mnt/v-$fs
	umount /mnt/$fs
	run_ok /tmp/o dmcowctl deactivate p/$fs
done
[ $(nr_volumes p) = 4 ] || die "views left: $(dmcowctl list p --all -o name,flags)"
wait_reclaimed p
run_ok /tmp/o dmcowctl pool deactivate p
dmcowctl check --strict-leaks $meta > /tmp/c 2>&1 || { cat /tmp/c; die "offline check"; }
cat /tmp/c
log "fs-views-crash ok"
