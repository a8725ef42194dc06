// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree metadata engine: comparing two btrees.
 *
 * Two cursors walk the trees in key order.  A cursor stands either on a
 * leaf entry or, before descending, on a whole subtree whose lower bound
 * is its separator key.  When both cursors stand on the same block, that
 * subtree holds the same keys in both trees and neither cursor has any
 * unvisited key below it, so both skip it unread.  Otherwise the cursor
 * with the lower bound descends, until two entries can be compared.
 */
#include "cow-btree-internal.h"

#define MAX_VALUE 256u

enum item_kind { ITEM_END, ITEM_SUBTREE, ITEM_ENTRY };

struct level {
	u64 blocknr, txn;
	u32 index, nr;
	bool leaf;
};

struct item {
	enum item_kind kind;
	u64 key;		/* entry key or subtree lower bound */
	struct cow_root sub;
	u8 value[MAX_VALUE];
};

struct cursor {
	struct cow_btree_info *info;
	struct level lv[COW_BTREE_MAX_DEPTH];
	int depth;		/* levels on the stack */
	bool at_root;		/* standing on the whole tree */
	struct cow_root root;
	struct item it;		/* the current item */
	/*
	 * A copy of the leaf on the stack (only the deepest level can be
	 * one), taken when the cursor enters it: its entries are then read
	 * without a lock and a cache lookup each.  Where the trees do not
	 * share leaves (a change spread over the volume), the walk reads
	 * every entry of both.
	 */
	u8 *leaf;		/* COW_METADATA_BLOCK_SIZE bytes */
};

/*----------------------------------------------------------------*/

static int load_item(struct cursor *c)
{
	struct cow_disk_node_header *n;
	struct level *l;
	struct cow_block *b;
	int r;

	if (c->at_root) {
		c->it.kind = c->root.blocknr ? ITEM_SUBTREE : ITEM_END;
		c->it.key = 0;
		c->it.sub = c->root;
		return 0;
	}
	if (!c->depth) {
		c->it.kind = ITEM_END;
		return 0;
	}
	l = &c->lv[c->depth - 1];
	if (l->leaf) {
		n = (struct cow_disk_node_header *)c->leaf;
		c->it.kind = ITEM_ENTRY;
		c->it.key = node_key(n, l->index);
		memcpy(c->it.value, cow_node_value(n, l->index), c->info->vt.size);
		return 0;
	}
	r = cow_btree_read_node(c->info, l->blocknr, l->txn, &b);
	if (r)
		return r;
	n = cow_node(b);
	c->it.kind = ITEM_SUBTREE;
	c->it.key = node_key(n, l->index);
	node_child(n, l->index, &c->it.sub);
	cow_tm_unlock(c->info->tm, b);
	return 0;
}

/* Step past the current item (entry or whole subtree). */
static int advance(struct cursor *c)
{
	struct level *l;

	if (c->at_root) {
		c->at_root = false;
		c->depth = 0;
		return load_item(c);
	}
	while (c->depth) {
		l = &c->lv[c->depth - 1];
		if (++l->index < l->nr)
			break;
		c->depth--;
	}
	return load_item(c);
}

/* Enter the subtree the cursor stands on. */
static int descend(struct cursor *c)
{
	struct cow_block *b;
	struct level *l;
	int r;

	if (c->depth >= COW_BTREE_MAX_DEPTH) {
		cow_err("btree too deep while comparing trees");
		return -EILSEQ;
	}
	r = cow_btree_read_node(c->info, c->it.sub.blocknr, c->it.sub.txn, &b);
	if (r)
		return r;
	l = &c->lv[c->depth];
	l->blocknr = c->it.sub.blocknr;
	l->txn = c->it.sub.txn;
	l->index = 0;
	l->nr = cow_node_nr(cow_node(b));
	l->leaf = cow_node_is_leaf(cow_node(b));
	if (l->leaf)
		memcpy(c->leaf, cow_node(b), COW_METADATA_BLOCK_SIZE);
	cow_tm_unlock(c->info->tm, b);
	c->at_root = false;
	c->depth++;
	if (!l->nr) {
		/* An empty node (only an empty root can be): skip it. */
		c->depth--;
		return advance(c);
	}
	return load_item(c);
}

static int init_cursor(struct cursor *c, struct cow_btree_info *info,
		       const struct cow_root *root)
{
	c->info = info;
	c->depth = 0;
	c->at_root = true;
	c->root = *root;
	return load_item(c);
}

/*----------------------------------------------------------------*/

struct diff {
	struct cursor a, b;
};

/* One step of the merge; *done when both cursors are at the end. */
static int diff_step(struct diff *d,
		     int (*fn)(void *, u64, const void *, const void *),
		     void *context, bool *done)
{
	struct item *x = &d->a.it, *y = &d->b.it;
	u32 vs = d->a.info->vt.size;
	int r;

	if (x->kind == ITEM_END && y->kind == ITEM_END) {
		*done = true;
		return 0;
	}
	if (x->kind == ITEM_SUBTREE && y->kind == ITEM_SUBTREE &&
	    x->sub.blocknr == y->sub.blocknr) {
		r = advance(&d->a);
		return r ? r : advance(&d->b);
	}
	if (x->kind == ITEM_SUBTREE && (y->kind == ITEM_END || x->key <= y->key))
		return descend(&d->a);
	if (y->kind == ITEM_SUBTREE && (x->kind == ITEM_END || y->key <= x->key))
		return descend(&d->b);
	/* Every subtree left here starts above the other side's entry. */
	if (x->kind != ITEM_ENTRY || (y->kind == ITEM_ENTRY && y->key < x->key)) {
		r = fn(context, y->key, NULL, y->value);
		return r ? r : advance(&d->b);
	}
	if (y->kind != ITEM_ENTRY || x->key < y->key) {
		r = fn(context, x->key, x->value, NULL);
		return r ? r : advance(&d->a);
	}
	if (memcmp(x->value, y->value, vs)) {
		r = fn(context, x->key, x->value, y->value);
		if (r)
			return r;
	}
	r = advance(&d->a);
	return r ? r : advance(&d->b);
}

int cow_btree_diff(struct cow_btree_info *info, const struct cow_root *a,
		   const struct cow_root *b,
		   int (*fn)(void *context, u64 key, const void *va,
			     const void *vb),
		   void *context)
{
	struct diff *d;
	bool done = false;
	int r = -ENOMEM;

	if (info->vt.size > MAX_VALUE)
		return -EINVAL;
	d = kzalloc(sizeof(*d), GFP_NOIO);
	if (!d)
		return -ENOMEM;
	d->a.leaf = kmalloc(COW_METADATA_BLOCK_SIZE, GFP_NOIO);
	d->b.leaf = kmalloc(COW_METADATA_BLOCK_SIZE, GFP_NOIO);
	if (!d->a.leaf || !d->b.leaf)
		goto out;
	r = init_cursor(&d->a, info, a);
	if (!r)
		r = init_cursor(&d->b, info, b);
	while (!r && !done)
		r = diff_step(d, fn, context, &done);
out:
	kfree(d->a.leaf);
	kfree(d->b.leaf);
	kfree(d);
	return r;
}
