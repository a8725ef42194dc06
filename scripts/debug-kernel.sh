#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build the debug kernel the VM suite runs on with DEBUG_KERNEL=1: Linux 6.1
# from linux-source-6.1 with KASAN, lockdep, DEBUG_ATOMIC_SLEEP, kmemleak and
# DEBUG_LIST, the drivers the VM needs, and dm-cowtree built in-tree from
# the `make kernel-patch` patch (CONFIG_DM_COWTREE=m).
#
#   debug-kernel.sh PATCH [OUT]    (make debug-kernel calls it)
#
# OUT (default build/debug-kernel) holds:
#   src/       pristine kernel source + the applied patch (applied.patch)
#   obj/       the build (O=obj); obj/arch/x86/boot/bzImage
#   mods/      modules_install tree: mods/lib/modules/<release>/
#   release    the kernel release string
# Cached: nothing is rebuilt when the patch (timestamps aside), the config
# fragment and this script are unchanged.  A changed patch is reverted with
# patch -R and the new one applied; a changed fragment reconfigures.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
patch_file=$(realpath "$1")
out=$(realpath -m "${2:-$top/build/debug-kernel}")
tarball=${LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
linux=${LINUX_SRC:-/usr/src/linux-source-6.1}
fragment=$top/scripts/debug-kernel.config
src=$out/src obj=$out/obj mods=$out/mods
jobs=${DEBUG_KERNEL_JOBS:-2}
kmake() { nice -n 19 make -C "$src" O="$obj" -j"$jobs" "$@"; }

mkdir -p "$out"
# Patch content without the diff timestamps (they change on every run).
norm() { sed -E 's/^((---|\+\+\+) [^\t]*)\t.*/\1/' "$1"; }
stamp=$( { norm "$patch_file"; cat "$fragment" "$0"; } | sha256sum | cut -d' ' -f1)
if [[ -e $out/stamp && $(cat "$out/stamp") == "$stamp" && -e $obj/arch/x86/boot/bzImage ]]; then
	echo "debug-kernel: up to date ($(cat "$out/release"), $obj/arch/x86/boot/bzImage)"
	exit 0
fi

# 1. Pristine source, once.  The unpacked /usr/src tree may be partial
# (deps.sh unpacks only what checkpatch needs), so prefer the tarball.
if [[ ! -e $src/Makefile ]]; then
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	if [[ -e $tarball ]]; then
		echo "debug-kernel: unpacking $tarball"
		tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
	elif [[ -e $linux/Makefile && -e $linux/arch/x86/Makefile ]]; then
		echo "debug-kernel: copying $linux"
		cp -a "$linux/." "$src.tmp/"
	else
		echo "debug-kernel: no kernel source ($tarball or $linux): run 'make deps'" >&2
		exit 1
	fi
	mv "$src.tmp" "$src"
fi

# 2. The in-tree patch: revert the previous one when it changed.
applied=$src/applied.patch
if [[ -e $applied ]] && ! cmp -s <(norm "$applied") <(norm "$patch_file"); then
	echo "debug-kernel: patch changed, reverting the previous one"
	(cd "$src" && patch -p1 -R -s -E < "$applied")
	rm -f "$applied"
fi
if [[ ! -e $applied ]]; then
	echo "debug-kernel: applying $patch_file"
	(cd "$src" && patch -p1 -s --dry-run < "$patch_file" >/dev/null) ||
		{ echo "debug-kernel: the patch does not apply to $src" >&2; exit 1; }
	(cd "$src" && patch -p1 -s < "$patch_file")
	cp "$patch_file" "$applied"
fi

# 3. Configuration: defconfig + kvm_guest.config + our fragment, redone when
# the fragment changes.  Then check that Kconfig kept every value we asked.
if [[ ! -e $obj/.config || ! -e $out/config.fragment ]] || ! cmp -s "$fragment" "$out/config.fragment"; then
	echo "debug-kernel: configuring"
	mkdir -p "$obj"
	rm -f "$obj/.config"
	kmake -s x86_64_defconfig
	(cd "$src" && KCONFIG_CONFIG=$obj/.config scripts/kconfig/merge_config.sh -m -O "$obj" \
		"$obj/.config" kernel/configs/kvm_guest.config "$fragment" >/dev/null)
	kmake -s olddefconfig
	cp "$fragment" "$out/config.fragment"
fi
bad=0
while read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		opt=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
		got=$(grep -E "^$opt=" "$obj/.config" | cut -d= -f2- || true)
		if [[ $got != "$want" ]]; then
			echo "debug-kernel: $opt=$want requested, .config has '${got:-not set}'" >&2
			bad=1
		fi
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
		opt=${BASH_REMATCH[1]}
		if grep -qE "^$opt=" "$obj/.config"; then
			echo "debug-kernel: note: $opt stays $(grep -E "^$opt=" "$obj/.config" | cut -d= -f2-) (selected)" >&2
		fi
	fi
done < "$fragment"
if ((bad)); then
	rm -f "$out/config.fragment"	# reconfigure next time
	exit 1
fi

# 4. Build and install the modules into our own tree.
echo "debug-kernel: building bzImage modules (nice -n 19, -j$jobs)"
start=$SECONDS
kmake bzImage modules
kmake -s kernelrelease > "$out/release"
rm -rf "$mods"
kmake -s modules_install INSTALL_MOD_PATH="$mods" >/dev/null
release=$(cat "$out/release")
ko=$mods/lib/modules/$release/kernel/drivers/md/dm-cowtree/dm-cowtree.ko
[[ -e $ko ]] || { echo "debug-kernel: $ko was not built" >&2; exit 1; }
echo "$stamp" > "$out/stamp"
echo "debug-kernel: $release built in $((SECONDS - start))s: $obj/arch/x86/boot/bzImage, modules in $mods"
