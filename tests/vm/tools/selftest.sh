#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Host-side tests of cowpattern on a plain file, of replay-log on a
# crafted dm-log-writes log with known flush, FUA and mark points, and of
# jsonget (next to them).  Last line: "unit: N passed, N failed".
#
#   selftest.sh [PATH-TO-COWPATTERN [PATH-TO-REPLAY-LOG]]
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cp=${1:-$here/../build/guest-bin/cowpattern}
[[ -x $cp ]] || { echo "selftest: no $cp (run make)" >&2; echo "unit: 0 passed, 1 failed"; exit 1; }
cp=$(cd "$(dirname "$cp")" && pwd)/$(basename "$cp")
rl=${2:-$(dirname "$cp")/replay-log}
[[ -x $rl ]] || { echo "selftest: no $rl (run make)" >&2; echo "unit: 0 passed, 1 failed"; exit 1; }
rl=$(cd "$(dirname "$rl")" && pwd)/$(basename "$rl")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
passed=0 failed=0

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; sed 's/^/    /' out | head -20; failed=$((failed + 1)); }

# ok NAME CMD...: CMD exits 0.
ok() {
	local name=$1
	shift
	if "$@" > out 2>&1; then pass "$name"; else fail "$name (rc=$?)"; fi
}

# bad NAME RC REGEX CMD...: CMD exits RC and its output matches REGEX.
bad() {
	local name=$1 want=$2 re=$3 rc
	shift 3
	"$@" > out 2>&1
	rc=$?
	if ((rc != want)); then
		fail "$name (rc=$rc, want $want)"
	elif ! grep -qE -- "$re" out; then
		fail "$name (output does not match /$re/)"
	else
		pass "$name"
	fi
}

poke() { # poke FILE OFFSET BYTE-IN-OCTAL
	printf "\\$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

truncate -s 4M img

ok write-verify-ok sh -c "'$cp' write img --tag 7 --gen 1 && '$cp' verify img --tag 7 --gen 1"
grep -q '1024 blocks ok' out && pass verify-counts-all-blocks || fail verify-counts-all-blocks

bad wrong-gen-fails 1 '^block 0: expected tag 7 gen 2, found tag 7 gen 1$' \
	"$cp" verify img --tag 7 --gen 2
bad wrong-tag-fails 1 '^block 0: expected tag 8 gen 1, found tag 7 gen 1$' \
	"$cp" verify img --tag 8 --gen 1
bad mismatch-report-capped 1 '^\.\.\. and 1014 more$' "$cp" verify img --tag 7 --gen 2

# One byte changed in block 5 (inside sector 3's PRNG area).
cp img img.good
poke img $((5 * 4096 + 3 * 512 + 100)) 125
bad corrupt-byte-names-block 1 '^block 5: expected tag 7 gen 1, found corrupt block: .*sector 3.*1 byte differs from expected, first at byte 1636' \
	"$cp" verify img --tag 7 --gen 1
grep -q '1 of 1024 blocks wrong' out && pass corrupt-byte-only-that-block || fail corrupt-byte-only-that-block

# A byte of the stamp itself (the generation field of block 9, sector 0).
cp img.good img
poke img $((9 * 4096 + 24)) 3
bad corrupt-stamp-detected 1 '^block 9: expected tag 7 gen 1, found ' "$cp" verify img --tag 7 --gen 1

# Zero region: --expect-zero passes there, pattern verify reports zero blocks.
cp img.good img
dd if=/dev/zero of=img bs=4096 seek=16 count=16 conv=notrunc status=none
ok expect-zero-passes "$cp" verify img --expect-zero --offset 64k --length 64k
bad expect-zero-fails-on-data 1 '^block 15: expected zero block, found tag 7 gen 1$' \
	"$cp" verify img --expect-zero --offset 60k --length 64k
bad zero-block-reported 1 '^block 16: expected tag 7 gen 1, found zero block$' \
	"$cp" verify img --tag 7 --gen 1

# Torn block: first half new generation, second half zeroes.
cp img.good img
"$cp" write img --tag 7 --gen 2 --offset 8k --length 4k > /dev/null
dd if=/dev/zero of=img bs=512 seek=$((2 * 8 + 4)) count=4 conv=notrunc status=none
bad torn-block-described 1 '^block 2: expected tag 7 gen 1, found torn block: sectors 0-3 tag 7 gen 2, sectors 4-7 zero' \
	"$cp" verify img --tag 7 --gen 1

# Misdirected: block 10's content copied to block 11.
cp img.good img
dd if=img of=img bs=4096 skip=10 seek=11 count=1 conv=notrunc status=none
bad misdirected-block 1 '^block 11: expected tag 7 gen 1, found tag 7 gen 1 of block 10 \(misdirected\)$' \
	"$cp" verify img --tag 7 --gen 1

# Garbage.
cp img.good img
head -c 4096 /dev/urandom | dd of=img bs=4096 seek=12 conv=notrunc status=none
bad garbage-block 1 '^block 12: expected tag 7 gen 1, found garbage$' "$cp" verify img --tag 7 --gen 1

# Stride and random order write the same set of blocks.
truncate -s 0 img2 && truncate -s 1M img2
ok stride-write "$cp" write img2 --tag 3 --gen 4 --stride 4 --random-order 99
ok stride-verify "$cp" verify img2 --tag 3 --gen 4 --stride 4
ok stride-gaps-zero "$cp" verify img2 --expect-zero --offset 4k --length 12k
bad stride-full-verify-fails 1 '^block 1: expected tag 3 gen 4, found zero block$' \
	"$cp" verify img2 --tag 3 --gen 4

# Map: gen 1 everywhere, gen 2 over the second quarter, a zeroed range.
rm -f map
truncate -s 0 img3 && truncate -s 1M img3
ok map-write-1 "$cp" write img3 --tag 1 --gen 1 --record map
ok map-write-2 "$cp" write img3 --tag 1 --gen 2 --offset 256k --length 256k --random-order 5 --record map
ok map-verify-mixed "$cp" verify img3 --map map
bad map-plain-verify-fails 1 '^block 64: expected tag 1 gen 1, found tag 1 gen 2$' \
	"$cp" verify img3 --tag 1 --gen 1
dd if=/dev/zero of=img3 bs=4096 seek=200 count=8 conv=notrunc status=none
bad map-detects-zeroed 1 '^block 200: expected tag 1 gen 1, found zero block$' "$cp" verify img3 --map map
echo "zero offset=$((200 * 4096)) length=$((8 * 4096))" >> map
ok map-zero-record "$cp" verify img3 --map map
bad map-bad-line 2 'bad map line' sh -c "echo 'frobnicate 1' > map2; '$cp' verify img3 --map map2"

# --expect-zero with a map: blocks not in the map must be zero.
rm -f map4
truncate -s 0 img4 && truncate -s 1M img4
"$cp" write img4 --tag 2 --gen 1 --offset 64k --length 64k --record map4 > /dev/null
ok map-unlisted-zero "$cp" verify img4 --map map4 --expect-zero
poke img4 $((200 * 4096)) 1
bad map-unlisted-nonzero 1 '^block 200: expected zero block, found torn block: sector 0 garbage, sectors 1-7 zero$' \
	"$cp" verify img4 --map map4 --expect-zero
ok map-unlisted-skipped "$cp" verify img4 --map map4

# Usage errors exit 2.
bad usage-no-gen 2 'needs --tag and --gen' "$cp" write img --tag 1
bad usage-misaligned 2 'not a multiple of 4096' "$cp" verify img --tag 1 --gen 1 --offset 100
bad usage-bad-number 2 'bad number' "$cp" write img --tag x --gen 1
bad usage-past-end 2 'beyond the end' "$cp" verify img --tag 7 --gen 1 --offset 4M --length 4k
bad usage-no-dev 2 'open|No such file' "$cp" verify "$tmp/nonexistent" --tag 1 --gen 1
ok help "$cp" --help
grep -q -- '--random-order' out && pass help-documents-options || fail help-documents-options

# fill-check stops at the end of a file-backed device of fixed size only
# for block devices; on a file it fills the existing size.
truncate -s 0 img5 && truncate -s 256k img5
bad fill-check-fills 0 'wrote 64 blocks to the end' "$cp" fill-check img5 --tag 5 --gen 1
ok fill-check-then-verify "$cp" verify img5 --tag 5 --gen 1
bad describe-block 0 '^block 3: tag 5 gen 1$' "$cp" describe img5 --offset 12k

#------------------------------------------------------------------
# replay-log on a crafted log (the format of drivers/md/dm-log-writes.c:
# a super block, then per entry one sector with the entry header -- and a
# mark's text -- followed by the data sectors; sector size 512 here).
#   0 write 0+2 "A"   1 flush   2 write 4+1 "B"   3 mark step1
#   4 discard 0+1     5 write 8+1 "C" FUA   6 write 2+1 "D"
# Points (entry number + 1: replay up to there): 2, 4 step1, 6.
python3 - log <<'PY' || fail "crafting the log"
import struct, sys
S = 512
FLUSH, FUA, DISCARD, MARK = 1, 2, 4, 8
entries = [(0, 2, 0, b"A"), (0, 0, FLUSH, b""), (4, 1, 0, b"B"), (0, 0, MARK, b"step1"),
           (0, 1, DISCARD, b""), (8, 1, FUA, b"C"), (2, 1, 0, b"D")]
out = bytearray(struct.pack("<QQQI", 0x6a736677736872, 1, len(entries), S).ljust(S, b"\0"))
for sector, nr, flags, data in entries:
    mark = data if flags & MARK else b""
    out += struct.pack("<QQQQ", sector, nr, flags, len(mark)).ljust(32, b"\0") + mark
    out += b"\0" * (S - 32 - len(mark))
    if not flags & (MARK | DISCARD):
        out += data * (nr * S)
open(sys.argv[1], "wb").write(out)
PY
# dev_is FILE SECTOR-LETTERS: sector i of FILE is 512 x letter i ("-": zero).
dev_is() {
	local want="" c i
	for ((i = 0; i < ${#2}; i++)); do
		c=${2:i:1}
		[[ $c == - ]] && c='\0'
		want+=$(printf "%0512d" 0 | tr 0 "$c" | od -An -v -c | tr -d ' \n')
	done
	[[ $(head -c $((512 * ${#2})) "$1" | od -An -v -c | tr -d ' \n') == "$want" ]]
}
replay_to() { # replay_to FROM TO: apply entries [FROM, TO) to dev
	"$rl" --log log --replay dev --from "$1" --to "$2"
}
bad replay-points 0 '^2$' "$rl" --log log --points
[[ $(cat out) == $'2\n4 step1\n6' ]] && pass replay-points-exact ||
	fail "replay-points-exact: got $(tr '\n' ' ' < out)"
bad replay-list 0 '^3 sector 0 len 0 flags 0x8 mark step1$' "$rl" --log log --list
[[ $(wc -l < out) == 7 ]] && pass replay-list-all || fail "replay-list-all: $(wc -l < out) entries"
truncate -s 0 dev && truncate -s 8k dev
# Discard on a plain file: written as zeroes.
printf 'ZZZZZZZZZZZZZZZZ' | dd of=dev bs=512 seek=0 conv=notrunc status=none
ok replay-to-first-flush replay_to 0 2
dev_is dev "AA------" && pass replay-first-flush-state || fail replay-first-flush-state
ok replay-to-mark replay_to 2 4
dev_is dev "AA--B---" && pass replay-mark-state || fail replay-mark-state
ok replay-to-fua replay_to 4 6
dev_is dev "-A--B---C" && pass replay-fua-state || fail "replay-fua-state (the discard or the FUA write)"
ok replay-rest replay_to 6 100
dev_is dev "-AD-B---C" && pass replay-end-state || fail replay-end-state
# --from: entries before it are not applied (sectors 0-1 keep their "Z").
truncate -s 0 dev3 && truncate -s 8k dev3
printf '%01024d' 0 | tr 0 Z | dd of=dev3 conv=notrunc status=none
ok replay-from-mark "$rl" --log log --replay dev3 --from 2 --to 4
dev_is dev3 "ZZ--B---" && pass replay-from-skips-earlier ||
	fail "replay-from-skips-earlier (entries before --from were applied)"
# One run from the start gives the same device.
truncate -s 0 dev2 && truncate -s 8k dev2
ok replay-whole "$rl" --log log --replay dev2
cmp -s dev dev2 && pass replay-whole-same || fail replay-whole-same
# A log that claims more entries than it holds, and a non-log, fail.
head -c $((512 * 5)) log > short
bad replay-short-log 1 'short read of entry' "$rl" --log short --points
bad replay-not-a-log 1 'not a dm-log-writes log' "$rl" --log dev --points
bad replay-usage 2 'usage' "$rl" --log log

# jsonget: members of a JSON value; anything else than one value fails.
jg=$(dirname "$rl")/jsonget
echo '{"a": 1, "b": {"c": "x y"}, "d": [5, 6]}' > j
"$jg" a b.c d.1 < j > out 2>&1 && [[ $(tr '\n' '|' < out) == "1|x y|6|" ]] &&
	pass jsonget-members || fail jsonget-members
echo '{"a": 1} x' > j
bad jsonget-trailing 1 'not one JSON value' sh -c "\"$jg\" a < j"
echo '{"a": 1,}' > j
bad jsonget-not-json 1 'not one JSON value' sh -c "\"$jg\" a < j"
echo '{"a": 1}' > j
bad jsonget-missing 1 "no 'z' in the input" sh -c "\"$jg\" z < j"

echo "unit: $passed passed, $failed failed"
((failed == 0))
