// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree metadata engine: btree removal.
 *
 * Removal works one leaf at a time: find the first key in range with a
 * read-only lookup, then shadow the path to its leaf (top-down, as for
 * insertion) and remove every key of that leaf in range.  On the way back
 * up, empty nodes are unlinked and freed, and a small node is merged into
 * a sibling when both fit comfortably in one.  Nodes are never
 * redistributed; a tree stays balanced because only whole levels appear
 * (root split) or disappear (root collapse).
 */
#include "cow-btree-internal.h"

struct remove {
	struct cow_btree_info *info;
	u64 key;		/* a key in range, in the leaf to work on */
	u64 begin, end;
	int (*fn)(void *context, u64 key, void *value);
	void *context;
	u64 removed;
};

/*----------------------------------------------------------------*/

static int node_nr_max(struct cow_btree_info *info, const struct cow_root *c,
		       u32 *nr, u32 *max)
{
	struct cow_block *b;
	int r;

	r = cow_btree_read_node(info, c->blocknr, c->txn, &b);
	if (r)
		return r;
	*nr = cow_node_nr(cow_node(b));
	*max = le32_to_cpu(cow_node(b)->max_entries);
	cow_tm_unlock(info->tm, b);
	return 0;
}

/* Append all of @src's entries to @dst (same level, @dst has room). */
static void append_node(struct cow_disk_node_header *dst,
			struct cow_disk_node_header *src)
{
	u32 nd = cow_node_nr(dst), ns = cow_node_nr(src), vs = node_vsize(dst);

	memcpy(cow_node_keys(dst) + nd, cow_node_keys(src), ns * sizeof(__le64));
	memcpy(cow_node_value(dst, nd), cow_node_value(src, 0),
	       (size_t)ns * vs);
	dst->nr_entries = cpu_to_le32(nd + ns);
	src->nr_entries = cpu_to_le32(0);
}

/*
 * Children @l and @l + 1 of @n: merge the right one into the left one.
 * Shadowing gives both their own references, so the emptied right node is
 * freed without touching its (moved) children.
 */
static int merge_children(struct cow_btree_info *info,
			  struct cow_disk_node_header *n, u32 l)
{
	struct cow_block *lb, *rb;
	struct cow_root lc, rc;
	int r;

	node_child(n, l, &lc);
	node_child(n, l + 1, &rc);
	r = cow_btree_shadow_node(info, &lc, &lb);
	if (r)
		return r;
	r = cow_btree_shadow_node(info, &rc, &rb);
	if (r) {
		set_node_child(n, l, &lc);
		cow_tm_unlock(info->tm, lb);
		return r;
	}
	append_node(cow_node(lb), cow_node(rb));
	lc.count = cow_node_count(cow_node(lb));
	cow_tm_unlock(info->tm, lb);
	cow_tm_unlock(info->tm, rb);
	set_node_child(n, l, &lc);
	cow_node_delete(n, l + 1, l + 2);
	return cow_tm_dec(info->tm, rc.blocknr);
}

/* Child @ci of @n just lost entries: free it if empty, merge if small. */
static int rebalance_child(struct cow_btree_info *info,
			   struct cow_disk_node_header *n, u32 ci)
{
	u32 nr = cow_node_nr(n), a, b, max, l;
	struct cow_root c, s;
	int r;

	node_child(n, ci, &c);
	if (!c.count) {
		cow_node_delete(n, ci, ci + 1);
		return cow_tm_dec(info->tm, c.blocknr);
	}
	if (nr < 2)
		return 0;
	r = node_nr_max(info, &c, &a, &max);
	if (r)
		return r;
	if (a >= max / 4)
		return 0;
	l = ci + 1 < nr ? ci : ci - 1;
	node_child(n, l == ci ? ci + 1 : l, &s);
	r = node_nr_max(info, &s, &b, &max);
	if (r)
		return r;
	if (a + b > max * 3 / 4)
		return 0;
	return merge_children(info, n, l);
}

static int remove_rec(struct remove *rm, struct cow_root *ptr,
		      unsigned int depth);

static int remove_internal(struct remove *rm, struct cow_disk_node_header *n,
			   unsigned int depth)
{
	struct cow_root c;
	u32 ci;
	int r;

	if (!cow_node_nr(n)) {
		cow_err("empty internal btree node");
		return -EILSEQ;
	}
	ci = cow_node_child_index(n, rm->key);
	node_child(n, ci, &c);
	r = remove_rec(rm, &c, depth + 1);
	set_node_child(n, ci, &c);
	if (r)
		return r;
	return rebalance_child(rm->info, n, ci);
}

static int remove_leaf(struct remove *rm, struct cow_disk_node_header *n)
{
	u32 i = cow_node_lower_bound(n, rm->begin);
	u32 j = cow_node_lower_bound(n, rm->end), k;
	int r;

	for (k = i; k < j; k++) {
		if (rm->fn) {
			r = rm->fn(rm->context, node_key(n, k),
				   cow_node_value(n, k));
			if (r) {
				/* Keep the tree consistent: drop what was handed over. */
				cow_node_delete(n, i, k);
				rm->removed += k - i;
				return r;
			}
		}
	}
	cow_node_delete(n, i, j);
	rm->removed += j - i;
	return 0;
}

static int remove_rec(struct remove *rm, struct cow_root *ptr,
		      unsigned int depth)
{
	struct cow_disk_node_header *n;
	struct cow_block *b;
	int r;

	if (depth >= COW_BTREE_MAX_DEPTH) {
		cow_err("btree deeper than %u levels (a cycle?)",
			COW_BTREE_MAX_DEPTH);
		return -EILSEQ;
	}
	r = cow_btree_shadow_node(rm->info, ptr, &b);
	if (r)
		return r;
	n = cow_node(b);
	if (cow_node_is_leaf(n))
		r = remove_leaf(rm, n);
	else
		r = remove_internal(rm, n, depth);
	ptr->count = cow_node_count(n);
	cow_tm_unlock(rm->info->tm, b);
	return r;
}

/* Drop empty roots and internal roots with a single child. */
static int collapse_root(struct cow_btree_info *info, struct cow_root *root)
{
	struct cow_disk_node_header *n;
	struct cow_block *b;
	struct cow_root c;
	unsigned int depth;
	int r;

	for (depth = 0; root->blocknr && depth < COW_BTREE_MAX_DEPTH; depth++) {
		if (!root->count) {
			r = cow_tm_dec(info->tm, root->blocknr);
			root->blocknr = root->txn = 0;
			return r;
		}
		r = cow_btree_read_node(info, root->blocknr, root->txn, &b);
		if (r)
			return r;
		n = cow_node(b);
		if (cow_node_is_leaf(n) || cow_node_nr(n) != 1) {
			cow_tm_unlock(info->tm, b);
			return 0;
		}
		node_child(n, 0, &c);
		cow_tm_unlock(info->tm, b);
		/*
		 * The root was shadowed by this removal, so it is ours alone;
		 * its reference on the child passes to the root pointer.
		 */
		r = cow_tm_dec(info->tm, root->blocknr);
		if (r)
			return r;
		*root = c;
	}
	return 0;
}

int cow_btree_remove_range(struct cow_btree_info *info, struct cow_root *root,
			   u64 begin, u64 end,
			   int (*fn)(void *context, u64 key, void *value),
			   void *context, u64 *removed)
{
	struct remove rm = {
		.info = info, .begin = begin, .end = end,
		.fn = fn, .context = context,
	};
	u64 k;
	int r = 0;

	while (rm.begin < end && root->blocknr) {
		r = cow_btree_lookup_ge(info, root, rm.begin, &k, NULL);
		if (r == -ENODATA || (!r && k >= end)) {
			r = 0;
			break;
		}
		if (r)
			break;
		rm.key = k;
		r = remove_rec(&rm, root, 0);
		if (!r)
			r = collapse_root(info, root);
		if (r || k == U64_MAX)
			break;
		rm.begin = k + 1;
	}
	if (removed)
		*removed = rm.removed;
	return r;
}

int cow_btree_remove(struct cow_btree_info *info, struct cow_root *root,
		     u64 key, void *old_value)
{
	int r;

	r = cow_btree_lookup(info, root, key, old_value);
	if (r)
		return r;
	if (key == U64_MAX)
		return -EINVAL;	/* no tree uses it; [key, key + 1) would wrap */
	return cow_btree_remove_range(info, root, key, key + 1, NULL, NULL, NULL);
}
