#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# dmcowctl command-line tests that need no kernel: the unit tests of the
# argument helpers (build/test-args), of the block-level comparison of
# the file-level commands (build/test-fcmp) and of diff's ext4 reader on
# mkfs.ext4 -d images against libext2fs (build/test-fsx-ext4), then the
# built binary's usage and error paths: unknown commands and options,
# missing and extra arguments, bad names, sizes, chunk sizes, percentages
# and -o columns, --help of every command, exit codes (0 ok, 1 failed,
# 2 usage) and that each error is one "dmcowctl: ..." sentence on stderr
# saying what is wrong.
# The offline metadata tools are covered by tests/tools/run.sh.
# Last line: "cli: N passed, N failed".
#
# DMCOWCTL=path overrides the binary (default: build it).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/cli
. "$top/tests/host-lib.sh"

# Unit tests of args.c, of the send stream format and of the file-level
# block comparison (fs/fcmp.c) (C, ASan + UBSan).
unit_test() { # unit_test NAME PREFIX
	local log=$here/build/$1.log line p f rc
	"$here/build/$1" > "$log" 2>&1
	rc=$?
	grep -E '^FAIL' "$log"
	line=$(grep -E "^$2: [0-9]+ passed, [0-9]+ failed$" "$log")
	if [[ -z $line ]]; then
		ko "$1" "no result line (exit $rc): $(tail -3 "$log")"
		return
	fi
	p=$(sed -E 's/^[^:]+: ([0-9]+) passed.*/\1/' <<< "$line")
	f=$(sed -E 's/.*, ([0-9]+) failed$/\1/' <<< "$line")
	echo "$line ($1.c)"
	passed=$((passed + p))
	failed=$((failed + f))
	((rc == 0 || f > 0)) || ko "$1" "exit $rc"
}
if make -s -C "$here" all > /dev/null 2>&1; then
	unit_test test-args args
	unit_test test-send-stream send-stream
	unit_test test-fcmp fcmp
	unit_test test-reshare reshare
	unit_test test-live-counters live-counters
	unit_test test-fsx-ext4 fsx-ext4
else
	ko "unit tests build" "$(make -C "$here" all 2>&1 | tail -5)"
fi

host_setup cli

# expect NAME RC PATTERN CMD...: run dmcowctl with CMD; its exit status
# must be RC.  For RC 0, stdout must match the extended regexp PATTERN.
# Otherwise stderr must start with "dmcowctl: ", its first line must match
# PATTERN and nothing may go to stdout.
expect() {
	local name=$1 want=$2 pat=$3 rc first
	shift 3
	"$D" "$@" > out.txt 2> err.txt
	rc=$?
	if [[ $rc != "$want" ]]; then
		ko "$name" "exit $rc, expected $want; stderr: $(head -c 300 err.txt)"
		return
	fi
	if [[ $want == 0 ]]; then
		if grep -qE -- "$pat" out.txt; then
			ok "$name"
		else
			ko "$name" "stdout does not match '$pat': $(head -c 300 out.txt)"
		fi
		return
	fi
	first=$(head -1 err.txt)
	if [[ $first != "dmcowctl: "* ]]; then
		ko "$name" "stderr does not start with 'dmcowctl: ': $(head -c 300 err.txt)"
	elif ! grep -qE -- "$pat" <<< "$first"; then
		ko "$name" "message does not match '$pat': $first"
	elif [[ -s out.txt ]]; then
		ko "$name" "error output on stdout: $(head -c 200 out.txt)"
	elif [[ $pat == *"needs an argument"* || $pat == *"is unknown"* || $pat == *" takes "* ]] &&
	     [[ $(tail -1 err.txt) != "usage: dmcowctl "* ]]; then
		ko "$name" "usage error without the synopsis: $(tail -1 err.txt)"
	else
		ok "$name"
	fi
}

#------------------------------------------------------------------
# the command itself

expect "no command" 2 "no command given" 
expect "unknown command" 2 "unknown command 'frobnicate'" frobnicate
expect "unknown command that looks like an option" 2 "unknown command '--bogus'" --bogus
expect "--help" 0 "^usage: dmcowctl COMMAND" --help
expect "-h" 0 "^usage: dmcowctl COMMAND" -h
expect "help" 0 "exit status: 0 success, 1 operation failed, 2 usage error" help
expect "help COMMAND" 0 "^usage: dmcowctl create POOL/NAME SIZE$" help create
expect "help of an unknown command" 2 "unknown command 'nosuch'" help nosuch
expect "version" 0 "^dmcowctl [0-9]+\.[0-9]+\.[0-9]+$" version

# Every command listed by help has a --help of its own.
cmds=$("$D" help | sed -n 's/^  \([a-z]\+\) .*/\1/p')
[[ $(wc -w <<< "$cmds") -ge 17 ]] && ok "help lists the commands ($(wc -w <<< "$cmds"))" ||
	ko "help lists the commands" "$cmds"
# (dmcowctl pool --help is not handled: the pool subcommands are tested)
for c in $cmds; do
	[[ $c == pool ]] && continue
	expect "$c --help" 0 "^usage: dmcowctl $c( |$)" "$c" --help
	expect "$c -h" 0 "^usage: dmcowctl $c( |$)" "$c" -h
done
for c in create activate deactivate extend status; do
	expect "pool $c --help" 0 "^usage: dmcowctl pool $c POOL" pool "$c" --help
done
# -h/--help after other arguments.
expect "list --json --help" 0 "^usage: dmcowctl list " list --json --help
expect "create POOL/NAME SIZE -h" 0 "^usage: dmcowctl create " create p/v 1G -h
expect "pool create ... --help" 0 "^usage: dmcowctl pool create " pool create p a b --chunk-size 64k --help
expect "monitor POOL --once --help" 0 "^usage: dmcowctl monitor POOL .*--interval" monitor p --once --help

#------------------------------------------------------------------
# unknown options and option arguments

expect "unknown long option" 2 "^dmcowctl: option '--bogus' is unknown$" create p/v 1G --bogus
expect "unknown short option" 2 "^dmcowctl: option '-x' is unknown$" list -x
expect "unknown short option in a group" 2 "^dmcowctl: option '-x' is unknown$" list -jx
expect "unknown short option after a long one" 2 "^dmcowctl: option '-x' is unknown$" list --json -x
expect "snapshot takes no options" 2 "option '--force' is unknown" snapshot --force p/v s
expect "long option without its argument" 2 "^dmcowctl: option '--chunk-size' needs an argument$" \
	pool create p a b --chunk-size
expect "short option without its argument" 2 "^dmcowctl: option '-o' needs an argument$" list -o
expect "abbreviated long option without its argument" 2 "option '--output' needs an argument" list --out
expect "flag given an argument" 2 "^dmcowctl: option '--json' takes no argument$" list --json=yes
expect "monitor --threshold without a value" 2 "option '--threshold' needs an argument" monitor p --threshold

#------------------------------------------------------------------
# number of arguments

for c in "create p/v" "create p/v 1G extra" "rollback p/v" "rename p/v" "resize p/v" "rename p/v a b"; do
	set -- $c
	n=2
	expect "$c: wrong number of arguments" 2 "^dmcowctl: $1 takes $n arguments$" $c
done
for c in "activate" "deactivate p/v p/w" "delete" "delete p/v p/w"; do
	set -- $c
	expect "${c:-activate}: wrong number of arguments" 2 "^dmcowctl: $1 takes 1 argument$" $c
done
expect "create with nothing" 2 "create takes 2 arguments" create
expect "snapshot without a name" 2 "snapshot takes a list of volumes and a snapshot name" snapshot p/v
expect "snapshot with three arguments" 2 "snapshot takes a list of volumes and a snapshot name" snapshot p/v s t
expect "list with two pools" 2 "list takes at most one pool" list a b
expect "monitor without a pool" 2 "monitor takes POOL" monitor
expect "monitor with two pools" 2 "monitor takes POOL" monitor a b
expect "pool without a subcommand" 2 "pool needs a subcommand" pool
expect "unknown pool subcommand" 2 "unknown pool subcommand 'frob': use create, activate" pool frob
expect "pool create with two devices" 2 "pool create takes POOL METADATA_DEV DATA_DEV" pool create p a
expect "pool create with four" 2 "pool create takes POOL METADATA_DEV DATA_DEV" pool create p a b c
expect "pool activate with one device" 2 "pool activate takes POOL METADATA_DEV DATA_DEV" pool activate p a
expect "pool deactivate without a pool" 2 "pool deactivate takes POOL" pool deactivate
expect "pool extend with two pools" 2 "pool extend takes POOL" pool extend a b
expect "pool status without a pool" 2 "pool status takes POOL" pool status

#------------------------------------------------------------------
# names: POOL/NAME and lists of them

expect "POOL/NAME without a slash" 2 "'pool' is not POOL/NAME" create pool 1G
expect "POOL/NAME with two slashes" 2 "'a/b/c' is not POOL/NAME" activate a/b/c
expect "empty pool name" 2 "'' is not a valid pool name" activate /v
expect "empty volume name" 2 "'' is not a valid volume name" delete p/
expect "volume name with a comma" 2 "'a,b' is not a valid volume name" create p/a,b 1G
expect "volume name too long" 2 "is not a valid volume name: use 1 to 63" \
	create p/$(printf 'v%.0s' {1..64}) 1G
expect "pool name too long" 2 "is not a valid pool name: use 1 to 63" \
	pool status $(printf 'p%.0s' {1..64})
expect "pool name far too long" 2 "pool name in '.*' is too long" \
	activate $(printf 'p%.0s' {1..200})/v
expect "pool name with a slash" 2 "'a/b' is not a valid pool name" pool create a/b x y
expect "snapshot name invalid" 2 "'bad/name' is not a valid volume name" snapshot p/v bad/name
expect "snapshot name '..'" 2 "'\.\.' is not a valid volume name" snapshot p/v ..
expect "snapshot list across pools" 2 "volumes 'p/\.\.\.' and 'q/\.\.\.' are in different pools" \
	snapshot p/a,q/b s
expect "snapshot list with a bad member" 2 "'bad' is not POOL/NAME" snapshot p/a,p/b,bad s
expect "snapshot list of commas" 2 "no volume given" snapshot ,, s
expect "monitor of an invalid pool name" 2 "'a b' is not a valid pool name" monitor "a b"

#------------------------------------------------------------------
# sizes, chunk sizes, percentages

for s in 0 1.5G 100 -1G 1X 1GG 16384P 99999999999999999999 ""; do
	expect "create with size '$s'" 2 "^dmcowctl: '$s' is not a size: use e.g. 512M, 10G or 2048s$" \
		create p/v -- "$s"
done
expect "resize with a bad size" 2 "'12q' is not a size" resize p/v 12q
for s in 0 2k 3k 6k 2M 127s 1000 64 x; do
	expect "chunk size '$s'" 2 "^dmcowctl: chunk size '$s' is not a power of two from 4k to 1M$" \
		pool create p a b --chunk-size "$s"
done
# Good chunk sizes get past parsing: the devices are the next problem.
for s in 4k 64k 1M 128s 4096 8KiB; do
	expect "chunk size '$s' accepted" 1 "^dmcowctl: cannot open ./nonexistent" \
		pool create p ./nonexistent ./nonexistent --chunk-size "$s"
done
expect "low water mark not a size" 2 "low water mark '5%' is not a size" pool create p a b --low-water 5%
expect "threshold over 100" 2 "threshold '101' is not a percentage from 0 to 100" monitor p --threshold 101
expect "threshold negative" 2 "threshold '-1' is not a percentage" monitor p --threshold -1
expect "extend-by 0" 2 "'0' is not a size or percentage" monitor p --extend-by 0
expect "extend-by 0%" 2 "'0%' is not a size or percentage" monitor p --extend-by 0%
expect "extend-by 1001%" 2 "'1001%' is not a size or percentage" monitor p --extend-by 1001%
expect "interval not a number" 2 "interval '1m' is not a number of seconds" monitor p --interval 1m

#------------------------------------------------------------------
# -o columns

expect "unknown column" 2 "unknown column 'bogus': choose from name,id,size,mapped,data%,excl,shared,written,created,origin,active,mounted" \
	list -o bogus
expect "unknown column in a list" 2 "unknown column 'sise'" list -o name,sise,id
expect "empty column list" 2 "no columns given" list -o ""
expect "column list of commas" 2 "no columns given" list -o ,,
# Good lists get past parsing: without device-mapper the listing fails.
for o in name NAME,ORIGIN "name,id,size,mapped,data%,created,origin,active,mounted" mounted,name; do
	expect "columns '$o' accepted" 1 "device-mapper" list -o "$o"
done

#------------------------------------------------------------------
# operation failures (exit 1) say what failed; this host has no
# device-mapper, or a file is not a block device

expect "list without device-mapper" 1 "listing the device-mapper devices failed" list
expect "status of a missing pool" 1 "pool 'nosuch' is not active" pool status nosuch
expect "create in a missing pool" 1 "'nosuch'" create nosuch/v 1G
: > file.img
expect "pool create on a missing device" 1 "cannot open ./nonexistent: No such file or directory" \
	pool create p ./nonexistent ./nonexistent
expect "pool create on a file" 1 "file.img is not a block device" pool create p file.img file.img
expect "pool activate on a file" 1 "file.img is not a block device" pool activate p file.img file.img

#------------------------------------------------------------------
# send and receive: arguments, and streams refused before any pool is
# looked at (the header is checked first)

expect "send without a volume" 2 "^dmcowctl: send takes 1 argument$" send
expect "send with two volumes" 2 "^dmcowctl: send takes 1 argument$" send p/a p/b
expect "send of a malformed name" 2 "'snap' is not POOL/NAME" send snap -o x
expect "send --from another pool" 2 "'q/b' is in another pool than 'p/a': the base must be in the same pool" \
	send p/a --from q/b -o x
expect "send --from itself" 2 "'p/a' cannot be its own base" send p/a --from a -o x
expect "send --from a bad name" 2 "'a,b' is not a valid volume name" send p/a --from a,b -o x
expect "send -t without a token" 2 "^dmcowctl: option '-t' needs an argument$" send p/a -t
expect "send -t garbage" 2 "'xyz' is not a resume token" send p/a -t xyz -o x
expect "send -t of another version" 2 "resume token version 2 is not supported" \
	send p/a -t 2-0000000000000001-0000000000000000-5-00000000 -o x
expect "send -t with a bad check" 2 "resume token '1-0000000000000001-0000000000000000-5-00000000' is damaged" \
	send p/a -t 1-0000000000000001-0000000000000000-5-00000000 -o x
expect "send -o empty" 2 "-o needs a file name" send p/a -o ""
expect "send --dry-run --bogus" 2 "option '--bogus' is unknown" send p/a --dry-run --bogus
expect "send of a missing pool" 1 "pool 'nosuch' is not active" send nosuch/a -o x
expect "receive without a volume" 2 "^dmcowctl: receive takes 1 argument$" receive -i x
expect "receive with two volumes" 2 "^dmcowctl: receive takes 1 argument$" receive p/a p/b -i x
expect "receive --resume --abort" 2 "--resume, --abort and --token exclude each other" receive p/a --resume --abort
expect "receive --abort -i" 2 "--abort reads no stream" receive p/a --abort -i x
expect "receive --token -i" 2 "--token reads no stream" receive p/a --token -i x
expect "receive -i empty" 2 "-i needs a file name" receive p/a -i ""
expect "receive of a malformed name" 2 "'a/b/c' is not POOL/NAME" receive a/b/c -i x
expect "receive of a missing file" 1 "cannot open './nonexistent': No such file or directory" \
	receive p/a -i ./nonexistent
: > empty.stream
expect "receive of an empty stream" 1 "stream: the stream is empty; nothing was received" \
	receive p/a -i empty.stream
printf 'this is not a stream at all, just some text that is long enough' > text.stream
expect "receive of text" 1 "stream: record 0: bad magic 0x73696874: this is not a dmcowctl send stream" \
	receive p/a -i text.stream
head -c 20 text.stream > short.stream
expect "receive of 20 bytes" 1 "record 0: truncated: the stream ends inside its header \(20 of 40 bytes\)" \
	receive p/a -i short.stream
expect "receive --abort in a missing pool" 1 "pool 'nosuch' is not active" receive nosuch/a --abort
# file-level commands: mount, umount, du, cowlinks, diff, restore-files

expect "mount without arguments" 2 "mount takes a snapshot and a directory" mount
expect "mount without DIR" 2 "mount takes a snapshot and a directory" mount p/s
expect "mount with an extra argument" 2 "mount takes a snapshot and a directory" mount p/s /mnt x
expect "mount of no POOL/NAME" 2 "'ps' is not POOL/NAME" mount ps /mnt
expect "mount with an unknown option" 2 "option '--ro' is unknown" mount p/s /mnt --ro
expect "umount without DIR" 2 "umount takes the directory of a view" umount
expect "umount with two DIRs" 2 "umount takes the directory of a view" umount /a /b
expect "du without a volume" 2 "du takes a volume and optional paths inside it" du
expect "du of no POOL/NAME" 2 "'nopool' is not POOL/NAME" du nopool
expect "du with an unknown option" 2 "option '--all' is unknown" du p/v --all
for c in cowlinks diff; do
	expect "$c of one volume" 2 "$c takes two volumes and an optional path" $c p/a
	expect "$c with two paths" 2 "$c takes two volumes and an optional path" $c p/a p/b /x /y
	expect "$c across pools" 2 "'p/a' and 'q/b' are in different pools" $c p/a q/b
	expect "$c of a volume with itself" 2 "give two different volumes" $c p/a p/a
	expect "$c of no POOL/NAME" 2 "'pb' is not POOL/NAME" $c p/a pb
done
# reshare: two volumes of one pool
expect "reshare of one volume" 2 "reshare takes two volumes" reshare p/a
expect "reshare with three volumes" 2 "reshare takes two volumes" reshare p/a p/b p/c
expect "reshare across pools" 2 "'p/a' and 'q/b' are in different pools" reshare p/a q/b
expect "reshare of a volume with itself" 2 "give two different volumes" reshare p/a p/a --dry-run
expect "reshare of no POOL/NAME" 2 "'pb' is not POOL/NAME" reshare p/a pb
expect "reshare of a bad pool name" 2 "'a b' is not a valid pool name" reshare "a b/x" "a b/y"
expect "reshare of a bad volume name" 2 "'x y' is not a valid volume name" reshare p/a "p/x y"
expect "reshare with an unknown option" 2 "option '--force' is unknown" reshare p/a p/b --force
expect "reshare --dry-run with an argument" 2 "option '--dry-run' takes no argument" reshare --dry-run=1 p/a p/b
expect "reshare without device-mapper" 1 "pool 'p' is not active" reshare p/a p/b
expect "reshare --dry-run --json without device-mapper" 1 "pool 'p' is not active" \
	reshare --dry-run --json p/a p/b
expect "restore-files without DEST" 2 "restore-files takes POOL/SNAP:PATH and DEST" restore-files p/s:/a
expect "restore-files without a path" 2 "'p/s' is not POOL/SNAP:PATH" restore-files p/s /x
expect "restore-files with an empty path" 2 "'p/s:' is not POOL/SNAP:PATH" restore-files p/s: /x
expect "restore-files of no POOL/NAME" 2 "'ps' is not POOL/NAME" restore-files ps:/a /x
expect "restore-files with an unknown option" 2 "option '--force' is unknown" restore-files --force p/s:/a /x
# Past parsing, without device-mapper: the pool is not there.
expect "mount without device-mapper" 1 "pool 'p' is not active" mount p/s "$tmp"
expect "du without device-mapper" 1 "pool 'p' is not active" du p/v /
expect "cowlinks without device-mapper" 1 "pool 'p' is not active" cowlinks p/a p/b
expect "diff without device-mapper" 1 "pool 'p' is not active" diff p/a p/b --json
expect "restore-files without device-mapper" 1 "pool 'p' is not active" restore-files -n p/s:/a "$tmp"
mkdir -p noview
expect "umount of a directory that is no view" 1 "is not a view made by 'dmcowctl mount'" umount noview

echo "cli: $passed passed, $failed failed"
((failed == 0))
