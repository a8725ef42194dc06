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

int cow_volume_lookup(struct cow_volume *vol, u64 vchunk, bool can_block,
		      struct cow_lookup_result *result)
{
	struct cow_pool_metadata *pmd = vol->pmd;
	__le64 v;
	int r;

	if (can_block)
		down_read(&pmd->lock);
	else if (!down_read_trylock(&pmd->lock))
		return -EWOULDBLOCK;
	r = vol_usable(vol);
	if (!r && can_block)
		r = cow_btree_lookup(&pmd->map_info, &vol->mapping, vchunk, &v);
	else if (!r)
		r = cow_btree_lookup_nonblocking(&pmd->map_info, &vol->mapping,
						 vchunk, &v);
	if (!r) {
		result->dchunk = cow_mapping_chunk(le64_to_cpu(v));
		result->shared = is_shared(vol, le64_to_cpu(v));
	}
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
	if (r)
		return r;
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
	vol->dirty = true;
	/* Also on error: the mappings counted are gone from the tree. */
	vol->written -= rm.written;
	flush_freed(&rm);
	r = cow_pmd_note_change(pmd, r);
out:
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
