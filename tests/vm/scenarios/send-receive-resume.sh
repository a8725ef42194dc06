# An interrupted receive continues where it stopped and ends equal to an
# uninterrupted one.  Boot 1: a reference receive of a/s1 (128 MiB of
# data in three zones) into b/ref; a receive killed (SIGKILL) in the
# middle, whose resume token (receive --token) names a record past the
# start; send -t TOKEN | receive --resume sends only what is missing and
# the result equals b/ref; a receive stopped just before the volume is
# published (--resume publishes it); then a receive cut by a power cut in
# the middle.  Boot 2: the pools come back with the partial volume hidden
# (its device gone with the power); it resumes from a record past the
# start and equals b/ref; an online check of the pool is clean.
# needs: target
# timeout: 600
# mem: 1024
# disks: 64M 320M 64M 640M 1M
# boots: 2

load_cowtree
notes=/dev/vde

out() {
	local f=$1
	shift
	"$@" > $f 2>&1 || { cat $f; die "'$*' failed"; }
	cat $f
}

md5() { md5sum < "$1" | cut -d' ' -f1; }
jnum() { tr -d ' \n' < $1 | grep -o "\"$2\":[0-9.]*" | head -1 | cut -d: -f2; }

# seq_of TOKEN: the record a resume token names (decimal).
seq_of() { echo $((0x$(echo $1 | cut -d- -f4))); }

# sum POOL/NAME: md5 of the volume's contents.
sum() {
	local dev=$(echo $1 | tr / -) s
	dmcowctl activate $1 > /dev/null || die "activate $1"
	s=$(md5 /dev/mapper/$dev)
	dmcowctl deactivate $1 > /dev/null || die "deactivate $1"
	echo $s
}

mapped() {
	dmcowctl list ${1%/*} --all --json | tr -d ' \n' |
		grep -o "{\"name\":\"${1#*/}\",[^}]*" | grep -o '"mapped_chunks":[0-9]*' | cut -d: -f2
}

# start_partial NAME MIB: a receive into b/NAME fed MIB MiB of the stream of
# a/s1 through a FIFO that stays open; waits until its progress is durable
# past record 30 and sets $rpid.
start_partial() {
	local tok i=0
	rm -f /tmp/fifo
	mkfifo /tmp/fifo
	dmcowctl receive b/$1 -i /tmp/fifo > /tmp/$1.out 2>&1 &
	rpid=$!
	exec 3> /tmp/fifo
	dmcowctl send a/s1 2> /dev/null | head -c $(($2 << 20)) >&3
	while :; do
		tok=$(dmcowctl receive --token b/$1 2> /dev/null) && [ $(seq_of $tok) -gt 30 ] && break
		i=$((i + 1))
		[ $i -lt 120 ] || { cat /tmp/$1.out; die "the receive into b/$1 made no durable progress"; }
		sleep 1
	done
	log "receive into b/$1: durable up to record $(seq_of $tok)"
}

if [ "$COW_BOOT" = 1 ]; then
	out /tmp/o dmcowctl pool create a /dev/vda /dev/vdb
	out /tmp/o dmcowctl pool create b /dev/vdc /dev/vdd
	out /tmp/o dmcowctl create a/v 192M
	for z in 0 80 150; do
		dd if=/dev/urandom of=/dev/mapper/a-v bs=1M count=40 seek=$z 2>/dev/null ||
			die "writing a/v"
	done
	sync
	out /tmp/o dmcowctl snapshot a/v s1
	out /tmp/o dmcowctl deactivate a/v
	dmcowctl send a/s1 --dry-run --json > /tmp/dry || die "dry run"
	full=$(jnum /tmp/dry bytes)

	log "reference: an uninterrupted receive"
	dmcowctl send a/s1 | dmcowctl receive b/ref || die "send | receive b/ref"
	ref=$(sum b/ref)
	[ "$(sum a/s1)" = $ref ] || die "b/ref differs from a/s1"

	log "a receive killed in the middle"
	start_partial k 64
	kill -9 $rpid
	wait $rpid 2> /dev/null
	exec 3>&-
	dmcowctl list b -o name | grep -qw k && die "the killed receive left a visible volume"
	tok=$(dmcowctl receive --token b/k) || die "no token for b/k"
	dmcowctl send -t $tok a/s1 --json 2> /tmp/s.json | dmcowctl receive --resume b/k > /tmp/o 2>&1 ||
		{ cat /tmp/s.json /tmp/o; die "send -t | receive --resume b/k"; }
	cat /tmp/s.json /tmp/o
	[ $(jnum /tmp/s.json bytes) -lt $((full - (24 << 20))) ] ||
		die "the resumed stream has $(jnum /tmp/s.json bytes) of $full bytes: it did not skip what was received"
	[ "$(sum b/k)" = $ref ] || die "b/k differs from the uninterrupted receive"
	[ "$(mapped b/k)" = "$(mapped b/ref)" ] || die "b/k maps $(mapped b/k) chunks, b/ref $(mapped b/ref)"

	log "a receive stopped after the end record, before it is published"
	rc=0
	dmcowctl send a/s1 | DMCOWCTL_FAIL_AFTER=receive-verified dmcowctl receive b/late > /tmp/o 2>&1 || rc=$?
	cat /tmp/o
	[ $rc = 1 ] || die "the injected failure did not fail the receive"
	dmcowctl list b -o name | grep -qw late && die "b/late is visible before it was published"
	expect_fail dmcowctl receive --token b/late
	dmcowctl send a/s1 | dmcowctl receive --resume b/late || die "receive --resume b/late"
	[ "$(sum b/late)" = $ref ] || die "b/late differs from a/s1"

	log "a receive cut by a power cut"
	echo $ref > /tmp/notes
	notes_save $notes /tmp/notes
	start_partial p 80
	sync
	power_cut
	sleep 60
	die "still running after power_cut"
fi

notes_load $notes /tmp/notes
read ref < /tmp/notes
log "boot 2: the pools come back"
out /tmp/o dmcowctl pool activate a /dev/vda /dev/vdb
out /tmp/o dmcowctl pool activate b /dev/vdc /dev/vdd
dmcowctl list b --all
dmcowctl list b -o name | grep -qw p && die "the receive cut by the power cut is visible"
tok=$(dmcowctl receive --token b/p) || die "no token for b/p"
[ $(seq_of $tok) -gt 30 ] || die "b/p resumes from record $(seq_of $tok): its progress was lost"
log "b/p resumes from record $(seq_of $tok)"
dmcowctl send -t $tok a/s1 | dmcowctl receive --resume b/p || die "send -t | receive --resume b/p"
[ "$(sum b/p)" = $ref ] || die "b/p differs from the uninterrupted receive"
[ "$(mapped b/p)" = "$(mapped b/ref)" ] || die "b/p maps $(mapped b/p) chunks, b/ref $(mapped b/ref)"
out /tmp/o dmcowctl check --live b
log "send-receive-resume passed"
