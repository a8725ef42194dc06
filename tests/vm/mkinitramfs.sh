#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build the guest initramfs: busybox, the tools the scenarios use (with
# their shared libraries), the Debian dm modules and their dependencies, our
# module and dmcowctl.  Output: OUT (default $BUILD/base.cpio.gz).
#
#   mkinitramfs.sh KVER BUILD_DIR TOP_DIR [OUT]
# Environment (the debug kernel, run.sh DEBUG_KERNEL=1): MODDIR, the module
# tree (default /lib/modules/KVER); COWTREE_KO, the dm-cowtree.ko to copy.
set -euo pipefail

kver=$1 build=$2 top=$3 out=${4:-$2/base.cpio.gz}
root=${out%.cpio.gz}.root
moddir=${MODDIR:-/lib/modules/$kver}

rm -rf "$root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,mnt,root,lib64,usr/bin,usr/sbin,var/tmp}

# busybox and its applets; never link busybox onto itself (init -> ELOOP).
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[[ $applet == busybox ]] && continue
	ln -sf /bin/busybox "$root/bin/$applet"
done

# Real binaries replace busybox applets of the same name.
copy_binary() {
	local path=$1 dest lib
	path=$(command -v "$path") || { echo "mkinitramfs: missing $1" >&2; exit 1; }
	dest=$root/usr/sbin/$(basename "$path")
	rm -f "$root/bin/$(basename "$path")"
	cp -L "$path" "$dest"
	for lib in $(ldd "$path" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
		mkdir -p "$root$(dirname "$lib")"
		[[ -e $root$lib ]] || cp -L "$lib" "$root$lib"
	done
}
for b in dmsetup fio mke2fs e2fsck tune2fs debugfs mkfs.xfs xfs_repair xfs_io \
	 blkdiscard thin_check thin_dump thin_delta losetup blockdev \
	 getfattr setfattr getfacl setfacl rsync; do
	copy_binary "$b"
done
ln -sf mke2fs "$root/usr/sbin/mkfs.ext4"
ln -sf e2fsck "$root/usr/sbin/fsck.ext4"
# lvm2 (dmcowctl monitor grows LVM data devices): no udev, no dmeventd.
copy_binary lvm
for l in pvcreate vgcreate lvcreate lvextend lvremove vgremove pvs vgs lvs; do
	ln -sf lvm "$root/usr/sbin/$l"
done
mkdir -p "$root/etc/lvm"
cat > "$root/etc/lvm/lvm.conf" <<'EOF'
devices { obtain_device_list_from_udev = 0 use_devicesfile = 0 }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
backup { backup = 1 archive = 0 }
EOF
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
copy_binary "$top/tools/dmcowctl/build/dmcowctl"
for b in "$top"/tests/vm/build/guest-bin/*; do
	[[ -f $b ]] && copy_binary "$b"
done

# Kernel modules: the closure of what we need, in load order (deps first),
# decompressed because busybox insmod may not read .ko.xz.  virtio_console
# carries the result channel (tests/vm/init, run.sh).
roots=(crc32c_generic libcrc32c virtio_pci virtio_blk virtio_console brd loop ext4 xfs
       dm-mod dm-bufio dm-thin-pool dm-snapshot dm-log-writes dm-flakey dm-delay dm-zero)
declare -A path_of done
while read -r line; do
	m=${line%%:*}
	n=$(basename "$m"); n=${n%%.ko*}; n=${n//_/-}
	path_of[$n]=$m
done < "$moddir/modules.dep"

order=()
visit() {
	local name=${1//_/-} dep deps
	[[ -n ${done[$name]:-} ]] && return
	done[$name]=1
	local rel=${path_of[$name]:-}
	if [[ -z $rel ]]; then
		grep -qE "/${name//-/[-_]}\.ko" "$moddir/modules.builtin" && return
		echo "mkinitramfs: module $1 not found in $kver" >&2
		exit 1
	fi
	deps=$(grep -E "^$rel:" "$moddir/modules.dep" | cut -d: -f2)
	for dep in $deps; do
		dep=$(basename "$dep"); visit "${dep%%.ko*}"
	done
	order+=("$rel")
}
for m in "${roots[@]}"; do visit "$m"; done

mkdir -p "$root/lib/modules"
: > "$root/etc/modules.order"
for rel in "${order[@]}"; do
	name=$(basename "$rel"); name=${name%%.ko*}
	case $rel in
	*.ko.xz) xz -dc "$moddir/$rel" > "$root/lib/modules/$name.ko" ;;
	*.ko.zst) zstd -qdc "$moddir/$rel" > "$root/lib/modules/$name.ko" ;;
	*) cp "$moddir/$rel" "$root/lib/modules/$name.ko" ;;
	esac
	# brd is loaded by the scenarios with the sizes they need.
	[[ $name == brd ]] || echo "$name" >> "$root/etc/modules.order"
done
cp "${COWTREE_KO:-$top/drivers/md/dm-cowtree/dm-cowtree.ko}" "$root/lib/modules/dm-cowtree.ko"

cp "$top/tests/vm/init" "$root/init"
cp "$top/tests/vm/lib.sh" "$root/etc/cowtest-lib.sh"
[[ -e $top/tests/vm/cowtree-lib.sh ]] && cp "$top/tests/vm/cowtree-lib.sh" "$root/etc/cowtree-lib.sh"
# File-level scenarios (fs-*.sh) source it themselves.
cp "$top/tests/vm/fs-lib.sh" "$root/etc/fs-lib.sh"
chmod +x "$root/init"
echo "$kver" > "$root/etc/kver"

# Atomically: a harness starting meanwhile must never read half of it.
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
