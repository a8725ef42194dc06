/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree metadata engine: copy-on-write B+trees with shared subtrees.
 *
 * Keys are u64; values are fixed-size little-endian blobs.  A tree is
 * named by a struct cow_root (root block, its stamp, and the number of
 * entries in the tree -- internal nodes keep that count per child, so the
 * size of any subtree is known without reading it).  Every modification
 * takes the root by pointer and updates it: the root block moves whenever
 * it is shadowed.
 *
 * Sharing: a tree is snapshotted by copying its struct cow_root and taking
 * one reference on the root block (cow_tm_inc()), O(1).  A node reached
 * with a reference count above one is shadowed before it changes and the
 * copy takes references on its children: child blocks for internal
 * nodes, values (via the value type's inc) for leaves.
 *
 * The btree never drops references on values by itself: functions that
 * remove or overwrite values hand them to the caller.  Whole trees are
 * released by the caller's incremental reclaim, which walks nodes with
 * cow_btree_read_node().
 *
 * None of these functions take locks beyond block locks; the caller
 * (cow-metadata.c) serialises.
 */
#ifndef COW_BTREE_H
#define COW_BTREE_H

#include "cow-platform.h"
#include "cow-format.h"
#include "cow-transaction-manager.h"

#define COW_BTREE_MAX_DEPTH 12

struct cow_root {
	u64 blocknr;	/* 0: empty tree */
	u64 txn;
	u64 count;
};

static inline void cow_root_to_disk(const struct cow_root *r,
				    struct cow_disk_root *d)
{
	d->blocknr = cpu_to_le64(r->blocknr);
	d->txn = cpu_to_le64(r->txn);
	d->count = cpu_to_le64(r->count);
}

static inline void cow_root_from_disk(const struct cow_disk_root *d,
				      struct cow_root *r)
{
	r->blocknr = le64_to_cpu(d->blocknr);
	r->txn = le64_to_cpu(d->txn);
	r->count = le64_to_cpu(d->count);
}

struct cow_btree_value_type {
	void *context;
	u32 size;
	/*
	 * A shared leaf was copied: take one more reference on each of the
	 * @nr values at @values.  NULL if values hold no references.
	 */
	int (*inc)(void *context, const void *values, unsigned int nr);
};

struct cow_btree_info {
	struct cow_tm *tm;
	u32 tree;		/* COW_TREE_*: stamped into every node */
	struct cow_btree_value_type vt;
};

/*----------------------------------------------------------------*/
/* Lookups (read-only) */

/* Value of @key into @value; -ENODATA if absent. */
int cow_btree_lookup(struct cow_btree_info *info, const struct cow_root *root,
		     u64 key, void *value);

/* As cow_btree_lookup() but -EWOULDBLOCK rather than metadata I/O. */
int cow_btree_lookup_nonblocking(struct cow_btree_info *info,
				 const struct cow_root *root, u64 key,
				 void *value);

/*
 * As cow_btree_lookup() (or _nonblocking() if !@can_block), and @next is
 * called once, while the leaf reached is locked, with up to @max_next of
 * its entries from the first key >= @key on (if there are any): @keys[0]
 * to @keys[nr - 1] and their values, info->vt.size bytes each, one after
 * the other.  A cache can take neighbours of the entry for the price of
 * one lookup.
 */
int cow_btree_lookup_next(struct cow_btree_info *info,
			  const struct cow_root *root, u64 key, void *value,
			  bool can_block, unsigned int max_next,
			  void (*next)(void *context, const __le64 *keys,
				       const void *values, unsigned int nr),
			  void *context);

/* First entry with key >= @key; -ENODATA if none. */
int cow_btree_lookup_ge(struct cow_btree_info *info, const struct cow_root *root,
			u64 key, u64 *found, void *value);

/* Entry with the highest key; -ENODATA for an empty tree. */
int cow_btree_find_highest(struct cow_btree_info *info,
			   const struct cow_root *root, u64 *found, void *value);

/*
 * Call @fn for every entry with @begin <= key < @end in key order.  @fn
 * returns 0 to go on, a positive value to stop (returned), or an error.
 * Block locks are held while @fn runs: @fn must not modify this tree.
 */
int cow_btree_walk(struct cow_btree_info *info, const struct cow_root *root,
		   u64 begin, u64 end,
		   int (*fn)(void *context, u64 key, void *value),
		   void *context);

/*----------------------------------------------------------------*/
/* Modifications */

/*
 * Insert or overwrite @key.  The tree takes over the caller's reference
 * in @value.  If the key existed, *existed is set and the old value
 * (whose reference the caller now owns) is copied to @old_value.
 */
int cow_btree_insert(struct cow_btree_info *info, struct cow_root *root,
		     u64 key, const void *value, void *old_value,
		     bool *existed);

/*
 * Remove every entry with @begin <= key < @end.  @fn is called for each
 * removed entry (its reference passes to @fn) and may not touch this
 * tree; *removed (if not NULL) counts them.
 */
int cow_btree_remove_range(struct cow_btree_info *info, struct cow_root *root,
			   u64 begin, u64 end,
			   int (*fn)(void *context, u64 key, void *value),
			   void *context, u64 *removed);

/* Remove @key; its value goes to @old_value.  -ENODATA if absent. */
int cow_btree_remove(struct cow_btree_info *info, struct cow_root *root,
		     u64 key, void *old_value);

/*----------------------------------------------------------------*/
/* Comparing two trees */

/*
 * Call @fn, in key order, for every key present in only one of the trees
 * (the other value pointer is NULL) or whose values differ by memcmp.
 * Subtrees that are the same block in both trees are skipped unread.
 */
int cow_btree_diff(struct cow_btree_info *info, const struct cow_root *a,
		   const struct cow_root *b,
		   int (*fn)(void *context, u64 key, const void *va,
			     const void *vb),
		   void *context);

/*----------------------------------------------------------------*/
/* Node access for reclaim and checking */

/* Read-lock a node of @info's tree referenced with stamp @txn. */
int cow_btree_read_node(struct cow_btree_info *info, u64 b, u64 txn,
			struct cow_block **result);

static inline struct cow_disk_node_header *cow_node(struct cow_block *b)
{
	return cow_block_data(b);
}

static inline __le64 *cow_node_keys(struct cow_disk_node_header *n)
{
	return (__le64 *)(n + 1);
}

static inline void *cow_node_value(struct cow_disk_node_header *n, u32 i)
{
	return (u8 *)(cow_node_keys(n) + le32_to_cpu(n->max_entries)) +
		(size_t)i * le32_to_cpu(n->value_size);
}

static inline bool cow_node_is_leaf(struct cow_disk_node_header *n)
{
	return le32_to_cpu(n->flags) == COW_NODE_LEAF;
}

static inline u32 cow_node_nr(struct cow_disk_node_header *n)
{
	return le32_to_cpu(n->nr_entries);
}

#endif
