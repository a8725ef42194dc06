/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree metadata engine: space maps.
 *
 * A space map keeps a 32-bit reference count for every block of a device:
 * metadata blocks (shared by snapshot btrees) or data chunks (shared by
 * volumes).  Both implementations fill in the same ops table, like
 * struct dm_space_map, so a btree's value type can reference either.
 *
 * Allocation never returns a block whose count dropped to zero in the
 * current transaction: the last committed metadata may still reference it.
 */
#ifndef COW_SPACE_MAP_H
#define COW_SPACE_MAP_H

#include "cow-platform.h"
#include "cow-block-manager.h"
#include "cow-format.h"

struct cow_space_map;
struct cow_tm;

struct cow_sm_ops {
	void (*destroy)(struct cow_space_map *sm);
	u64 (*nr_blocks)(struct cow_space_map *sm);
	/* Blocks with a zero count, including ones freed this transaction. */
	u64 (*nr_free)(struct cow_space_map *sm);
	int (*get_count)(struct cow_space_map *sm, u64 b, u32 *result);
	/* -EINVAL (and a cow_err) for an increment of a free block. */
	int (*inc)(struct cow_space_map *sm, u64 b);
	/* *new_count (if not NULL) gets the count after the decrement. */
	int (*dec)(struct cow_space_map *sm, u64 b, u32 *new_count);
	/* Allocate a free block, searching from @hint; its count becomes 1. */
	int (*new_block)(struct cow_space_map *sm, u64 hint, u64 *result);
	/* Grow to @nr_blocks (never shrinks). */
	int (*extend)(struct cow_space_map *sm, u64 nr_blocks);
	/* The transaction's superblock is durable: start a new one. */
	void (*commit_done)(struct cow_space_map *sm);
};

struct cow_space_map {
	const struct cow_sm_ops *ops;
};

static inline void cow_sm_destroy(struct cow_space_map *sm)
{
	sm->ops->destroy(sm);
}

static inline u64 cow_sm_nr_blocks(struct cow_space_map *sm)
{
	return sm->ops->nr_blocks(sm);
}

static inline u64 cow_sm_nr_free(struct cow_space_map *sm)
{
	return sm->ops->nr_free(sm);
}

static inline int cow_sm_get_count(struct cow_space_map *sm, u64 b, u32 *result)
{
	return sm->ops->get_count(sm, b, result);
}

static inline int cow_sm_inc(struct cow_space_map *sm, u64 b)
{
	return sm->ops->inc(sm, b);
}

static inline int cow_sm_dec(struct cow_space_map *sm, u64 b, u32 *new_count)
{
	return sm->ops->dec(sm, b, new_count);
}

static inline int cow_sm_new_block(struct cow_space_map *sm, u64 hint, u64 *result)
{
	return sm->ops->new_block(sm, hint, result);
}

static inline int cow_sm_extend(struct cow_space_map *sm, u64 nr_blocks)
{
	return sm->ops->extend(sm, nr_blocks);
}

static inline void cow_sm_commit_done(struct cow_space_map *sm)
{
	sm->ops->commit_done(sm);
}

/*----------------------------------------------------------------*/
/*
 * Metadata space map (cow-space-map-metadata.c)
 *
 * Kept out of the btrees so it never recurses into itself: the index of
 * its reference count blocks lives in memory, counts changed in this
 * transaction are held in memory, and at commit cow_msm_pre_commit()
 * finds fresh locations for every changed block by a fixed-point loop
 * that only touches memory, then writes them.  See cowtree-format.rst.
 */

/* A new, empty map of @nr_blocks blocks (every count zero). */
int cow_msm_create(struct cow_block_manager *bm, u64 nr_blocks,
		   struct cow_space_map **result);

/* Open the map whose root block @root was written in transaction @txn. */
int cow_msm_open(struct cow_block_manager *bm, u64 root, u64 txn,
		 struct cow_space_map **result);

/*
 * Write every changed count to fresh blocks stamped @txn; on return
 * *root and *root_txn locate the new root block to put in the superblock.
 */
int cow_msm_pre_commit(struct cow_space_map *sm, u64 txn, u64 *root,
		       u64 *root_txn);

/* Blocks the commit may need; ordinary allocation leaves them free. */
u64 cow_msm_commit_reserve(struct cow_space_map *sm);

/* Blocks ordinary allocation can still hand out. */
u64 cow_msm_nr_available(struct cow_space_map *sm);

/*----------------------------------------------------------------*/
/*
 * Data space map (cow-space-map-data.c)
 *
 * Reference count blocks are ordinary metadata blocks, shadowed through
 * the transaction manager; their index is a btree keyed by block number /
 * COW_RC_ENTRIES.  Missing index entries mean "all counts zero", so a huge
 * data device costs nothing until it is used.
 */

struct cow_root;

int cow_dsm_create(struct cow_tm *tm, u64 nr_blocks, struct cow_space_map **result);
int cow_dsm_open(struct cow_tm *tm, const struct cow_root *root, u64 nr_blocks,
		 u64 nr_allocated, struct cow_space_map **result);
/* The index btree's root and the allocated count, for the superblock. */
void cow_dsm_get_root(struct cow_space_map *sm, struct cow_root *root,
		      u64 *nr_allocated);

/*
 * Chunk @b, just allocated (count 1), is not referenced by any mapping yet:
 * commits leave it out until cow_dsm_referenced() or a decrement gives it
 * back.  A crash between a commit and the reference then leaks nothing.
 */
int cow_dsm_set_unreferenced(struct cow_space_map *sm, u64 b);
void cow_dsm_referenced(struct cow_space_map *sm, u64 b);

/*
 * Around a commit: cow_dsm_pre_commit() drops the unreferenced chunks'
 * counts to zero for it; cow_dsm_post_commit(), after commit_done, sets
 * them back to one in the new transaction (*changed: there were some).
 * An error from either leaves the map unusable: the pool must fail.
 */
int cow_dsm_pre_commit(struct cow_space_map *sm);
int cow_dsm_post_commit(struct cow_space_map *sm, bool *changed);

#endif
