# dmcowctl reshare while the destination is written.  A 64 MiB volume v is
# filled, snapshotted (s), and rewritten whole with s's bytes: each of its
# chunks is a new chunk with data equal to s's, to be shared into v.  fio
# with verification writes 4 KiB blocks at random places of v, at a
# limited rate so that its writes go on through the whole reshare run; the
# pool must leave every chunk fio wrote to alone (different or busy).
# Then:
#   fio's verification passes (no acknowledged write lost), and again after
#   a second reshare run without I/O;
#   s's data is unchanged (checksum);
#   the first report accounts for every candidate (shared + different +
#   busy + skipped), the second run leaves no chunk with equal data
#   unshared (compared through the volumes' devices), and v's and s's
#   exclusive counters equal the chunks that remain different;
#   'check --live' and the offline 'check --strict-leaks' are clean.
# needs: target
# timeout: 600
# mem: 1024

. /etc/fs-lib.sh
load_cowtree
brd_load 2 300
run_ok /tmp/o dmcowctl pool create p /dev/ram0 /dev/ram1
CS=128
CB=$((CS * 512))
CHUNKS=1024

jget() {
	jsonget $2 < $1 || { cat $1; die "$1: no valid JSON with '$2'"; }
}
md5dev() { dd if=$1 bs=1M iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1; }

cat > /tmp/race.fio <<EOF
[race]
filename=/dev/mapper/p-v
rw=randwrite
bs=4k
size=64M
io_size=2M
ioengine=libaio
iodepth=4
direct=1
rate_iops=25
verify=crc32c
verify_fatal=1
randseed=4242
EOF
# The same writes, read back and verified.
sed 's/^randseed=.*/&\nverify_only=1/' /tmp/race.fio > /tmp/race-verify.fio

log "v filled, snapshot s, v rewritten with s's bytes"
run_ok /tmp/o dmcowctl create p/v 64M
dd if=/dev/urandom of=/dev/mapper/p-v bs=1M count=64 oflag=direct 2>/dev/null || die "fill v"
run_ok /tmp/o dmcowctl snapshot p/v s
run_ok /tmp/o dmcowctl activate p/s
dd if=/dev/mapper/p-s of=/dev/mapper/p-v bs=1M iflag=direct oflag=direct 2>/dev/null ||
	die "rewrite v"
s_md5=$(md5dev /dev/mapper/p-s)
[ $(vol_counter p v exclusive_chunks) = $CHUNKS ] || die "v does not hold $CHUNKS chunks of its own"

log "fio writes v while reshare runs"
fio --output=/tmp/fio.out /tmp/race.fio &
fio_pid=$!
sleep 1
run_ok /tmp/r1.json dmcowctl reshare p/v p/s --json
kill -0 $fio_pid 2> /dev/null || die "fio ended before reshare did: no race"
wait $fio_pid || { cat /tmp/fio.out; die "fio failed: a write was lost"; }
sum=0
for k in shared_chunks different_chunks busy_chunks skipped_chunks; do
	sum=$((sum + $(jget /tmp/r1.json $k)))
done
[ $(jget /tmp/r1.json candidate_chunks) = $CHUNKS ] || die "not $CHUNKS candidates"
[ $sum = $CHUNKS ] || die "the report accounts for $sum of $CHUNKS chunks"
log "first run: $(jget /tmp/r1.json shared_chunks) shared, $(jget /tmp/r1.json different_chunks) different, $(jget /tmp/r1.json busy_chunks) busy"
[ $(jget /tmp/r1.json shared_chunks) -gt 0 ] || die "nothing shared"

log "second run without I/O"
run_ok /tmp/r2.json dmcowctl reshare p/v p/s --json
[ $(jget /tmp/r2.json busy_chunks) = 0 ] || die "busy chunks without I/O"
fio --output=/tmp/fio2.out /tmp/race-verify.fio || { cat /tmp/fio2.out; die "fio verify after the second run failed"; }
[ "$(md5dev /dev/mapper/p-s)" = "$s_md5" ] || die "the data of s changed"

dmcowctl delta p/v p/s > /tmp/delta.out || die "delta"
awk '$1 == "different" { for (i = 0; i < $3; i++) print $2 + i }' /tmp/delta.out > /tmp/different
left=$(wc -l < /tmp/different)
while read -r c; do
	a=$(dd if=/dev/mapper/p-v bs=$CB skip=$c count=1 iflag=direct 2>/dev/null | md5sum)
	b=$(dd if=/dev/mapper/p-s bs=$CB skip=$c count=1 iflag=direct 2>/dev/null | md5sum)
	[ "$a" != "$b" ] || die "chunk $c has equal data in v and s but is not shared"
done < /tmp/different
log "$left chunks remain different, all with other data"
[ $left = $(jget /tmp/r2.json different_chunks) ] || die "the second run's different chunks are not the delta's"
[ $(vol_counter p v exclusive_chunks) = $left ] || die "v's exclusive chunks are not the $left different ones"
[ $(vol_counter p s exclusive_chunks) = $left ] || die "s's exclusive chunks are not the $left different ones"
run_ok /tmp/o dmcowctl check --live p

run_ok /tmp/o dmcowctl deactivate p/v
run_ok /tmp/o dmcowctl deactivate p/s
run_ok /tmp/o dmcowctl pool deactivate p
dmcowctl check --strict-leaks /dev/ram0 > /tmp/c 2>&1 || { cat /tmp/c; die "offline check --strict-leaks"; }
cat /tmp/c
