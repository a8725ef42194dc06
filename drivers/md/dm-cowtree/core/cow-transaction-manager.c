// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree metadata engine: transaction manager.
 *
 * Unlike persistent-data's transaction manager this one keeps no table of
 * the blocks shadowed in this transaction: the stamp in each block header
 * says which transaction wrote it.  A block reachable from a reference and
 * carrying the current stamp cannot be part of the last commit, because
 * blocks freed in this transaction are never reallocated before commit.
 */
#include "cow-transaction-manager.h"

void cow_tm_init(struct cow_tm *tm, struct cow_block_manager *bm,
		 struct cow_space_map *sm, u64 txn)
{
	tm->bm = bm;
	tm->sm = sm;
	tm->txn = txn;
}

/*----------------------------------------------------------------*/

int cow_tm_new_block(struct cow_tm *tm, const struct cow_block_validator *v,
		     u32 type, struct cow_block **result)
{
	u64 b;
	int r;

	r = cow_sm_new_block(tm->sm, ~0ULL, &b);
	if (r)
		return r;
	r = cow_bm_write_lock_zero(tm->bm, b, v, result);
	if (r) {
		cow_sm_dec(tm->sm, b, NULL);
		return r;
	}
	cow_init_block_header(*result, type, tm->txn);
	return 0;
}

/* Read-lock @b and check it carries the stamp its reference recorded. */
static int read_lock_stamped(struct cow_tm *tm, u64 b, u64 txn,
			     const struct cow_block_validator *v,
			     bool can_block, struct cow_block **result)
{
	int r;

	r = can_block ? cow_bm_read_lock(tm->bm, b, v, result) :
			cow_bm_read_try_lock(tm->bm, b, v, result);
	if (r)
		return r;
	r = cow_check_stamp(*result, txn, v->name);
	if (r)
		cow_bm_unlock(tm->bm, *result);
	return r;
}

int cow_tm_read_lock(struct cow_tm *tm, u64 b, u64 txn,
		     const struct cow_block_validator *v,
		     struct cow_block **result)
{
	return read_lock_stamped(tm, b, txn, v, true, result);
}

int cow_tm_read_try_lock(struct cow_tm *tm, u64 b, u64 txn,
			 const struct cow_block_validator *v,
			 struct cow_block **result)
{
	return read_lock_stamped(tm, b, txn, v, false, result);
}

static int copy_block(struct cow_tm *tm, struct cow_block *orig,
		      const struct cow_block_validator *v,
		      struct cow_block **result)
{
	struct cow_disk_block_header *h = cow_block_data(orig);
	int r;

	r = cow_tm_new_block(tm, v, le32_to_cpu(h->type), result);
	if (r)
		return r;
	memcpy(cow_block_data(*result), cow_block_data(orig),
	       COW_METADATA_BLOCK_SIZE);
	cow_init_block_header(*result, le32_to_cpu(h->type), tm->txn);
	return 0;
}

int cow_tm_shadow_block(struct cow_tm *tm, u64 orig, u64 orig_txn,
			const struct cow_block_validator *v,
			struct cow_block **result, bool *inc_children)
{
	struct cow_block *ob;
	u32 count;
	int r;

	r = cow_sm_get_count(tm->sm, orig, &count);
	if (r)
		return r;
	if (!count) {
		cow_err("metadata block %llu is referenced but free",
			(unsigned long long)orig);
		return -EILSEQ;
	}
	*inc_children = count > 1;
	if (count == 1 && orig_txn == tm->txn) {
		/* Written in this transaction and not shared: in place. */
		r = cow_bm_write_lock(tm->bm, orig, v, result);
		if (r)
			return r;
		r = cow_check_stamp(*result, orig_txn, v->name);
		if (r)
			cow_bm_unlock(tm->bm, *result);
		return r;
	}
	r = cow_tm_read_lock(tm, orig, orig_txn, v, &ob);
	if (r)
		return r;
	r = copy_block(tm, ob, v, result);
	cow_bm_unlock(tm->bm, ob);
	if (r)
		return r;
	r = cow_sm_dec(tm->sm, orig, NULL);
	if (r)
		cow_bm_unlock(tm->bm, *result);
	return r;
}

/*----------------------------------------------------------------*/

int cow_tm_pre_commit(struct cow_tm *tm, u64 *msm_root, u64 *msm_txn)
{
	int r;

	r = cow_msm_pre_commit(tm->sm, tm->txn, msm_root, msm_txn);
	if (r)
		return r;
	return cow_bm_flush(tm->bm);
}

int cow_tm_commit(struct cow_tm *tm, struct cow_block *sb)
{
	int r;

	cow_bm_unlock(tm->bm, sb);
	r = cow_bm_flush(tm->bm);
	if (r)
		return r;
	cow_sm_commit_done(tm->sm);
	tm->txn++;
	return 0;
}
