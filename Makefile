# SPDX-License-Identifier: GPL-2.0-only
#
# dm-cowtree top-level makefile.
#
#   make            kernel module (W=1) + dmcowctl
#   make deps       install build/test dependencies (Debian 12, root)
#   make check      unit tests + VM scenarios; last line "N passed, N failed"
#   make demo       boot a VM and show dm-cowtree at work
#   make vm-test T=name [VM_SHELL=1]   one VM scenario (or a shell)
#   make soak [SOAK_RUNS=20] [SOAK_STREAMS=2] [T="name..."]  the power-cut
#                   scenarios (or T) many times, two harnesses booting at once
#   make unit       userspace unit tests only
#   make bench [QUICK=1] [BENCH_REPEATS=N]  fio against dm-linear/thin/snapshot
#   make checkpatch / make sparse      static checks of our sources
#   make debug-kernel  KASAN/lockdep/kmemleak kernel with dm-cowtree in-tree
#                      (build/debug-kernel); DEBUG_KERNEL=1 makes vm-test,
#                      check and demo boot it

# The kernel the test VM boots: the newest installed Debian amd64 kernel.
# Never the host's running kernel (it has no headers and no dm).
KVER ?= $(shell ls /lib/modules 2>/dev/null | grep -- '-amd64$$' | sort -V | tail -1)
KDIR ?= /lib/modules/$(KVER)/build
MODDIR := $(CURDIR)/drivers/md/dm-cowtree
LINUX_SRC ?= /usr/src/linux-source-6.1
CHECKPATCH := $(LINUX_SRC)/scripts/checkpatch.pl
MAKEFLAGS += --no-print-directory

all: module tools guest-tools

# Run the installer only when something is missing (it is cheap to ask).
deps-if-needed:
	@scripts/deps.sh --check >/dev/null 2>&1 || scripts/deps.sh

deps:
	@scripts/deps.sh

module: deps-if-needed
	@test -n "$(KVER)" -a -e "$(KDIR)/Makefile" || \
		{ echo "no kernel headers for the VM kernel: run 'make deps'" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(MODDIR) CONFIG_DM_COWTREE=m W=1 modules 2>&1 | tee build-module.log
	@! grep -E 'warning:|error:' build-module.log || \
		{ echo "module build has warnings (W=1 must be clean)" >&2; exit 1; }
	@rm -f build-module.log

tools: deps-if-needed
	$(MAKE) -C tools/dmcowctl

# Static helpers copied into the test VM (tests/vm/tools).
guest-tools: deps-if-needed
	$(MAKE) -C tests/vm/tools
	$(MAKE) -C tests/tools guest
	$(MAKE) -C tests/bench

unit: deps-if-needed
	$(MAKE) -C tests/unit run

# DEBUG_KERNEL=1: the VM boots the debug kernel (make debug-kernel) and loads
# its in-tree dm-cowtree.ko; run.sh reads DEBUG_KERNEL from the environment.
VM_KERNEL := $(if $(DEBUG_KERNEL),debug-kernel,module)
export DEBUG_KERNEL

vm-test: $(VM_KERNEL) tools guest-tools
	tests/vm/run.sh $(if $(VM_SHELL),--shell) $(T)

soak: $(VM_KERNEL) tools guest-tools
	tests/vm/soak.sh -r $(or $(SOAK_RUNS),20) -s $(or $(SOAK_STREAMS),2) $(T)

check: deps-if-needed $(if $(DEBUG_KERNEL),debug-kernel)
	@tests/check.sh

demo: $(VM_KERNEL) tools guest-tools
	tests/vm/run.sh --demo

# Benchmarks against dm-linear, dm-thin and dm-snapshot in one guest boot.
# QUICK=1: tiny sizes (a smoke test, no meaningful numbers).
bench: module tools guest-tools
	QUICK=$(QUICK) tests/bench/run.sh

# The patch that adds dm-cowtree to a kernel tree (CONFIG_DM_COWTREE=m).
kernel-patch: deps-if-needed
	@mkdir -p build
	scripts/kernel-patch.sh $(LINUX_SRC) > build/dm-cowtree.patch
	@echo "kernel-patch: build/dm-cowtree.patch"

# Debug kernel: linux-source-6.1 + the kernel-patch, KASAN, lockdep,
# DEBUG_ATOMIC_SLEEP, kmemleak; cached in build/debug-kernel (seconds when
# nothing changed).  See scripts/debug-kernel.sh and debug-kernel.config.
debug-kernel: kernel-patch
	scripts/debug-kernel.sh build/dm-cowtree.patch build/debug-kernel

checkpatch: deps-if-needed
	@$(CHECKPATCH) --no-tree --quiet --show-types \
		--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES,LINUX_VERSION_CODE \
		-f $$(git ls-files 'drivers/*.c' 'drivers/*.h') && echo "checkpatch: clean"

sparse: deps-if-needed
	$(MAKE) -C $(KDIR) M=$(MODDIR) CONFIG_DM_COWTREE=m C=2 \
		CHECK="sparse -Wno-decl" modules 2>&1 | tee build-sparse.log
	@! grep -E 'warning:|error:' build-sparse.log || \
		{ echo "sparse reports problems" >&2; exit 1; }
	@rm -f build-sparse.log

install: all
	$(MAKE) -C $(KDIR) M=$(MODDIR) CONFIG_DM_COWTREE=m modules_install
	$(MAKE) -C tools/dmcowctl install

clean:
	-$(MAKE) -C $(KDIR) M=$(MODDIR) clean
	$(MAKE) -C tools/dmcowctl clean
	$(MAKE) -C tests/unit clean
	rm -rf tests/vm/build

.PHONY: all deps deps-if-needed module tools guest-tools bench kernel-patch debug-kernel unit vm-test soak check demo \
	checkpatch sparse install clean
