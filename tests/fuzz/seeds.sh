#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Regenerate the seed corpora (tests/fuzz/corpus/<target>/) from real
# images and real text.  Run it (make -C tests/fuzz seeds) after a format
# change and commit the result; run.sh only reads corpus/.
#
# Block targets (fuzz-block.h input: 2 control bytes + a block):
#  - the fuzz harness's own base pool (FUZZ_SAVE_BASE), made by the core:
#    every block kind, as is (control 0: the block passes the format's
#    checks wherever it is placed);
#  - that pool dumped and restored by dmcowctl (another layout);
#  - the crafted images of tests/fixtures;
#  - tests/tools/cowfuzz corruptions of the base pool (flip, zero, dup,
#    stale, header, field) of a block of each kind, raw (control 1) at
#    the block they damaged: the validators' rejection paths.
# restore: `dmcowctl dump` of those pools (text and JSON) and the
# hand-written dump of tests/tools/run.sh.
# pool-table, volume-table, pool-message: the table lines and messages of
# Documentation/admin-guide/device-mapper/cowtree.rst (one input: the
# arguments, NUL-separated).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$here"

make -s all
make -s -C "$top/tests/tools" > /dev/null
make -s -C "$top/tools/dmcowctl" > /dev/null
F=$top/tests/tools/build/cowfuzz
D=$top/tools/dmcowctl/build/dmcowctl
tmp=$(mktemp -d /tmp/cowtree-seeds.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# class (cowfuzz classify) -> block target
target_of() {
	case $1 in
	sb) echo block-sb ;;
	map-*) echo block-node-map ;;
	vol-*) echo block-node-vol ;;
	dead-*) echo block-node-dead ;;
	dsm-leaf | dsm-internal) echo block-node-dsm ;;
	msm-root | msm-index | msm-rc | dsm-rc | held) echo "block-$1" ;;
	esac
}

# seed FILE CONTROL INSTANCE IMAGE BLOCK
seed() {
	{
		printf "\\x$(printf %02x "$2")\\x$(printf %02x $(($3 % 256)))"
		dd if="$4" bs=4096 skip="$5" count=1 status=none
	} > "$1"
}

# classify IMAGE: "<block> <target> <rank>" (rank among the target's
# blocks in block order: the harness's instance number for the base pool).
# Fails if cowfuzz cannot walk the image.
classify() {
	"$F" classify "$1" > "$tmp/raw-classes" 2> /dev/null || return 1
	grep -v '^count' "$tmp/raw-classes" | while read -r b c; do
		echo "$b $(target_of "$c")"
	done | sort -k2,2 -k1,1n | awk '{ r = ($2 == last) ? r + 1 : 0; last = $2; print $1, $2, r }'
}

# from_image IMAGE NAME MAX: up to MAX blocks of each target, spread out
from_image() {
	local img=$1 name=$2 max=$3 b t r n
	if ! classify "$img" > "$tmp/classes"; then
		echo "seeds: cowfuzz cannot walk $name: skipped"
		return 0
	fi
	for t in $(cut -d' ' -f2 "$tmp/classes" | sort -u); do
		n=$(grep -c " $t " "$tmp/classes")
		grep " $t " "$tmp/classes" | awk -v n="$n" -v m="$max" \
			'n <= m || (NR - 1) % int((n + m - 1) / m) == 0' |
			while read -r b t r; do
				mkdir -p "corpus/$t"
				seed "corpus/$t/$name-$b" 0 "$r" "$img" "$b"
				# The header and first entries only (the rest of
				# the block stays): mutations land on the fields
				# that drive the decoders far more often.
				head -c 66 "corpus/$t/$name-$b" > "corpus/$t/$name-$b-head"
			done
	done
}

# The targets whose seeds are made here (others keep their own seeds).
mine=$(make -s targets | tr ' ' '\n' | grep -E '^(block-|restore$|table$|pool-message$)')
for t in $mine; do
	rm -rf "corpus/$t"
	mkdir -p "corpus/$t"
done

# The base pool, and a restored copy of it.
FUZZ_SAVE_BASE=$tmp/base.img build/block-sb -runs=0 > /dev/null 2>&1
from_image "$tmp/base.img" base 6
"$D" dump "$tmp/base.img" -o "$tmp/base.dump"
"$D" dump --json "$tmp/base.img" -o "$tmp/base.json"
"$D" restore --quiet -i "$tmp/base.dump" -o "$tmp/restored.img"
from_image "$tmp/restored.img" restored 2

# The fixtures (those that can be walked).
for f in "$top"/tests/fixtures/*.img.gz; do
	name=$(basename "$f" .img.gz)
	gzip -dc "$f" > "$tmp/$name.img"
	from_image "$tmp/$name.img" "fixture-$name" 1
	"$D" dump --skip-damaged "$tmp/$name.img" -o "$tmp/$name.dump" 2> /dev/null ||
		echo "seeds: dmcowctl cannot dump $name: skipped"
done

# cowfuzz corruptions of the base pool, raw, at the damaged block.
classify "$tmp/base.img" > "$tmp/base.classes"
case=0
for class in sb msm-root msm-index msm-rc dsm-rc held map-leaf map-internal \
	     vol-leaf vol-internal dead-leaf dsm-leaf; do
	for how in flip zero dup stale header field; do
		line=$("$F" corrupt "$tmp/base.img" "$tmp/bad.img" --case "$case" \
			--seed 7 --class "$class" --how "$how" 2> /dev/null) || continue
		case=$((case + 1))
		b=$(sed -nE 's/.* block=([0-9]+).*/\1/p' <<< "$line")
		read -r _ t r < <(grep "^$b " "$tmp/base.classes") || continue
		seed "corpus/$t/cowfuzz-$how-$class-$b" 1 "$r" "$tmp/bad.img" "$b"
	done
done

# block-dmcowctl: the block seeds of every kind (not the heads), with
# the kind in front (enum fuzz_block_kind, in the Makefile's order).
mkdir -p corpus/block-dmcowctl
k=0
for t in block-sb block-node-map block-node-vol block-node-dead block-node-dsm \
	 block-msm-root block-msm-index block-msm-rc block-dsm-rc block-held; do
	for f in corpus/$t/*; do
		[[ $f == */base-* || $f == */cowfuzz-* ]] && [[ $f != *-head ]] || continue
		{ printf "\\x$(printf %02x $k)"; cat "$f"; } > "corpus/block-dmcowctl/$t-${f##*/}"
	done
	k=$((k + 1))
done

# restore: real dumps.
mkdir -p corpus/restore
cp "$tmp/base.dump" corpus/restore/base.dump
cp "$tmp/base.json" corpus/restore/base.json
for f in "$tmp"/*.dump; do
	[[ -s $f && $f != */base.dump ]] && cp "$f" "corpus/restore/$(basename "$f")"
done
sed -n "/^cat > base.dump <<'EOF'/,/^EOF/p" "$top/tests/tools/run.sh" |
	sed '1d;$d' > corpus/restore/tools-hand-written.dump
# A pool on a large data device (2^32 chunks of 64 KiB: 256 TiB).
printf 'cowtree-dump 1\nsuperblock chunk_sectors=128 nr_data_chunks=4294967296\nvolume id=1 name="big"\nmap 0 4294967000 200 1\nvolume id=2 name="snap"\nmap 0 4294967000 100 1\nend-dump\n' > "$tmp/large.hand"
"$D" restore --quiet -i "$tmp/large.hand" -o "$tmp/large.img"
"$D" dump "$tmp/large.img" -o corpus/restore/large-data-device.dump

# Table lines and messages: the examples and syntax of cowtree.rst.
rst=$top/Documentation/admin-guide/device-mapper/cowtree.rst
mkdir -p corpus/table corpus/pool-message
n=0
{
	grep -o '"0 [^"]*"' "$rst" | tr -d '"'
	# the pool's example spans lines and sizes its data device with $(...)
	sed -n '/dmsetup create pool --table/,/"$/p' "$rst" | tr -d '\\\n"' |
		sed -E 's/.*--table //; s/\$\([^)]*\)/2097152/; s/  +/ /g'
	echo
	# the syntax, with the placeholders filled in and every feature
	sed -n '/^    cowtree-pool </,/^$/p' "$rst" | tr -s ' \n' ' ' |
		sed -E 's/<#feature args> <arg>\*/5 skip_zeroing ignore_discard no_discard_passdown read_only error_if_no_space/;
			s/<metadata dev>/\/dev\/sdb/; s/<data dev>/\/dev\/sdc/;
			s/<chunk sectors>/128/; s/<low water chunks>/1024/; s/[][]//g; s/^ */0 2097152 /'
	echo
	sed -n 's/^    cowtree <pool dev> <volume id>/0 2097152 cowtree 253:0 281474976710655/p' "$rst"
} | while read -r line; do
	[[ -n $line ]] || continue
	n=$((n + 1))
	printf '%s' "$line" > "corpus/table/rst-$n"
done
n=0
{
	grep -o 'message [a-z]* 0 "[^"]*"' "$rst" | sed -E 's/.* 0 "(.*)"/\1/'
	# the syntax of every message, placeholders filled in
	sed -n '/^Pool messages/,/^Pool status/p' "$rst" | grep '^``' |
		sed 's/``, ``/\n/g; s/``//g' |
		sed -E 's/\[<new id> <origin id> <name>\]\.\.\./4 1 snap-b/;
			s/<visible\|hidden\|throwaway>/hidden/; s/\[<new name>\]/vol-b/;
			s/\[hidden\|throwaway\]/throwaway/;
			s/<dst id>/1/; s/<dst vchunk>/0/; s/<src id>/2/; s/<src vchunk>/0/;
			s/\[<count>\]/32/;
			s/<new id>/3/; s/<origin id>/2/; s/<snapshot id>/2/; s/<id>/7/;
			s/<name>/vol-a/; s/<old>/1/; s/<new>/2/; s/<sectors>/2097152/'
} | while read -r line; do
	[[ -n $line ]] || continue
	n=$((n + 1))
	printf '%s' "$line" > "corpus/pool-message/rst-$n"
done

# Identical inputs (the fixtures share most blocks) are kept once.
for t in $mine; do
	find "corpus/$t" -type f -print0 | sort -z | xargs -0 -r sha1sum |
		awk 'seen[$1]++ { print $2 }' | xargs -r rm -f
	echo "$t: $(find "corpus/$t" -type f | wc -l) seeds"
done
