# Both ways of copying the rest of a chunk shared with a snapshot (module
# parameter copy_mode: kcopyd, rmw = read-merge-write), at 4 KiB, 64 KiB
# and 1 MiB chunks: partial overwrites of shared chunks keep the rest of
# the chunk and leave the snapshot intact (as snapshot-overwrite), fio's
# own verification holds across a snapshot with 16 writes in flight (as
# fio-verify), and partial writes to fresh chunks read zeroes around them
# over garbage on the data device (zeroing uses kcopyd in both modes).  The
# parameter is switched at run time, so one boot covers both modes.
# needs: target
# timeout: 900

load_cowtree
brd_load 2 160
param=/sys/module/dm_cowtree/parameters/copy_mode
[ "$(cat $param)" = auto ] || die "copy_mode default is $(cat $param), want auto"
expect_fail sh -c "echo bogus > $param" 2>/dev/null
sz=$(mib_sectors 32)

engine=psync
if fio --enghelp 2>/dev/null | grep -qw libaio; then
	engine=libaio
fi

fio_job() { # DEV NAME VERIFY SEED SIZE [OPTION...]
	local dev=$1 name=$2 verify=$3 seed=$4 size=$5
	shift 5
	fio --name=$name --filename=$dev --rw=randwrite --bs=4k --size=$size \
		--ioengine=$engine --iodepth=16 --direct=1 --verify=$verify \
		--randrepeat=1 --randseed=$seed --verify_fatal=1 --output=/tmp/$name.out "$@" ||
		{ cat /tmp/$name.out; die "fio $name $* on $dev failed"; }
}

for mode in kcopyd rmw; do
	echo $mode > $param || die "cannot set copy_mode=$mode"
	[ "$(cat $param)" = $mode ] || die "copy_mode reads $(cat $param)"
	for chunk in 8 128 2048; do
		log "copy_mode=$mode, chunk $chunk sectors"
		pat_garbage /dev/ram1
		dd if=/dev/zero of=/dev/ram0 bs=4096 count=1 conv=fsync 2>/dev/null
		pool_create pool /dev/ram0 /dev/ram1 $chunk
		vol_create pool 1 origin $sz
		rm -f /tmp/o.map /tmp/s.map

		log "partial writes to fresh chunks: the rest reads zeroes"
		echo "zero offset=0 length=$((32 * 1048576))" > /tmp/o.map
		pat_write /dev/mapper/origin --tag 1 --gen 1 --stride 3 --length 8M --record /tmp/o.map
		pat_verify /dev/mapper/origin --map /tmp/o.map

		log "fill, snapshot, partial overwrites of shared chunks"
		pat_write /dev/mapper/origin --tag 1 --gen 2 --fsync --record /tmp/o.map
		snapshot pool 2 1 snap
		cp /tmp/o.map /tmp/s.map
		pat_write /dev/mapper/origin --tag 1 --gen 3 --length 16M --stride 5 \
			--random-order $chunk --record /tmp/o.map
		pat_write /dev/mapper/origin --tag 1 --gen 3 --offset $((24 * 1048576 + 8192)) \
			--length 4k --record /tmp/o.map
		pat_verify /dev/mapper/origin --map /tmp/o.map
		vol_activate pool 2 snap $sz
		pat_verify /dev/mapper/snap --map /tmp/s.map

		log "fio verify across a snapshot, 16 writes in flight"
		fio_job /dev/mapper/origin A crc32c 1234 16m --do_verify=0
		snapshot pool 3 1 snap2
		fio_job /dev/mapper/origin B md5 999 8m --do_verify=1
		vol_activate pool 3 snap2 $sz
		fio_job /dev/mapper/snap2 A crc32c 1234 16m --verify_only
		fio_job /dev/mapper/origin B md5 999 8m --verify_only
		pat_verify /dev/mapper/snap --map /tmp/s.map

		vol_deactivate snap2
		vol_deactivate snap
		vol_deactivate origin
		pool_remove pool
	done
done
echo auto > $param
log "copy-modes ok"
