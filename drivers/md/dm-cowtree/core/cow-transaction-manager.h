/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree metadata engine: transaction manager.
 *
 * Copy-on-write of metadata blocks ("shadowing") on top of the block
 * manager and the metadata space map.  Every block written in transaction
 * T carries stamp T in its header.  A block may be changed in place only
 * if it carries the current stamp (it was written in this transaction, so
 * the last commit cannot reference it) and its reference count is one;
 * otherwise it is copied to a newly allocated block and the original loses
 * one reference.
 *
 * Commit is two-phase (cow_tm_commit()): everything dirty is written and
 * flushed, then the superblock, then another flush.
 */
#ifndef COW_TRANSACTION_MANAGER_H
#define COW_TRANSACTION_MANAGER_H

#include "cow-platform.h"
#include "cow-block-manager.h"
#include "cow-space-map.h"

struct cow_tm {
	struct cow_block_manager *bm;
	struct cow_space_map *sm;	/* metadata space map, not owned */
	u64 txn;		/* stamp of blocks written in this transaction */
};

/* @txn: the stamp for this transaction (the last commit's stamp + 1). */
void cow_tm_init(struct cow_tm *tm, struct cow_block_manager *bm,
		 struct cow_space_map *sm, u64 txn);

/*----------------------------------------------------------------*/

/*
 * Allocate a zeroed block, write-locked, with its header set to @type and
 * the current stamp.  The caller unlocks it.
 */
int cow_tm_new_block(struct cow_tm *tm, const struct cow_block_validator *v,
		     u32 type, struct cow_block **result);

/*
 * Get a writable version of block @orig, which a reference recorded with
 * stamp @orig_txn.  *result is write-locked (the caller unlocks); its
 * location may differ from @orig.  *inc_children is set if @orig was
 * shared, in which case the caller must take a reference on everything
 * the block points to (the copy now references it too).
 */
int cow_tm_shadow_block(struct cow_tm *tm, u64 orig, u64 orig_txn,
			const struct cow_block_validator *v,
			struct cow_block **result, bool *inc_children);

/* Read-lock @b and check its stamp is @txn.  The caller unlocks. */
int cow_tm_read_lock(struct cow_tm *tm, u64 b, u64 txn,
		     const struct cow_block_validator *v,
		     struct cow_block **result);

/* As cow_tm_read_lock(), but -EWOULDBLOCK instead of I/O or sleeping. */
int cow_tm_read_try_lock(struct cow_tm *tm, u64 b, u64 txn,
			 const struct cow_block_validator *v,
			 struct cow_block **result);

static inline void cow_tm_unlock(struct cow_tm *tm, struct cow_block *b)
{
	cow_bm_unlock(tm->bm, b);
}

static inline int cow_tm_inc(struct cow_tm *tm, u64 b)
{
	return cow_sm_inc(tm->sm, b);
}

static inline int cow_tm_dec(struct cow_tm *tm, u64 b)
{
	return cow_sm_dec(tm->sm, b, NULL);
}

static inline int cow_tm_get_count(struct cow_tm *tm, u64 b, u32 *result)
{
	return cow_sm_get_count(tm->sm, b, result);
}

/*
 * Phase one: write the metadata space map, then every dirty block, and
 * flush.  *msm_root and *msm_txn locate the space map for the superblock.
 */
int cow_tm_pre_commit(struct cow_tm *tm, u64 *msm_root, u64 *msm_txn);

/*
 * Phase two: write the superblock (already filled in, write-locked in
 * @sb, which this unlocks) and flush.  On success the transaction is
 * durable and the next one begins with stamp txn + 1.
 */
int cow_tm_commit(struct cow_tm *tm, struct cow_block *sb);

#endif
