# dmcowctl receive refuses bad streams and bad requests, and leaves
# nothing visible behind: a stream that is not one, a wrong version, a
# corrupted header (nothing at all is made), a corrupted data record, a
# truncated stream and reordered records (a hidden partial volume that
# --abort, delete, --resume with the whole stream, or send -t TOKEN |
# receive --resume finish or remove); an incremental stream against a pool
# without its base, or whose copy of the base was written to (refused;
# a pristine copy is accepted); unknown pools and volumes, a NAME that
# exists, resume tokens that do not fit; and a pool that runs out of data
# space in the middle (a clean error, the partial volume hidden, and after
# the pool is extended --resume completes it).
# needs: target
# timeout: 600
# mem: 1024

load_cowtree
brd_load 6 96

md5() { md5sum < "$1" | cut -d' ' -f1; }
jnum() { tr -d ' \n' < $1 | grep -o "\"$2\":[0-9.]*" | head -1 | cut -d: -f2; }

out() {
	local f=$1
	shift
	"$@" > $f 2>&1 || { cat $f; die "'$*' failed"; }
	cat $f
}

# names POOL [--all]: the volume names 'list' shows, sorted, on one line.
names() {
	dmcowctl list "$@" --json | tr -d ' \n' | grep -o '"name":"[^"]*"' | cut -d'"' -f4 |
		tail -n +2 | sort | tr '\n' ' '
}

# refused STREAM NAME PATTERN: 'receive b/NAME -i STREAM' fails (exit 1),
# its first error matches PATTERN, and b shows no new volume.
refused() {
	local before=$(names b) rc=0
	dmcowctl receive b/$2 -i $1 > /tmp/r.out 2> /tmp/r.err || rc=$?
	cat /tmp/r.err
	[ $rc = 1 ] || die "receive b/$2 -i $1: exit $rc, expected 1"
	head -1 /tmp/r.err | grep -q -- "$3" || die "receive b/$2: first error is not '$3'"
	[ "$(names b)" = "$before" ] || die "receive b/$2 left a visible volume: $(names b)"
}

# nothing NAME: not even a hidden volume NAME in b.
nothing() {
	names b --all | grep -qw "$1" && die "b has a volume '$1' after a refused stream: $(names b --all)"
	return 0
}

# partial NAME: a hidden partial volume NAME in b, listed with --all only.
partial() {
	names b | grep -qw "$1" && die "the partial volume '$1' is visible"
	dmcowctl list b --all -o name,flags | grep -q "$1 *hidden" ||
		{ dmcowctl list b --all -o name,flags; die "no hidden partial volume '$1' in b"; }
}

# at OFFSET BYTE FILE: overwrite one byte (octal escape) of FILE.
at() {
	printf "$2" | dd of=$3 bs=1 seek=$1 conv=notrunc 2>/dev/null
}

# Records of the full stream of a/s1: header (296 bytes), 1 hole (40), 20
# data records of 16 chunks (40 + 1 MiB each), a hole, the end record.
HDR=296
REC=1048616
data_rec() { echo $((HDR + 40 + ($1 - 2) * REC)); }	# offset of record N >= 2

out /tmp/o dmcowctl pool create a /dev/ram0 /dev/ram1
out /tmp/o dmcowctl pool create b /dev/ram2 /dev/ram3
out /tmp/o dmcowctl create a/v 32M
dd if=/dev/urandom of=/dev/mapper/a-v bs=1M count=20 seek=4 2>/dev/null
sync
out /tmp/o dmcowctl snapshot a/v s1
dd if=/dev/urandom of=/dev/mapper/a-v bs=64k count=16 seek=100 conv=notrunc 2>/dev/null
sync
out /tmp/o dmcowctl snapshot a/v s2
out /tmp/o dmcowctl deactivate a/v
dmcowctl send a/s1 -o /tmp/full || die "send a/s1"
dmcowctl send a/s2 --from a/s1 -o /tmp/inc || die "send a/s2 --from a/s1"
[ $(wc -c < /tmp/full) = $((HDR + 40 + 20 * REC + 40 + 40 + 48)) ] ||
	die "the full stream has $(wc -c < /tmp/full) bytes: the layout assumed here is wrong"
out /tmp/o dmcowctl activate a/s1
sum_s1=$(md5 /dev/mapper/a-s1)
out /tmp/o dmcowctl deactivate a/s1

#------------------------------------------------------------------
log "not a stream, wrong version, corrupted header: refused, nothing made"
head -c 100000 /dev/urandom > /tmp/junk
refused /tmp/junk x "stream: record 0: bad magic .*: this is not a dmcowctl send stream"
nothing x
cp /tmp/full /tmp/bad
at 40 '\002' /tmp/bad
refused /tmp/bad x "stream: record 0 (header): stream version 2 is not supported (this dmcowctl reads version 1)"
nothing x
cp /tmp/full /tmp/bad
at 150 '\125' /tmp/bad
refused /tmp/bad x "stream: record 0 (header): checksum mismatch"
nothing x
refused /dev/null x "stream: the stream is empty"
nothing x

log "a corrupted data record: refused when it comes, the partial volume hidden, --abort removes it"
cp /tmp/full /tmp/bad
at $(($(data_rec 2) + 1000)) '\377' /tmp/bad
refused /tmp/bad x "stream: record 2 (data, chunks 64-79): checksum mismatch"
partial x
grep -q "^resume token: 1-" /tmp/r.err || die "no resume token printed"
expect_fail dmcowctl receive b/x -i /tmp/full 2> /tmp/err
grep -q "a partial receive into 'x' exists" /tmp/err || die "a second receive into x was not refused: $(cat /tmp/err)"
out /tmp/o dmcowctl receive --abort b/x
nothing x

log "corrupted record 12: send -t TOKEN | receive --resume sends and applies only what is missing"
cp /tmp/full /tmp/bad
at $(($(data_rec 12) + 77)) '\001' /tmp/bad
refused /tmp/bad y "stream: record 12 (data, chunks 224-239): checksum mismatch"
partial y
tok=$(sed -n 's/^resume token: //p' /tmp/r.err)
[ "$(dmcowctl receive --token b/y)" = "$tok" ] || die "receive --token says $(dmcowctl receive --token b/y), receive said $tok"
case $tok in 1-*-0000000000000000-c-*) ;; *) die "token $tok does not name record 12 (0xc)" ;; esac
dmcowctl send -t $tok a/s1 --json 2> /tmp/s.json | dmcowctl receive --resume b/y --json > /tmp/r.json ||
	{ cat /tmp/s.json /tmp/r.json; die "send -t | receive --resume"; }
cat /tmp/s.json /tmp/r.json
[ "$(jnum /tmp/s.json first_record)" = 12 ] || die "the resumed stream starts at record $(jnum /tmp/s.json first_record)"
[ "$(jnum /tmp/s.json chunks)" = $((10 * 16)) ] || die "the resumed stream carries $(jnum /tmp/s.json chunks) data chunks, not 160"
[ "$(jnum /tmp/r.json records_applied)" = 11 ] || die "receive --resume applied $(jnum /tmp/r.json records_applied) records, not 11"
out /tmp/o dmcowctl activate b/y
[ "$(md5 /dev/mapper/b-y)" = "$sum_s1" ] || die "b/y differs from a/s1 after the resume"
out /tmp/o dmcowctl deactivate b/y

log "a truncated stream: --resume with the whole stream skips what was applied"
head -c $(($(data_rec 7) + 5000)) /tmp/full > /tmp/bad
refused /tmp/bad z "stream: record 7 (data, chunks 144-159): truncated: the stream ends after 4960 of its 1048576 payload bytes"
partial z
dmcowctl receive --resume b/z -i /tmp/full --json > /tmp/r.json || { cat /tmp/r.json; die "receive --resume b/z"; }
[ "$(jnum /tmp/r.json records_skipped)" = 6 ] || die "--resume skipped $(jnum /tmp/r.json records_skipped) records, not 6"
out /tmp/o dmcowctl activate b/z
[ "$(md5 /dev/mapper/b-z)" = "$sum_s1" ] || die "b/z differs from a/s1 after the resume"
out /tmp/o dmcowctl deactivate b/z

log "reordered records: refused; the hidden partial volume can be deleted"
{
	head -c $(data_rec 5) /tmp/full
	tail -c +$(($(data_rec 6) + 1)) /tmp/full | head -c $REC
	tail -c +$(($(data_rec 5) + 1)) /tmp/full | head -c $REC
	tail -c +$(($(data_rec 7) + 1)) /tmp/full
} > /tmp/bad
[ $(wc -c < /tmp/bad) = $(wc -c < /tmp/full) ] || die "reordering changed the size"
refused /tmp/bad r "stream: record 5 (data, chunks 128-143): sequence number 6, expected 5: records are missing or out of order"
partial r
out /tmp/o dmcowctl delete b/r
nothing r

#------------------------------------------------------------------
log "wrong base: no copy of it, or a copy written to since it was received"
# b/y and b/z are copies of a/s1, the base: without them b has none.
out /tmp/o dmcowctl delete b/y
out /tmp/o dmcowctl delete b/z
refused /tmp/inc i "pool 'b' holds no copy of this stream's base"
nothing i
out /tmp/o dmcowctl receive b/s1 -i /tmp/full
out /tmp/o dmcowctl activate b/s1
dd if=/dev/zero of=/dev/mapper/b-s1 bs=4k count=1 seek=5000 conv=notrunc 2>/dev/null
sync
out /tmp/o dmcowctl deactivate b/s1
refused /tmp/inc i "volume 's1' was received from this stream's base but has changed since"
nothing i
out /tmp/o dmcowctl receive b/s1b -i /tmp/full
out /tmp/o dmcowctl receive b/s2 -i /tmp/inc
out /tmp/o dmcowctl activate a/s2
out /tmp/o dmcowctl activate b/s2
[ "$(md5 /dev/mapper/a-s2)" = "$(md5 /dev/mapper/b-s2)" ] || die "b/s2 differs from a/s2"
dmcowctl list b -o name,origin | grep -q "s2 *s1b" || die "b/s2 is not a snapshot of b/s1b"
out /tmp/o dmcowctl deactivate a/s2
out /tmp/o dmcowctl deactivate b/s2

#------------------------------------------------------------------
log "bad requests"
expect_fail dmcowctl send a/nosuch -o /tmp/x 2> /tmp/err
grep -q "pool 'a' has no volume 'nosuch'" /tmp/err || die "send of an unknown volume: $(cat /tmp/err)"
expect_fail dmcowctl send nopool/v -o /tmp/x 2> /tmp/err
grep -q "pool 'nopool' is not active" /tmp/err || die "send from an unknown pool: $(cat /tmp/err)"
expect_fail dmcowctl send a/s2 --from a/nosuch -o /tmp/x 2> /tmp/err
grep -q "pool 'a' has no volume 'nosuch'" /tmp/err || die "send from an unknown base: $(cat /tmp/err)"
refused /tmp/full s2 "pool 'b' already has a volume 's2': choose another name"
expect_fail dmcowctl receive nopool/v -i /tmp/full 2> /tmp/err
grep -q "pool 'nopool' is not active" /tmp/err || die "receive into an unknown pool: $(cat /tmp/err)"
expect_fail dmcowctl receive --resume b/none -i /tmp/full 2> /tmp/err
grep -q "pool 'b' has no partial receive into 'none' to resume" /tmp/err || die "resume without a partial: $(cat /tmp/err)"
rc=0; dmcowctl send -t 1-00-00-1-00000000 a/s1 -o /tmp/x 2> /tmp/err || rc=$?
[ $rc = 2 ] && grep -q "is damaged" /tmp/err || die "a bad token: exit $rc, $(cat /tmp/err)"
expect_fail dmcowctl send -t $tok a/s2 -o /tmp/x 2> /tmp/err
grep -q "is for another volume" /tmp/err || die "a token of another volume: $(cat /tmp/err)"
expect_fail dmcowctl send -t $tok a/s1 --from a/s2 -o /tmp/x 2> /tmp/err
grep -q "the resume token is for a full stream" /tmp/err || die "a full stream's token with --from: $(cat /tmp/err)"

#------------------------------------------------------------------
log "out of data space in the middle of a receive"
# Pool 'small': 12 MiB of data on a linear device that can grow.
dmsetup create smalldata --table "0 $((12 * 2048)) linear /dev/ram4 0" || die "smalldata"
out /tmp/o dmcowctl pool create small /dev/ram5 /dev/mapper/smalldata --error-if-no-space
before=$(names small --all)
rc=0
dmcowctl receive small/v -i /tmp/full > /tmp/r.out 2> /tmp/r.err || rc=$?
cat /tmp/r.err
[ $rc = 1 ] || die "receive into a full pool: exit $rc"
grep -q "No space left on device" /tmp/r.err || die "out of space without saying so"
grep -q "pool 'small' is out of data space: extend it" /tmp/r.err || die "no advice to extend the pool"
[ "$(names small)" = "$before" ] || die "a visible volume after running out of space: $(names small)"
dmcowctl list small --all -o name,flags | grep -q "v *hidden" || die "no hidden partial volume"
dmsetup reload smalldata --table "0 $((40 * 2048)) linear /dev/ram4 0" || die "reload smalldata"
dmsetup resume smalldata || die "resume smalldata"
log "extend the pool and resume"
out /tmp/o dmcowctl pool extend small
out /tmp/o dmcowctl receive --resume small/v -i /tmp/full
out /tmp/o dmcowctl activate small/v
[ "$(md5 /dev/mapper/small-v)" = "$sum_s1" ] || die "small/v differs from a/s1 after the resume"
out /tmp/o dmcowctl deactivate small/v

out /tmp/o dmcowctl check --live b
log "send-receive-errors passed"
