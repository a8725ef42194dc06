# Objects of the shared metadata engine, relative to drivers/md/dm-cowtree/.
# Included by the kernel Kbuild file and by the userspace makefiles, so a new
# core file is added here once.
cow-core-objs :=
cow-core-objs += core/cow-format.o
cow-core-objs += core/cow-space-map-metadata.o
cow-core-objs += core/cow-space-map-data.o
cow-core-objs += core/cow-transaction-manager.o
cow-core-objs += core/cow-btree.o
cow-core-objs += core/cow-btree-remove.o
cow-core-objs += core/cow-btree-diff.o
cow-core-objs += core/cow-metadata.o
cow-core-objs += core/cow-volume.o
cow-core-objs += core/cow-mapping.o
cow-core-objs += core/cow-reclaim.o
cow-core-objs += core/cow-check.o
cow-core-objs += core/cow-account.o
