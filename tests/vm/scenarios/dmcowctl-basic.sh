# dmcowctl end to end: pool create, volume create, ext4 on it, a snapshot
# taken while it is mounted, list (tree and JSON), activating the snapshot
# and reading the old data, delete, rollback, rename, resize, pool
# deactivate/activate.
# needs: target
# timeout: 300

load_cowtree
brd_load 2 256

# out FILE CMD...: run a dmcowctl command, keep its output, die on failure.
out() {
	local f=$1
	shift
	"$@" > $f 2>&1 || { cat $f; die "'$*' failed"; }
	cat $f
}

log "pool create"
out /tmp/o dmcowctl pool create pool /dev/ram0 /dev/ram1
[ -b /dev/mapper/pool ] || die "no /dev/mapper/pool"
dmsetup table pool | grep -q "cowtree-pool .* 128 " || die "pool table: $(dmsetup table pool)"
out /tmp/st dmcowctl pool status pool
grep -q "mode: *rw" /tmp/st || die "pool status has no rw mode"
out /tmp/sj dmcowctl pool status pool --json
for k in '"transaction_id"' '"used_chunks"' '"total_chunks"' '"mode": "rw"' '"needs_check": false'; do
	grep -q "$k" /tmp/sj || die "pool status --json lacks $k"
done

log "create a volume, ext4, mount, write"
out /tmp/o dmcowctl create pool/root 64M
[ -b /dev/mapper/pool-root ] || die "no /dev/mapper/pool-root"
[ "$(blockdev --getsz /dev/mapper/pool-root)" = 131072 ] || die "pool-root has the wrong size"
expect_fail dmcowctl create pool/root 64M
mkfs.ext4 -q /dev/mapper/pool-root
mkdir -p /mnt/root /mnt/snap
mount /dev/mapper/pool-root /mnt/root
dd if=/dev/urandom of=/mnt/root/a bs=1k count=2048 2>/dev/null
echo monday > /mnt/root/day
sync
sum_monday=$(md5sum < /mnt/root/a)

log "snapshot while mounted"
out /tmp/o dmcowctl snapshot pool/root monday
grep -q "snapshot pool/monday of pool/root" /tmp/o || die "snapshot did not print its name"
grep -q "suspended for [0-9.]* ms" /tmp/o || die "snapshot did not print the suspend time"
dmsetup info pool-root | grep -q "State: *ACTIVE" || die "pool-root left suspended"
dd if=/dev/urandom of=/mnt/root/a bs=1k count=2048 conv=notrunc 2>/dev/null
echo tuesday > /mnt/root/day
sync

log "list shows the tree"
out /tmp/l dmcowctl list pool
grep -q "^pool " /tmp/l || die "list has no pool row"
grep -q "root .*/mnt/root" /tmp/l || die "list does not show root mounted"
grep -q '`-monday .* root ' /tmp/l || die "list does not show monday under root"
out /tmp/l2 dmcowctl list
grep -q "monday" /tmp/l2 || die "list without a pool misses monday"
out /tmp/lo dmcowctl list pool -o name,origin
[ "$(head -1 /tmp/lo | tr -s ' ')" = "NAME ORIGIN" ] || die "list -o: wrong heading"
out /tmp/lj dmcowctl list pool --json
for k in '"pools"' '"name": "pool"' '"name": "root"' '"name": "monday"' '"origin": "root"' \
	 '"mounted": "/mnt/root"' '"active": "/dev/mapper/pool-root"' '"size_bytes": 67108864'; do
	grep -q "$k" /tmp/lj || die "list --json lacks $k"
done

log "activate the snapshot and read the old data"
out /tmp/o dmcowctl activate pool/monday
[ -b /dev/mapper/pool-monday ] || die "no /dev/mapper/pool-monday"
mount -o ro /dev/mapper/pool-monday /mnt/snap
[ "$(cat /mnt/snap/day)" = monday ] || die "snapshot has '$(cat /mnt/snap/day)'"
[ "$(md5sum < /mnt/snap/a)" = "$sum_monday" ] || die "snapshot file checksum differs"
[ "$(cat /mnt/root/day)" = tuesday ] || die "origin lost its new data"
expect_fail dmcowctl delete pool/monday --force
umount /mnt/snap

log "delete the snapshot"
expect_fail dmcowctl delete pool/monday
out /tmp/o dmcowctl delete pool/monday --force
[ ! -e /dev/mapper/pool-monday ] || die "pool-monday still there"
dmcowctl list pool > /tmp/l
! grep -q monday /tmp/l || die "monday still listed after delete"

log "rollback"
out /tmp/o dmcowctl snapshot pool/root tuesday
echo wednesday > /mnt/root/day
sync
expect_fail dmcowctl rollback pool/root tuesday
umount /mnt/root
out /tmp/o dmcowctl deactivate pool/root
[ ! -e /dev/mapper/pool-root ] || die "pool-root still there after deactivate"
out /tmp/o dmcowctl rollback pool/root tuesday
out /tmp/o dmcowctl activate pool/root
mount /dev/mapper/pool-root /mnt/root
[ "$(cat /mnt/root/day)" = tuesday ] || die "rollback: day is '$(cat /mnt/root/day)'"
umount /mnt/root
expect_fail dmcowctl rollback pool/root nosuchsnap

log "rename"
out /tmp/o dmcowctl rename pool/root main
[ -b /dev/mapper/pool-main ] || die "no /dev/mapper/pool-main after rename"
[ ! -e /dev/mapper/pool-root ] || die "pool-root still there after rename"
dmcowctl list pool | grep -q "^|-main\|^\`-main" || die "list does not show main"
expect_fail dmcowctl rename pool/main tuesday

log "resize"
out /tmp/o dmcowctl resize pool/main 128M
[ "$(blockdev --getsz /dev/mapper/pool-main)" = 262144 ] || die "resize did not grow the device"
expect_fail dmcowctl resize pool/main 64M
dmcowctl list pool --json | grep -q '"size_bytes": 134217728' || die "resize not recorded"
e2fsck -fn /dev/mapper/pool-main > /dev/null || die "ext4 damaged after resize"

log "pool deactivate / activate"
expect_fail dmcowctl pool deactivate pool
out /tmp/o dmcowctl pool deactivate pool --force
[ ! -e /dev/mapper/pool ] || die "pool still there"
[ ! -e /dev/mapper/pool-main ] || die "pool-main still there"
expect_fail dmcowctl pool create pool2 /dev/ram0 /dev/ram1
out /tmp/o dmcowctl pool activate pool /dev/ram0 /dev/ram1
out /tmp/o dmcowctl activate pool/main
mount /dev/mapper/pool-main /mnt/root
[ "$(cat /mnt/root/day)" = tuesday ] || die "data lost across pool deactivate"
umount /mnt/root
dmcowctl list pool | grep -q tuesday || die "tuesday lost across pool deactivate"
log "dmcowctl-basic ok"
