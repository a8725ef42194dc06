// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pool mappings for the file-level commands, read through the core under a
 * held metadata root (a consistent, frozen copy of the volumes btree, kept
 * while the pool runs): a volume's mappings, who else holds each of its
 * data chunks, and the chunk delta of two volumes.
 *
 * Holders follow the pool's exclusive accounting (core/cow-account.c):
 * the holders of a chunk are the volume records of one family whose tree
 * maps it, deleting records counting at keys not yet accounted.  Chunks are
 * only ever shared at the same key (snapshots and rollbacks copy whole
 * trees), so the holders of volume V's chunks are found by diffing V's
 * tree with each family member's: subtrees both share are skipped unread,
 * so the cost follows how much the volumes differ, not their size.
 *
 * Throwaway views are not holders: they are our own, short-lived copies.
 */
#include "mdev.h"
#include "offline.h"
#include "cow-btree.h"
#include "cow-metadata.h"
#include "fs.h"

struct pmap {
	struct live_hold hold;
	struct cow_block_manager *bm;
	struct cow_tm tm;
	struct cow_btree_info vol_info, map_info;
	struct cow_root volumes;
	u32 chunk_sectors;
};

int pmap_open(const char *pool, struct pmap **pmp)
{
	struct cow_disk_superblock *sb;
	struct cow_disk_held *d;
	struct cow_block *b;
	struct pmap *pm;
	bool csum_ok;
	int r;

	*pmp = NULL;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	r = live_hold(pool, &pm->hold);
	if (r)
		goto fail;
	r = mdev_open_ro(pm->hold.meta_path, true, &pm->bm);
	if (r)
		goto fail_release;
	/* The superblock gives the checksum seed of the other blocks. */
	sb = malloc(sizeof(*sb));
	r = sb ? mdev_read_sb(pm->bm, sb, &csum_ok) : -ENOMEM;
	free(sb);
	if (r) {
		dmcowctl_err("cannot read the superblock of pool '%s': %s", pool, strerror(-r));
		goto fail_close;
	}
	r = cow_bm_read_lock(pm->bm, pm->hold.held, &cow_held_validator, &b);
	if (r) {
		dmcowctl_err("cannot read the held metadata root of pool '%s': %s",
			     pool, strerror(-r));
		goto fail_close;
	}
	d = cow_block_data(b);
	cow_root_from_disk(&d->volumes_root, &pm->volumes);
	pm->chunk_sectors = le32_to_cpu(d->chunk_sectors);
	cow_bm_unlock(pm->bm, b);
	pm->tm.bm = pm->bm;
	pm->vol_info.tm = &pm->tm;
	pm->vol_info.tree = COW_TREE_VOLUMES;
	pm->vol_info.vt.size = sizeof(struct cow_disk_volume);
	pm->map_info.tm = &pm->tm;
	pm->map_info.tree = COW_TREE_MAPPING;
	pm->map_info.vt.size = sizeof(__le64);
	*pmp = pm;
	return 0;

fail_close:
	mdev_close(pm->bm);
fail_release:
	live_release(&pm->hold);
fail:
	free(pm);
	return r;
}

void pmap_close(struct pmap *pm)
{
	if (!pm)
		return;
	mdev_close(pm->bm);
	live_release(&pm->hold);
	free(pm);
}

uint32_t pmap_chunk_sectors(const struct pmap *pm)
{
	return pm->chunk_sectors;
}

static void record_from_disk(const struct cow_disk_volume *d, struct pmap_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->id = le64_to_cpu(d->id);
	memcpy(rec->name, d->name, sizeof(rec->name) - 1);
	rec->origin = le64_to_cpu(d->origin_id);
	rec->family = le64_to_cpu(d->family);
	rec->mapped = le64_to_cpu(d->mapping.count);
	rec->exclusive = le64_to_cpu(d->exclusive_chunks);
	rec->written = le64_to_cpu(d->written_since_origin);
	rec->account_cursor = le64_to_cpu(d->account_cursor);
	if (rec->id >= COW_DELETING_ID_BASE || (le32_to_cpu(d->flags) & COW_VOL_F_DELETING))
		rec->flags |= PMAP_F_DELETING;
	if (le32_to_cpu(d->flags) & COW_VOL_F_THROWAWAY)
		rec->flags |= PMAP_F_VIEW;
}

static int lookup_disk(struct pmap *pm, u64 id, struct cow_disk_volume *d)
{
	int r = cow_btree_lookup(&pm->vol_info, &pm->volumes, id, d);

	return r == -ENODATA ? -ENOENT : r;
}

int pmap_record(struct pmap *pm, uint64_t id, struct pmap_record *rec)
{
	struct cow_disk_volume *d = malloc(sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	r = lookup_disk(pm, id, d);
	if (!r)
		record_from_disk(d, rec);
	free(d);
	return r;
}

/*----------------------------------------------------------------*/
/* A volume's mappings */

static int vmap_reserve(struct vmap *m, size_t cap)
{
	m->vchunk = calloc(cap ? cap : 1, sizeof(*m->vchunk));
	m->dchunk = calloc(cap ? cap : 1, sizeof(*m->dchunk));
	return m->vchunk && m->dchunk ? 0 : -ENOMEM;
}

struct fill {
	struct vmap *m;
	size_t cap;
};

static int fill_fn(void *context, u64 key, void *value)
{
	struct fill *f = context;

	if (f->m->nr == f->cap)
		return -EILSEQ;	/* more entries than the root counted */
	f->m->vchunk[f->m->nr] = key;
	f->m->dchunk[f->m->nr] = cow_mapping_chunk(le64_to_cpu(*(__le64 *)value));
	f->m->nr++;
	return 0;
}

static int root_of(struct pmap *pm, u64 id, struct cow_root *root,
		   struct pmap_record *rec)
{
	struct cow_disk_volume *d = malloc(sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	r = lookup_disk(pm, id, d);
	if (!r) {
		cow_root_from_disk(&d->mapping, root);
		if (rec)
			record_from_disk(d, rec);
	}
	free(d);
	return r;
}

int pmap_map_volume(struct pmap *pm, uint64_t id, struct vmap *m)
{
	struct fill f = { .m = m };
	struct cow_root root;
	int r;

	memset(m, 0, sizeof(*m));
	r = root_of(pm, id, &root, NULL);
	if (r)
		return r;
	f.cap = root.count;
	r = vmap_reserve(m, f.cap);
	if (!r && root.blocknr)
		r = cow_btree_walk(&pm->map_info, &root, 0, ~0ULL, fill_fn, &f);
	if (r)
		vmap_free(m);
	return r;
}

/*----------------------------------------------------------------*/
/* Holders */

struct family_scan {
	u64 self, family;
	struct pmap_record *recs;
	size_t nr, cap;
};

static int family_fn(void *context, u64 key, void *value)
{
	struct family_scan *fs = context;
	const struct cow_disk_volume *d = value;

	if (key == fs->self || le64_to_cpu(d->family) != fs->family)
		return 0;
	if (FS_GROW(fs->recs, fs->nr, fs->cap))
		return -ENOMEM;
	record_from_disk(d, &fs->recs[fs->nr]);
	if (fs->recs[fs->nr].flags & PMAP_F_VIEW)
		return 0;
	fs->nr++;
	return 0;
}

struct unshare {
	struct vmap *m;
	u64 cursor;		/* deleting record: keys below are not held */
	u8 *held;		/* per entry of m: 1 while the other holds it */
};

/* A key the other tree lacks or maps elsewhere is not held by it. */
static int unshare_fn(void *context, u64 key, const void *va, const void *vb)
{
	struct unshare *u = context;
	long i;

	if (!va)
		return 0;	/* only in the other volume */
	if (vb && cow_mapping_chunk(le64_to_cpu(*(const __le64 *)va)) ==
		  cow_mapping_chunk(le64_to_cpu(*(const __le64 *)vb)))
		return 0;	/* same chunk, other time: still shared */
	i = vmap_find(u->m, key);
	if (i >= 0)
		u->held[i] = 0;
	return 0;
}

static int count_holder(struct pmap *pm, const struct cow_root *mine,
			struct vmap *m, const struct pmap_record *other,
			unsigned int index, u8 *held)
{
	struct unshare u = { .m = m, .held = held };
	struct cow_root theirs;
	size_t i;
	int r;

	r = root_of(pm, other->id, &theirs, NULL);
	if (r)
		return r;
	if (!theirs.blocknr)
		return 0;
	memset(held, 1, m->nr);
	r = cow_btree_diff(&pm->map_info, mine, &theirs, unshare_fn, &u);
	if (r)
		return r;
	for (i = 0; i < m->nr; i++) {
		if (!held[i] || ((other->flags & PMAP_F_DELETING) &&
				 m->vchunk[i] < other->account_cursor))
			continue;
		if (m->nr_others[i] < UINT16_MAX)
			m->nr_others[i]++;
		if (index < 64)
			m->with[i] |= 1ULL << index;
	}
	return 0;
}

int pmap_holders(struct pmap *pm, uint64_t id, struct vmap *m)
{
	struct family_scan fs = { .self = id };
	struct pmap_record self;
	struct cow_root mine;
	u8 *held = NULL;
	size_t i;
	int r;

	r = root_of(pm, id, &mine, &self);
	if (r)
		return r;
	fs.family = self.family;
	m->nr_others = calloc(m->nr ? m->nr : 1, sizeof(*m->nr_others));
	m->with = calloc(m->nr ? m->nr : 1, sizeof(*m->with));
	held = malloc(m->nr ? m->nr : 1);
	if (!m->nr_others || !m->with || !held) {
		r = -ENOMEM;
		goto out;
	}
	r = cow_btree_walk(&pm->vol_info, &pm->volumes, 0, ~0ULL, family_fn, &fs);
	for (i = 0; !r && i < fs.nr && mine.blocknr; i++)
		r = count_holder(pm, &mine, m, &fs.recs[i], (unsigned int)i, held);
	if (!r) {
		m->sharers = fs.recs;
		m->nr_sharers = fs.nr;
		fs.recs = NULL;
	}
out:
	free(fs.recs);
	free(held);
	return r;
}

/*----------------------------------------------------------------*/
/* Delta */

struct delta {
	int (*fn)(void *ctx, uint64_t vbegin, uint64_t vend);
	void *ctx;
	bool have;
	u64 begin, end;
};

static int delta_fn(void *context, u64 key, const void *va, const void *vb)
{
	struct delta *d = context;
	int r;

	if (va && vb && cow_mapping_chunk(le64_to_cpu(*(const __le64 *)va)) ==
		     cow_mapping_chunk(le64_to_cpu(*(const __le64 *)vb)))
		return 0;
	if (d->have && d->end == key) {
		d->end++;
		return 0;
	}
	if (d->have) {
		r = d->fn(d->ctx, d->begin, d->end);
		if (r)
			return r;
	}
	d->have = true;
	d->begin = key;
	d->end = key + 1;
	return 0;
}

int pmap_delta(struct pmap *pm, uint64_t a, uint64_t b,
	       int (*fn)(void *ctx, uint64_t vbegin, uint64_t vend), void *ctx)
{
	struct delta d = { .fn = fn, .ctx = ctx };
	struct cow_root ra, rb;
	int r;

	r = root_of(pm, a, &ra, NULL);
	if (!r)
		r = root_of(pm, b, &rb, NULL);
	if (!r)
		r = cow_btree_diff(&pm->map_info, &ra, &rb, delta_fn, &d);
	if (!r && d.have)
		r = fn(ctx, d.begin, d.end);
	return r;
}
