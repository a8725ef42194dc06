# dmcowctl metadata tools on a real pool: check --live and delta on the
# active pool (held metadata snapshot, released afterwards), then check,
# dump, restore and delta --metadata after deactivation, and the pool
# activated again on the restored metadata.
# needs: target
# timeout: 300

load_cowtree
brd_load 3 128

out() {
	local f=$1
	shift
	"$@" > $f 2>&1 || { cat $f; die "'$*' failed"; }
	cat $f
}

held_root() { dmsetup status pool | awk '{print $7}'; }

log "pool, a volume with data, a snapshot, more writes"
out /tmp/o dmcowctl pool create pool /dev/ram0 /dev/ram1
out /tmp/o dmcowctl create pool/root 32M
dd if=/dev/urandom of=/dev/mapper/pool-root bs=64k count=64 oflag=direct 2>/dev/null
out /tmp/o dmcowctl snapshot pool/root monday
dd if=/dev/urandom of=/dev/mapper/pool-root bs=64k count=8 seek=16 oflag=direct 2>/dev/null
sync

log "check --live while the pool runs"
out /tmp/c dmcowctl check --live pool
grep -q "clean" /tmp/c || die "check --live not clean"
[ "$(held_root)" = "-" ] || die "check --live left the metadata snapshot held: $(dmsetup status pool)"
out /tmp/cj dmcowctl check --live --json pool
grep -q '"clean": true' /tmp/cj || die "check --live --json not clean"

log "delta online"
out /tmp/d dmcowctl delta pool/root pool/monday
grep -q "^different 16 8$" /tmp/d || die "delta online: expected 'different 16 8'"
[ "$(held_root)" = "-" ] || die "delta left the metadata snapshot held"

log "a snapshot held by someone else is used and left held"
dmsetup message pool 0 reserve_metadata_snap
h=$(held_root)
[ "$h" != "-" ] || die "no held root after reserve_metadata_snap"
out /tmp/c dmcowctl check --live pool
[ "$(held_root)" = "$h" ] || die "check --live released a snapshot it did not take"
dmsetup message pool 0 release_metadata_snap

log "offline: check, dump, delta --metadata"
out /tmp/o dmcowctl deactivate pool/root
out /tmp/o dmcowctl pool deactivate pool
out /tmp/c dmcowctl check /dev/ram0
out /tmp/dump dmcowctl dump /dev/ram0
grep -q '^volume id=.* name="monday"' /tmp/dump || die "dump lacks monday"
out /tmp/d2 dmcowctl delta --metadata /dev/ram0 root monday
grep -q "^different 16 8$" /tmp/d2 || die "delta --metadata differs from online delta"

log "restore to another device, activate there, same data"
out /tmp/o dmcowctl restore -i /tmp/dump -o /dev/ram2
out /tmp/c dmcowctl check /dev/ram2
out /tmp/dump2 dmcowctl dump /dev/ram2
grep -v '^superblock' /tmp/dump > /tmp/a; grep -v '^superblock' /tmp/dump2 > /tmp/b
cmp /tmp/a /tmp/b || die "dump of the restored pool differs"
out /tmp/o dmcowctl pool activate pool /dev/ram2 /dev/ram1
out /tmp/o dmcowctl activate pool/monday
out /tmp/o dmcowctl check --live pool
out /tmp/o dmcowctl deactivate pool/monday
out /tmp/o dmcowctl pool deactivate pool
log "ok"
