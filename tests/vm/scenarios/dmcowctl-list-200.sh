# dmcowctl list on a pool with 200 snapshots: 150 of one origin, 50 of
# those snapshots, some of them active.  The table and the JSON show all
# of them with the right origins, and each listing takes under a second
# (wall time in the guest, measured by cowtime).
# needs: target
# timeout: 900

load_cowtree
brd_load 2 256

out() {
	local f=$1
	shift
	"$@" > $f 2>&1 || { cat $f; die "'$*' failed"; }
}

out /tmp/o dmcowctl pool create pool /dev/ram0 /dev/ram1
out /tmp/o dmcowctl create pool/vol 64M
dd if=/dev/urandom of=/dev/mapper/pool-vol bs=64k count=32 conv=fsync 2>/dev/null

log "150 snapshots of vol, 50 snapshots of snapshots"
i=1
while [ $i -le 150 ]; do
	out /tmp/o dmcowctl snapshot pool/vol s$i
	# a little divergence between the snapshots
	[ $((i % 10)) != 0 ] ||
		dd if=/dev/urandom of=/dev/mapper/pool-vol bs=64k count=1 seek=$i conv=fsync 2>/dev/null
	i=$((i + 1))
done
i=1
while [ $i -le 50 ]; do
	out /tmp/o dmcowctl snapshot pool/s$((i * 3)) t$i
	i=$((i + 1))
done
for v in s1 s2 s3 t1 t2; do
	out /tmp/o dmcowctl activate pool/$v
done

# timed FILE CMD...: run CMD with its output in FILE; prints microseconds.
timed() {
	local f=$1
	shift
	cowtime "$@" > $f.raw || { cat $f.raw; die "'$*' failed"; }
	tail -1 $f.raw
	sed '$d' $f.raw > $f
}

check_table() {
	local rows
	rows=$(wc -l < $1)
	# heading, the pool, vol and 200 snapshots
	[ $rows = 203 ] || die "$1: $rows lines, expected 203"
	[ "$(awk '$(NF - 1) == "vol"' $1 | wc -l)" = 150 ] || die "$1: not 150 snapshots of vol"
	[ "$(awk '$(NF - 1) ~ /^s[0-9]+$/' $1 | wc -l)" = 50 ] || die "$1: not 50 snapshots of snapshots"
	grep -q '^  |-s3 *vol *pool-s3$' $1 || die "$1: s3 row wrong: $(grep -- '-s3 ' $1)"
	grep -q '^  | `-t1 *s3 *pool-t1$' $1 || die "$1: t1 is not under s3: $(grep -- '-t1 ' $1)"
}

log "list timings (microseconds)"
max=0
for run in 1 2 3; do
	us=$(timed /tmp/l dmcowctl list pool -o name,origin,active)
	check_table /tmp/l
	uj=$(timed /tmp/lj dmcowctl list pool --json)
	n=$(grep -c '"origin_id":' /tmp/lj)
	[ "$n" = 201 ] || die "list --json has $n volumes, expected 201"
	[ "$(grep -c '"origin": "vol"' /tmp/lj)" = 150 ] || die "list --json: not 150 snapshots of vol"
	ua=$(timed /tmp/la dmcowctl list)
	[ "$(wc -l < /tmp/la)" = 203 ] || die "list of all pools: $(wc -l < /tmp/la) lines"
	log "run $run: list pool ${us} us, list --json ${uj} us, list (all pools) ${ua} us"
	for t in $us $uj $ua; do
		if [ $t -gt $max ]; then
			max=$t
		fi
	done
done
log "slowest listing: $max us"
[ $max -lt 1000000 ] || die "a listing of 200 snapshots took $max us (limit 1 s)"
log "dmcowctl-list-200 ok"
