# Objects of the shared metadata engine, relative to drivers/md/dm-cowtree/.
# Included by the kernel Kbuild file and by the userspace makefiles, so a new
# core file is added here once.
cow-core-objs :=
