/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree metadata engine: helpers shared by the btree source files.
 */
#ifndef COW_BTREE_INTERNAL_H
#define COW_BTREE_INTERNAL_H

#include "cow-btree.h"

#define INTERNAL_VALUE_SIZE ((u32)sizeof(struct cow_disk_root))

static inline u64 node_key(struct cow_disk_node_header *n, u32 i)
{
	return le64_to_cpu(cow_node_keys(n)[i]);
}

static inline u32 node_max(struct cow_disk_node_header *n)
{
	return le32_to_cpu(n->max_entries);
}

static inline u32 node_vsize(struct cow_disk_node_header *n)
{
	return le32_to_cpu(n->value_size);
}

static inline void node_child(struct cow_disk_node_header *n, u32 i,
			      struct cow_root *r)
{
	cow_root_from_disk(cow_node_value(n, i), r);
}

static inline void set_node_child(struct cow_disk_node_header *n, u32 i,
				  const struct cow_root *r)
{
	cow_root_to_disk(r, cow_node_value(n, i));
}

/* First index whose key is >= @key (nr if none). */
u32 cow_node_lower_bound(struct cow_disk_node_header *n, u64 key);
/* Child of an internal node whose range holds @key. */
u32 cow_node_child_index(struct cow_disk_node_header *n, u64 key);
/* Entries beneath a node: its own for a leaf, the children's sum else. */
u64 cow_node_count(struct cow_disk_node_header *n);

/*
 * Make the node *ptr refers to writable (shadowing it if needed, taking
 * references for the copy's children), and point *ptr at the result.
 */
int cow_btree_shadow_node(struct cow_btree_info *info, struct cow_root *ptr,
			  struct cow_block **result);

/* Open a gap of one entry at @i / close the entries [@i, @j). */
void cow_node_insert_at(struct cow_disk_node_header *n, u32 i, u64 key,
			const void *value);
void cow_node_delete(struct cow_disk_node_header *n, u32 i, u32 j);

#endif
