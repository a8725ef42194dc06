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
	ext4) mkfs.ext4 -q -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 $2 ||
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

# tree_state DIR: one line per path below DIR with type, mode, owner, size,
# link count, mtime, ctime, content checksum or link target, and xattrs
# (ACLs included), sorted; plus the hard-link sets (paths sharing an inode).
# TS_NO_CTIME=1 leaves the ctime out (a restored file cannot have it).
tree_state() {
	(
		cd $1
		ct=' %Z'
		[ "${TS_NO_CTIME:-0}" = 0 ] || ct=
		find . ! -path . | sort | while read -r p; do
			if [ -L "$p" ]; then
				echo "$p L $(stat -c "%a %u:%g$ct" "$p") -> $(readlink "$p")"
			elif [ -f "$p" ]; then
				echo "$p F $(stat -c "%a %u:%g %s %h %Y$ct" "$p") $(md5sum < "$p" | cut -d' ' -f1)"
			elif [ -d "$p" ]; then
				echo "$p D $(stat -c "%a %u:%g %Y$ct" "$p")"
			else
				echo "$p S $(stat -c "%F %a %u:%g %t:%T %Y$ct" "$p")"
			fi
			getfattr -h -d -m - -e hex "$p" 2>/dev/null | grep = | sed "s|^|$p X |" || true
		done
		find . -type f -links +1 | while read -r p; do
			echo "$(stat -c %i "$p") $p"
		done | sort | awk '{ if ($1 != last) printf "\nlinks:"; printf " %s", $2; last = $1 } END { print "" }' |
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
