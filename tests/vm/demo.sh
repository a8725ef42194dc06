# make demo: what dm-cowtree does today, narrated.  Grows as features land.
# Disks: /dev/vda (1 GiB, metadata) and /dev/vdb (4 GiB, data), sparse.

say() { echo; echo "### $*"; }

say "Kernel $(uname -r); loading dm-cowtree"
load_cowtree
dmsetup targets | grep cowtree

say "dmcowctl, the userspace tool"
dmcowctl version
dmcowctl help

say "A pool table is refused with a clear error until the I/O path lands"
dmsetup create pool --table "0 $(blockdev --getsz /dev/vdb) cowtree-pool /dev/vda /dev/vdb 128 16" || true
dmesg | grep 'cowtree' | tail -2

say "Unloading"
rmmod dm_cowtree && echo "dm-cowtree unloaded"
