// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree metadata engine: btree lookups, walks and insertion.
 *
 * Insertion goes top-down shadowing each node on the path (parents before
 * children: a child's reference count is only right once its parent has
 * been shadowed and has taken its references), then splits bottom-up on
 * the way back.  The recursion is bounded by COW_BTREE_MAX_DEPTH.
 */
#include "cow-btree-internal.h"

/*----------------------------------------------------------------*/
/* Node helpers */

u32 cow_node_lower_bound(struct cow_disk_node_header *n, u64 key)
{
	u32 lo = 0, hi = cow_node_nr(n);

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (node_key(n, mid) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

u32 cow_node_child_index(struct cow_disk_node_header *n, u64 key)
{
	u32 lo = 0, hi = cow_node_nr(n);

	/* Last index whose key is <= @key; 0 if there is none. */
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (node_key(n, mid) <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

u64 cow_node_count(struct cow_disk_node_header *n)
{
	struct cow_disk_root *v;
	u32 i, nr = cow_node_nr(n);
	u64 sum = 0;

	if (cow_node_is_leaf(n))
		return nr;
	v = cow_node_value(n, 0);
	for (i = 0; i < nr; i++)
		sum += le64_to_cpu(v[i].count);
	return sum;
}

void cow_node_insert_at(struct cow_disk_node_header *n, u32 i, u64 key,
			const void *value)
{
	u32 nr = cow_node_nr(n), vs = node_vsize(n);
	__le64 *keys = cow_node_keys(n);

	memmove(keys + i + 1, keys + i, (nr - i) * sizeof(*keys));
	memmove(cow_node_value(n, i + 1), cow_node_value(n, i),
		(size_t)(nr - i) * vs);
	keys[i] = cpu_to_le64(key);
	memcpy(cow_node_value(n, i), value, vs);
	n->nr_entries = cpu_to_le32(nr + 1);
}

void cow_node_delete(struct cow_disk_node_header *n, u32 i, u32 j)
{
	u32 nr = cow_node_nr(n), vs = node_vsize(n);
	__le64 *keys = cow_node_keys(n);

	if (j <= i)
		return;
	memmove(keys + i, keys + j, (nr - j) * sizeof(*keys));
	memmove(cow_node_value(n, i), cow_node_value(n, j),
		(size_t)(nr - j) * vs);
	n->nr_entries = cpu_to_le32(nr - (j - i));
}

/* Is this node one of @info's tree, with the geometry we expect? */
static int check_node(struct cow_btree_info *info, struct cow_block *b)
{
	struct cow_disk_node_header *n = cow_node(b);
	u32 vs = cow_node_is_leaf(n) ? info->vt.size : INTERNAL_VALUE_SIZE;

	if (le32_to_cpu(n->tree) != info->tree || node_vsize(n) != vs) {
		cow_err_ratelimited("btree node %llu belongs to tree %u with %u-byte values, expected tree %u with %u",
			(unsigned long long)cow_block_location(b),
			le32_to_cpu(n->tree), node_vsize(n), info->tree, vs);
		return -EILSEQ;
	}
	return 0;
}

static int read_node(struct cow_btree_info *info, u64 b, u64 txn,
		     bool can_block, struct cow_block **result)
{
	int r;

	if (can_block)
		r = cow_tm_read_lock(info->tm, b, txn, &cow_node_validator, result);
	else
		r = cow_tm_read_try_lock(info->tm, b, txn, &cow_node_validator,
					 result);
	if (r)
		return r;
	r = check_node(info, *result);
	if (r)
		cow_tm_unlock(info->tm, *result);
	return r;
}

int cow_btree_read_node(struct cow_btree_info *info, u64 b, u64 txn,
			struct cow_block **result)
{
	return read_node(info, b, txn, true, result);
}

static int too_deep(u64 b)
{
	cow_err("btree deeper than %u levels at block %llu (a cycle?)",
		COW_BTREE_MAX_DEPTH, (unsigned long long)b);
	return -EILSEQ;
}

static int inc_children(struct cow_btree_info *info,
			struct cow_disk_node_header *n)
{
	u32 i, nr = cow_node_nr(n);
	struct cow_root c;
	int r;

	if (cow_node_is_leaf(n))
		return info->vt.inc ?
			info->vt.inc(info->vt.context, cow_node_value(n, 0), nr) : 0;
	for (i = 0; i < nr; i++) {
		node_child(n, i, &c);
		r = cow_tm_inc(info->tm, c.blocknr);
		if (r)
			return r;
	}
	return 0;
}

int cow_btree_shadow_node(struct cow_btree_info *info, struct cow_root *ptr,
			  struct cow_block **result)
{
	bool inc;
	int r;

	r = cow_tm_shadow_block(info->tm, ptr->blocknr, ptr->txn,
				&cow_node_validator, result, &inc);
	if (r)
		return r;
	r = check_node(info, *result);
	if (!r && inc)
		r = inc_children(info, cow_node(*result));
	if (r) {
		cow_tm_unlock(info->tm, *result);
		return r;
	}
	ptr->blocknr = cow_block_location(*result);
	ptr->txn = info->tm->txn;
	return 0;
}

/*----------------------------------------------------------------*/
/* Lookups */

static int lookup(struct cow_btree_info *info, const struct cow_root *root,
		  u64 key, void *value, bool can_block, unsigned int max_next,
		  void (*next)(void *context, const __le64 *keys,
			       const void *values, unsigned int nr),
		  void *context)
{
	struct cow_disk_node_header *n;
	struct cow_root c = *root;
	struct cow_block *b;
	unsigned int depth;
	u32 i, nr;
	int r;

	for (depth = 0; depth < COW_BTREE_MAX_DEPTH; depth++) {
		if (!c.blocknr)
			return -ENODATA;
		r = read_node(info, c.blocknr, c.txn, can_block, &b);
		if (r)
			return r;
		n = cow_node(b);
		nr = cow_node_nr(n);
		if (cow_node_is_leaf(n)) {
			i = cow_node_lower_bound(n, key);
			r = -ENODATA;
			if (i < nr && node_key(n, i) == key) {
				if (value)
					memcpy(value, cow_node_value(n, i),
					       info->vt.size);
				r = 0;
			}
			if (next && i < nr && max_next)
				next(context, cow_node_keys(n) + i,
				     cow_node_value(n, i), min(nr - i, max_next));
			cow_tm_unlock(info->tm, b);
			return r;
		}
		if (!nr) {
			cow_tm_unlock(info->tm, b);
			return -ENODATA;
		}
		node_child(n, cow_node_child_index(n, key), &c);
		cow_tm_unlock(info->tm, b);
	}
	return too_deep(c.blocknr);
}

int cow_btree_lookup(struct cow_btree_info *info, const struct cow_root *root,
		     u64 key, void *value)
{
	return lookup(info, root, key, value, true, 0, NULL, NULL);
}

int cow_btree_lookup_nonblocking(struct cow_btree_info *info,
				 const struct cow_root *root, u64 key,
				 void *value)
{
	return lookup(info, root, key, value, false, 0, NULL, NULL);
}

int cow_btree_lookup_next(struct cow_btree_info *info,
			  const struct cow_root *root, u64 key, void *value,
			  bool can_block, unsigned int max_next,
			  void (*next)(void *context, const __le64 *keys,
				       const void *values, unsigned int nr),
			  void *context)
{
	return lookup(info, root, key, value, can_block, max_next, next,
		      context);
}

static int lookup_ge_rec(struct cow_btree_info *info, u64 b, u64 txn, u64 key,
			 u64 *found, void *value, unsigned int depth)
{
	struct cow_disk_node_header *n;
	struct cow_block *blk;
	struct cow_root c;
	u32 i;
	int r;

	if (depth >= COW_BTREE_MAX_DEPTH)
		return too_deep(b);
	r = read_node(info, b, txn, true, &blk);
	if (r)
		return r;
	n = cow_node(blk);
	r = -ENODATA;
	if (cow_node_is_leaf(n)) {
		i = cow_node_lower_bound(n, key);
		if (i < cow_node_nr(n)) {
			*found = node_key(n, i);
			if (value)
				memcpy(value, cow_node_value(n, i), info->vt.size);
			r = 0;
		}
	} else {
		for (i = cow_node_child_index(n, key); i < cow_node_nr(n); i++) {
			node_child(n, i, &c);
			r = lookup_ge_rec(info, c.blocknr, c.txn, key, found,
					  value, depth + 1);
			if (r != -ENODATA)
				break;
		}
	}
	cow_tm_unlock(info->tm, blk);
	return r;
}

int cow_btree_lookup_ge(struct cow_btree_info *info, const struct cow_root *root,
			u64 key, u64 *found, void *value)
{
	if (!root->blocknr)
		return -ENODATA;
	return lookup_ge_rec(info, root->blocknr, root->txn, key, found, value, 0);
}

int cow_btree_find_highest(struct cow_btree_info *info,
			   const struct cow_root *root, u64 *found, void *value)
{
	struct cow_disk_node_header *n;
	struct cow_root c = *root;
	struct cow_block *b;
	unsigned int depth;
	u32 nr;
	int r;

	for (depth = 0; depth < COW_BTREE_MAX_DEPTH; depth++) {
		if (!c.blocknr)
			return -ENODATA;
		r = read_node(info, c.blocknr, c.txn, true, &b);
		if (r)
			return r;
		n = cow_node(b);
		nr = cow_node_nr(n);
		if (!nr) {
			cow_tm_unlock(info->tm, b);
			return -ENODATA;
		}
		if (cow_node_is_leaf(n)) {
			*found = node_key(n, nr - 1);
			if (value)
				memcpy(value, cow_node_value(n, nr - 1),
				       info->vt.size);
			cow_tm_unlock(info->tm, b);
			return 0;
		}
		node_child(n, nr - 1, &c);
		cow_tm_unlock(info->tm, b);
	}
	return too_deep(c.blocknr);
}

struct walk {
	struct cow_btree_info *info;
	u64 begin, end;
	int (*fn)(void *context, u64 key, void *value);
	void *context;
};

static int walk_rec(struct walk *w, u64 b, u64 txn, unsigned int depth)
{
	struct cow_disk_node_header *n;
	struct cow_block *blk;
	struct cow_root c;
	u32 i, nr;
	int r = 0;

	if (depth >= COW_BTREE_MAX_DEPTH)
		return too_deep(b);
	r = read_node(w->info, b, txn, true, &blk);
	if (r)
		return r;
	n = cow_node(blk);
	nr = cow_node_nr(n);
	if (cow_node_is_leaf(n)) {
		for (i = cow_node_lower_bound(n, w->begin); !r && i < nr; i++) {
			if (node_key(n, i) >= w->end)
				break;
			r = w->fn(w->context, node_key(n, i), cow_node_value(n, i));
		}
	} else {
		for (i = cow_node_child_index(n, w->begin); !r && i < nr; i++) {
			if (node_key(n, i) >= w->end && i)
				break;
			node_child(n, i, &c);
			r = walk_rec(w, c.blocknr, c.txn, depth + 1);
		}
	}
	cow_tm_unlock(w->info->tm, blk);
	return r;
}

int cow_btree_walk(struct cow_btree_info *info, const struct cow_root *root,
		   u64 begin, u64 end,
		   int (*fn)(void *context, u64 key, void *value),
		   void *context)
{
	struct walk w = {
		.info = info, .begin = begin, .end = end,
		.fn = fn, .context = context,
	};

	if (!root->blocknr || begin >= end)
		return 0;
	return walk_rec(&w, root->blocknr, root->txn, 0);
}

/*----------------------------------------------------------------*/
/* Insertion */

struct insert {
	struct cow_btree_info *info;
	u64 key;
	const void *value;
	void *old_value;
	bool existed;
};

struct split {
	bool done;
	u64 key;		/* first key of the new right sibling */
	struct cow_root right;
	struct cow_block *rb;	/* write-locked right sibling */
};

/* Move the entries of the full node @n from @nl on into a new right sibling. */
static int split_node(struct cow_btree_info *info,
		      struct cow_disk_node_header *n, u32 nl, struct split *sp)
{
	struct cow_disk_node_header *rn;
	u32 nr = cow_node_nr(n), vs = node_vsize(n);
	int r;

	r = cow_tm_new_block(info->tm, &cow_node_validator, COW_BT_NODE, &sp->rb);
	if (r)
		return r;
	rn = cow_node(sp->rb);
	rn->flags = n->flags;
	rn->max_entries = n->max_entries;
	rn->value_size = n->value_size;
	rn->tree = n->tree;
	rn->nr_entries = cpu_to_le32(nr - nl);
	memcpy(cow_node_keys(rn), cow_node_keys(n) + nl,
	       (nr - nl) * sizeof(__le64));
	memcpy(cow_node_value(rn, 0), cow_node_value(n, nl),
	       (size_t)(nr - nl) * vs);
	n->nr_entries = cpu_to_le32(nl);
	sp->done = true;
	sp->key = node_key(rn, 0);
	sp->right.blocknr = cow_block_location(sp->rb);
	sp->right.txn = info->tm->txn;
	return 0;
}

/*
 * Insert (@key, @value) at index @i of @n, splitting @n first if it is
 * full; on return sp->rb (if split) is still locked.
 *
 * A full node split by an entry beyond its last one keeps 15/16 of its
 * entries, and the new right sibling starts with the rest and the entry:
 * volumes are mostly written in ascending chunk order (a fill, mkfs, a
 * receive), and halves would leave every such node half empty for good,
 * doubling the nodes a walk or a delta reads.  The sixteenth left free
 * takes later writes into holes without a split at once.  Any other split
 * halves the node.
 */
static int insert_entry(struct cow_btree_info *info,
			struct cow_disk_node_header *n, u32 i, u64 key,
			const void *value, struct split *sp)
{
	u32 nr = cow_node_nr(n), nl = i == nr ? nr - nr / 16 : nr / 2;
	int r;

	if (nr < node_max(n)) {
		cow_node_insert_at(n, i, key, value);
		return 0;
	}
	r = split_node(info, n, nl, sp);
	if (r)
		return r;
	if (i > nl)
		cow_node_insert_at(cow_node(sp->rb), i - nl, key, value);
	else
		cow_node_insert_at(n, i, key, value);
	sp->key = node_key(cow_node(sp->rb), 0);
	return 0;
}

static int insert_rec(struct insert *in, struct cow_root *ptr,
		      struct split *sp, unsigned int depth);

static int insert_internal(struct insert *in, struct cow_disk_node_header *n,
			   struct split *sp, unsigned int depth)
{
	struct split csp = { .done = false };
	struct cow_disk_root d;
	struct cow_root c;
	u32 ci;
	int r;

	if (!cow_node_nr(n)) {
		cow_err("empty internal btree node");
		return -EILSEQ;
	}
	ci = cow_node_child_index(n, in->key);
	if (in->key < node_key(n, ci))
		cow_node_keys(n)[ci] = cpu_to_le64(in->key);
	node_child(n, ci, &c);
	r = insert_rec(in, &c, &csp, depth + 1);
	set_node_child(n, ci, &c);
	if (r || !csp.done)
		return r;
	cow_root_to_disk(&csp.right, &d);
	return insert_entry(in->info, n, ci + 1, csp.key, &d, sp);
}

static int insert_leaf(struct insert *in, struct cow_disk_node_header *n,
		       struct split *sp)
{
	u32 i = cow_node_lower_bound(n, in->key), vs = node_vsize(n);

	if (i < cow_node_nr(n) && node_key(n, i) == in->key) {
		in->existed = true;
		if (in->old_value)
			memcpy(in->old_value, cow_node_value(n, i), vs);
		memcpy(cow_node_value(n, i), in->value, vs);
		return 0;
	}
	return insert_entry(in->info, n, i, in->key, in->value, sp);
}

static int insert_rec(struct insert *in, struct cow_root *ptr,
		      struct split *sp, unsigned int depth)
{
	struct cow_disk_node_header *n;
	struct cow_block *b;
	int r;

	if (depth >= COW_BTREE_MAX_DEPTH)
		return too_deep(ptr->blocknr);
	r = cow_btree_shadow_node(in->info, ptr, &b);
	if (r)
		return r;
	n = cow_node(b);
	if (cow_node_is_leaf(n))
		r = insert_leaf(in, n, sp);
	else
		r = insert_internal(in, n, sp, depth);
	ptr->count = cow_node_count(n);
	if (sp->done) {
		sp->right.count = cow_node_count(cow_node(sp->rb));
		cow_tm_unlock(in->info->tm, sp->rb);
		sp->rb = NULL;
	}
	cow_tm_unlock(in->info->tm, b);
	return r;
}

static int new_node(struct cow_btree_info *info, bool leaf,
		    struct cow_block **result)
{
	struct cow_disk_node_header *n;
	u32 vs = leaf ? info->vt.size : INTERNAL_VALUE_SIZE;
	int r;

	r = cow_tm_new_block(info->tm, &cow_node_validator, COW_BT_NODE, result);
	if (r)
		return r;
	n = cow_node(*result);
	n->flags = cpu_to_le32(leaf ? COW_NODE_LEAF : COW_NODE_INTERNAL);
	n->max_entries = cpu_to_le32(cow_node_max_entries(vs));
	n->value_size = cpu_to_le32(vs);
	n->tree = cpu_to_le32(info->tree);
	return 0;
}

/* The root split: put both halves under a new root. */
static int grow_root(struct cow_btree_info *info, struct cow_root *root,
		     struct split *sp)
{
	struct cow_disk_node_header *n;
	struct cow_block *b;
	struct cow_disk_root d;
	int r;

	r = new_node(info, false, &b);
	if (r)
		return r;
	n = cow_node(b);
	cow_root_to_disk(root, &d);
	cow_node_insert_at(n, 0, 0, &d);
	cow_root_to_disk(&sp->right, &d);
	cow_node_insert_at(n, 1, sp->key, &d);
	root->blocknr = cow_block_location(b);
	root->txn = info->tm->txn;
	root->count = cow_node_count(n);
	cow_tm_unlock(info->tm, b);
	return 0;
}

int cow_btree_insert(struct cow_btree_info *info, struct cow_root *root,
		     u64 key, const void *value, void *old_value,
		     bool *existed)
{
	struct insert in = {
		.info = info, .key = key, .value = value,
		.old_value = old_value, .existed = false,
	};
	struct split sp = { .done = false };
	struct cow_block *b;
	int r;

	if (!root->blocknr) {
		r = new_node(info, true, &b);
		if (r)
			return r;
		cow_node_insert_at(cow_node(b), 0, key, value);
		root->blocknr = cow_block_location(b);
		root->txn = info->tm->txn;
		root->count = 1;
		cow_tm_unlock(info->tm, b);
		if (existed)
			*existed = false;
		return 0;
	}
	r = insert_rec(&in, root, &sp, 0);
	if (!r && sp.done)
		r = grow_root(info, root, &sp);
	if (existed)
		*existed = in.existed;
	return r;
}
