# Every write acknowledged before a flush survives a power cut: on the
# next boot the pool reopens and reads back each flushed write; data written
# after the last flush may be old or new, never another volume's or garbage.
# needs: target
# timeout: 300
# disks: 64M 256M 1M
# boots: 2

load_cowtree
meta=/dev/vda data=/dev/vdb notes=/dev/vdc
sz=$(mib_sectors 16)

if [ "$COW_BOOT" = 1 ]; then
	pool_create pool $meta $data $COW_CHUNK
	vol_create pool 1 v $sz
	vol_create pool 2 w $sz
	pat_write /dev/mapper/v --tag 1 --gen 1 --length 8M --fsync --record /tmp/v.map
	pat_write /dev/mapper/w --tag 2 --gen 1 --stride 5 --fsync --record /tmp/w.map
	snapshot pool 3 1 snap
	cp /tmp/v.map /tmp/snap.map
	pat_write /dev/mapper/v --tag 1 --gen 2 --offset 4M --length 6M --random-order 2 --fsync --record /tmp/v.map
	pat_write /dev/mapper/w --tag 2 --gen 2 --offset 1M --length 64k --fsync --record /tmp/w.map
	{ cat /tmp/v.map; echo ---; cat /tmp/w.map; echo ---; cat /tmp/snap.map; } > /tmp/notes
	notes_save $notes /tmp/notes
	# unflushed writes in flight at the power cut: region 12M..16M of v
	pat_write /dev/mapper/v --tag 1 --gen 9 --offset 12M --length 4M
	log "flushed writes done; cutting power with unflushed data"
	power_cut
	sleep 60
	die "still running after power_cut"
fi

notes_load $notes /tmp/notes
awk 'BEGIN { f = 0 } /^---$/ { f++; next } { print > ("/tmp/part" f) }' /tmp/notes
log "boot 2: reopening after the power cut"
pool_create pool $meta $data $COW_CHUNK
log "status: $(dmsetup status pool)"
[ "$(pool_mode pool)" = rw ] || die "pool not rw after a crash: $(dmsetup status pool)"
vol_activate pool 1 v $sz
vol_activate pool 2 w $sz
vol_activate pool 3 snap $sz
log "check: every flushed write reads back"
pat_verify /dev/mapper/v --map /tmp/part0 --length 12M --expect-zero
pat_verify /dev/mapper/w --map /tmp/part1 --expect-zero
pat_verify /dev/mapper/snap --map /tmp/part2 --expect-zero
log "check: unflushed blocks are zero (never mapped) or the new data, block by block"
b=$((12 * 256))
bad=0
while [ $b -lt $((16 * 256)) ]; do
	d=$(cowpattern describe /dev/mapper/v --offset $((b * 4096)))
	case "$d" in
	"block $b: zero block" | "block $b: tag 1 gen 9") ;;
	*) log "  $d"; bad=$((bad + 1)) ;;
	esac
	b=$((b + 1))
done
[ $bad = 0 ] || die "$bad unflushed blocks hold something else than zero or their new data"
log "check: the pool is usable after recovery"
pat_write /dev/mapper/v --tag 1 --gen 10 --offset 12M --length 4M --fsync
pat_verify /dev/mapper/v --tag 1 --gen 10 --offset 12M --length 4M
pat_verify /dev/mapper/snap --map /tmp/part2 --expect-zero
log "reopen-unclean ok"
