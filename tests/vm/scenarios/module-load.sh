# The module loads, registers both targets, refuses tables it cannot serve
# with a clear message, and unloads cleanly.
# timeout: 120

load_cowtree
dmsetup targets > /tmp/targets
cat /tmp/targets
grep -q '^cowtree-pool ' /tmp/targets || die "cowtree-pool not registered"
grep -q '^cowtree ' /tmp/targets || die "cowtree not registered"

brd_load 2 64
rmmod dm_cowtree || die "rmmod failed"
dmsetup targets | grep -q cowtree && die "targets still registered after rmmod"
load_cowtree
log "module reloads"

# Until the I/O path lands, every table is refused with a sentence.
expect_fail dmsetup create pool --table "0 131072 cowtree-pool /dev/ram0 /dev/ram1 128 16"
dmesg | grep -q 'cowtree-pool: this build cannot activate pools' || die "no clear DMERR for the refused table"
expect_fail dmsetup create vol --table "0 131072 cowtree /dev/ram0 1"
[ ! -e /dev/mapper/pool ] || die "refused pool left a device behind"
