/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for tests of the metadata core: pools on memory disks.
 */
#ifndef COW_TEST_POOL_H
#define COW_TEST_POOL_H

#include "cow-platform.h"
#include "cow-disk.h"
#include "cow-metadata.h"

struct test_pool {
	struct cow_block_manager *bm;
	struct cow_pool_metadata *pmd;
};

/* A formatted, open pool on a fresh memory disk. */
void tp_create(struct test_pool *tp, u64 metadata_blocks, u64 data_chunks,
	       unsigned int cache_blocks);
/* Close the pool (the block manager and its disk stay). */
void tp_close_pmd(struct test_pool *tp);
/* Close the pool, flush nothing, and open it again on the same disk. */
void tp_reopen(struct test_pool *tp, unsigned int cache_blocks);
void tp_destroy(struct test_pool *tp);

/* Open a pool on @bm; the test fails if that fails. */
struct cow_pool_metadata *tp_open(struct cow_block_manager *bm);

/* Deterministic random numbers. */
static inline u64 tp_rand(u64 *s)
{
	u64 x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Run the independent checker on the last commit of @bm; fail on errors. */
void tp_check(struct cow_block_manager *bm);
/* Run it and return its report, whatever it found. */
struct cow_check_report;
void tp_check_report(struct cow_block_manager *bm, struct cow_check_report *rep);

#endif
