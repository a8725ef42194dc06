# SPDX-License-Identifier: GPL-2.0-only
# Helpers of the file-level scenarios (tests/vm/scenarios/fs-*.sh): sourced
# by them after lib.sh and cowtree-lib.sh.  Busybox sh, run with -e.

# xfsprogs refuses filesystems under 300 MB unless it believes it runs
# under fstests.
export QA_CHECK_FS=1 TEST_DIR=/tmp TEST_DEV=/dev/null

# run_ok OUT CMD...: CMD must succeed; its output (both streams) goes to OUT
# and to the log.
run_ok() {
	local out=$1
	shift
	"$@" > $out 2>&1 || { cat $out; die "'$*' failed"; }
	cat $out
}

# run_fail PATTERN CMD...: CMD must fail with a status of 1 or 2 and say
# something matching the extended regular expression PATTERN on stderr.
run_fail() {
	local pat=$1 rc=0
	shift
	"$@" > /tmp/run_fail.out 2> /tmp/run_fail.err || rc=$?
	cat /tmp/run_fail.out /tmp/run_fail.err
	[ $rc = 1 ] || [ $rc = 2 ] || die "'$*' exited $rc, expected a failure (1 or 2)"
	grep -Eq "$pat" /tmp/run_fail.err || die "'$*' did not say /$pat/"
}

# fs_mkfs FS DEV
fs_mkfs() {
	case $1 in
	# No lazy init: it would write inode tables behind the tests' backs.
	ext4) mkfs.ext4 -q -b 4096 -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 $2 ||
		die "mkfs.ext4 $2" ;;
	xfs) mkfs.xfs -q -f -K $2 || die "mkfs.xfs $2" ;;
	*) die "fs_mkfs: unknown filesystem $1" ;;
	esac
}

# fs_volume POOL NAME FS SIZE MNT: a new volume with a filesystem, mounted.
fs_volume() {
	run_ok /tmp/fs_volume.out dmcowctl create $1/$2 $4
	fs_mkfs $3 /dev/mapper/$1-$2
	mkdir -p $5
	mount -t $3 /dev/mapper/$1-$2 $5 || die "mount $1/$2 on $5"
}

# vol_field POOL NAME COLUMN: one column of 'dmcowctl list' for a volume.
vol_field() {
	dmcowctl list $1 -o name,$3 | sed -n "s/^[ |\`-]*$2  *//p" | head -1 | tr -d ' '
}

# vol_counter POOL NAME KEY: a number of a volume's 'list --json' object,
# e.g. mapped_chunks, exclusive_chunks, written_chunks, id.
vol_counter() {
	dmcowctl list $1 --json | tr -d ' \n' |
		sed -n "s/.*\"name\":\"$2\",\"id\":\([0-9]*\),\([^{}]*\).*/id:\1,\2/p" |
		tr ',' '\n' | sed -n "s/^\"*$3\"*:\([0-9]*\)$/\1/p"
}

# nr_volumes POOL: volumes and snapshots of POOL, hidden ones (views) too.
nr_volumes() {
	dmcowctl list $1 --all -o id | tail -n +3 | grep -c '[0-9]' || true
}

# tree_state DIR: one line per path below DIR ("./a/b") with type, mode,
# owner, size and link count (files), mtime, ctime, content checksum, link
# target or device numbers, then one line per xattr (ACLs included), sorted;
# plus the hard-link sets (paths sharing an inode).  TS_NO_CTIME=1 leaves
# the ctime out (a restored file cannot have it).  A few processes for the
# whole tree, not a few per file.
tree_state() {
	(
		cd $1 || exit 1
		ct=' %Z'
		[ "${TS_NO_CTIME:-0}" = 0 ] || ct=
		find . ! -path . | sort > /tmp/ts.list
		xargs -r stat -c "%n|%F|%a %u:%g|%s %h|%Y$ct|%t:%T" < /tmp/ts.list > /tmp/ts.stat
		find . -type f | xargs -r md5sum > /tmp/ts.md5
		find . -type l | while read -r p; do echo "$p $(readlink "$p")"; done > /tmp/ts.lnk
		getfattr -R -h -d -m - -e hex . 2>/dev/null > /tmp/ts.xattr || true
		awk -F'|' '
			function key(p) { sub(/^\.\//, "", p); return "./" p }
			FILENAME == "/tmp/ts.md5" { split($0, f, "  "); md5[key(f[2])] = f[1]; next }
			FILENAME == "/tmp/ts.lnk" { n = index($0, " "); tgt[key(substr($0, 1, n - 1))] = substr($0, n + 1); next }
			FILENAME == "/tmp/ts.xattr" {
				if ($0 ~ /^# file: /) { cur = key(substr($0, 9)); next }
				if ($0 ~ /=/) print cur " X " $0
				next }
			{ p = key($1)
			  if ($2 == "regular file" || $2 == "regular empty file") print p " F " $3 " " $4 " " $5 " " md5[p]
			  else if ($2 == "directory") print p " D " $3 " " $5
			  else if ($2 == "symbolic link") print p " L " $3 " " $5 " -> " tgt[p]
			  else print p " S " $2 " " $3 " " $6 " " $5 }
		' /tmp/ts.md5 /tmp/ts.lnk /tmp/ts.xattr /tmp/ts.stat | sort
		find . -type f -links +1 | xargs -r stat -c '%i %n' | sort |
			awk '{ if ($1 != last) printf "\nlinks:"; printf " %s", $2; last = $1 } END { print "" }' |
			grep links: | sort
	)
}

# states_writer DIR STOP LOG: rewrites DIR/state (one 64 KiB file of
# random data) with fsync until STOP exists; after each acknowledged
# rewrite, "N md5" goes to LOG.
states_writer() {
	local i=1
	while [ ! -e $2 ]; do
		dd if=/dev/urandom of=$1/state.tmp bs=64k count=1 conv=fsync 2>/dev/null || return 1
		mv $1/state.tmp $1/state
		sync
		echo "$i $(md5sum < $1/state | cut -d' ' -f1)" >> $3
		i=$((i + 1))
	done
}

# du_field FILE PATH N: field N (1 size, 2 allocated, 3 shared, 4 exclusive,
# 5 sharers with --with) of PATH's line in 'dmcowctl du' output FILE.
du_field() {
	awk -v p="$2" -v n=$3 '$NF == p { print $n; found = 1 } END { exit !found }' $1 ||
		die "no line for $2 in $1"
}

# du_summary FILE WORD: a number of the '# volume:' and '# in files:' lines
# of 'dmcowctl du' output: mapped, exclusive (chunks), files, files_excl,
# overhead, overhead_excl (bytes).
du_summary() {
	case $2 in
	mapped) sed -n 's/^# volume: \([0-9]*\) chunks.*/\1/p' $1 ;;
	exclusive) sed -n 's/^# volume: .* mapped, \([0-9]*\) exclusive$/\1/p' $1 ;;
	files) sed -n 's/^# in files: \([0-9]*\) bytes.*/\1/p' $1 ;;
	files_excl) sed -n 's/^# in files: [0-9]* bytes (\([0-9]*\) exclusive).*/\1/p' $1 ;;
	overhead) sed -n 's/.*filesystem overhead: \([0-9]*\) bytes.*/\1/p' $1 ;;
	unmapped) sed -n 's/^# .* directories; \([0-9]*\) bytes unmapped.*/\1/p' $1 ;;
	overhead_excl) sed -n 's/.*filesystem overhead: [0-9]* bytes (\([0-9]*\) exclusive)$/\1/p' $1 ;;
	esac
}

# first_chunk FILE CHUNK_SECTORS: the volume chunk of FILE's first block.
first_chunk() {
	local s
	s=$(xfs_io -r -c fiemap "$1" | sed -n 's/^[[:space:]]*0: \[[0-9.]*\]: \([0-9]*\)\.\..*/\1/p')
	[ -n "$s" ] || die "no extent for $1"
	echo $((s / $2))
}

# wait_reclaimed POOL: until the pool has no chunks left to reclaim.
reclaimed() { dmcowctl pool status $1 | grep -q '^reclaiming: *0 chunks'; }
wait_reclaimed() { wait_until 120 "reclamation in pool $1" reclaimed $1; }
