# dmcowctl rollback of an ACTIVE (unmounted) volume: the volume is
# suspended around the rollback message and resumed, and then reads the
# snapshot's data without being reactivated.
# needs: target
# timeout: 300

load_cowtree
brd_load 2 256
dmcowctl pool create pool /dev/ram0 /dev/ram1 || die "pool create"
dmcowctl create pool/v 16M || die "create"
pat_write /dev/mapper/pool-v --tag 1 --gen 1
dmcowctl snapshot pool/v s || die "snapshot"
pat_write /dev/mapper/pool-v --tag 1 --gen 2 --length 4M
dmcowctl rollback pool/v s || die "rollback of the active volume failed"
dmsetup info pool-v | grep -q "State: *ACTIVE" || die "pool-v left suspended"
pat_verify /dev/mapper/pool-v --tag 1 --gen 1
log "dmcowctl-rollback-active ok"
