# fio's own verification across a snapshot: random 4 KiB writes with
# crc32c headers on the origin, a snapshot, new writes of another verify
# type on the origin; the snapshot still verifies as the first workload,
# the origin as the second (and no longer as the first).
# needs: target
# timeout: 400

load_cowtree
brd_load 2 128
pool_create pool /dev/ram0 /dev/ram1 $COW_CHUNK
sz=$(mib_sectors 32)
vol_create pool 1 origin $sz

engine=psync
if fio --enghelp 2>/dev/null | grep -qw libaio; then
	engine=libaio
fi
log "fio engine $engine"

# fio_job DEV NAME VERIFY SEED SIZE [OPTION...]
fio_job() {
	local dev=$1 name=$2 verify=$3 seed=$4 size=$5
	shift 5
	fio --name=$name --filename=$dev --rw=randwrite --bs=4k --size=$size \
		--ioengine=$engine --iodepth=8 --direct=1 --verify=$verify \
		--randrepeat=1 --randseed=$seed --verify_fatal=1 --output=/tmp/$name.out "$@"
}

log "workload A: 16 MiB random 4k writes, crc32c, on the origin"
fio_job /dev/mapper/origin A crc32c 1234 16m --do_verify=0 || { cat /tmp/A.out; die "fio A write failed"; }
fio_job /dev/mapper/origin A crc32c 1234 16m --verify_only || { cat /tmp/A.out; die "fio A verify on the origin failed"; }

snapshot pool 2 1 snap

log "workload B: 8 MiB random 4k writes, md5, on the origin (written and verified)"
fio_job /dev/mapper/origin B md5 999 8m --do_verify=1 || { cat /tmp/B.out; die "fio B failed"; }

vol_activate pool 2 snap $sz
log "check: the snapshot verifies as workload A"
fio_job /dev/mapper/snap A crc32c 1234 16m --verify_only || { cat /tmp/A.out; die "snapshot does not verify as workload A"; }
log "check: the origin no longer does (B overwrote part of it), but verifies as B"
expect_fail fio_job /dev/mapper/origin A crc32c 1234 16m --verify_only
fio_job /dev/mapper/origin B md5 999 8m --verify_only || { cat /tmp/B.out; die "origin does not verify as workload B"; }

log "workload C: sha256 writes on the snapshot; the origin still verifies as B"
fio_job /dev/mapper/snap C sha256 77 4m --offset=16m --do_verify=1 || { cat /tmp/C.out; die "fio C on the snapshot failed"; }
fio_job /dev/mapper/origin B md5 999 8m --verify_only || { cat /tmp/B.out; die "origin changed by writes to the snapshot"; }
fio_job /dev/mapper/snap A crc32c 1234 16m --verify_only || { cat /tmp/A.out; die "snapshot's first 16 MiB changed by its own writes above them"; }
log "fio-verify ok"
