// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers for tests of the metadata core: pools on memory disks.
 */
#include "cow-test.h"
#include "cow-test-pool.h"
#include "cow-check.h"

struct cow_pool_metadata *tp_open(struct cow_block_manager *bm)
{
	struct cow_pmd_open_args args = { 0 };
	struct cow_pool_metadata *pmd = NULL;

	CHECK_OK(cow_pmd_open(bm, &args, &pmd));
	return pmd;
}

void tp_create(struct test_pool *tp, u64 metadata_blocks, u64 data_chunks,
	       unsigned int cache_blocks)
{
	struct cow_disk *d;

	CHECK_OK(cow_disk_mem_create(metadata_blocks, &d));
	CHECK_OK(cow_cache_bm_create(d, cache_blocks, &tp->bm));
	CHECK_OK(cow_pmd_format(tp->bm, 128, data_chunks));
	tp->pmd = tp_open(tp->bm);
}

void tp_close_pmd(struct test_pool *tp)
{
	if (tp->pmd)
		cow_pmd_close(tp->pmd);
	tp->pmd = NULL;
}

void tp_reopen(struct test_pool *tp, unsigned int cache_blocks)
{
	struct cow_disk *d = cow_cache_bm_disk(tp->bm), *copy;

	tp_close_pmd(tp);
	/* Drop the cache (dirty blocks too): a fresh start from the disk. */
	CHECK_OK(cow_disk_mem_clone(d, &copy));
	cow_bm_invalidate(tp->bm);
	cow_bm_destroy(tp->bm);
	CHECK_OK(cow_cache_bm_create(copy, cache_blocks, &tp->bm));
	tp->pmd = tp_open(tp->bm);
}

void tp_destroy(struct test_pool *tp)
{
	tp_close_pmd(tp);
	if (tp->bm) {
		cow_bm_invalidate(tp->bm);
		cow_bm_destroy(tp->bm);
	}
	tp->bm = NULL;
}

void tp_check_report(struct cow_block_manager *bm, struct cow_check_report *rep)
{
	struct cow_disk *copy;
	struct cow_block_manager *cbm;

	/* Check what is on disk, through a cache of its own. */
	CHECK_OK(cow_disk_mem_clone(cow_cache_bm_disk(bm), &copy));
	CHECK_OK(cow_cache_bm_create(copy, 4096, &cbm));
	CHECK_OK(cow_check_pool(cbm, rep));
	cow_bm_destroy(cbm);
}

void tp_check(struct cow_block_manager *bm)
{
	struct cow_check_report *rep = calloc(1, sizeof(*rep));
	bool quiet = cow_log_quiet;

	CHECK(rep);
	tp_check_report(bm, rep);
	if (rep->nr_problems) {
		cow_log_quiet = false;
		cow_check_log(rep);
		cow_log_quiet = quiet;
	}
	CHECK_MSG(!rep->nr_problems, "checker found %llu problems",
		  (unsigned long long)rep->nr_problems);
	CHECK_MSG(rep->accounted, "checker did not check the counters");
	free(rep);
}
