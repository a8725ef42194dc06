# dmcowctl send | dmcowctl receive between pools on different devices.
# For ext4 and for xfs: a full stream of a snapshot, then two incrementals,
# through a pipe; each received volume has the sender's checksum, fscks
# clean and mounts with the sender's files.  A raw volume with a discarded
# range: the incremental stream carries the changed chunks (bytes counted:
# data = changed chunks x chunk size, overhead under 1%) and the discarded
# range as a hole, which the receiving pool does not map (mapped counts
# and pool usage prove it); --dry-run announces the stream's size exactly
# without reading data.  An active, mounted, writable volume is sent
# through a temporary snapshot that is gone afterwards.  A chain a -> b ->
# c (a received volume sent on, incrementals from b or from a), and an
# incremental from b back to a.  A pool with other chunks refuses clearly.
# The data sent is the snapshot's as the send's held metadata root maps it
# (read from the pool's data device): not the origin's, rewritten after
# the snapshot; and a volume deleted in the middle of its send, its chunks
# then written again if they were free, still arrives whole.
# needs: target
# timeout: 900
# mem: 1536

load_cowtree
brd_load 10 200
# xfsprogs refuses file systems under 300 MB unless it believes it runs
# under fstests.
export QA_CHECK_FS=1 TEST_DIR=/tmp TEST_DEV=/dev/null

out() {
	local f=$1
	shift
	"$@" > $f 2>&1 || { cat $f; die "'$*' failed"; }
	cat $f
}

md5() { md5sum < "$1" | cut -d' ' -f1; }

# jnum FILE KEY: a number from a JSON report.
jnum() { tr -d ' \n' < $1 | grep -o "\"$2\":[0-9.]*" | head -1 | cut -d: -f2; }

# vol_num POOL NAME KEY: a number of a volume from 'list --all --json'.
vol_num() {
	dmcowctl list $1 --all --json | tr -d ' \n' |
		grep -o "{\"name\":\"$2\",[^}]*" | grep -o "\"$3\":[0-9]*" | cut -d: -f2
}

# xfer SRC DST [SEND-ARGS...]: send | receive through a pipe.
xfer() {
	local src=$1 dst=$2
	shift 2
	log "send $src $* | receive $dst"
	dmcowctl send $src "$@" 2> /tmp/send.err | dmcowctl receive $dst > /tmp/recv.out 2>&1 ||
		{ cat /tmp/send.err /tmp/recv.out; die "send $src $* | receive $dst failed"; }
	cat /tmp/send.err /tmp/recv.out
}

# same A B: two volumes (POOL/NAME) have the same contents and mapped count.
same() {
	local da=$(echo $1 | tr / -) db=$(echo $2 | tr / -)
	dmcowctl activate $1 > /dev/null || die "activate $1"
	dmcowctl activate $2 > /dev/null || die "activate $2"
	[ "$(md5 /dev/mapper/$da)" = "$(md5 /dev/mapper/$db)" ] || die "$2 differs from $1"
	[ "$(vol_num ${1%/*} ${1#*/} mapped_chunks)" = "$(vol_num ${2%/*} ${2#*/} mapped_chunks)" ] ||
		die "$2 maps $(vol_num ${2%/*} ${2#*/} mapped_chunks) chunks, $1 $(vol_num ${1%/*} ${1#*/} mapped_chunks)"
	dmcowctl deactivate $1 > /dev/null || die "deactivate $1"
	dmcowctl deactivate $2 > /dev/null || die "deactivate $2"
}

out /tmp/o dmcowctl pool create a /dev/ram0 /dev/ram1
out /tmp/o dmcowctl pool create b /dev/ram2 /dev/ram3
out /tmp/o dmcowctl pool create c /dev/ram4 /dev/ram5
out /tmp/o dmcowctl pool create w /dev/ram6 /dev/ram7 --chunk-size 128k

#------------------------------------------------------------------
log "holes and stream size: a raw volume, 16 MiB written, 2 MiB discarded"
out /tmp/o dmcowctl create a/raw 64M
dd if=/dev/urandom of=/dev/mapper/a-raw bs=1M count=16 seek=8 2>/dev/null
sync
out /tmp/o dmcowctl snapshot a/raw r1
out /tmp/dry dmcowctl send a/r1 --dry-run --json
dmcowctl send a/r1 -o /tmp/r1.stream --json > /tmp/r1.json || die "send a/r1 -o"
cat /tmp/r1.json
[ "$(jnum /tmp/dry bytes)" = "$(wc -c < /tmp/r1.stream)" ] ||
	die "--dry-run said $(jnum /tmp/dry bytes) bytes, the stream has $(wc -c < /tmp/r1.stream)"
[ "$(jnum /tmp/r1.json chunks)" = 256 ] || die "full stream: $(jnum /tmp/r1.json chunks) data chunks, expected 256"
[ "$(jnum /tmp/r1.json holes)" = 768 ] || die "full stream: $(jnum /tmp/r1.json holes) hole chunks, expected 768"
used0=$(pool_used_data b)
out /tmp/o dmcowctl receive b/r1 -i /tmp/r1.stream --json
[ $(($(pool_used_data b) - used0)) = 256 ] ||
	die "b allocated $(($(pool_used_data b) - used0)) chunks for a 256-chunk volume: holes were written"
same a/r1 b/r1

# 32 new chunks written, 2 MiB (32 chunks) discarded, 16 chunks rewritten.
dd if=/dev/urandom of=/dev/mapper/a-raw bs=1M count=2 seek=40 2>/dev/null
dd if=/dev/urandom of=/dev/mapper/a-raw bs=64k count=16 seek=300 conv=notrunc 2>/dev/null
sync
blkdiscard -o $((12 << 20)) -l $((2 << 20)) /dev/mapper/a-raw || die "blkdiscard a-raw"
out /tmp/o dmcowctl snapshot a/raw r2
out /tmp/dry dmcowctl send a/r2 --from a/r1 --dry-run --json
dmcowctl send a/r2 --from a/r1 -o /tmp/r2.stream --json > /tmp/r2.json || die "send a/r2 --from a/r1"
cat /tmp/r2.json
bytes=$(wc -c < /tmp/r2.stream)
[ "$(jnum /tmp/dry bytes)" = $bytes ] || die "--dry-run said $(jnum /tmp/dry bytes) bytes, the stream has $bytes"
[ "$(jnum /tmp/r2.json chunks)" = 48 ] || die "incremental: $(jnum /tmp/r2.json chunks) data chunks, expected 48 changed"
[ "$(jnum /tmp/r2.json holes)" = 32 ] || die "incremental: $(jnum /tmp/r2.json holes) hole chunks, expected 32 discarded"
[ "$(jnum /tmp/r2.json data_bytes)" = $((48 * 65536)) ] || die "incremental carries $(jnum /tmp/r2.json data_bytes) data bytes"
[ $bytes -lt $((48 * 65536 * 101 / 100)) ] || die "incremental stream of $bytes bytes for 48 changed chunks"
log "incremental stream: $bytes bytes for 48 changed chunks of 64 KiB ($((48 * 65536)) bytes)"
used0=$(pool_used_data b)
out /tmp/o dmcowctl receive b/r2 -i /tmp/r2.stream
[ $(($(pool_used_data b) - used0)) = 48 ] ||
	die "b allocated $(($(pool_used_data b) - used0)) chunks for 48 changed chunks: unchanged chunks are not shared"
[ "$(vol_num b r2 mapped_chunks)" = $((256 + 32 - 32)) ] ||
	die "b/r2 maps $(vol_num b r2 mapped_chunks) chunks, expected 256: the hole is mapped"
same a/r2 b/r2
same a/r1 b/r1

#------------------------------------------------------------------
# fs_round FS: full + two incrementals of a file system, a -> b.
fs_round() {
	local fs=$1 mkfs fsck ro i
	case $fs in
	ext4) mkfs="mkfs.ext4 -q -E nodiscard"; fsck="e2fsck -fn"; ro="ro" ;;
	xfs) mkfs="mkfs.xfs -q -f -K"; fsck="xfs_repair -n"; ro="ro,nouuid" ;;
	esac
	log "$fs: a/$fs, files, three snapshots sent to b (full, incremental, incremental)"
	out /tmp/o dmcowctl create a/$fs 256M
	$mkfs /dev/mapper/a-$fs > /tmp/mkfs 2>&1 || { cat /tmp/mkfs; die "mkfs $fs"; }
	mkdir -p /mnt/a /mnt/b
	for i in 1 2 3; do
		mount -t $fs /dev/mapper/a-$fs /mnt/a || die "mount a/$fs"
		dd if=/dev/urandom of=/mnt/a/f$i bs=1M count=$((10 / i)) 2>/dev/null
		[ $i -lt 2 ] || dd if=/dev/urandom of=/mnt/a/f1 bs=64k count=5 seek=$((i * 7)) conv=notrunc 2>/dev/null
		[ $i != 3 ] || rm /mnt/a/f2
		(cd /mnt/a && md5sum f*) > /tmp/$fs.$i.sums
		umount /mnt/a
		out /tmp/o dmcowctl snapshot a/$fs ${fs}$i
		if [ $i = 1 ]; then
			xfer a/${fs}1 b/${fs}1
		else
			xfer a/$fs$i b/$fs$i --from a/$fs$((i - 1))
		fi
	done
	for i in 1 2 3; do
		same a/$fs$i b/$fs$i
		out /tmp/o dmcowctl activate b/$fs$i
		$fsck /dev/mapper/b-$fs$i > /tmp/fsck 2>&1 || { cat /tmp/fsck; die "$fsck b/$fs$i"; }
		mount -t $fs -o $ro /dev/mapper/b-$fs$i /mnt/b || die "mount b/$fs$i"
		(cd /mnt/b && md5sum -c -s /tmp/$fs.$i.sums) || die "files of b/$fs$i differ"
		umount /mnt/b
		out /tmp/o dmcowctl deactivate b/$fs$i
	done
	log "$fs: b/${fs}1..3 equal a's, fsck clean, files verified"
}

fs_round ext4
fs_round xfs

#------------------------------------------------------------------
log "an active writable volume is sent through a temporary snapshot"
mount /dev/mapper/a-ext4 /mnt/a || die "mount a/ext4"
echo live > /mnt/a/live
sync
dmcowctl send a/ext4 --json 2> /tmp/live.json | dmcowctl receive b/live > /tmp/o 2>&1 ||
	{ cat /tmp/live.json /tmp/o; die "send of a mounted volume"; }
cat /tmp/live.json
grep -q '"temporary_snapshot": true' /tmp/live.json ||
	die "the send of an active volume used no temporary snapshot"
umount /mnt/a
dmcowctl list a --all > /tmp/l
grep -q "\.send-" /tmp/l && { cat /tmp/l; die "the temporary snapshot was left behind"; }
out /tmp/o dmcowctl activate b/live
e2fsck -fn /dev/mapper/b-live > /tmp/fsck 2>&1 || { cat /tmp/fsck; die "fsck of b/live"; }
mount -o ro /dev/mapper/b-live /mnt/b && [ "$(cat /mnt/b/live)" = live ] || die "b/live lacks the file"
umount /mnt/b
out /tmp/o dmcowctl deactivate b/live

#------------------------------------------------------------------
log "chain a -> b -> c: a received volume sent on, incrementals from b and from a"
xfer b/ext41 c/ext41
xfer b/ext42 c/ext42 --from b/ext41
xfer a/ext43 c/ext43 --from a/ext42
same a/ext42 c/ext42
same a/ext43 c/ext43

log "b -> a: changes made on b, sent back to a incrementally"
out /tmp/o dmcowctl snapshot b/r2 rw
out /tmp/o dmcowctl activate b/rw
dd if=/dev/urandom of=/dev/mapper/b-rw bs=64k count=8 seek=300 conv=notrunc 2>/dev/null
sync
out /tmp/o dmcowctl deactivate b/rw
out /tmp/o dmcowctl snapshot b/rw back
dmcowctl send b/back --from b/r2 --json 2> /tmp/back.json | dmcowctl receive a/back > /tmp/o 2>&1 ||
	{ cat /tmp/back.json /tmp/o; die "send b/back --from b/r2 | receive a/back"; }
[ "$(jnum /tmp/back.json chunks)" = 8 ] || die "b -> a: $(jnum /tmp/back.json chunks) data chunks, expected 8"
same b/back a/back

#------------------------------------------------------------------
log "a pool with 128 KiB chunks refuses a 64 KiB stream, and nothing is made"
expect_fail dmcowctl receive w/r1 -i /tmp/r1.stream 2> /tmp/err
cat /tmp/err
grep -q "the stream has chunks of 64 KiB, pool 'w' of 128 KiB" /tmp/err || die "no clear chunk size refusal"
[ "$(dmcowctl list w --all --json | grep -c '"name"')" = 1 ] || die "pool w is not empty"

#------------------------------------------------------------------
log "the snapshot's chunks are sent, not the origin's: h/o rewritten after h/s"
out /tmp/o dmcowctl pool create h /dev/ram8 /dev/ram9
out /tmp/o dmcowctl create h/o 8M
dd if=/dev/urandom of=/dev/mapper/h-o bs=1M count=8 oflag=direct 2>/dev/null
out /tmp/o dmcowctl snapshot h/o s
dd if=/dev/urandom of=/dev/mapper/h-o bs=1M count=8 oflag=direct 2>/dev/null
xfer h/s b/held-s
same h/s b/held-s

log "a volume deleted in the middle of its send, its chunks then free to be reused"
out /tmp/o dmcowctl create h/v 8M
dd if=/dev/urandom of=/dev/mapper/h-v bs=1M count=8 oflag=direct 2>/dev/null
sum_v=$(md5 /dev/mapper/h-v)
out /tmp/o dmcowctl deactivate h/v
# The reader waits for /tmp/go: the send reads its first record (1 MiB),
# fills the pipe and blocks; every later chunk is read after the delete.
rm -f /tmp/go /tmp/v.stream
mkfifo /tmp/go
sh -c 'echo $$ > /tmp/send.pid; exec dmcowctl send h/v' 2> /tmp/send.err |
	{ read go < /tmp/go; cat > /tmp/v.stream; } &
reader=$!
first_record_read() {
	[ -s /tmp/send.pid ] &&
		[ "$(sed -n 's/^rchar: //p' /proc/$(cat /tmp/send.pid)/io 2>/dev/null)" -ge 1048576 ] 2>/dev/null
}
wait_until 120 "the send to read its first record" first_record_read
out /tmp/o dmcowctl delete h/v
wait_until 120 "reclamation in pool h" eval '[ "$(pool_reclaiming h)" = 0 ]'
# A new volume takes the lowest free chunks: h/v's, were they free.
out /tmp/o dmcowctl create h/w 8M
dd if=/dev/urandom of=/dev/mapper/h-w bs=1M count=8 oflag=direct 2>/dev/null
sync
echo go > /tmp/go
wait $reader || die "reading the stream of h/v failed"
cat /tmp/send.err
out /tmp/o dmcowctl receive b/held-v -i /tmp/v.stream
out /tmp/o dmcowctl activate b/held-v
[ "$(md5 /dev/mapper/b-held-v)" = "$sum_v" ] ||
	die "b/held-v differs from h/v as it was when its send began: chunks read after the delete were reused"
out /tmp/o dmcowctl deactivate b/held-v
[ "$(pool_status_field h 4)" = - ] || die "pool h still holds a metadata snapshot after the send"
out /tmp/o dmcowctl check --live h

dmcowctl list b --all
out /tmp/o dmcowctl check --live b
log "send-receive passed"
