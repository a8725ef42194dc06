// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the space maps and the transaction manager.
 */
#include "cow-test.h"
#include "cow-test-pool.h"
#include "cow-space-map.h"
#include "cow-transaction-manager.h"
#include "cow-btree.h"

struct sm_env {
	struct cow_block_manager *bm;
	struct cow_space_map *msm, *dsm;
	struct cow_tm tm;
	u64 root, root_txn;
};

static void env_create(struct sm_env *e, u64 md, u64 nd)
{
	struct cow_disk *d;
	u64 b;

	memset(e, 0, sizeof(*e));
	CHECK_OK(cow_disk_mem_create(md, &d));
	CHECK_OK(cow_cache_bm_create(d, 64, &e->bm));
	CHECK_OK(cow_msm_create(e->bm, md, &e->msm));
	CHECK_OK(cow_sm_new_block(e->msm, 0, &b));	/* "superblock" */
	CHECK_EQ(b, 0);
	cow_tm_init(&e->tm, e->bm, e->msm, 1);
	if (nd)
		CHECK_OK(cow_dsm_create(&e->tm, nd, &e->dsm));
}

/* Commit the metadata space map (the data one lives in its btree). */
#define env_commit(e) env_commit_at(e, __LINE__)
static void env_commit_at(struct sm_env *e, int line)
{
	int r = cow_msm_pre_commit(e->msm, e->tm.txn, &e->root, &e->root_txn);

	CHECK_MSG(!r, "commit from line %d: %d", line, r);
	CHECK_OK(cow_bm_flush(e->bm));
	cow_sm_commit_done(e->msm);
	if (e->dsm)
		cow_sm_commit_done(e->dsm);
	e->tm.txn++;
}

static void env_destroy(struct sm_env *e)
{
	if (e->dsm)
		cow_sm_destroy(e->dsm);
	cow_sm_destroy(e->msm);
	cow_bm_invalidate(e->bm);
	cow_bm_destroy(e->bm);
}

COW_TEST(msm_alloc_free_commit_reopen)
{
	struct sm_env e;
	struct cow_space_map *m2;
	u64 b, blocks[3000], n = 0, i;
	u32 c;
	int r;

	env_create(&e, 3000, 0);
	while ((r = cow_sm_new_block(e.msm, ~0ULL, &b)) == 0)
		blocks[n++] = b;
	CHECK_EQ(r, -ENOSPC);
	/* The commit reserve stays free. */
	CHECK_EQ(cow_sm_nr_free(e.msm), cow_msm_commit_reserve(e.msm));
	/* Sequential allocation: locality. */
	for (i = 1; i < n; i++)
		CHECK_EQ(blocks[i], blocks[i - 1] + 1);
	CHECK_OK(cow_sm_inc(e.msm, blocks[10]));
	CHECK_OK(cow_sm_get_count(e.msm, blocks[10], &c));
	CHECK_EQ(c, 2);
	env_commit(&e);
	/* Free some; they are not reused before the next commit. */
	for (i = 100; i < 200; i++)
		CHECK_OK(cow_sm_dec(e.msm, blocks[i], &c));
	CHECK_EQ(cow_sm_new_block(e.msm, blocks[100], &b), -ENOSPC);
	env_commit(&e);
	CHECK_OK(cow_sm_new_block(e.msm, blocks[100], &b));
	CHECK_EQ(b, blocks[100]);
	env_commit(&e);
	/* Everything survives a reopen from the root. */
	CHECK_OK(cow_msm_open(e.bm, e.root, e.root_txn, &m2));
	for (i = 0; i < n; i++) {
		CHECK_OK(cow_sm_get_count(m2, blocks[i], &c));
		/* (101..199 may hold the map's own blocks by now.) */
		if (i <= 100 || i >= 200)
			CHECK_EQ(c, i == 10 ? 2 : 1);
	}
	CHECK_EQ(cow_sm_nr_free(m2), cow_sm_nr_free(e.msm));
	cow_sm_destroy(m2);
	/* Errors: double free, increment of a free block, out of range. */
	cow_log_quiet = true;
	CHECK_EQ(cow_sm_dec(e.msm, blocks[150], NULL), -EINVAL);
	CHECK_EQ(cow_sm_inc(e.msm, blocks[150]), -EINVAL);
	CHECK_EQ(cow_sm_get_count(e.msm, 3000, &c), -EINVAL);
	cow_log_quiet = false;
	env_destroy(&e);
}

COW_TEST(msm_extend)
{
	struct sm_env e;
	struct cow_space_map *m2;
	u64 b, n = 0;

	env_create(&e, 8192, 0);
	CHECK_EQ(cow_sm_extend(e.msm, 4000), -EINVAL);	/* never shrinks */
	env_destroy(&e);
	env_create(&e, 2000, 0);
	while (!cow_sm_new_block(e.msm, ~0ULL, &b))
		n++;
	CHECK_EQ(cow_sm_extend(e.msm, 1000), -EINVAL);
	CHECK_OK(cow_sm_extend(e.msm, 2000 + 3 * COW_RC_ENTRIES));
	CHECK_OK(cow_sm_new_block(e.msm, ~0ULL, &b));
	CHECK(b < 2000 + 3 * COW_RC_ENTRIES);
	env_commit(&e);
	CHECK_OK(cow_msm_open(e.bm, e.root, e.root_txn, &m2));
	CHECK_EQ(cow_sm_nr_blocks(m2), 2000 + 3 * COW_RC_ENTRIES);
	CHECK_EQ(cow_sm_nr_free(m2), cow_sm_nr_free(e.msm));
	cow_sm_destroy(m2);
	env_destroy(&e);
}

COW_TEST(dsm_alloc_hint_free_extend)
{
	struct sm_env e;
	u64 b, prev = 0, i, n;
	u32 c;
	int r;

	env_create(&e, 1024, 5000);
	/* Sequential from a hint. */
	for (i = 0; i < 100; i++) {
		CHECK_OK(cow_sm_new_block(e.dsm, i ? prev + 1 : 2500, &b));
		if (i)
			CHECK_EQ(b, prev + 1);
		else
			CHECK_EQ(b, 2500);
		prev = b;
	}
	for (n = 100; (r = cow_sm_new_block(e.dsm, 0, &b)) == 0; n++)
		;
	CHECK_EQ(r, -ENOSPC);
	CHECK_EQ(n, 5000);
	CHECK_EQ(cow_sm_nr_free(e.dsm), 0);
	/* Shared chunk: two references. */
	CHECK_OK(cow_sm_inc(e.dsm, 42));
	CHECK_OK(cow_sm_dec(e.dsm, 42, &c));
	CHECK_EQ(c, 1);
	CHECK_OK(cow_sm_dec(e.dsm, 42, &c));
	CHECK_EQ(c, 0);
	CHECK_EQ(cow_sm_nr_free(e.dsm), 1);
	/* Freed in this transaction: not handed out again. */
	CHECK_EQ(cow_sm_new_block(e.dsm, 42, &b), -ENOSPC);
	env_commit(&e);
	CHECK_OK(cow_sm_new_block(e.dsm, 0, &b));
	CHECK_EQ(b, 42);
	/* Growth. */
	CHECK_OK(cow_sm_extend(e.dsm, 5000 + 2000));
	CHECK_EQ(cow_sm_nr_free(e.dsm), 2000);
	CHECK_OK(cow_sm_new_block(e.dsm, 0, &b));
	CHECK_EQ(b, 5000);
	CHECK_EQ(cow_sm_extend(e.dsm, 10), -EINVAL);
	env_destroy(&e);
}

COW_TEST(tm_shadowing)
{
	struct sm_env e;
	struct cow_block *b, *s;
	bool inc;
	u64 orig, copy;
	u32 c;

	env_create(&e, 256, 0);
	CHECK_OK(cow_tm_new_block(&e.tm, &cow_held_validator, COW_BT_HELD, &b));
	orig = cow_block_location(b);
	((u8 *)cow_block_data(b))[100] = 0x5a;
	cow_tm_unlock(&e.tm, b);
	/* Same transaction, unshared: changed in place. */
	CHECK_OK(cow_tm_shadow_block(&e.tm, orig, e.tm.txn, &cow_held_validator,
				     &s, &inc));
	CHECK_EQ(cow_block_location(s), orig);
	CHECK(!inc);
	cow_tm_unlock(&e.tm, s);
	env_commit(&e);
	/* Committed: copied, original released. */
	CHECK_OK(cow_tm_shadow_block(&e.tm, orig, e.tm.txn - 1, &cow_held_validator,
				     &s, &inc));
	copy = cow_block_location(s);
	CHECK(copy != orig);
	CHECK(!inc);
	CHECK_EQ(((u8 *)cow_block_data(s))[100], 0x5a);
	cow_tm_unlock(&e.tm, s);
	CHECK_OK(cow_tm_get_count(&e.tm, orig, &c));
	CHECK_EQ(c, 0);
	/* Shared (count 2) though written in this transaction: copied. */
	CHECK_OK(cow_tm_inc(&e.tm, copy));
	CHECK_OK(cow_tm_shadow_block(&e.tm, copy, e.tm.txn, &cow_held_validator,
				     &s, &inc));
	CHECK(cow_block_location(s) != copy);
	CHECK(inc);
	cow_tm_unlock(&e.tm, s);
	CHECK_OK(cow_tm_get_count(&e.tm, copy, &c));
	CHECK_EQ(c, 1);
	/* A wrong stamp is a stale block. */
	cow_log_quiet = true;
	CHECK_EQ(cow_tm_read_lock(&e.tm, copy, 12345, &cow_held_validator, &s),
		 -EILSEQ);
	cow_log_quiet = false;
	env_destroy(&e);
}
