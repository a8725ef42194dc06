# Hidden and throwaway volumes (the tools' own: file-level views, receives
# in progress): made hidden by create/snapshot or set_visibility, left out
# of 'dmcowctl list' unless --all, made visible under their final name in
# one message; a throwaway volume left by a crash is deleted when the pool
# is next activated, and its chunks come back.
# needs: target
# timeout: 400
# disks: 64M 256M
# boots: 2

load_cowtree
meta=/dev/vda data=/dev/vdb

listed() { # listed POOL NAME [--all]: is NAME in 'dmcowctl list'?
	dmcowctl list $1 $3 -o name > /tmp/list || die "dmcowctl list $1 $3 failed"
	sed 's/^[|` -]*//' /tmp/list | grep -qx "$2"
}

if [ "$COW_BOOT" = 1 ]; then
	pool_create pool $meta $data $COW_CHUNK
	vol_create pool 1 origin $(mib_sectors 16)
	pat_write /dev/mapper/origin --tag 1 --gen 1 --fsync

	log "a throwaway snapshot and a hidden volume"
	dmsetup suspend origin
	msg pool "snapshot 2 1 .view-2 throwaway"
	dmsetup resume origin
	msg pool "create 3 .recv-3 hidden"
	listed pool .view-2 && die "a throwaway volume is listed without --all"
	listed pool .recv-3 && die "a hidden volume is listed without --all"
	listed pool .view-2 --all || die "--all does not list the throwaway volume"
	listed pool .recv-3 --all || die "--all does not list the hidden volume"
	dmcowctl list pool --all -o name,flags | grep -q '\.view-2 *throwaway$' ||
		die "flags column: $(dmcowctl list pool --all -o name,flags)"
	dmcowctl list pool --json > /tmp/j
	grep -q '"hidden": false' /tmp/j || die "JSON lacks hidden: $(cat /tmp/j)"
	dmcowctl list pool --all --json | grep -q '"throwaway": true' ||
		die "JSON of --all lacks throwaway: true"

	log "a hidden snapshot works like any volume"
	vol_activate pool 2 view $(mib_sectors 16)
	pat_verify /dev/mapper/view --tag 1 --gen 1
	vol_deactivate view

	log "set_visibility: visible under a final name in one message"
	msg pool "set_visibility 3 visible received"
	listed pool received || die "received is not listed after set_visibility"
	listed pool .recv-3 --all && die "the old name is still listed"
	msg pool "set_visibility 3 hidden"
	listed pool received && die "set_visibility hidden did not hide it"

	log "bad input: clear errors, nothing changed"
	expect_fail try_msg pool "set_visibility 3 sideways"
	dmesg | grep -q "set_visibility: 'sideways' is not one of visible, hidden, throwaway" ||
		die "no DMERR for a bad visibility"
	expect_fail try_msg pool "set_visibility 99 visible"
	dmsetup suspend origin
	expect_fail try_msg pool "snapshot 4 1 four sideways"
	dmsetup resume origin
	listed pool four --all && die "a refused snapshot was made"
	expect_fail try_msg pool "create 5 five hidden extra"
	listed pool five --all && die "a refused create was made"

	log "power cut with the throwaway volume still there"
	power_cut
	sleep 60
	die "still running after power_cut"
fi

log "boot 2: activation deletes the throwaway volume, keeps the hidden one"
pool_create pool $meta $data $COW_CHUNK
dmesg | grep -q "deleted 1 throwaway volume(s) left by a crash" ||
	die "no message about the deleted throwaway volume: $(dmesg | grep cowtree | tail -3)"
listed pool .view-2 --all && die "the throwaway volume survived activation"
listed pool received --all || die "the hidden volume was deleted too"
listed pool origin || die "origin is gone"
vol_activate pool 1 origin $(mib_sectors 16)
pat_verify /dev/mapper/origin --tag 1 --gen 1
vol_deactivate origin
log "wait for reclaim, then an offline check"
i=0
while [ "$(pool_status_field pool 9)" != 0 ] && [ $i -lt 100 ]; do
	sleep 0.2
	i=$((i + 1))
done
pool_remove pool
dmcowctl check --strict-leaks $meta > /tmp/c 2>&1 || die "check: $(cat /tmp/c)"
log "hidden-volumes ok"
