# Bad tables and bad messages are refused, and a refusal changes nothing:
# no device left behind, the status of every device identical before and
# after, and a metadata device that is not ours is never written.
# needs: target
# timeout: 300

load_cowtree
brd_load 4 64
sz=$(mib_sectors 64)
P="cowtree-pool"

# refuse_table WHAT TABLE: creating a device with TABLE must fail, leave no
# device behind and change no other device.
refuse_table() {
	local what=$1 table=$2 before
	before=$(all_status)
	log "check: refused table: $what"
	expect_fail dmsetup create bad --table "$table"
	[ ! -e /dev/mapper/bad ] || die "refused table ($what) left /dev/mapper/bad"
	if dmsetup info bad > /dev/null 2>&1; then
		die "refused table ($what) left device 'bad'"
	fi
	[ "$(all_status)" = "$before" ] || die "refused table ($what) changed the status"
}

# ---- pool tables ----
refuse_table "no arguments" "0 $sz $P"
refuse_table "3 arguments" "0 $sz $P /dev/ram0 /dev/ram1 128"
refuse_table "feature count beyond the line" "0 $sz $P /dev/ram0 /dev/ram1 128 16 2 skip_zeroing"
refuse_table "feature count too small" "0 $sz $P /dev/ram0 /dev/ram1 128 16 1 skip_zeroing read_only"
refuse_table "trailing garbage" "0 $sz $P /dev/ram0 /dev/ram1 128 16 0 extra"
refuse_table "unknown feature" "0 $sz $P /dev/ram0 /dev/ram1 128 16 1 frobnicate"
refuse_table "non-numeric feature count" "0 $sz $P /dev/ram0 /dev/ram1 128 16 x skip_zeroing"
for c in 0 1 4 7 96 129 4096 -128 abc 128x 0x80k 99999999999999999999; do
	refuse_table "chunk size $c" "0 $sz $P /dev/ram0 /dev/ram1 $c 16"
done
refuse_table "non-numeric low water" "0 $sz $P /dev/ram0 /dev/ram1 128 lots"
refuse_table "negative low water" "0 $sz $P /dev/ram0 /dev/ram1 128 -1"
refuse_table "missing metadata device" "0 $sz $P /dev/nonexistent /dev/ram1 128 16"
refuse_table "missing data device" "0 $sz $P /dev/ram0 /dev/nonexistent 128 16"
refuse_table "metadata and data the same device" "0 $sz $P /dev/ram0 /dev/ram0 128 16"

log "check: metadata with garbage in block 0 is refused and not written"
head -c 4096 /dev/urandom > /tmp/garbage
dd if=/tmp/garbage of=/dev/ram2 bs=4096 count=1 conv=notrunc 2>/dev/null
sync
sum0=$(head -c 1048576 /dev/ram2 | md5sum)
refuse_table "garbage superblock" "0 $sz $P /dev/ram2 /dev/ram1 128 16"
echo 3 > /proc/sys/vm/drop_caches
[ "$(head -c 1048576 /dev/ram2 | md5sum)" = "$sum0" ] || die "refused metadata device was written"
head -c 4096 /dev/ram2 | cmp -s - /tmp/garbage || die "block 0 of the refused metadata device changed"

# ---- a working pool for the rest ----
pool_create pool /dev/ram0 /dev/ram1 $COW_CHUNK
log "check: metadata with another chunk size is refused"
dmsetup remove pool
refuse_table "chunk size differs from the formatted one" "0 $sz $P /dev/ram0 /dev/ram1 256 16"
pool_create pool /dev/ram0 /dev/ram1 $COW_CHUNK
refuse_table "metadata device of an active pool" "0 $sz $P /dev/ram0 /dev/ram3 128 16"
refuse_table "data device of an active pool" "0 $sz $P /dev/ram3 /dev/ram1 128 16"
vol_create pool 1 v1 $(mib_sectors 16)
pat_write /dev/mapper/v1 --tag 1 --gen 1 --length 1M --fsync
vol_create pool 2 v2 $(mib_sectors 16)
vol_deactivate v2

# ---- volume tables ----
refuse_table "volume without id" "0 $sz cowtree /dev/mapper/pool"
refuse_table "volume with extra argument" "0 $sz cowtree /dev/mapper/pool 2 x"
refuse_table "volume id not a number" "0 $sz cowtree /dev/mapper/pool two"
refuse_table "volume id negative" "0 $sz cowtree /dev/mapper/pool -2"
refuse_table "volume id of 49 bits" "0 $sz cowtree /dev/mapper/pool 281474976710656"
refuse_table "volume id unknown" "0 $sz cowtree /dev/mapper/pool 77"
refuse_table "volume on a device that is not a pool" "0 $sz cowtree /dev/ram3 2"
refuse_table "volume on a missing pool" "0 $sz cowtree /dev/mapper/nopool 2"

# ---- messages ----
# refuse_msg WHAT WORD...: the pool message must fail and change nothing.
refuse_msg() {
	local what=$1 before
	shift
	before=$(all_status)
	log "check: refused message: $what ($*)"
	expect_fail try_msg pool "$@"
	[ "$(all_status)" = "$before" ] || die "refused message ($what) changed the status"
}
refuse_msg "unknown message" frobnicate 1
refuse_msg "create without name" create 3
refuse_msg "create without arguments" create
refuse_msg "create with extra argument" create 3 three extra
refuse_msg "create with a duplicate id" create 1 again
refuse_msg "create with a non-numeric id" create x name
refuse_msg "create with a negative id" create -3 neg
refuse_msg "create with a 49-bit id" create 281474976710656 big
refuse_msg "create with a huge id" create 99999999999999999999999999 huge
refuse_msg "delete without id" delete
refuse_msg "delete of an unknown id" delete 77
refuse_msg "delete of a huge id" delete 18446744073709551616
refuse_msg "delete with extra argument" delete 2 2
refuse_msg "delete of an open volume" delete 1
refuse_msg "snapshot without name" snapshot 5 2
refuse_msg "snapshot with a partial second triple" snapshot 5 2 five 6 2
refuse_msg "snapshot of an unknown origin" snapshot 5 77 five
refuse_msg "snapshot onto an existing id" snapshot 2 2 self
refuse_msg "snapshot onto an existing id (other)" snapshot 1 2 clash
refuse_msg "snapshot of an active unsuspended origin" snapshot 5 1 five
refuse_msg "snapshot with a negative new id" snapshot -5 2 five
refuse_msg "rollback of an active unsuspended volume" rollback 1 2
refuse_msg "rollback to an unknown snapshot" rollback 2 77
refuse_msg "rollback of an unknown volume" rollback 77 2
refuse_msg "rollback without snapshot" rollback 2
tid=$(pool_status_field pool 1)
refuse_msg "set_transaction_id with a wrong old id" set_transaction_id $((tid + 1)) $((tid + 2))
refuse_msg "set_transaction_id without new id" set_transaction_id $tid
refuse_msg "set_transaction_id non-numeric" set_transaction_id $tid next
refuse_msg "set_name of an unknown id" set_name 77 name
refuse_msg "set_name without name" set_name 1
refuse_msg "release_metadata_snap without reserve" release_metadata_snap
n64=0123456789012345678901234567890123456789012345678901234567890123
refuse_msg "create with a 64-byte name" create 3 $n64
refuse_msg "set_name with a 64-byte name" set_name 1 $n64
refuse_msg "snapshot with a 64-byte name" snapshot 5 2 $n64
log "check: a 63-byte name is accepted"
msg pool create 3 ${n64%3}
msg pool delete 3

log "check: the pool still works after all that"
expect_fail try_vol_activate pool 5 probe5 $(mib_sectors 16)
pat_verify /dev/mapper/v1 --tag 1 --gen 1 --length 1M
snapshot pool 5 1 five
vol_activate pool 5 five $(mib_sectors 16)
pat_verify /dev/mapper/five --tag 1 --gen 1 --length 1M
msg pool delete 2
log "bad-input ok"
