// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree metadata engine: the I/O mapping of open volumes, and deltas.
 */
#include "cow-metadata-internal.h"

/*----------------------------------------------------------------*/

static bool is_shared(struct cow_volume *vol, u64 v)
{
	return cow_mapping_maybe_shared(vol->pmd, vol->snap_time, v);
}

/* Common checks of calls on an open volume. */
static int vol_usable(struct cow_volume *vol)
{
	if (vol->gone)
		return -ENODEV;
	if (vol->pmd->fail)
		return -EIO;
	return 0;
}

/*----------------------------------------------------------------*/
/*
 * Translation cache: the mapping values of recently used vchunks of an
 * open volume, so the I/O path's lookups of a working set skip the btree
 * (each level costs a block manager lock and unlock).  Direct-mapped by
 * vchunk, so a run of up to COW_XLATE_ENTRIES consecutive chunks fits.
 * Entries hold the raw mapping value: whether it is shared is decided at
 * lookup from the volume's current snap_time and the held time, so
 * snapshots need not touch the cache.  Every change of a mapping of the
 * volume updates its entry (insert, remove) or clears the cache (the root
 * was replaced: rollback, abort, record reload), under pmd->lock held for
 * writing.  Lookups fill it holding pmd->lock shared, so entries are read
 * and written under xlate_lock.
 */

/* Without a cache (no memory), every lookup reads the btree. */
void cow_xlate_init(struct cow_volume *vol)
{
	spin_lock_init(&vol->xlate_lock);
	vol->xlate = kvcalloc(COW_XLATE_ENTRIES, sizeof(*vol->xlate), GFP_KERNEL);
}

void cow_xlate_exit(struct cow_volume *vol)
{
	kvfree(vol->xlate);
	vol->xlate = NULL;
}

void cow_xlate_clear(struct cow_volume *vol)
{
	if (vol->xlate)
		memset(vol->xlate, 0, COW_XLATE_ENTRIES * sizeof(*vol->xlate));
}

static struct cow_xlate_entry *xlate_slot(struct cow_volume *vol, u64 vchunk)
{
	return &vol->xlate[vchunk & (COW_XLATE_ENTRIES - 1)];
}

/* Called with pmd->lock held shared or exclusive. */
static bool xlate_get(struct cow_volume *vol, u64 vchunk, u64 *value)
{
	struct cow_xlate_entry *e;
	bool hit;

	if (!vol->xlate)
		return false;
	e = xlate_slot(vol, vchunk);
	spin_lock(&vol->xlate_lock);
	hit = e->key == vchunk + 1;
	if (hit)
		*value = e->value;
	spin_unlock(&vol->xlate_lock);
	return hit;
}

static void xlate_put(struct cow_volume *vol, u64 vchunk, u64 value)
{
	struct cow_xlate_entry *e;

	if (!vol->xlate)
		return;
	e = xlate_slot(vol, vchunk);
	spin_lock(&vol->xlate_lock);
	e->key = vchunk + 1;
	e->value = value;
	spin_unlock(&vol->xlate_lock);
}

/* With pmd->lock held for writing: no reader can look. */
static void xlate_drop_range(struct cow_volume *vol, u64 begin, u64 end)
{
	u64 v;

	if (!vol->xlate)
		return;
	if (end - begin >= COW_XLATE_ENTRIES) {
		cow_xlate_clear(vol);
		return;
	}
	for (v = begin; v < end; v++)
		if (xlate_slot(vol, v)->key == v + 1)
			xlate_slot(vol, v)->key = 0;
}

/*
 * Entries of a leaf going into the cache, all under one lock hold.  Only
 * mappings inside the data device are cached, so a hit needs no bounds
 * check (the data device never shrinks).  The first entry (the chunk
 * looked up, or the next mapped one) always goes in.  A sequential
 * reader's neighbours replace what the cache held; a random reader's only
 * fill free slots, up to the first taken one, so they never evict: while
 * the cache has room they save later lookups, once it is full they cost
 * one probe.
 */
struct xlate_fill {
	struct cow_volume *vol;
	u64 nr_data_chunks;
	bool evict;
};

static void xlate_fill(void *context, const __le64 *keys, const void *values,
		       unsigned int nr)
{
	struct xlate_fill *f = context;
	const __le64 *v = values;
	struct cow_xlate_entry *e;
	u64 key, value;
	unsigned int i;

	spin_lock(&f->vol->xlate_lock);
	for (i = 0; i < nr; i++) {
		key = le64_to_cpu(keys[i]);
		value = le64_to_cpu(v[i]);
		e = xlate_slot(f->vol, key);
		if (i && !f->evict && e->key)
			break;
		/* Its own lookup reports it (mapped_in_data_device()). */
		if (unlikely(cow_mapping_chunk(value) >= f->nr_data_chunks))
			continue;
		e->key = key + 1;
		e->value = value;
	}
	spin_unlock(&f->vol->xlate_lock);
}

/*
 * How many chunks from @vchunk on the cache maps to the data chunks from
 * @dchunk on, shared alike: the rest of a run, read under one lock hold
 * (a 1 MiB read of 4 KiB chunks is a run of 256).
 */
static unsigned int xlate_run(struct cow_volume *vol, u64 vchunk, u64 dchunk,
			      bool shared, unsigned int max)
{
	struct cow_xlate_entry *e;
	unsigned int n;

	if (!vol->xlate)
		return 0;
	spin_lock(&vol->xlate_lock);
	for (n = 0; n < max; n++) {
		e = xlate_slot(vol, vchunk + n);
		if (e->key != vchunk + n + 1 ||
		    cow_mapping_chunk(e->value) != dchunk + n ||
		    is_shared(vol, e->value) != shared)
			break;
	}
	spin_unlock(&vol->xlate_lock);
	return n;
}

/*
 * A checksummed leaf can still name a chunk beyond the data device
 * (damage before the checksum was computed): I/O there would fail below
 * us with no word of why.
 */
static int mapped_in_data_device(struct cow_volume *vol, u64 vchunk, u64 value,
				 u64 nr_data_chunks)
{
	if (likely(cow_mapping_chunk(value) < nr_data_chunks))
		return 0;
	cow_err_ratelimited("volume %llu chunk %llu maps to data chunk %llu, beyond the data device (%llu chunks)",
			    (unsigned long long)vol->id, (unsigned long long)vchunk,
			    (unsigned long long)cow_mapping_chunk(value),
			    (unsigned long long)nr_data_chunks);
	return -EIO;
}

/*
 * Mapping value of @vchunk: the cache, or the btree.  When the chunk
 * before was looked up too (a sequential reader), a btree lookup also
 * caches the next COW_XLATE_FILL entries of its leaf, so such a reader
 * reads the btree once per COW_XLATE_FILL chunks; a random reader's
 * lookup caches neighbours only into free slots (xlate_fill()).
 * A hit is the I/O path's common case: it costs one cache probe.
 */
#define COW_XLATE_FILL 128u

static int lookup_value(struct cow_volume *vol, u64 vchunk, bool can_block,
			u64 *value)
{
	struct cow_pool_metadata *pmd = vol->pmd;
	struct xlate_fill fill = { .vol = vol };
	unsigned int max_next = COW_XLATE_FILL;
	__le64 v;
	u64 prev;
	int r;

	if (xlate_get(vol, vchunk, value))
		return 0;
	if (!vol->xlate)
		max_next = 0;
	else if (vchunk && xlate_get(vol, vchunk - 1, &prev))
		fill.evict = true;
	fill.nr_data_chunks = cow_sm_nr_blocks(pmd->dsm);
	r = cow_btree_lookup_next(&pmd->map_info, &vol->mapping, vchunk, &v,
				  can_block, max_next, xlate_fill, &fill);
	if (r)
		return r;
	*value = le64_to_cpu(v);
	return mapped_in_data_device(vol, vchunk, *value, fill.nr_data_chunks);
}

/*----------------------------------------------------------------*/

int cow_volume_lookup(struct cow_volume *vol, u64 vchunk, bool can_block,
		      struct cow_lookup_result *result)
{
	unsigned int len;

	return cow_volume_lookup_run(vol, vchunk, 1, can_block, result, &len);
}

int cow_volume_lookup_run(struct cow_volume *vol, u64 vchunk,
			  unsigned int max_chunks, bool can_block,
			  struct cow_lookup_result *result, unsigned int *nr)
{
	struct cow_pool_metadata *pmd = vol->pmd;
	unsigned int n;
	u64 v, first;
	int r;

	if (can_block)
		down_read(&pmd->lock);
	else if (!down_read_trylock(&pmd->lock))
		return -EWOULDBLOCK;
	r = vol_usable(vol);
	if (!r)
		r = lookup_value(vol, vchunk, can_block, &first);
	if (r)
		goto out;
	result->dchunk = cow_mapping_chunk(first);
	result->shared = is_shared(vol, first);
	/*
	 * The run goes on while the chunks follow and share alike: cached
	 * ones in one go, then one lookup (a miss fills the cache).
	 */
	for (n = 1; n < max_chunks; n++) {
		n += xlate_run(vol, vchunk + n, result->dchunk + n,
			       result->shared, max_chunks - n);
		if (n == max_chunks ||
		    lookup_value(vol, vchunk + n, can_block, &v) ||
		    cow_mapping_chunk(v) != result->dchunk + n ||
		    is_shared(vol, v) != result->shared)
			break;
	}
	*nr = n;
out:
	up_read(&pmd->lock);
	return r;
}

struct run {
	struct cow_volume *vol;
	bool started;
	u64 vbegin, vend, dbegin;
	bool shared;
};

static int run_fn(void *context, u64 key, void *value)
{
	struct run *run = context;
	u64 v = le64_to_cpu(*(__le64 *)value);
	u64 d = cow_mapping_chunk(v);
	bool shared = is_shared(run->vol, v);

	if (!run->started) {
		run->started = true;
		run->vbegin = key;
		run->vend = key + 1;
		run->dbegin = d;
		run->shared = shared;
		return 0;
	}
	if (key != run->vend || d != run->dbegin + (run->vend - run->vbegin) ||
	    shared != run->shared)
		return 1;
	run->vend++;
	return 0;
}

int cow_volume_find_mapped_range(struct cow_volume *vol, u64 begin, u64 end,
				 u64 *vbegin, u64 *vend, u64 *dbegin,
				 bool *shared)
{
	struct cow_pool_metadata *pmd = vol->pmd;
	struct run run = { .vol = vol, .started = false };
	int r;

	down_read(&pmd->lock);
	r = vol_usable(vol);
	if (!r)
		r = cow_btree_walk(&pmd->map_info, &vol->mapping, begin, end,
				   run_fn, &run);
	up_read(&pmd->lock);
	if (r < 0)
		return r;
	if (!run.started)
		return -ENODATA;
	*vbegin = run.vbegin;
	*vend = run.vend;
	*dbegin = run.dbegin;
	*shared = run.shared;
	return 0;
}

int cow_volume_alloc_chunk(struct cow_volume *vol, u64 *dchunk)
{
	struct cow_pool_metadata *pmd = vol->pmd;
	int r;

	down_write(&pmd->lock);
	r = vol_usable(vol);
	if (!r)
		r = cow_pmd_check_space(pmd);
	if (!r && !cow_sm_nr_free(pmd->dsm))
		r = -ENOSPC;
	if (!r) {
		r = cow_sm_new_block(pmd->dsm, vol->alloc_hint, dchunk);
		if (r == -ENOSPC)	/* all free chunks were freed just now */
			pmd->changed = true;
		else
			r = cow_pmd_note_change(pmd, r);
	}
	/* Referenced only once the caller inserts it (cow-space-map.h). */
	if (!r)
		r = cow_pmd_note_change(pmd, cow_dsm_set_unreferenced(pmd->dsm, *dchunk));
	if (!r) {
		vol->alloc_hint = *dchunk + 1;
		vol->dirty = true;
	}
	up_write(&pmd->lock);
	return r;
}

static int insert(struct cow_volume *vol, u64 vchunk, u64 dchunk)
{
	struct cow_pool_metadata *pmd = vol->pmd;
	__le64 v = cpu_to_le64(cow_pack_mapping(dchunk, pmd->time)), old;
	bool existed;
	u32 count;
	u64 d;
	int r;

	r = cow_vol_ensure_own_record(vol);
	if (r)
		return r;
	pmd->time_used = true;
	r = cow_btree_insert(&pmd->map_info, &vol->mapping, vchunk, &v, &old,
			     &existed);
	vol->dirty = true;
	if (r) {
		xlate_drop_range(vol, vchunk, vchunk + 1);
		return r;
	}
	xlate_put(vol, vchunk, le64_to_cpu(v));
	cow_dsm_referenced(pmd->dsm, dchunk);
	/* A new mapping, or one replacing an inherited one, is ours. */
	if (!existed || cow_mapping_time(le64_to_cpu(old)) <
	    vol->origin_time)
		vol->written++;
	/* A freshly allocated chunk: nobody else holds it. */
	vol->exclusive++;
	if (!existed)
		return 0;
	d = cow_mapping_chunk(le64_to_cpu(old));
	r = cow_sm_dec(pmd->dsm, d, &count);
	if (!r && pmd->accounting)
		r = cow_acct_vol_dropped(vol, vchunk, d, count);
	return r;
}

int cow_volume_insert(struct cow_volume *vol, u64 vchunk, u64 dchunk)
{
	struct cow_pool_metadata *pmd = vol->pmd;
	int r;

	down_write(&pmd->lock);
	r = vol_usable(vol);
	if (!r)
		r = cow_pmd_check_space(pmd);
	if (!r && dchunk >= cow_sm_nr_blocks(pmd->dsm))
		r = -EINVAL;
	if (!r)
		r = cow_pmd_note_change(pmd, insert(vol, vchunk, dchunk));
	up_write(&pmd->lock);
	return r;
}

int cow_volume_free_unused_chunk(struct cow_volume *vol, u64 dchunk)
{
	struct cow_pool_metadata *pmd = vol->pmd;
	int r;

	down_write(&pmd->lock);
	r = vol_usable(vol);
	if (!r)
		r = cow_pmd_check_writable(pmd);
	if (!r && dchunk >= cow_sm_nr_blocks(pmd->dsm))
		r = -EINVAL;
	if (!r)
		r = cow_pmd_note_change(pmd, cow_sm_dec(pmd->dsm, dchunk, NULL));
	up_write(&pmd->lock);
	return r;
}

/*----------------------------------------------------------------*/

struct removal {
	struct cow_pool_metadata *pmd;
	struct cow_volume *vol;
	u32 origin_time;
	u64 written;		/* removed mappings written since the origin */
	void (*freed)(void *context, u64 dbegin, u64 dend);
	void *context;
	bool have;
	u64 dbegin, dend;	/* pending run of freed chunks */
};

static void flush_freed(struct removal *rm)
{
	if (rm->have && rm->freed)
		rm->freed(rm->context, rm->dbegin, rm->dend);
	rm->have = false;
}

static int removal_fn(void *context, u64 key, void *value)
{
	struct removal *rm = context;
	u64 v = le64_to_cpu(*(__le64 *)value), d = cow_mapping_chunk(v);
	u32 count;
	int r;

	if (cow_mapping_time(v) >= rm->origin_time)
		rm->written++;
	r = cow_sm_dec(rm->pmd->dsm, d, &count);
	if (!r && rm->pmd->accounting)
		r = cow_acct_vol_dropped(rm->vol, key, d, count);
	if (r || count)
		return r;
	if (rm->have && d == rm->dend) {
		rm->dend++;
		return 0;
	}
	flush_freed(rm);
	rm->have = true;
	rm->dbegin = d;
	rm->dend = d + 1;
	return 0;
}

int cow_volume_remove_range(struct cow_volume *vol, u64 begin, u64 end,
			    void (*freed)(void *context, u64 dbegin, u64 dend),
			    void *context)
{
	struct cow_pool_metadata *pmd = vol->pmd;
	struct removal rm = {
		.pmd = pmd, .vol = vol, .freed = freed, .context = context,
		.have = false,
		.origin_time = vol->origin_time,
	};
	int r;

	down_write(&pmd->lock);
	r = vol_usable(vol);
	if (!r)
		r = cow_pmd_check_writable(pmd);
	if (r || begin >= end || !vol->mapping.count)
		goto out;
	r = cow_vol_ensure_own_record(vol);
	if (!r)
		r = cow_btree_remove_range(&pmd->map_info, &vol->mapping, begin,
					   end, removal_fn, &rm, NULL);
	xlate_drop_range(vol, begin, end);
	vol->dirty = true;
	/* Also on error: the mappings counted are gone from the tree. */
	vol->written -= rm.written;
	flush_freed(&rm);
	r = cow_pmd_note_change(pmd, r);
out:
	up_write(&pmd->lock);
	return r;
}

/*----------------------------------------------------------------*/
/* Sharing the chunks of two volumes again */

/* Both volumes usable, and of one family (-EXDEV if not). */
static int share_usable(struct cow_volume *dst, struct cow_volume *src)
{
	int r = vol_usable(dst);

	if (!r)
		r = vol_usable(src);
	if (!r && dst->family != src->family)
		r = -EXDEV;
	return r;
}

/* Both mappings of @vchunk, under pmd->lock. */
static int share_lookup(struct cow_volume *dst, struct cow_volume *src,
			u64 vchunk, struct cow_share_probe *probe)
{
	int r = lookup_value(dst, vchunk, true, &probe->dst_value);

	if (!r)
		r = lookup_value(src, vchunk, true, &probe->src_value);
	probe->dst_dchunk = cow_mapping_chunk(probe->dst_value);
	probe->src_dchunk = cow_mapping_chunk(probe->src_value);
	return r;
}

/*
 * Is the source's mapping shared as both volumes see it?  Then a write to
 * either breaks sharing first.  The held root does not count: it may be
 * released while the chunk is still shared.
 */
static bool shareable_time(struct cow_volume *dst, struct cow_volume *src,
			   u64 src_value)
{
	u32 t = cow_mapping_time(src_value);

	return t < src->snap_time && t < dst->snap_time;
}

int cow_volume_share_probe(struct cow_volume *dst, struct cow_volume *src,
			   u64 vchunk, struct cow_share_probe *probe)
{
	int r;

	down_read(&dst->pmd->lock);
	r = share_usable(dst, src);
	if (!r)
		r = share_lookup(dst, src, vchunk, probe);
	if (!r && (probe->dst_dchunk == probe->src_dchunk ||
		   !shareable_time(dst, src, probe->src_value)))
		r = -ENODATA;
	up_read(&dst->pmd->lock);
	return r;
}

static int share(struct cow_volume *dst, u64 vchunk, u64 src_value)
{
	struct cow_pool_metadata *pmd = dst->pmd;
	u64 d = cow_mapping_chunk(src_value), old_value;
	__le64 v = cpu_to_le64(src_value), old;
	bool existed;
	u32 count;
	int r;

	/* The chunk may stop being its only holder's (src or another). */
	r = pmd->accounting ?
		cow_acct_gain(pmd, dst->id, dst->family, vchunk, d) : 0;
	if (!r)
		r = cow_sm_inc(pmd->dsm, d);
	if (!r)
		r = cow_vol_ensure_own_record(dst);
	if (r)
		return r;
	r = cow_btree_insert(&pmd->map_info, &dst->mapping, vchunk, &v, &old,
			     &existed);
	dst->dirty = true;
	if (r || !existed) {
		xlate_drop_range(dst, vchunk, vchunk + 1);
		return r ? r : -EIO;	/* the probe saw it mapped */
	}
	xlate_put(dst, vchunk, src_value);
	old_value = le64_to_cpu(old);
	if (cow_mapping_time(old_value) >= dst->origin_time)
		dst->written--;
	if (cow_mapping_time(src_value) >= dst->origin_time)
		dst->written++;
	d = cow_mapping_chunk(old_value);
	r = cow_sm_dec(pmd->dsm, d, &count);
	if (!r && pmd->accounting)
		r = cow_acct_vol_dropped(dst, vchunk, d, count);
	return r;
}

int cow_volume_share(struct cow_volume *dst, struct cow_volume *src,
		     u64 vchunk, const struct cow_share_probe *probe)
{
	struct cow_pool_metadata *pmd = dst->pmd;
	struct cow_share_probe now;
	int r;

	down_write(&pmd->lock);
	r = share_usable(dst, src);
	if (!r)
		r = cow_pmd_check_space(pmd);
	if (!r)
		r = share_lookup(dst, src, vchunk, &now);
	if (r == -ENODATA || (!r && (now.dst_value != probe->dst_value ||
				     now.src_value != probe->src_value)))
		r = -EAGAIN;
	if (!r && !shareable_time(dst, src, now.src_value))
		r = -EAGAIN;	/* a snapshot cannot make it younger: paranoia */
	if (!r)
		r = cow_pmd_note_change(pmd, share(dst, vchunk, now.src_value));
	up_write(&pmd->lock);
	return r;
}

int cow_volume_get_mapped_count(struct cow_volume *vol, u64 *result)
{
	down_read(&vol->pmd->lock);
	*result = vol->mapping.count;
	up_read(&vol->pmd->lock);
	return vol->gone ? -ENODEV : 0;
}

int cow_volume_get_highest_mapped(struct cow_volume *vol, u64 *result)
{
	struct cow_pool_metadata *pmd = vol->pmd;
	int r;

	down_read(&pmd->lock);
	r = vol_usable(vol);
	if (!r)
		r = cow_btree_find_highest(&pmd->map_info, &vol->mapping, result,
					   NULL);
	up_read(&pmd->lock);
	return r;
}

/*----------------------------------------------------------------*/
/* Delta */

struct delta {
	int (*fn)(void *context, u64 vbegin, u64 vend, enum cow_delta_kind kind);
	void *context;
	bool have;
	enum cow_delta_kind kind;
	u64 vbegin, vend;
};

static int delta_flush(struct delta *d)
{
	int r = 0;

	if (d->have)
		r = d->fn(d->context, d->vbegin, d->vend, d->kind);
	d->have = false;
	return r;
}

static int delta_fn(void *context, u64 key, const void *va, const void *vb)
{
	struct delta *d = context;
	enum cow_delta_kind kind;
	int r;

	if (va && vb) {
		if (cow_mapping_chunk(le64_to_cpu(*(const __le64 *)va)) ==
		    cow_mapping_chunk(le64_to_cpu(*(const __le64 *)vb)))
			return 0;
		kind = COW_DELTA_DIFFERENT;
	} else {
		kind = va ? COW_DELTA_LEFT_ONLY : COW_DELTA_RIGHT_ONLY;
	}
	if (d->have && d->kind == kind && d->vend == key) {
		d->vend++;
		return 0;
	}
	r = delta_flush(d);
	if (r)
		return r;
	d->have = true;
	d->kind = kind;
	d->vbegin = key;
	d->vend = key + 1;
	return 0;
}

static int get_mapping_root(struct cow_pool_metadata *pmd, u64 id,
			    struct cow_root *root)
{
	struct cow_volume *v = cow_vol_find_open(pmd, id);
	struct cow_disk_volume *rec;
	int r;

	if (v) {
		*root = v->mapping;
		return 0;
	}
	rec = kmalloc(sizeof(*rec), GFP_NOIO);
	if (!rec)
		return -ENOMEM;
	r = id > COW_MAX_VOLUME_ID ? -ENODATA :
		cow_btree_lookup(&pmd->vol_info, &pmd->volumes_root, id, rec);
	if (!r)
		cow_root_from_disk(&rec->mapping, root);
	kfree(rec);
	return r == -ENODATA ? -ENOENT : r;
}

int cow_pmd_delta(struct cow_pool_metadata *pmd, u64 a, u64 b,
		  int (*fn)(void *context, u64 vbegin, u64 vend,
			    enum cow_delta_kind kind),
		  void *context)
{
	struct delta d = { .fn = fn, .context = context, .have = false };
	struct cow_root ra, rb;
	int r;

	down_read(&pmd->lock);
	r = pmd->fail ? -EIO : get_mapping_root(pmd, a, &ra);
	if (!r)
		r = get_mapping_root(pmd, b, &rb);
	if (!r)
		r = cow_btree_diff(&pmd->map_info, &ra, &rb, delta_fn, &d);
	if (!r)
		r = delta_flush(&d);
	up_read(&pmd->lock);
	return r;
}
