/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree: the kernel block manager, over dm-bufio.
 */
#ifndef DM_COWTREE_BM_H
#define DM_COWTREE_BM_H

#include "cow-block-manager.h"

struct block_device;

/*
 * Create a block manager for the metadata device @bdev, caching at most
 * @max_held blocks locked by one thread at a time (the btree depth bound).
 * Returns an ERR_PTR on failure.  Destroy with cow_bm_destroy().
 */
struct cow_block_manager *cow_bufio_bm_create(struct block_device *bdev,
					      unsigned int max_held);

#endif
