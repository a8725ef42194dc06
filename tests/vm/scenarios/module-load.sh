# The module loads, registers both targets, cannot be unloaded while a
# pool uses it, and unloads cleanly afterwards.
# timeout: 120

load_cowtree
dmsetup targets > /tmp/targets
cat /tmp/targets
grep -q '^cowtree-pool ' /tmp/targets || die "cowtree-pool not registered"
grep -q '^cowtree ' /tmp/targets || die "cowtree not registered"

brd_load 2 64
dmsetup create pool --table "0 131072 cowtree-pool /dev/ram0 /dev/ram1 128 16" ||
	die "pool does not activate"
log "check: rmmod refuses while a pool is active"
expect_fail rmmod dm_cowtree
dmsetup remove pool
rmmod dm_cowtree || die "rmmod failed"
dmsetup targets | grep -q cowtree && die "targets still registered after rmmod"
load_cowtree
log "module reloads"
