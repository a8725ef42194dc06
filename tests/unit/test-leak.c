// SPDX-License-Identifier: GPL-2.0-only
/*
 * A crash leaves no leak: a data chunk allocated for a write whose mapping
 * is not inserted yet (the target writes the data first) must not be
 * allocated in a commit made meanwhile, or a crash after that commit
 * leaves it allocated and referenced by nothing.  Found by the power-cuts
 * VM scenario under `dmcowctl check --strict-leaks` (#17).
 */
#include "cow-test.h"
#include "cow-test-pool.h"
#include "cow-check.h"

/* The checker's verdict on what is on the disk now (a crash here). */
static u64 leaks_on_disk(struct test_pool *tp)
{
	struct cow_check_report *rep = calloc(1, sizeof(*rep));
	u64 n;

	CHECK(rep);
	tp_check_report(tp->bm, rep);
	CHECK_EQ(rep->nr_problems, rep->nr_by_kind[COW_CHECK_DATA_LEAK]);
	n = rep->nr_problems;
	free(rep);
	return n;
}

COW_TEST(leak_unmapped_allocation_not_committed)
{
	struct cow_volume *v;
	struct test_pool tp;
	struct cow_lookup_result lr;
	u64 d1, d2, d3, free_before, free_now;

	tp_create(&tp, 256, 1000, 64);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "one"));
	CHECK_OK(cow_pmd_commit(tp.pmd));
	CHECK_OK(cow_pmd_get_free_data_chunks(tp.pmd, &free_before));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));

	/* Two writes in flight, another volume created, a commit. */
	CHECK_OK(cow_volume_alloc_chunk(v, &d1));
	CHECK_OK(cow_volume_alloc_chunk(v, &d2));
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 2, "two"));
	CHECK_OK(cow_pmd_commit(tp.pmd));
	CHECK_EQ(leaks_on_disk(&tp), 0);
	/* In memory they stay allocated: never handed out twice. */
	CHECK_OK(cow_pmd_get_free_data_chunks(tp.pmd, &free_now));
	CHECK_EQ(free_now, free_before - 2);
	CHECK_OK(cow_volume_alloc_chunk(v, &d3));
	CHECK(d3 != d1 && d3 != d2);

	/* One lands, one fails, across two more commits. */
	CHECK_OK(cow_volume_insert(v, 7, d1));
	CHECK_OK(cow_pmd_commit(tp.pmd));
	CHECK_EQ(leaks_on_disk(&tp), 0);
	CHECK_OK(cow_volume_free_unused_chunk(v, d2));
	CHECK_OK(cow_volume_insert(v, 8, d3));
	CHECK_OK(cow_pmd_commit(tp.pmd));
	CHECK_EQ(leaks_on_disk(&tp), 0);
	CHECK_OK(cow_volume_lookup(v, 7, true, &lr));
	CHECK_EQ(lr.dchunk, d1);
	CHECK_OK(cow_volume_lookup(v, 8, true, &lr));
	CHECK_EQ(lr.dchunk, d3);
	CHECK_OK(cow_pmd_get_free_data_chunks(tp.pmd, &free_now));
	CHECK_EQ(free_now, free_before - 2);
	cow_pmd_close_volume(v);
	tp_check(tp.bm);

	/* After a crash with one in flight, the pool is exact. */
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	CHECK_OK(cow_volume_alloc_chunk(v, &d1));
	CHECK_OK(cow_pmd_commit(tp.pmd));
	cow_pmd_close_volume(v);
	tp_reopen(&tp, 64);
	tp_check(tp.bm);
	CHECK_OK(cow_pmd_get_free_data_chunks(tp.pmd, &free_now));
	CHECK_EQ(free_now, free_before - 2);
	tp_destroy(&tp);
}
