// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree metadata engine: the metadata space map.
 *
 * The recursion problem: counting metadata blocks needs metadata blocks,
 * whose allocation changes the counts.  persistent-data buffers recursive
 * operations; we avoid recursion altogether:
 *
 *  - the index (where each reference count block lives, and how many free
 *    entries it has) is kept entirely in memory: 24 bytes per 1016 blocks;
 *  - a reference count block changed in this transaction is copied into
 *    memory ("dirty") and is not written anywhere until commit;
 *  - at commit, a loop gives every dirty count block, index block and the
 *    root block one fresh location each, allocating from the in-memory
 *    counts.  An allocation may dirty another count block, which then gets
 *    its location in a later pass.  Each block gets at most one location
 *    per commit, so the loop ends after at most (count blocks + index
 *    blocks + 1) allocations; that many blocks are kept in reserve.
 *    Only then is anything written, and nothing is written twice.
 *
 * The on-disk copy of the previous commit is never touched: its blocks are
 * decremented like any other and reusable only after this commit.
 */
#include "cow-space-map.h"

#define MSM_FREED_WORDS DIV_ROUND_UP(COW_RC_ENTRIES, 64)

struct msm_rc {
	u32 counts[COW_RC_ENTRIES];
	u64 freed[MSM_FREED_WORDS];	/* dropped to zero this transaction */
};

struct msm_entry {
	u64 blocknr;
	u64 txn;
	u32 nr_free;
	bool fresh;		/* got its location in this commit */
};

struct msm_index {
	u64 blocknr;
	u64 txn;
	bool dirty;
	bool fresh;
};

struct cow_msm {
	struct cow_space_map sm;
	struct cow_block_manager *bm;

	u64 nr_blocks;
	u64 nr_allocated;
	u64 nr_freed;		/* zero counts not reusable until commit */
	u64 hint;

	u32 nr_rc;
	struct msm_entry *entries;
	struct msm_rc **dirty;

	u32 nr_index;
	struct msm_index *index;

	u64 root, root_txn;
	u64 owned;		/* blocks holding this map (count, index, root) */
	bool root_fresh;
	bool changed;
	bool in_commit;
};

static struct cow_msm *to_msm(struct cow_space_map *sm)
{
	return container_of(sm, struct cow_msm, sm);
}

/*----------------------------------------------------------------*/
/* Geometry */

static u32 rc_count(u64 nr_blocks)
{
	return (u32)DIV_ROUND_UP(nr_blocks, COW_RC_ENTRIES);
}

static u32 index_count(u32 nr_rc)
{
	return DIV_ROUND_UP(nr_rc, COW_MSM_INDEX_ENTRIES);
}

/* Number of valid (in-device) entries of count block @rc. */
static u32 rc_valid(struct cow_msm *m, u32 rc)
{
	u64 first = (u64)rc * COW_RC_ENTRIES;

	return (u32)min_t(u64, COW_RC_ENTRIES, m->nr_blocks - first);
}

static int resize_arrays(struct cow_msm *m, u64 nr_blocks)
{
	u32 nr_rc = rc_count(nr_blocks), nr_index = index_count(nr_rc);
	struct msm_entry *e;
	struct msm_rc **d;
	struct msm_index *ix;

	if (nr_index > COW_MSM_ROOT_ENTRIES)
		return -EINVAL;
	e = kvcalloc(nr_rc, sizeof(*e), GFP_NOIO);
	d = kvcalloc(nr_rc, sizeof(*d), GFP_NOIO);
	ix = kvcalloc(nr_index, sizeof(*ix), GFP_NOIO);
	if (!e || !d || !ix) {
		kvfree(e);
		kvfree(d);
		kvfree(ix);
		return -ENOMEM;
	}
	if (m->nr_rc) {
		memcpy(e, m->entries, m->nr_rc * sizeof(*e));
		memcpy(d, m->dirty, m->nr_rc * sizeof(*d));
		memcpy(ix, m->index, m->nr_index * sizeof(*ix));
	}
	kvfree(m->entries);
	kvfree(m->dirty);
	kvfree(m->index);
	m->entries = e;
	m->dirty = d;
	m->index = ix;
	m->nr_rc = nr_rc;
	m->nr_index = nr_index;
	return 0;
}

/*----------------------------------------------------------------*/
/* Count access */

static int read_rc(struct cow_msm *m, u32 rc, struct cow_block **result)
{
	struct cow_disk_refcount *d;
	int r;

	r = cow_bm_read_lock(m->bm, m->entries[rc].blocknr,
			     &cow_msm_rc_validator, result);
	if (r)
		return r;
	r = cow_check_stamp(*result, m->entries[rc].txn,
			    "metadata reference count");
	d = cow_block_data(*result);
	if (!r && le64_to_cpu(d->first) != (u64)rc * COW_RC_ENTRIES) {
		cow_err("metadata reference count block %llu is for the wrong range",
			(unsigned long long)m->entries[rc].blocknr);
		r = -EILSEQ;
	}
	if (r)
		cow_bm_unlock(m->bm, *result);
	return r;
}

static int msm_get_count(struct cow_space_map *sm, u64 b, u32 *result)
{
	struct cow_msm *m = to_msm(sm);
	u32 rc = (u32)(b / COW_RC_ENTRIES), i = (u32)(b % COW_RC_ENTRIES);
	struct cow_block *blk;
	int r;

	if (b >= m->nr_blocks) {
		cow_err("metadata block %llu beyond the space map (%llu blocks)",
			(unsigned long long)b, (unsigned long long)m->nr_blocks);
		return -EINVAL;
	}
	if (m->dirty[rc]) {
		*result = m->dirty[rc]->counts[i];
		return 0;
	}
	if (!m->entries[rc].blocknr) {
		*result = 0;
		return 0;
	}
	r = read_rc(m, rc, &blk);
	if (r)
		return r;
	*result = le32_to_cpu(((struct cow_disk_refcount *)cow_block_data(blk))->counts[i]);
	cow_bm_unlock(m->bm, blk);
	return 0;
}

/* Bring count block @rc into memory so it can change. */
static int make_dirty(struct cow_msm *m, u32 rc)
{
	struct cow_disk_refcount *d;
	struct cow_block *blk;
	struct msm_rc *mr;
	unsigned int i;
	int r;

	if (m->dirty[rc])
		return 0;
	mr = kvzalloc(sizeof(*mr), GFP_NOIO);
	if (!mr)
		return -ENOMEM;
	if (m->entries[rc].blocknr) {
		r = read_rc(m, rc, &blk);
		if (r) {
			kvfree(mr);
			return r;
		}
		d = cow_block_data(blk);
		for (i = 0; i < COW_RC_ENTRIES; i++)
			mr->counts[i] = le32_to_cpu(d->counts[i]);
		cow_bm_unlock(m->bm, blk);
	}
	m->dirty[rc] = mr;
	return 0;
}

static int set_count(struct cow_msm *m, u64 b, u32 old, u32 count)
{
	u32 rc = (u32)(b / COW_RC_ENTRIES), i = (u32)(b % COW_RC_ENTRIES);
	struct msm_rc *mr;
	int r;

	r = make_dirty(m, rc);
	if (r)
		return r;
	mr = m->dirty[rc];
	mr->counts[i] = count;
	if (!old && count) {
		m->entries[rc].nr_free--;
		m->nr_allocated++;
	} else if (old && !count) {
		m->entries[rc].nr_free++;
		m->nr_allocated--;
		m->nr_freed++;
		mr->freed[i / 64] |= 1ULL << (i % 64);
	}
	m->index[rc / COW_MSM_INDEX_ENTRIES].dirty = true;
	m->changed = true;
	return 0;
}

static int msm_inc(struct cow_space_map *sm, u64 b)
{
	struct cow_msm *m = to_msm(sm);
	u32 old;
	int r;

	r = msm_get_count(sm, b, &old);
	if (r)
		return r;
	if (!old) {
		cow_err("increment of free metadata block %llu",
			(unsigned long long)b);
		return -EINVAL;
	}
	if (old == U32_MAX)
		return -EOVERFLOW;
	return set_count(m, b, old, old + 1);
}

static int msm_dec(struct cow_space_map *sm, u64 b, u32 *new_count)
{
	struct cow_msm *m = to_msm(sm);
	u32 old;
	int r;

	r = msm_get_count(sm, b, &old);
	if (r)
		return r;
	if (!old) {
		cow_err("decrement of free metadata block %llu",
			(unsigned long long)b);
		return -EINVAL;
	}
	r = set_count(m, b, old, old - 1);
	if (!r && new_count)
		*new_count = old - 1;
	return r;
}

/*----------------------------------------------------------------*/
/* Allocation */

/* First allocatable entry of @rc at or after @from, or COW_RC_ENTRIES. */
static int find_free_in_rc(struct cow_msm *m, u32 rc, u32 from, u32 *result)
{
	u32 i, valid = rc_valid(m, rc);
	struct cow_disk_refcount *d;
	struct cow_block *blk;
	struct msm_rc *mr = m->dirty[rc];
	int r;

	*result = COW_RC_ENTRIES;
	if (mr) {
		for (i = from; i < valid; i++)
			if (!mr->counts[i] &&
			    !(mr->freed[i / 64] & (1ULL << (i % 64)))) {
				*result = i;
				break;
			}
		return 0;
	}
	if (!m->entries[rc].blocknr) {
		if (from < valid)
			*result = from;
		return 0;
	}
	r = read_rc(m, rc, &blk);
	if (r)
		return r;
	d = cow_block_data(blk);
	for (i = from; i < valid; i++)
		if (!d->counts[i]) {
			*result = i;
			break;
		}
	cow_bm_unlock(m->bm, blk);
	return 0;
}

/*
 * A commit needs at most R = (count blocks + index blocks + root) fresh
 * blocks, and frees the old locations of those that had one.  Keeping
 * 2R - owned blocks free (owned: blocks this map occupies now) leaves
 * enough for every future commit: a commit that gives n blocks their first
 * location lowers both the free count and the reserve by n.
 */
u64 cow_msm_commit_reserve(struct cow_space_map *sm)
{
	struct cow_msm *m = to_msm(sm);
	u64 r = (u64)m->nr_rc + m->nr_index + 1;

	return 2 * r - min(m->owned, r);
}

u64 cow_msm_nr_available(struct cow_space_map *sm)
{
	struct cow_msm *m = to_msm(sm);
	u64 avail = m->nr_blocks - m->nr_allocated - m->nr_freed;
	u64 reserve = cow_msm_commit_reserve(sm);

	return avail > reserve ? avail - reserve : 0;
}

static int msm_new_block(struct cow_space_map *sm, u64 hint, u64 *result)
{
	struct cow_msm *m = to_msm(sm);
	u32 rc, start, from, i, n;
	int r;

	if (m->in_commit ? m->nr_blocks == m->nr_allocated + m->nr_freed :
	    !cow_msm_nr_available(sm))
		return -ENOSPC;
	if (hint >= m->nr_blocks)
		hint = m->hint < m->nr_blocks ? m->hint : 0;
	start = (u32)(hint / COW_RC_ENTRIES);
	from = (u32)(hint % COW_RC_ENTRIES);
	/* One extra step revisits the start block from its beginning. */
	for (n = 0; n <= m->nr_rc; n++, from = 0) {
		rc = (start + n) % m->nr_rc;
		if (!m->entries[rc].nr_free)
			continue;
		r = find_free_in_rc(m, rc, from, &i);
		if (r)
			return r;
		if (i == COW_RC_ENTRIES)
			continue;
		*result = (u64)rc * COW_RC_ENTRIES + i;
		m->hint = *result + 1;
		return set_count(m, *result, 0, 1);
	}
	return -ENOSPC;
}

/*----------------------------------------------------------------*/
/* Commit */

/* Give the block at *blocknr a fresh location, dropping the old one. */
static int relocate(struct cow_msm *m, u64 *blocknr, u64 *stamp, u64 txn)
{
	u64 old = *blocknr, b;
	int r;

	r = msm_new_block(&m->sm, m->hint, &b);
	if (r)
		return r;
	*blocknr = b;
	*stamp = txn;
	if (old)
		return msm_dec(&m->sm, old, NULL);
	m->owned++;
	return 0;
}

/* One pass; *progress is set if any block got a location. */
static int relocate_pass(struct cow_msm *m, u64 txn, bool *progress)
{
	u32 i;
	int r;

	for (i = 0; i < m->nr_rc; i++) {
		if (!m->dirty[i] || m->entries[i].fresh)
			continue;
		r = relocate(m, &m->entries[i].blocknr, &m->entries[i].txn, txn);
		if (r)
			return r;
		m->entries[i].fresh = true;
		m->index[i / COW_MSM_INDEX_ENTRIES].dirty = true;
		*progress = true;
	}
	for (i = 0; i < m->nr_index; i++) {
		if (!m->index[i].dirty || m->index[i].fresh)
			continue;
		r = relocate(m, &m->index[i].blocknr, &m->index[i].txn, txn);
		if (r)
			return r;
		m->index[i].fresh = true;
		*progress = true;
	}
	if (!m->root_fresh) {
		r = relocate(m, &m->root, &m->root_txn, txn);
		if (r)
			return r;
		m->root_fresh = true;
		*progress = true;
	}
	return 0;
}

static int write_rc(struct cow_msm *m, u32 rc, u64 txn)
{
	struct cow_disk_refcount *d;
	struct cow_block *blk;
	unsigned int i;
	int r;

	r = cow_bm_write_lock_zero(m->bm, m->entries[rc].blocknr,
				   &cow_msm_rc_validator, &blk);
	if (r)
		return r;
	cow_init_block_header(blk, COW_BT_MSM_RC, txn);
	d = cow_block_data(blk);
	d->first = cpu_to_le64((u64)rc * COW_RC_ENTRIES);
	for (i = 0; i < COW_RC_ENTRIES; i++)
		d->counts[i] = cpu_to_le32(m->dirty[rc]->counts[i]);
	cow_bm_unlock(m->bm, blk);
	return 0;
}

static int write_index(struct cow_msm *m, u32 ix, u64 txn)
{
	struct cow_disk_msm_index *d;
	struct cow_block *blk;
	u32 i, rc;
	int r;

	r = cow_bm_write_lock_zero(m->bm, m->index[ix].blocknr,
				   &cow_msm_index_validator, &blk);
	if (r)
		return r;
	cow_init_block_header(blk, COW_BT_MSM_INDEX, txn);
	d = cow_block_data(blk);
	d->first = cpu_to_le64((u64)ix * COW_MSM_INDEX_ENTRIES);
	for (i = 0; i < COW_MSM_INDEX_ENTRIES; i++) {
		rc = ix * COW_MSM_INDEX_ENTRIES + i;
		if (rc >= m->nr_rc)
			break;
		d->entries[i].blocknr = cpu_to_le64(m->entries[rc].blocknr);
		d->entries[i].txn = cpu_to_le64(m->entries[rc].txn);
		d->entries[i].nr_free = cpu_to_le32(m->entries[rc].nr_free);
	}
	cow_bm_unlock(m->bm, blk);
	return 0;
}

static int write_root(struct cow_msm *m, u64 txn)
{
	struct cow_disk_msm_root *d;
	struct cow_block *blk;
	u32 i;
	int r;

	r = cow_bm_write_lock_zero(m->bm, m->root, &cow_msm_root_validator, &blk);
	if (r)
		return r;
	cow_init_block_header(blk, COW_BT_MSM_ROOT, txn);
	d = cow_block_data(blk);
	d->nr_blocks = cpu_to_le64(m->nr_blocks);
	d->nr_index = cpu_to_le32(m->nr_index);
	for (i = 0; i < m->nr_index; i++) {
		d->index[i].blocknr = cpu_to_le64(m->index[i].blocknr);
		d->index[i].txn = cpu_to_le64(m->index[i].txn);
	}
	cow_bm_unlock(m->bm, blk);
	return 0;
}

int cow_msm_pre_commit(struct cow_space_map *sm, u64 txn, u64 *root,
		       u64 *root_txn)
{
	struct cow_msm *m = to_msm(sm);
	bool progress = true;
	u32 i;
	int r = 0;

	if (m->changed) {
		m->in_commit = true;
		while (progress && !r) {
			progress = false;
			r = relocate_pass(m, txn, &progress);
		}
		m->in_commit = false;
		for (i = 0; i < m->nr_rc && !r; i++)
			if (m->dirty[i])
				r = write_rc(m, i, txn);
		for (i = 0; i < m->nr_index && !r; i++)
			if (m->index[i].dirty)
				r = write_index(m, i, txn);
		if (!r)
			r = write_root(m, txn);
		if (r)
			return r;
	}
	*root = m->root;
	*root_txn = m->root_txn;
	return 0;
}

static void msm_commit_done(struct cow_space_map *sm)
{
	struct cow_msm *m = to_msm(sm);
	u32 i;

	for (i = 0; i < m->nr_rc; i++) {
		kvfree(m->dirty[i]);
		m->dirty[i] = NULL;
		m->entries[i].fresh = false;
	}
	for (i = 0; i < m->nr_index; i++)
		m->index[i].dirty = m->index[i].fresh = false;
	m->root_fresh = false;
	m->changed = false;
	m->nr_freed = 0;
}

/*----------------------------------------------------------------*/
/* Lifetime */

static u64 msm_nr_blocks(struct cow_space_map *sm)
{
	return to_msm(sm)->nr_blocks;
}

static u64 msm_nr_free(struct cow_space_map *sm)
{
	struct cow_msm *m = to_msm(sm);

	return m->nr_blocks - m->nr_allocated;
}

static int msm_extend(struct cow_space_map *sm, u64 nr_blocks)
{
	struct cow_msm *m = to_msm(sm);
	u64 old = m->nr_blocks;
	u32 rc, old_valid;
	int r;

	if (nr_blocks < old || nr_blocks > COW_MAX_METADATA_BLOCKS)
		return -EINVAL;
	if (nr_blocks == old)
		return 0;
	r = resize_arrays(m, nr_blocks);
	if (r)
		return r;
	for (rc = (u32)(old / COW_RC_ENTRIES); rc < m->nr_rc; rc++) {
		old_valid = (u64)rc * COW_RC_ENTRIES >= old ? 0 :
			(u32)min_t(u64, COW_RC_ENTRIES, old - (u64)rc * COW_RC_ENTRIES);
		m->nr_blocks = nr_blocks;
		m->entries[rc].nr_free += rc_valid(m, rc) - old_valid;
		m->index[rc / COW_MSM_INDEX_ENTRIES].dirty = true;
	}
	m->nr_blocks = nr_blocks;
	m->changed = true;
	return 0;
}

static void msm_destroy(struct cow_space_map *sm)
{
	struct cow_msm *m = to_msm(sm);
	u32 i;

	for (i = 0; i < m->nr_rc; i++)
		kvfree(m->dirty[i]);
	kvfree(m->dirty);
	kvfree(m->entries);
	kvfree(m->index);
	kfree(m);
}

static const struct cow_sm_ops msm_ops = {
	.destroy = msm_destroy,
	.nr_blocks = msm_nr_blocks,
	.nr_free = msm_nr_free,
	.get_count = msm_get_count,
	.inc = msm_inc,
	.dec = msm_dec,
	.new_block = msm_new_block,
	.extend = msm_extend,
	.commit_done = msm_commit_done,
};

static struct cow_msm *alloc_msm(struct cow_block_manager *bm)
{
	struct cow_msm *m = kzalloc(sizeof(*m), GFP_NOIO);

	if (m) {
		m->sm.ops = &msm_ops;
		m->bm = bm;
	}
	return m;
}

int cow_msm_create(struct cow_block_manager *bm, u64 nr_blocks,
		   struct cow_space_map **result)
{
	struct cow_msm *m;
	u32 rc;
	int r;

	if (nr_blocks < COW_MIN_METADATA_BLOCKS ||
	    nr_blocks > COW_MAX_METADATA_BLOCKS)
		return -EINVAL;
	m = alloc_msm(bm);
	if (!m)
		return -ENOMEM;
	r = resize_arrays(m, nr_blocks);
	if (r) {
		msm_destroy(&m->sm);
		return r;
	}
	m->nr_blocks = nr_blocks;
	for (rc = 0; rc < m->nr_rc; rc++)
		m->entries[rc].nr_free = rc_valid(m, rc);
	for (rc = 0; rc < m->nr_index; rc++)
		m->index[rc].dirty = true;
	m->changed = true;
	*result = &m->sm;
	return 0;
}

static int open_index(struct cow_msm *m, u32 ix, const struct cow_disk_ptr *p)
{
	struct cow_disk_msm_index *d;
	struct cow_block *blk;
	u32 i, rc;
	int r;

	m->index[ix].blocknr = le64_to_cpu(p->blocknr);
	m->index[ix].txn = le64_to_cpu(p->txn);
	m->owned++;
	r = cow_bm_read_lock(m->bm, m->index[ix].blocknr,
			     &cow_msm_index_validator, &blk);
	if (r)
		return r;
	r = cow_check_stamp(blk, m->index[ix].txn, "metadata space map index");
	d = cow_block_data(blk);
	for (i = 0; !r && i < COW_MSM_INDEX_ENTRIES; i++) {
		rc = ix * COW_MSM_INDEX_ENTRIES + i;
		if (rc >= m->nr_rc)
			break;
		m->entries[rc].blocknr = le64_to_cpu(d->entries[i].blocknr);
		m->entries[rc].txn = le64_to_cpu(d->entries[i].txn);
		m->entries[rc].nr_free = le32_to_cpu(d->entries[i].nr_free);
		m->owned += !!m->entries[rc].blocknr;
		if (m->entries[rc].nr_free > rc_valid(m, rc) ||
		    m->entries[rc].blocknr >= m->nr_blocks) {
			cow_err("metadata space map index block %llu is corrupt",
				(unsigned long long)m->index[ix].blocknr);
			r = -EILSEQ;
		}
		m->nr_allocated += rc_valid(m, rc) - m->entries[rc].nr_free;
	}
	cow_bm_unlock(m->bm, blk);
	return r;
}

int cow_msm_open(struct cow_block_manager *bm, u64 root, u64 txn,
		 struct cow_space_map **result)
{
	struct cow_disk_msm_root *d;
	struct cow_block *blk;
	struct cow_msm *m;
	u64 nr_blocks;
	u32 i;
	int r;

	m = alloc_msm(bm);
	if (!m)
		return -ENOMEM;
	m->root = root;
	m->root_txn = txn;
	m->owned = 1;
	r = cow_bm_read_lock(bm, root, &cow_msm_root_validator, &blk);
	if (r)
		goto bad;
	r = cow_check_stamp(blk, txn, "metadata space map root");
	d = cow_block_data(blk);
	nr_blocks = le64_to_cpu(d->nr_blocks);
	if (!r && (nr_blocks < COW_MIN_METADATA_BLOCKS ||
		   nr_blocks > COW_MAX_METADATA_BLOCKS ||
		   index_count(rc_count(nr_blocks)) != le32_to_cpu(d->nr_index))) {
		cow_err("metadata space map root %llu has an impossible size",
			(unsigned long long)root);
		r = -EILSEQ;
	}
	if (!r)
		r = resize_arrays(m, nr_blocks);
	if (!r)
		m->nr_blocks = nr_blocks;
	for (i = 0; !r && i < m->nr_index; i++)
		r = open_index(m, i, &d->index[i]);
	cow_bm_unlock(bm, blk);
	if (r)
		goto bad;
	*result = &m->sm;
	return 0;
bad:
	msm_destroy(&m->sm);
	return r;
}
