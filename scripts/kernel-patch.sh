#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Produce a patch that adds dm-cowtree to a kernel source tree in-tree:
# drivers/md/dm-cowtree/ plus the hooks in drivers/md/Kconfig and Makefile,
# and the documentation.  Applies with `patch -p1` at the top of the tree.
#
#   kernel-patch.sh [LINUX_SRC] > dm-cowtree.patch
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
linux=${1:-/usr/src/linux-source-6.1}
[[ -e $linux/drivers/md/Kconfig ]] || { echo "kernel-patch: no kernel tree at $linux" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/a/drivers/md" "$tmp/b/drivers/md"
cp "$linux/drivers/md/Kconfig" "$linux/drivers/md/Makefile" "$tmp/a/drivers/md/"
cp "$linux/drivers/md/Kconfig" "$linux/drivers/md/Makefile" "$tmp/b/drivers/md/"

# Kconfig: after the thin-provisioning entry; Makefile: a subdirectory.
awk '{ print } /^config DM_THIN_PROVISIONING/ { intp = 1 }
     intp && /^$/ && !done { print "source \"drivers/md/dm-cowtree/Kconfig\"\n"; done = 1 }' \
	"$tmp/a/drivers/md/Kconfig" > "$tmp/b/drivers/md/Kconfig"
grep -q dm-cowtree "$tmp/b/drivers/md/Kconfig" || { echo "kernel-patch: no place for the Kconfig hook" >&2; exit 1; }
printf 'obj-$(CONFIG_DM_COWTREE)\t+= dm-cowtree/\n' >> "$tmp/b/drivers/md/Makefile"

(cd "$top" && git ls-files drivers/md/dm-cowtree Documentation/admin-guide/device-mapper) |
while read -r f; do
	mkdir -p "$tmp/b/$(dirname "$f")"
	cp "$top/$f" "$tmp/b/$f"
done
(cd "$tmp" && diff -Naur a b) || [[ $? == 1 ]]
