# make demo: dm-cowtree at work, narrated.
# Disks: /dev/vda (1 GiB, metadata) and /dev/vdb (4 GiB, data), sparse.

say() { echo; echo "### $*"; }
run() { echo "# $*"; "$@"; }

say "Kernel $(uname -r); loading dm-cowtree"
load_cowtree
dmsetup targets | grep cowtree

say "A pool: metadata on /dev/vda, data on /dev/vdb, 64 KiB chunks"
run dmsetup create pool --table "0 $(blockdev --getsz /dev/vdb) cowtree-pool /dev/vda /dev/vdb 128 1024"
run dmsetup message pool 0 "create 1 home"
run dmsetup create home --table "0 2097152 cowtree /dev/mapper/pool 1"
run mkfs.ext4 -q /dev/mapper/home
mkdir -p /mnt/home /mnt/snap
run mount /dev/mapper/home /mnt/home
mkdir -p /mnt/home/alice
echo "draft 1" > /mnt/home/alice/report.txt
ln /mnt/home/alice/report.txt /mnt/home/alice/report-link.txt
dd if=/dev/urandom of=/mnt/home/alice/photo.raw bs=1M count=32 2>/dev/null
sync
ls -li /mnt/home/alice

say "Atomic snapshot while mounted: suspend (freezes ext4), one metadata transaction, resume"
t0=$(cat /proc/uptime | cut -d' ' -f1)
run dmsetup suspend home
run dmsetup message pool 0 "snapshot 2 1 home-monday"
run dmsetup resume home
echo "(the volume was suspended for well under a second; no data was copied)"

say "Keep working on the origin"
echo "draft 2" > /mnt/home/alice/report.txt
rm /mnt/home/alice/photo.raw
sync
cat /mnt/home/alice/report.txt

say "The snapshot is a writable volume of its own; it still holds Monday's files"
run dmsetup create home-monday --table "0 2097152 cowtree /dev/mapper/pool 2"
run mount -o ro /dev/mapper/home-monday /mnt/snap
ls -li /mnt/snap/alice
echo "report.txt in the snapshot: $(cat /mnt/snap/alice/report.txt)"
echo "(same inode numbers, the hard link kept: the snapshot is below the file system)"

say "Pool and volume status: <txid> <meta used/total> <data used/total> <held> <mode> ..."
dmsetup status pool
dmsetup status home
dmsetup status home-monday

say "Delete the snapshot: the message returns at once, space comes back in the background"
umount /mnt/snap
run dmsetup remove home-monday
run dmsetup message pool 0 "delete 2"
dmsetup status pool
sleep 2
dmsetup status pool

say "Clean up"
umount /mnt/home
dmsetup remove home
dmsetup remove pool
rmmod dm_cowtree && echo "dm-cowtree unloaded"
