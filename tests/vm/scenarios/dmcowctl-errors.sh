# dmcowctl refuses what it must, with exit 1 for operational errors and 2
# for usage errors: a device holding ext4 (unless --force), unknown pools
# and volumes, deleting a mounted volume, bad sizes, bad command lines.  A
# snapshot failing after the suspend (DMCOWCTL_FAIL_AFTER) resumes every
# volume, leaves mounted filesystems writable and creates no snapshot.
# needs: target
# timeout: 300

load_cowtree
brd_load 2 256

# rc_is WANT CMD...: CMD must exit with status WANT and print one line on
# stderr starting with "dmcowctl: ".
rc_is() {
	local want=$1 rc=0
	shift
	"$@" > /tmp/rc.out 2> /tmp/rc.err || rc=$?
	[ $rc = $want ] || { cat /tmp/rc.out /tmp/rc.err; die "'$*' exited $rc, want $want"; }
	if [ $want != 0 ]; then
		head -1 /tmp/rc.err | grep -q "^dmcowctl: ." || die "'$*' printed no error: $(cat /tmp/rc.err)"
	fi
	return 0
}

log "usage errors exit 2"
rc_is 2 dmcowctl
rc_is 2 dmcowctl frobnicate
rc_is 2 dmcowctl pool
rc_is 2 dmcowctl pool frob
rc_is 2 dmcowctl create pool/v
rc_is 2 dmcowctl create poolv 1M
rc_is 2 dmcowctl create pool/v 12x
rc_is 2 dmcowctl create pool/v 100
rc_is 2 dmcowctl create pool/v 0
rc_is 2 dmcowctl create pool/a/b 1M
rc_is 2 dmcowctl list --bogus
rc_is 2 dmcowctl list -o name,bogus
rc_is 2 dmcowctl pool create p /dev/ram0 /dev/ram1 --chunk-size 3k
rc_is 2 dmcowctl pool create p /dev/ram0 /dev/ram1 --chunk-size 4M
rc_is 2 dmcowctl pool create p /dev/ram0
rc_is 2 dmcowctl snapshot pool/a,other/b snap
rc_is 2 dmcowctl monitor pool --threshold 200
rc_is 0 dmcowctl help
rc_is 0 dmcowctl create --help

log "a device holding ext4 is refused unless --force"
mkfs.ext4 -q /dev/ram1
rc_is 1 dmcowctl pool create pool /dev/ram0 /dev/ram1
grep -q "ext4" /tmp/rc.err || die "refusal does not name the ext4 signature: $(cat /tmp/rc.err)"
grep -q -- "--force" /tmp/rc.err || die "refusal does not say --force: $(cat /tmp/rc.err)"
[ ! -e /dev/mapper/pool ] || die "pool created despite the refusal"
mkfs.ext4 -q /dev/ram0
rc_is 1 dmcowctl pool create pool /dev/ram0 /dev/ram1
rc_is 0 dmcowctl pool create pool /dev/ram0 /dev/ram1 --force
[ -b /dev/mapper/pool ] || die "no pool after --force"
rc_is 1 dmcowctl pool create pool /dev/ram0 /dev/ram1 --force

log "unknown pools and volumes"
rc_is 1 dmcowctl create nopool/v 1M
grep -q "nopool" /tmp/rc.err || die "error does not name the pool"
rc_is 1 dmcowctl list nopool
rc_is 1 dmcowctl pool status nopool
rc_is 1 dmcowctl activate pool/nosuch
grep -q "no volume 'nosuch'" /tmp/rc.err || die "error does not name the volume: $(cat /tmp/rc.err)"
rc_is 1 dmcowctl delete pool/nosuch
rc_is 1 dmcowctl snapshot pool/nosuch snap
rc_is 1 dmcowctl rollback pool/nosuch snap
rc_is 1 dmcowctl rename pool/nosuch x
rc_is 1 dmcowctl resize pool/nosuch 1G

log "bad sizes for an existing volume"
rc_is 0 dmcowctl create pool/a 32M
rc_is 0 dmcowctl create pool/b 32M
rc_is 2 dmcowctl resize pool/a lots
rc_is 1 dmcowctl resize pool/a 16M
[ "$(blockdev --getsz /dev/mapper/pool-a)" = 65536 ] || die "refused shrink changed the size"

log "deleting a mounted volume is refused, even with --force"
mkfs.ext4 -q /dev/mapper/pool-a
mkdir -p /mnt/a
mount /dev/mapper/pool-a /mnt/a
echo before > /mnt/a/f
rc_is 1 dmcowctl delete pool/a
rc_is 1 dmcowctl delete pool/a --force
grep -q "mounted at /mnt/a" /tmp/rc.err || die "error does not say where it is mounted: $(cat /tmp/rc.err)"
rc_is 1 dmcowctl deactivate pool/a
[ -b /dev/mapper/pool-a ] || die "mounted volume was deactivated"
rc_is 1 dmcowctl pool deactivate pool
rc_is 1 dmcowctl pool deactivate pool --force
[ -b /dev/mapper/pool ] || die "pool with a mounted volume was deactivated"
rc_is 1 dmcowctl rollback pool/a nosuch

log "a failed snapshot resumes every volume and creates nothing"
# ids and names only: the mapped counts move with ext4's own writes.
vols() { dmsetup message pool 0 volumes | cut -d' ' -f1,2; }
volumes_before=$(vols)
for step in suspend message; do
	DMCOWCTL_FAIL_AFTER=$step rc_is 1 dmcowctl snapshot pool/a,pool/b fail$step
	for d in pool-a pool-b; do
		dmsetup info $d | grep -q "State: *ACTIVE" || die "$d left suspended after a failure after $step: $(dmsetup info $d)"
	done
	[ "$(vols)" = "$volumes_before" ] ||
		die "failure after $step left a snapshot: $(vols)"
	! dmcowctl list pool | grep -q fail$step || die "list shows a snapshot after a failure after $step"
	# A frozen filesystem would block this write for ever.
	timeout 20 sh -c "echo after-$step > /mnt/a/f && sync" || die "/mnt/a still frozen after a failure after $step"
done
DMCOWCTL_FAIL_AFTER=suspend rc_is 1 dmcowctl snapshot pool/a single
dmsetup info pool-a | grep -q "State: *ACTIVE" || die "pool-a left suspended"
[ "$(vols)" = "$volumes_before" ] || die "single failed snapshot left a trace"

log "a group naming an unknown volume fails as a whole"
rc_is 1 dmcowctl snapshot pool/a,pool/nosuch g
rc_is 1 dmcowctl snapshot pool/a,pool/a g
[ "$(vols)" = "$volumes_before" ] || die "refused group left a trace"
for d in pool-a pool-b; do
	dmsetup info $d | grep -q "State: *ACTIVE" || die "$d suspended by a refused group"
done

log "names: existing snapshot name, bad names"
rc_is 0 dmcowctl snapshot pool/b s1
rc_is 1 dmcowctl snapshot pool/b s1
rc_is 1 dmcowctl create pool/s1 1M
rc_is 2 dmcowctl rename pool/b "bad name"
rc_is 1 dmcowctl rename pool/b s1
umount /mnt/a
log "dmcowctl-errors ok"
