# Issue #20: pools made one after the other on the same (used) devices, each
# filled fast with 1 MiB writes at queue depth 16 and given 60+ snapshots,
# must all check clean, live and offline, with every block of data right
# (POOLS=2 by default, as the bug hit the first pool; the exact
# reproducer, 10 pools of 1 GiB, passed in one boot with the fix).
#
# The bug this catches: dm-bufio writes dirty buffers in the background
# (when dirty buffers outnumber clean ones) even while they are held; a
# block written back in the middle of a modification and then evicted came
# back from disk without the rest of the modification.  dm-bufio's cache is
# shrunk to its minimum here (max_cache_size_bytes) so that eviction is the
# rule, not a matter of memory pressure and luck.
# needs: target
# mem: 1536
# timeout: 900

load_cowtree
POOLS=${POOLS:-2} SNAPS=${SNAPS:-62} FILL_MIB=${FILL_MIB:-256}
brd_load 2 $((FILL_MIB + 64))
bufio=/sys/module/dm_bufio/parameters
old_cache=$(cat $bufio/max_cache_size_bytes)
echo 1 > $bufio/max_cache_size_bytes
sz=$(mib_sectors $FILL_MIB)
r=1
while [ $r -le $POOLS ]; do
	log "pool $r of $POOLS on the used devices"
	dd if=/dev/zero of=/dev/ram0 bs=1M count=4 2>/dev/null
	pool_create p /dev/ram0 /dev/ram1 $COW_CHUNK
	vol_create p 1 v $sz
	fio --ioengine=libaio --direct=1 --iodepth=16 --name=fill \
		--filename=/dev/mapper/v --rw=write --bs=1M --size=${FILL_MIB}M \
		--verify=crc32c --do_verify=0 \
		> /tmp/fill.log 2>&1 || { cat /tmp/fill.log; die "fill of pool $r failed"; }
	i=1
	while [ $i -le $SNAPS ]; do
		dmsetup suspend v
		msg p "snapshot $((i + 1)) 1 s$i"
		dmsetup resume v
		# 4 chunks of new data, spread over the volume
		dd if=/dev/urandom of=/dev/mapper/v bs=64k count=4 \
			seek=$(((i * 13) % (FILL_MIB * 16 - 4))) conv=notrunc,fsync 2>/dev/null ||
			die "overwrite $i failed"
		i=$((i + 1))
	done
	sync
	dmcowctl check --live p > /tmp/check.log 2>&1 ||
		{ cat /tmp/check.log; die "pool $r: dmcowctl check --live failed"; }
	# The first snapshot still holds the whole fill: verify every block.
	vol_activate p 2 s1 $sz
	fio --ioengine=libaio --direct=1 --iodepth=16 --name=fill \
		--filename=/dev/mapper/s1 --rw=read --bs=1M --size=${FILL_MIB}M \
		--verify=crc32c --verify_fatal=1 \
		 > /tmp/verify.log 2>&1 ||
		{ tail -20 /tmp/verify.log; die "pool $r: snapshot s1 lost data of the fill"; }
	vol_deactivate s1
	vol_deactivate v
	pool_remove p
	dmcowctl check /dev/ram0 > /tmp/check.log 2>&1 ||
		{ cat /tmp/check.log; die "pool $r: offline dmcowctl check failed"; }
	r=$((r + 1))
done
echo "$old_cache" > $bufio/max_cache_size_bytes
log "pool-remake ok: $POOLS pools, $SNAPS snapshots each, every check clean"
