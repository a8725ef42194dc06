#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Host tests of the offline dmcowctl tools (check, dump, restore, repair,
# delta) on plain image files.  Pools are made by 'dmcowctl restore' from
# a hand-written dump.  Last line: "tools: N passed, N failed".
#
# DMCOWCTL=path overrides the binary (default: build it).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/host-lib.sh"
host_setup tools

# expect_rc NAME RC CMD...: run CMD, output in out.txt/err.txt
expect_rc() {
	local name=$1 want=$2 rc
	shift 2
	"$@" > out.txt 2> err.txt
	rc=$?
	if [[ $rc == "$want" ]]; then
		ok "$name"
	else
		ko "$name" "exit $rc, expected $want; stderr: $(head -c 300 err.txt)"
	fi
}

# block_of TREE LEAF IMAGE: first btree node of tree TREE (1 mapping,
# 2 volumes) that is a leaf (LEAF=2) or internal (LEAF=1).
block_of() {
	local b w
	for ((b = 1; b < 200; b++)); do
		read -r -a w < <(od -A n -t u4 -v -w44 -j $((b * 4096)) -N 44 "$3")
		# w[1] type "CWND", w[6] flags, w[10] tree
		if [[ ${w[1]:-0} == 1145984835 && ${w[6]:-} == "$2" && ${w[10]:-} == "$1" ]]; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

# Three volumes: 1 has a multi-level mapping tree (2600 chunks), 2 is a
# snapshot of 1 sharing its first 300 chunks, 5 maps nothing.
cat > base.dump <<'EOF'
# hand-written dump: see dmcowctl(8)
cowtree-dump 1
superblock version=1 chunk_sectors=128 nr_data_chunks=8192 nr_metadata_blocks=1024 txn=9 user_txn_id=7 time=5 flags=0 uuid=00112233445566778899aabbccddeeff held_root=-
volume id=1 name="base" size_sectors=1048576 ctime=1700000000 origin=- flags=0 snap_time=3 origin_time=0 mapped=0 exclusive=0 written=0 alloc_hint=700
map 0 0 300 1
map 300 1000 2000 4
map 2400 4000 300 2
volume id=2 name="snap \"one\"" size_sectors=1048576 ctime=1700000100 origin=1 flags=0 snap_time=3 origin_time=3 mapped=0 exclusive=0 written=0 alloc_hint=0
map 0 0 300 1
map 300 3500 50 3
map 1000 3600 7 4
volume id=5 name="empty" size_sectors=2048 ctime=1700000200 origin=- flags=0 snap_time=0 origin_time=0 mapped=0 exclusive=0 written=0 alloc_hint=0
end-dump
EOF

#------------------------------------------------------------------
# restore and check

expect_rc "restore from a hand-written dump" 0 "$D" restore -i base.dump -o pool.img
expect_rc "check clean" 0 "$D" check pool.img
grep -q "clean" out.txt && ok "check says clean" || ko "check says clean" "$(cat out.txt)"
expect_rc "check --quiet" 0 "$D" check --quiet pool.img
[[ ! -s out.txt ]] && ok "check --quiet prints nothing" || ko "check --quiet prints nothing"
expect_rc "check --json" 0 "$D" check --json pool.img
if grep -q '"clean": true' out.txt && grep -q '"volumes": 3' out.txt &&
   grep -q '"metadata_blocks"' out.txt && grep -q '"data_chunks"' out.txt; then
	ok "check --json report"
else
	ko "check --json report" "$(cat out.txt)"
fi

#------------------------------------------------------------------
# dump / restore round trips

expect_rc "dump" 0 "$D" dump pool.img -o d1.dump
grep -q '^volume id=2 name="snap \\"one\\""' d1.dump && ok "dump quotes names" ||
	ko "dump quotes names"
grep -q '^map 300 1000 2000 4$' d1.dump && ok "dump merges runs" || ko "dump merges runs"
expect_rc "restore the dump" 0 "$D" restore -i d1.dump -o pool2.img
expect_rc "dump the restored pool" 0 "$D" dump pool2.img -o d2.dump
cmp -s d1.dump d2.dump && ok "dump -> restore -> dump identical" ||
	ko "dump -> restore -> dump identical" "$(diff d1.dump d2.dump | head -5)"
expect_rc "check the restored pool" 0 "$D" check pool2.img
expect_rc "dump --json" 0 "$D" dump --json pool.img -o d1.json
expect_rc "restore from JSON" 0 "$D" restore -i d1.json -o pool3.img
"$D" dump pool3.img > d3.dump 2>/dev/null
cmp -s d1.dump d3.dump && ok "JSON round trip identical" ||
	ko "JSON round trip identical" "$(diff d1.dump d3.dump | head -5)"
# Shared chunks are shared again: data used = distinct chunks.
"$D" check --json pool2.img > c2.json
grep -A2 '"data_chunks"' c2.json | grep -q '"used": 2657' &&
	ok "shared chunks counted once" || ko "shared chunks counted once" "$(cat c2.json)"

#------------------------------------------------------------------
# delta

expect_rc "delta --metadata" 0 "$D" delta --metadata pool.img base 'snap "one"'
cat > delta.want <<'EOF'
different 300 50
left_only 350 650
different 1000 7
left_only 1007 1293
left_only 2400 300
EOF
grep -v '^#' out.txt | cmp -s - delta.want && ok "delta ranges" ||
	ko "delta ranges" "$(grep -v '^#' out.txt | head -8)"
expect_rc "delta by id, --json" 0 "$D" delta --json --metadata pool.img 2 1
grep -q '"kind": "right_only"' out.txt && ok "delta --json" || ko "delta --json"
expect_rc "delta of a missing volume" 1 "$D" delta --metadata pool.img base nosuch

#------------------------------------------------------------------
# corruption

cp pool.img bad.img
leaf=$(block_of 1 2 bad.img)
if [[ -z $leaf ]]; then
	ko "find a mapping leaf"
else
	printf '\x5a' | dd of=bad.img bs=1 seek=$((leaf * 4096 + 100)) conv=notrunc status=none
	expect_rc "check a corrupted leaf" 1 "$D" check bad.img
	grep -q "block $leaf\b" out.txt && ok "check names the block" ||
		ko "check names the block" "$(cat out.txt)"
	expect_rc "check --json of corruption" 1 "$D" check --json bad.img
	grep -q '"clean": false' out.txt && ok "check --json says not clean" ||
		ko "check --json says not clean"
	expect_rc "dump refuses damaged metadata" 1 "$D" dump bad.img
	grep -q "$leaf" err.txt && ok "dump names the block" || ko "dump names the block"
fi

# repair: one mapping leaf zeroed
cp pool.img zero.img
if [[ -n $leaf ]]; then
	dd if=/dev/zero of=zero.img bs=4096 seek="$leaf" count=1 conv=notrunc status=none
	expect_rc "repair" 0 "$D" repair -i zero.img -o fixed.img
	grep -q "^lost: volume [0-9]* chunks" out.txt && ok "repair reports the loss" ||
		ko "repair reports the loss" "$(cat out.txt)"
	expect_rc "check the repaired pool" 0 "$D" check fixed.img
	lost=$(sed -n 's/.*lost \([0-9]*\) mappings.*/\1/p' out.txt)
	"$D" check --json fixed.img > out.txt
	before=$("$D" check --json pool.img | sed -n 's/.*"mappings": \([0-9]*\).*/\1/p')
	after=$(sed -n 's/.*"mappings": \([0-9]*\).*/\1/p' out.txt)
	repair_out=$("$D" repair -i zero.img -o fixed2.img)
	lost=$(sed -n 's/.*lost \([0-9]*\) mappings.*/\1/p' <<< "$repair_out")
	if [[ -n $lost && $lost -gt 0 && $((before - lost)) == "$after" ]]; then
		ok "repair salvages everything else ($after of $before mappings)"
	else
		ko "repair salvages everything else" "before=$before after=$after lost=$lost"
	fi
fi

# a damaged internal node of the volumes tree is not needed here; an
# unreadable superblock cannot be repaired
dd if=/dev/zero of=zero.img bs=4096 count=1 conv=notrunc status=none
expect_rc "check a zeroed superblock" 1 "$D" check zero.img
expect_rc "repair without a superblock fails" 1 "$D" repair -i zero.img -o fixed3.img

#------------------------------------------------------------------
# crafted corrupt images (tests/fixtures) and generated corruption

source "$top/tests/tools/corrupt-images.sh"

#------------------------------------------------------------------
# restore input errors

printf 'cowtree-dump 1\nsuperblock chunk_sectors=128 nr_data_chunks=10\nvolume id=1 name="a"\nmap 0 5 10 1\nend-dump\n' > big.dump
expect_rc "restore rejects chunks beyond the device" 1 "$D" restore -i big.dump -o big.img
printf 'cowtree-dump 1\nsuperblock chunk_sectors=128 nr_data_chunks=10\nvolume id=1 name="a"\nmap 0 5 1 1\n' > trunc.dump
expect_rc "restore rejects a truncated dump" 1 "$D" restore -i trunc.dump -o trunc.img
grep -q "trunc.dump:5:" err.txt && ok "parse errors name file and line" ||
	ko "parse errors name file and line" "$(cat err.txt)"
# Unsafe sharing in a hand-written dump is made safe.
printf 'cowtree-dump 1\nsuperblock chunk_sectors=128 nr_data_chunks=100 time=2\nvolume id=1 name="a" snap_time=0\nmap 0 5 3 1\nvolume id=2 name="b" snap_time=0\nmap 0 5 3 1\nend-dump\n' > unsafe.dump
expect_rc "restore of unsafe sharing" 0 "$D" restore -i unsafe.dump -o unsafe.img
"$D" dump unsafe.img | grep -c 'snap_time=2 ' | grep -q 2 && ok "unsafe sharing gets snap_time" ||
	ko "unsafe sharing gets snap_time" "$("$D" dump unsafe.img)"
expect_rc "check after unsafe restore" 0 "$D" check unsafe.img

#------------------------------------------------------------------
# repair keeps what the kernel can read (issue #20): a leaf written back in
# the middle of a split still holds the first entry its new right sibling
# took.  check must flag it; repair must lose nothing: the stale copy is
# dropped, a stray that maps a chunk nothing else maps is kept.

leafpy="python3 $top/tests/tools/btree-leaf.py"
read -r left left_lo left_hi _ < <($leafpy pool.img list | awk '$4 < 253' | sed -n 3p)
read -r right right_lo _ < <($leafpy pool.img list | awk -v hi="$left_hi" '$2 == hi + 1' | head -1)
if [[ -z ${left:-} || -z ${right:-} ]]; then
	ko "repair strays: no pair of sibling leaves in pool.img"
else
	before=$("$D" dump pool.img | grep -v '^superblock')
	cp pool.img split.img
	$leafpy split.img append "$left" "$right_lo" "$($leafpy pool.img value "$right" "$right_lo")"
	expect_rc "check flags a leaf that kept its sibling's first entry" 1 "$D" check split.img
	grep -q "node $left key $right_lo (entry [0-9]*) out of order or range" out.txt err.txt &&
		ok "check names the node and key" || ko "check names the node and key" "$(head -3 out.txt err.txt)"
	expect_rc "repair of the split leaf" 0 "$D" repair -i split.img -o split-fixed.img
	grep -q "^dropped: volume [0-9]* chunk $right_lo -> data chunk [0-9]*: a stale copy" out.txt &&
		ok "repair reports the stale copy it dropped" || ko "repair reports the stale copy it dropped" "$(cat out.txt)"
	grep -q "lost 0 mappings" out.txt && ok "repair loses no mapping to a split leaf" ||
		ko "repair loses no mapping to a split leaf" "$(cat out.txt)"
	expect_rc "check the pool repaired from a split leaf" 0 "$D" check split-fixed.img
	[[ $("$D" dump split-fixed.img | grep -v '^superblock') == "$before" ]] &&
		ok "repaired split leaf: every mapping as before" ||
		ko "repaired split leaf: every mapping as before"

	# A stray that nothing else maps (a chunk past the volume's last
	# mapping, as if the sibling had lost it) is kept.
	cp pool.img stray.img
	$leafpy stray.img append "$left" 100000 7000
	expect_rc "repair of a leaf with a unique stray" 0 "$D" repair -i stray.img -o stray-fixed.img
	grep -q "^kept: volume [0-9]* chunk 100000 -> data chunk 7000" out.txt &&
		ok "repair keeps and reports a unique stray" || ko "repair keeps and reports a unique stray" "$(cat out.txt)"
	expect_rc "check the pool repaired with a kept stray" 0 "$D" check stray-fixed.img
	"$D" dump stray-fixed.img | grep -q '^map 100000 7000 1 ' &&
		ok "the kept stray is mapped" || ko "the kept stray is mapped" "$("$D" dump stray-fixed.img | tail -3)"
fi

#------------------------------------------------------------------
# A block of another pool never validates (issue #20): the same dump
# restored with another uuid gives the same blocks at the same places with
# the same stamps; only the uuid-seeded checksum tells them apart.
sed 's/uuid=00112233445566778899aabbccddeeff/uuid=ffeeddccbbaa99887766554433221100/' base.dump > other.dump
"$D" restore -i other.dump -o other.img > /dev/null
if cmp -s <(dd if=pool.img bs=4096 skip="$left" count=1 2>/dev/null | tail -c +5) \
	<(dd if=other.img bs=4096 skip="$left" count=1 2>/dev/null | tail -c +5); then
	ok "two pools of one dump: block $left is the same but for its checksum"
	cp pool.img foreign.img
	dd if=other.img of=foreign.img bs=4096 skip="$left" seek="$left" count=1 conv=notrunc 2>/dev/null
	expect_rc "check rejects a block of another pool" 1 "$D" check foreign.img
	grep -q "block $left unreadable or invalid (checksum mismatch: damaged, or a block of another pool" out.txt err.txt &&
		ok "check says the block may be another pool's" ||
		ko "check says the block may be another pool's" "$(grep -m2 "block $left" out.txt err.txt)"
else
	ko "two pools of one dump: block $left is the same but for its checksum"
fi

#------------------------------------------------------------------
# A check that could not check the counters is not clean (issue #17 item
# 9).  The accounting pass reads every mapping leaf again; with 1200000
# mappings (5042 leaves, 15/16 full as restore's ascending inserts leave
# them) the first leaf has left dmcowctl's 4096-block cache by then, and
# failread.so makes that second read fail, as a disk going bad during the
# check would.

printf 'cowtree-dump 1\nsuperblock chunk_sectors=128 nr_data_chunks=1200000 nr_metadata_blocks=16384\nvolume id=1 name="big"\nmap 0 0 1200000 1\nend-dump\n' > big.dump
"$D" restore -i big.dump -o big.img > /dev/null
first_leaf=$($leafpy big.img list | awk '$2 == 0 && !found { print $1; found = 1 }')
failread() { # failread CMD...: CMD with block $first_leaf of big.img failing after one read
	FAILREAD_FILE=big.img FAILREAD_BLOCK=$first_leaf \
		LD_PRELOAD=$top/tests/tools/build/failread.so "$@"
}
if [[ -z $first_leaf || ! -f $top/tests/tools/build/failread.so ]]; then
	ko "a failing device: the first mapping leaf and failread.so" "leaf '$first_leaf'"
else
	expect_rc "check of the big pool, device healthy" 0 "$D" check --json big.img
	grep -q '"counters_checked": true' out.txt && ok "healthy: the counters are checked" ||
		ko "healthy: the counters are checked" "$(grep counters out.txt)"
	expect_rc "check with a leaf failing while accounting: exit 1" 1 failread "$D" check big.img
	grep -qx "error: volume 1: mapping block $first_leaf unreadable while accounting" out.txt &&
		ok "check names the block it could not read again" ||
		ko "check names the block it could not read again" "$(cat out.txt)"
	grep -qx "error: the volume counters could not be checked" out.txt &&
		ok "check says the counters were not checked" ||
		ko "check says the counters were not checked" "$(cat out.txt)"
	grep -q "^big.img: ERRORS FOUND; " out.txt && ok "the summary is not clean" ||
		ko "the summary is not clean" "$(tail -1 out.txt)"
	expect_rc "check --json with a leaf failing while accounting: exit 1" 1 \
		failread "$D" check --json big.img
	grep -q '"clean": false' out.txt && grep -q '"counters_checked": false' out.txt &&
		ok "check --json: not clean, counters not checked" ||
		ko "check --json: not clean, counters not checked" "$(grep -E 'clean|counters' out.txt)"
fi

#------------------------------------------------------------------
# usage errors: exit 2

expect_rc "check without a device" 2 "$D" check
expect_rc "check of a missing file" 2 "$D" check /nonexistent/meta
head -c 8192 /dev/zero > tiny.img
expect_rc "check of a too small file" 2 "$D" check tiny.img
expect_rc "check with an unknown option" 2 "$D" check --bogus pool.img
expect_rc "dump with two devices" 2 "$D" dump pool.img pool2.img
expect_rc "restore without -o" 2 "$D" restore -i base.dump
expect_rc "repair without -i" 2 "$D" repair -o x.img
expect_rc "restore onto its input" 2 "$D" restore -i base.dump -o base.dump
expect_rc "delta with one volume" 2 "$D" delta --metadata pool.img base
expect_rc "delta with a bad POOL/NAME" 2 "$D" delta a b
expect_rc "check --live --clear-needs-check" 2 "$D" check --live --clear-needs-check pool

echo "tools: $passed passed, $failed failed"
[[ $failed == 0 ]]
