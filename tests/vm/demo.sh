# make demo: dm-cowtree at work, narrated.
# Disks: /dev/vda (1 GiB, metadata) and /dev/vdb (4 GiB, data), sparse.

say() { echo; echo "### $*"; }
run() { echo "# $*"; "$@" || die "'$*' failed"; }

say "Kernel $(uname -r); loading dm-cowtree"
load_cowtree
dmsetup targets | grep cowtree

say "A pool: metadata on /dev/vda, data on /dev/vdb (64 KiB chunks)"
run dmcowctl pool create pool /dev/vda /dev/vdb --chunk-size 64k
run dmcowctl create pool/home 1G
run mkfs.ext4 -q /dev/mapper/pool-home
mkdir -p /mnt/home /mnt/snap
run mount /dev/mapper/pool-home /mnt/home
mkdir -p /mnt/home/alice
echo "draft 1" > /mnt/home/alice/report.txt
ln /mnt/home/alice/report.txt /mnt/home/alice/report-link.txt
dd if=/dev/urandom of=/mnt/home/alice/photo.raw bs=1M count=32 2>/dev/null
sync
ls -li /mnt/home/alice

say "Atomic snapshot while mounted: freeze + suspend, one metadata transaction, resume"
run dmcowctl snapshot pool/home monday

say "Keep working on the origin"
echo "draft 2" > /mnt/home/alice/report.txt
rm /mnt/home/alice/photo.raw
sync
echo "origin report.txt: $(cat /mnt/home/alice/report.txt)"

say "The snapshot is a writable volume of its own; it still holds Monday's files"
run dmcowctl activate pool/monday
run mount -o ro /dev/mapper/pool-monday /mnt/snap
ls -li /mnt/snap/alice
echo "snapshot report.txt: $(cat /mnt/snap/alice/report.txt)"
echo "(same inode numbers and the hard link: the snapshot is below the file system)"

say "Volumes and pool"
run dmcowctl list pool
run dmcowctl pool status pool

say "Delete the snapshot: returns at once, space comes back in the background"
umount /mnt/snap
run dmcowctl delete pool/monday --force
sleep 2
run dmcowctl pool status pool

say "Roll back is just as cheap: snapshot, break something, roll back"
run dmcowctl snapshot pool/home before-upgrade
rm -rf /mnt/home/alice
umount /mnt/home
run dmcowctl rollback pool/home before-upgrade
run mount /dev/mapper/pool-home /mnt/home
ls /mnt/home/alice

say "File level, from block refcounts and the block delta: snapshot, change files"
dd if=/dev/urandom of=/mnt/home/alice/video.raw bs=1M count=8 2>/dev/null
sync
run dmcowctl snapshot pool/home tuesday
echo "draft 3" >> /mnt/home/alice/report.txt
mv /mnt/home/alice/report-link.txt /mnt/home/alice/report-old.txt
dd if=/dev/urandom of=/mnt/home/alice/video.raw bs=4k count=1 seek=100 conv=notrunc 2>/dev/null
mkdir /mnt/home/alice/notes
echo "todo" > /mnt/home/alice/notes/todo.txt
sync

say "What changed: diff starts from the chunks that differ (zfs diff style)"
run dmcowctl diff pool/tuesday pool/home

say "Which files still share their blocks with the snapshot: cowlinks"
run dmcowctl cowlinks pool/tuesday pool/home /alice

say "The snapshot's files, mounted through a throwaway view (the snapshot stays untouched)"
run dmcowctl mount pool/tuesday /mnt/snap
ls -li /mnt/snap/alice
run dmcowctl umount /mnt/snap

say "Get Tuesday's files back: only the 4 KiB that differ in video.raw are written"
run dmcowctl restore-files pool/tuesday:/alice /mnt/home/alice --delete
ls -li /mnt/home/alice
echo "origin report.txt: $(cat /mnt/home/alice/report.txt)"

say "Space per file: shared with the snapshot or exclusive"
run dmcowctl du pool/home /alice --with

say "Rewrite identical data (a program saves video.raw again, same bytes): each chunk written loses its sharing"
echo "# dd if=video.raw of=video.raw conv=notrunc"
dd if=/mnt/home/alice/video.raw of=/mnt/home/alice/video.raw bs=64k conv=notrunc 2>/dev/null
sync
run dmcowctl list pool -o name,mapped,excl
say "reshare: compare the chunks that differ in the metadata, share the equal ones again"
run dmcowctl reshare pool/home pool/tuesday --dry-run
run dmcowctl reshare pool/home pool/tuesday
run dmcowctl list pool -o name,mapped,excl
umount /mnt/home

say "Replicate to another pool (on another machine: pipe it through ssh)"
brd_load 2 256
run dmcowctl pool create backup /dev/ram0 /dev/ram1
echo "# dmcowctl send pool/tuesday | dmcowctl receive backup/tuesday"
dmcowctl send pool/tuesday | dmcowctl receive backup/tuesday || die "full send | receive failed"
run mount /dev/mapper/pool-home /mnt/home
echo "draft 3" > /mnt/home/alice/report.txt
umount /mnt/home
run dmcowctl snapshot pool/home wednesday
say "Incremental: only the chunks that changed since tuesday (found in the metadata, shared ones never read)"
run dmcowctl send pool/wednesday --from pool/tuesday --dry-run
echo "# dmcowctl send pool/wednesday --from pool/tuesday | dmcowctl receive backup/wednesday"
dmcowctl send pool/wednesday --from pool/tuesday | dmcowctl receive backup/wednesday ||
	die "incremental send | receive failed"
run dmcowctl list backup
run dmcowctl activate backup/wednesday
run mount -o ro /dev/mapper/backup-wednesday /mnt/snap
echo "backup report.txt: $(cat /mnt/snap/alice/report.txt)"
umount /mnt/snap
run dmcowctl pool deactivate backup --force

say "Clean up"
run dmcowctl pool deactivate pool --force
rmmod dm_cowtree && echo "dm-cowtree unloaded"
