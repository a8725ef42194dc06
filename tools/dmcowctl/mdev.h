/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmcowctl: a metadata device under the core's block manager, for the
 * offline tools (built on the core headers: see offline.h).
 */
#ifndef DMCOWCTL_MDEV_H
#define DMCOWCTL_MDEV_H

#include "cow-platform.h"
#include "cow-block-manager.h"
#include "cow-format.h"

#define MDEV_CACHE_BLOCKS 4096u	/* 16 MiB of cached metadata */

/*
 * Opens @path read-only (O_DIRECT when @direct: the device is live and its
 * page cache may be stale).  Every block read advances progress_update().
 * Prints one sentence and returns a negative errno on failure.
 */
int mdev_open_ro(const char *path, bool direct, struct cow_block_manager **bm);

/*
 * Opens @path for writing; a block device must not be in use.  When
 * @create_blocks is non-zero and @path does not exist, a file of that many
 * blocks is created.  Prints one sentence on failure.
 */
int mdev_open_rw(const char *path, u64 create_blocks,
		 struct cow_block_manager **bm);

/* Blocks read drive progress_update() (for the checker, which has no hook). */
extern bool mdev_progress_reads;
/* Metadata blocks read by every read-only device opened (send's --json). */
extern u64 mdev_blocks_read;

void mdev_close(struct cow_block_manager *bm);

/* Reads the superblock as it is (checksum not verified): 0 or -errno. */
int mdev_read_sb(struct cow_block_manager *bm, struct cow_disk_superblock *sb,
		 bool *csum_ok);

#endif
