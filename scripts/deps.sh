#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Install every build and test dependency of dm-cowtree (Debian 12).
# Idempotent: with everything present it only runs dpkg-query and exits.
#
#   scripts/deps.sh          install what is missing
#   scripts/deps.sh --check  exit 1 if something is missing, install nothing
set -euo pipefail

PACKAGES=(
	build-essential make gcc pkg-config kmod
	linux-headers-amd64 linux-image-amd64 linux-source-6.1
	qemu-system-x86 busybox-static cpio xz-utils
	fio lvm2 dmsetup thin-provisioning-tools linux-perf
	libdevmapper-dev libblkid-dev libmount-dev libjson-c-dev
	e2fsprogs libext2fs-dev xfsprogs xfslibs-dev attr acl rsync
	libisal-dev libaio-dev
	sparse clang libclang-rt-14-dev valgrind
	gnuplot-nox bc python3 libc6-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] || missing+=("$p")
done

# The VM boots the newest installed Debian kernel; its headers must match.
kver=$(ls /lib/modules 2>/dev/null | grep -- '-amd64$' | sort -V | tail -1 || true)
if [[ -n $kver && ! -e /lib/modules/$kver/build/Makefile ]]; then
	missing+=("linux-headers-$kver")
fi
if [[ ! -e /usr/src/linux-source-6.1/scripts/checkpatch.pl && -e /usr/src/linux-source-6.1.tar.xz ]]; then
	unpack_source=1
fi

if ((${#missing[@]} == 0)) && [[ -z ${unpack_source:-} ]]; then
	exit 0
fi
if [[ ${1:-} == --check ]]; then
	echo "missing: ${missing[*]} ${unpack_source:+linux-source-6.1 (unpacked)}"
	exit 1
fi

if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}"
	if [[ $(id -u) != 0 ]]; then
		echo "deps: need root to install packages (try: sudo make deps)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# checkpatch.pl and the reference sources come from the unpacked tree.
if [[ ! -e /usr/src/linux-source-6.1/scripts/checkpatch.pl ]]; then
	echo "deps: unpacking linux-source-6.1"
	tar -xf /usr/src/linux-source-6.1.tar.xz -C /usr/src
fi
echo "deps: all present"
