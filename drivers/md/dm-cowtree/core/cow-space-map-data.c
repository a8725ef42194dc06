// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree metadata engine: the data space map.
 *
 * 32-bit reference counts of data chunks in reference count blocks, which
 * are ordinary transactional metadata blocks (shadowed through the
 * transaction manager, allocated from the metadata space map).  Their
 * index is a btree keyed by chunk / COW_RC_ENTRIES whose values say where
 * the block is and how many zero counts it holds; a missing entry means
 * every count in that range is zero.
 *
 * Chunks whose count drops to zero are remembered in memory (a small hash
 * of bitmaps) until commit and are not handed out again before that.
 *
 * Chunks allocated but not referenced yet (cow_dsm_set_unreferenced(): the
 * data of a write goes to its chunk before the mapping is inserted) are
 * remembered in another such set.  A commit leaves them out: their counts
 * drop to zero for the commit (cow_dsm_pre_commit()) and come back right
 * after it (cow_dsm_post_commit()), so the committed space map never holds
 * a chunk that no committed mapping references, and a crash leaks nothing.
 */
#include "cow-space-map.h"
#include "cow-transaction-manager.h"
#include "cow-btree.h"

#define SET_WORDS DIV_ROUND_UP(COW_RC_ENTRIES, 64)
#define NO_RC (~0ULL)

/* The chunks of one reference count block in a set. */
struct set_entry {
	u64 rc;
	u64 bits[SET_WORDS];
};

/* A set of chunks: open addressing on rc (NO_RC = empty slot). */
struct chunk_set {
	struct set_entry *slots;
	u32 nr_slots, nr_used;
};

struct cow_dsm {
	struct cow_space_map sm;
	struct cow_tm *tm;
	struct cow_btree_info info;
	struct cow_root root;
	u64 nr_blocks;
	u64 nr_allocated;

	struct chunk_set freed;		/* count dropped to zero this transaction */
	struct chunk_set unreferenced;	/* allocated, not referenced yet */
};

static struct cow_dsm *to_dsm(struct cow_space_map *sm)
{
	return container_of(sm, struct cow_dsm, sm);
}

/*----------------------------------------------------------------*/
/* Sets of chunks */

static u32 slot_of(u64 rc, u32 nr_slots)
{
	return (u32)((rc * 0x9e3779b97f4a7c15ULL) >> 32) & (nr_slots - 1);
}

static struct set_entry *set_find(struct chunk_set *cs, u64 rc)
{
	u32 i;

	if (!cs->nr_slots)
		return NULL;
	for (i = slot_of(rc, cs->nr_slots);; i = (i + 1) & (cs->nr_slots - 1)) {
		if (cs->slots[i].rc == rc)
			return &cs->slots[i];
		if (cs->slots[i].rc == NO_RC)
			return NULL;
	}
}

static int set_grow(struct chunk_set *cs)
{
	u32 i, j, n = cs->nr_slots ? cs->nr_slots * 2 : 16;
	struct set_entry *f;

	f = kvmalloc_array(n, sizeof(*f), GFP_NOIO);
	if (!f)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		f[i].rc = NO_RC;
	for (i = 0; i < cs->nr_slots; i++) {
		if (cs->slots[i].rc == NO_RC)
			continue;
		for (j = slot_of(cs->slots[i].rc, n); f[j].rc != NO_RC;
		     j = (j + 1) & (n - 1))
			;
		f[j] = cs->slots[i];
	}
	kvfree(cs->slots);
	cs->slots = f;
	cs->nr_slots = n;
	return 0;
}

static int set_add(struct chunk_set *cs, u64 b)
{
	u64 rc = b / COW_RC_ENTRIES;
	u32 i = (u32)(b % COW_RC_ENTRIES), s;
	struct set_entry *f = set_find(cs, rc);
	int r;

	if (!f) {
		if ((cs->nr_used + 1) * 2 > cs->nr_slots) {
			r = set_grow(cs);
			if (r)
				return r;
		}
		for (s = slot_of(rc, cs->nr_slots); cs->slots[s].rc != NO_RC;
		     s = (s + 1) & (cs->nr_slots - 1))
			;
		f = &cs->slots[s];
		memset(f, 0, sizeof(*f));
		f->rc = rc;
		cs->nr_used++;
	}
	f->bits[i / 64] |= 1ULL << (i % 64);
	return 0;
}

/* Entries stay (possibly empty) until set_clear(): no deletion in probing. */
static void set_del(struct chunk_set *cs, u64 b)
{
	struct set_entry *f = set_find(cs, b / COW_RC_ENTRIES);
	u32 i = (u32)(b % COW_RC_ENTRIES);

	if (f)
		f->bits[i / 64] &= ~(1ULL << (i % 64));
}

static bool in_entry(const struct set_entry *f, u32 i)
{
	return f && (f->bits[i / 64] & (1ULL << (i % 64)));
}

static void set_clear(struct chunk_set *cs)
{
	kvfree(cs->slots);
	cs->slots = NULL;
	cs->nr_slots = cs->nr_used = 0;
}

/*----------------------------------------------------------------*/
/* Reference count blocks */

static u32 rc_valid(struct cow_dsm *d, u64 rc)
{
	return (u32)min_t(u64, COW_RC_ENTRIES,
			  d->nr_blocks - rc * COW_RC_ENTRIES);
}

/* Index entry of @rc; -ENODATA if the block was never needed. */
static int get_entry(struct cow_dsm *d, u64 rc, struct cow_disk_index_entry *e)
{
	return cow_btree_lookup(&d->info, &d->root, rc, e);
}

static int read_rc(struct cow_dsm *d, u64 rc, const struct cow_disk_index_entry *e,
		   struct cow_block **result)
{
	struct cow_disk_refcount *c;
	int r;

	r = cow_tm_read_lock(d->tm, le64_to_cpu(e->blocknr), le64_to_cpu(e->txn),
			     &cow_dsm_rc_validator, result);
	if (r)
		return r;
	c = cow_block_data(*result);
	if (le64_to_cpu(c->first) != rc * COW_RC_ENTRIES) {
		cow_err("data reference count block %llu is for the wrong range",
			(unsigned long long)le64_to_cpu(e->blocknr));
		cow_tm_unlock(d->tm, *result);
		return -EILSEQ;
	}
	return 0;
}

static int dsm_get_count(struct cow_space_map *sm, u64 b, u32 *result)
{
	struct cow_dsm *d = to_dsm(sm);
	struct cow_disk_index_entry e;
	struct cow_block *blk;
	int r;

	if (b >= d->nr_blocks) {
		cow_err("data chunk %llu beyond the data device (%llu chunks)",
			(unsigned long long)b, (unsigned long long)d->nr_blocks);
		return -EINVAL;
	}
	r = get_entry(d, b / COW_RC_ENTRIES, &e);
	if (r == -ENODATA) {
		*result = 0;
		return 0;
	}
	if (r)
		return r;
	r = read_rc(d, b / COW_RC_ENTRIES, &e, &blk);
	if (r)
		return r;
	*result = le32_to_cpu(((struct cow_disk_refcount *)
			       cow_block_data(blk))->counts[b % COW_RC_ENTRIES]);
	cow_tm_unlock(d->tm, blk);
	return 0;
}

/* Writable reference count block for @rc, created if needed. */
static int writable_rc(struct cow_dsm *d, u64 rc, struct cow_disk_index_entry *e,
		       struct cow_block **result)
{
	struct cow_disk_refcount *c;
	bool inc;
	int r;

	r = get_entry(d, rc, e);
	if (r == -ENODATA) {
		r = cow_tm_new_block(d->tm, &cow_dsm_rc_validator, COW_BT_DSM_RC,
				     result);
		if (r)
			return r;
		c = cow_block_data(*result);
		c->first = cpu_to_le64(rc * COW_RC_ENTRIES);
		memset(e, 0, sizeof(*e));
		e->nr_free = cpu_to_le32(rc_valid(d, rc));
	} else if (!r) {
		r = cow_tm_shadow_block(d->tm, le64_to_cpu(e->blocknr),
					le64_to_cpu(e->txn), &cow_dsm_rc_validator,
					result, &inc);
	}
	if (r)
		return r;
	e->blocknr = cpu_to_le64(cow_block_location(*result));
	e->txn = cpu_to_le64(d->tm->txn);
	return 0;
}

static int set_count(struct cow_dsm *d, u64 b, u32 old, u32 count)
{
	u64 rc = b / COW_RC_ENTRIES;
	struct cow_disk_index_entry e;
	struct cow_disk_refcount *c;
	struct cow_block *blk;
	int r;

	r = writable_rc(d, rc, &e, &blk);
	if (r)
		return r;
	c = cow_block_data(blk);
	c->counts[b % COW_RC_ENTRIES] = cpu_to_le32(count);
	if (!old && count) {
		e.nr_free = cpu_to_le32(le32_to_cpu(e.nr_free) - 1);
		d->nr_allocated++;
	} else if (old && !count) {
		e.nr_free = cpu_to_le32(le32_to_cpu(e.nr_free) + 1);
		d->nr_allocated--;
	}
	cow_tm_unlock(d->tm, blk);
	r = cow_btree_insert(&d->info, &d->root, rc, &e, NULL, NULL);
	if (!r && old && !count)
		r = set_add(&d->freed, b);
	return r;
}

static int dsm_inc(struct cow_space_map *sm, u64 b)
{
	u32 old;
	int r;

	r = dsm_get_count(sm, b, &old);
	if (r)
		return r;
	if (!old) {
		cow_err("increment of free data chunk %llu", (unsigned long long)b);
		return -EINVAL;
	}
	if (old == U32_MAX)
		return -EOVERFLOW;
	return set_count(to_dsm(sm), b, old, old + 1);
}

static int dsm_dec(struct cow_space_map *sm, u64 b, u32 *new_count)
{
	u32 old;
	int r;

	r = dsm_get_count(sm, b, &old);
	if (r)
		return r;
	if (!old) {
		cow_err("decrement of free data chunk %llu", (unsigned long long)b);
		return -EINVAL;
	}
	r = set_count(to_dsm(sm), b, old, old - 1);
	if (!r && new_count)
		*new_count = old - 1;
	/* An unreferenced chunk given back (its write failed). */
	if (!r && old == 1)
		set_del(&to_dsm(sm)->unreferenced, b);
	return r;
}

/*----------------------------------------------------------------*/
/* Allocation */

struct search {
	struct cow_dsm *d;
	u64 from, to;		/* look in [from, to) */
	u64 next_rc;		/* first rc not yet covered by the walk */
	u64 found;
};

/* First allocatable chunk in rc @rc at or after s->from; NO_RC if none. */
static int search_rc(struct search *s, u64 rc, const struct cow_disk_index_entry *e)
{
	struct set_entry *f = set_find(&s->d->freed, rc);
	struct cow_disk_refcount *c = NULL;
	struct cow_block *blk = NULL;
	u64 first = rc * COW_RC_ENTRIES;
	u32 i, lo, hi;
	int r;

	lo = s->from > first ? (u32)(s->from - first) : 0;
	hi = (u32)min_t(u64, rc_valid(s->d, rc), s->to - first);
	if (e) {
		if (!le32_to_cpu(e->nr_free))
			return 0;
		r = read_rc(s->d, rc, e, &blk);
		if (r)
			return r;
		c = cow_block_data(blk);
	}
	for (i = lo; i < hi; i++)
		if ((!c || !c->counts[i]) && !in_entry(f, i)) {
			s->found = first + i;
			break;
		}
	if (blk)
		cow_tm_unlock(s->d->tm, blk);
	return s->found != NO_RC;
}

static int search_fn(void *context, u64 rc, void *value)
{
	struct search *s = context;
	int r;

	if (rc > s->next_rc) {
		/* A gap in the index: that whole block is free. */
		r = search_rc(s, s->next_rc, NULL);
		if (r)
			return r;
	}
	s->next_rc = rc + 1;
	return search_rc(s, rc, value);
}

static int search(struct cow_dsm *d, u64 from, u64 to, u64 *result)
{
	struct search s = {
		.d = d, .from = from, .to = to,
		.next_rc = from / COW_RC_ENTRIES, .found = NO_RC,
	};
	u64 end_rc = DIV_ROUND_UP(to, COW_RC_ENTRIES);
	int r;

	if (from >= to)
		return -ENOSPC;
	r = cow_btree_walk(&d->info, &d->root, s.next_rc, end_rc, search_fn, &s);
	if (!r && s.next_rc < end_rc)
		r = search_rc(&s, s.next_rc, NULL);
	if (r < 0)
		return r;
	if (s.found == NO_RC)
		return -ENOSPC;
	*result = s.found;
	return 0;
}

static int dsm_new_block(struct cow_space_map *sm, u64 hint, u64 *result)
{
	struct cow_dsm *d = to_dsm(sm);
	int r;

	if (d->nr_allocated == d->nr_blocks)
		return -ENOSPC;
	if (hint >= d->nr_blocks)
		hint = 0;
	r = search(d, hint, d->nr_blocks, result);
	if (r == -ENOSPC)
		r = search(d, 0, hint, result);
	if (r)
		return r;
	return set_count(d, *result, 0, 1);
}

/*----------------------------------------------------------------*/
/* Lifetime */

static u64 dsm_nr_blocks(struct cow_space_map *sm)
{
	return to_dsm(sm)->nr_blocks;
}

static u64 dsm_nr_free(struct cow_space_map *sm)
{
	struct cow_dsm *d = to_dsm(sm);

	return d->nr_blocks - d->nr_allocated;
}

static int dsm_extend(struct cow_space_map *sm, u64 nr_blocks)
{
	struct cow_dsm *d = to_dsm(sm);
	struct cow_disk_index_entry e;
	u64 rc, old = d->nr_blocks;
	u32 old_valid;
	int r;

	if (nr_blocks < old || nr_blocks > COW_MAX_DATA_CHUNKS)
		return -EINVAL;
	if (nr_blocks == old)
		return 0;
	d->nr_blocks = nr_blocks;
	if (!old || !(old % COW_RC_ENTRIES))
		return 0;
	/* The last, partial block gains free entries. */
	rc = (old - 1) / COW_RC_ENTRIES;
	r = get_entry(d, rc, &e);
	if (r == -ENODATA)
		return 0;
	if (r)
		return r;
	old_valid = (u32)(old - rc * COW_RC_ENTRIES);
	e.nr_free = cpu_to_le32(le32_to_cpu(e.nr_free) + rc_valid(d, rc) - old_valid);
	return cow_btree_insert(&d->info, &d->root, rc, &e, NULL, NULL);
}

static void dsm_commit_done(struct cow_space_map *sm)
{
	set_clear(&to_dsm(sm)->freed);
}

static void dsm_destroy(struct cow_space_map *sm)
{
	struct cow_dsm *d = to_dsm(sm);

	set_clear(&d->freed);
	set_clear(&d->unreferenced);
	kfree(d);
}

static const struct cow_sm_ops dsm_ops = {
	.destroy = dsm_destroy,
	.nr_blocks = dsm_nr_blocks,
	.nr_free = dsm_nr_free,
	.get_count = dsm_get_count,
	.inc = dsm_inc,
	.dec = dsm_dec,
	.new_block = dsm_new_block,
	.extend = dsm_extend,
	.commit_done = dsm_commit_done,
};

int cow_dsm_open(struct cow_tm *tm, const struct cow_root *root, u64 nr_blocks,
		 u64 nr_allocated, struct cow_space_map **result)
{
	struct cow_dsm *d;

	if (nr_blocks > COW_MAX_DATA_CHUNKS || nr_allocated > nr_blocks) {
		cow_err("data space map of %llu chunks with %llu allocated is impossible",
			(unsigned long long)nr_blocks,
			(unsigned long long)nr_allocated);
		return -EILSEQ;
	}
	d = kzalloc(sizeof(*d), GFP_NOIO);
	if (!d)
		return -ENOMEM;
	d->sm.ops = &dsm_ops;
	d->tm = tm;
	d->info.tm = tm;
	d->info.tree = COW_TREE_DSM_INDEX;
	d->info.vt.size = sizeof(struct cow_disk_index_entry);
	d->root = *root;
	d->nr_blocks = nr_blocks;
	d->nr_allocated = nr_allocated;
	*result = &d->sm;
	return 0;
}

int cow_dsm_create(struct cow_tm *tm, u64 nr_blocks, struct cow_space_map **result)
{
	struct cow_root empty = { 0, 0, 0 };

	return cow_dsm_open(tm, &empty, nr_blocks, 0, result);
}

void cow_dsm_get_root(struct cow_space_map *sm, struct cow_root *root,
		      u64 *nr_allocated)
{
	struct cow_dsm *d = to_dsm(sm);

	*root = d->root;
	*nr_allocated = d->nr_allocated;
}

/*----------------------------------------------------------------*/
/* Allocated chunks not referenced yet */

int cow_dsm_set_unreferenced(struct cow_space_map *sm, u64 b)
{
	return set_add(&to_dsm(sm)->unreferenced, b);
}

void cow_dsm_referenced(struct cow_space_map *sm, u64 b)
{
	set_del(&to_dsm(sm)->unreferenced, b);
}

/* Set every unreferenced chunk's count from @from to @to (0 or 1). */
static int set_unreferenced_counts(struct cow_dsm *d, u32 from, u32 to)
{
	struct chunk_set *cs = &d->unreferenced;
	struct set_entry *f;
	u32 i, j, count;
	u64 b;
	int r;

	for (i = 0; i < cs->nr_slots; i++) {
		f = &cs->slots[i];
		if (f->rc == NO_RC)
			continue;
		for (j = 0; j < COW_RC_ENTRIES; j++) {
			if (!in_entry(f, j))
				continue;
			b = f->rc * COW_RC_ENTRIES + j;
			r = dsm_get_count(&d->sm, b, &count);
			if (!r && count != from) {
				cow_err("unreferenced data chunk %llu has count %u, not %u",
					(unsigned long long)b, count, from);
				r = -EINVAL;
			}
			if (!r)
				r = set_count(d, b, from, to);
			if (r)
				return r;
		}
	}
	return 0;
}

int cow_dsm_pre_commit(struct cow_space_map *sm)
{
	return set_unreferenced_counts(to_dsm(sm), 1, 0);
}

int cow_dsm_post_commit(struct cow_space_map *sm, bool *changed)
{
	struct cow_dsm *d = to_dsm(sm);
	u64 before = d->nr_allocated;
	int r;

	r = set_unreferenced_counts(d, 0, 1);
	*changed = d->nr_allocated != before;
	return r;
}
