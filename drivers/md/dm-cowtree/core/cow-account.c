// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree metadata engine: exclusive chunk accounting.
 *
 * The holders of a data chunk are the volumes btree records whose mapping
 * tree maps it: live volumes, and deleting records (deleted volumes, old
 * trees of rolled-back volumes) at keys not yet accounted.  A chunk is
 * exclusive to live volume V when V is its only holder; exclusive_chunks
 * counts them per volume (see cowtree-format.rst, "exclusive_chunks").
 *
 * Data reference counts are lazy (a count is the number of leaves holding
 * the chunk, not the number of volumes), so they cannot say who else holds
 * a chunk.  When a holder lets go of a chunk that others may still hold,
 * the others are found by looking the key up in the trees of the records
 * of the same family (volumes that can share chunks at all), stopping at
 * the second holder.  Writes that break no sharing never get here.
 *
 * A deleted volume becomes a deleting record.  cow_acct_reclaim() walks its
 * tree in key order, a bounded number of entries per step, and lets go of
 * each possibly shared chunk as above (account_cursor says how far it got,
 * and keys below it are no longer held).  At the end the tree goes to the
 * dead list, where cow-reclaim.c frees it without any accounting: nothing
 * it holds is a holder any more.
 */
#include "cow-metadata-internal.h"

/*----------------------------------------------------------------*/
/* Finding the other holders of a chunk */

struct holder_scan {
	struct cow_pool_metadata *pmd;
	u64 dropper, family, key, dchunk;
	unsigned int nr;	/* holders found, at most 2 */
	u64 holder;
};

static int scan_record(void *context, u64 id, void *value)
{
	struct holder_scan *hs = context;
	const struct cow_disk_volume *rec = value;
	struct cow_volume *open = NULL;
	struct cow_root root;
	__le64 v;
	int r;

	if (id == hs->dropper || le64_to_cpu(rec->family) != hs->family)
		return 0;
	if (cow_id_deleting(id)) {
		if (hs->key < le64_to_cpu(rec->account_cursor))
			return 0;
	} else {
		open = cow_vol_find_open(hs->pmd, id);
	}
	if (open)
		root = open->mapping;	/* the record's root may be stale */
	else
		cow_root_from_disk(&rec->mapping, &root);
	if (!root.blocknr)
		return 0;
	r = cow_btree_lookup(&hs->pmd->map_info, &root, hs->key, &v);
	if (r == -ENODATA)
		return 0;
	if (r)
		return r;
	if (cow_mapping_chunk(le64_to_cpu(v)) != hs->dchunk)
		return 0;
	hs->holder = id;
	return ++hs->nr >= 2;
}

int cow_acct_flush(struct cow_pool_metadata *pmd)
{
	struct cow_disk_volume *rec;
	int r = 0;

	if (!pmd->nr_acct_pending)
		return 0;
	rec = kmalloc(sizeof(*rec), GFP_NOIO);
	if (!rec)
		return -ENOMEM;
	while (!r && pmd->nr_acct_pending) {
		unsigned int i = pmd->nr_acct_pending - 1;

		r = cow_vol_read_record(pmd, pmd->acct_pending[i].id, rec);
		if (r)
			break;
		rec->exclusive_chunks = cpu_to_le64(le64_to_cpu(rec->exclusive_chunks) +
						    pmd->acct_pending[i].delta);
		r = cow_vol_write_record(pmd, rec);
		if (!r)
			pmd->nr_acct_pending = i;
	}
	kfree(rec);
	return r;
}

u64 cow_acct_take(struct cow_pool_metadata *pmd, u64 id, bool consume)
{
	unsigned int i;
	u64 delta;

	for (i = 0; i < pmd->nr_acct_pending; i++) {
		if (pmd->acct_pending[i].id != id)
			continue;
		delta = pmd->acct_pending[i].delta;
		if (consume)
			pmd->acct_pending[i] =
				pmd->acct_pending[--pmd->nr_acct_pending];
		return delta;
	}
	return 0;
}

/*
 * One more chunk (@delta 1), or one fewer (@delta -1), is @id's alone.  An
 * open volume counts it in its handle; a closed one in the in-memory batch
 * (modulo 2^64, so a batch may go below zero), so a run of break-sharing
 * writes does not rewrite the record every time.
 */
static int change_exclusive(struct cow_pool_metadata *pmd, u64 id, int delta)
{
	struct cow_volume *open = cow_vol_find_open(pmd, id);
	unsigned int i;
	int r;

	if (open) {
		open->exclusive += delta;
		open->dirty = true;
		return 0;
	}
	for (i = 0; i < pmd->nr_acct_pending; i++) {
		if (pmd->acct_pending[i].id == id) {
			pmd->acct_pending[i].delta += delta;
			return 0;
		}
	}
	if (pmd->nr_acct_pending == COW_ACCT_PENDING) {
		r = cow_acct_flush(pmd);
		if (r)
			return r;
	}
	i = pmd->nr_acct_pending++;
	pmd->acct_pending[i].id = id;
	pmd->acct_pending[i].delta = delta;
	return 0;
}

/*
 * Find the holders of @dchunk at @key in @family other than @except; if
 * exactly one live volume holds it, its exclusive count changes by
 * @delta.  Returns the number of holders found (at most 2), or an error.
 */
static int adjust_sole_holder(struct cow_pool_metadata *pmd, u64 except,
			      u64 family, u64 key, u64 dchunk, int delta)
{
	struct holder_scan hs = {
		.pmd = pmd, .dropper = except, .family = family,
		.key = key, .dchunk = dchunk,
	};
	int r;

	r = cow_btree_walk(&pmd->vol_info, &pmd->volumes_root, 0, U64_MAX,
			   scan_record, &hs);
	if (r < 0)
		return r;
	if (hs.nr == 1 && !cow_id_deleting(hs.holder)) {
		r = change_exclusive(pmd, hs.holder, delta);
		if (r)
			return r;
	}
	return hs.nr;
}

int cow_acct_drop(struct cow_pool_metadata *pmd, u64 dropper, u64 family,
		  u64 key, u64 dchunk, bool *was_sole)
{
	int r = adjust_sole_holder(pmd, dropper, family, key, dchunk, 1);

	if (r < 0)
		return r;
	*was_sole = !r;
	return 0;
}

int cow_acct_gain(struct cow_pool_metadata *pmd, u64 gainer, u64 family,
		  u64 key, u64 dchunk)
{
	int r = adjust_sole_holder(pmd, gainer, family, key, dchunk, -1);

	return r < 0 ? r : 0;
}

int cow_acct_vol_dropped(struct cow_volume *vol, u64 key, u64 dchunk,
			 u32 count)
{
	bool sole = true;
	int r = 0;

	/* No reference left: nobody else held it. */
	if (count)
		r = cow_acct_drop(vol->pmd, vol->id, vol->family, key, dchunk,
				  &sole);
	if (!r && sole) {
		vol->exclusive--;
		vol->dirty = true;
	}
	return r;
}

/*----------------------------------------------------------------*/
/* Deleting records */

static int next_deleting_id(struct cow_pool_metadata *pmd, u64 *id)
{
	u64 highest = 0;
	int r;

	r = cow_btree_find_highest(&pmd->vol_info, &pmd->volumes_root,
				   &highest, NULL);
	if (r && r != -ENODATA)
		return r;
	*id = (!r && cow_id_deleting(highest)) ? highest + 1 :
		COW_DELETING_ID_BASE;
	return 0;
}

int cow_acct_retire(struct cow_pool_metadata *pmd, struct cow_disk_volume *rec)
{
	struct cow_root m;
	u64 id;
	int r;

	cow_root_from_disk(&rec->mapping, &m);
	/* Nothing to account: an empty tree's blocks go straight away. */
	if (!m.count)
		return cow_dead_push(pmd, &m, COW_DEAD_MAPPING,
				     le64_to_cpu(rec->id));
	r = next_deleting_id(pmd, &id);
	if (r)
		return r;
	rec->id = cpu_to_le64(id);
	rec->flags = cpu_to_le32(le32_to_cpu(rec->flags) | COW_VOL_F_DELETING);
	rec->account_cursor = 0;
	r = cow_vol_write_record(pmd, rec);
	if (!r)
		pmd->reclaiming += m.count;
	return r;
}

int cow_acct_pending(struct cow_pool_metadata *pmd, bool *result)
{
	u64 highest;
	int r;

	r = cow_btree_find_highest(&pmd->vol_info, &pmd->volumes_root,
				   &highest, NULL);
	*result = !r && cow_id_deleting(highest);
	return r == -ENODATA ? 0 : r;
}

struct retire_walk {
	struct cow_pool_metadata *pmd;
	struct cow_disk_volume *rec;
	u32 snap_time;
	unsigned int *budget;
	u64 next;		/* first key not accounted yet */
};

static int retire_mapping(void *context, u64 key, void *value)
{
	struct retire_walk *rw = context;
	u64 v = le64_to_cpu(*(__le64 *)value);
	bool sole;
	int r;

	if (!*rw->budget)
		return 1;
	(*rw->budget)--;
	/* A mapping made since the last share event has no other holder. */
	if (rw->pmd->accounting &&
	    cow_mapping_maybe_shared(rw->pmd, rw->snap_time, v)) {
		r = cow_acct_drop(rw->pmd, le64_to_cpu(rw->rec->id),
				  le64_to_cpu(rw->rec->family), key,
				  cow_mapping_chunk(v), &sole);
		if (r)
			return r;
	}
	rw->next = key + 1;
	return 0;
}

/* Account the deleting record @rec from its cursor on; save progress. */
static int retire_some(struct cow_pool_metadata *pmd,
		       struct cow_disk_volume *rec, unsigned int *budget)
{
	struct retire_walk rw = {
		.pmd = pmd, .rec = rec, .budget = budget,
		.snap_time = le32_to_cpu(rec->snap_time),
		.next = le64_to_cpu(rec->account_cursor),
	};
	struct cow_root m;
	int r;

	cow_root_from_disk(&rec->mapping, &m);
	r = cow_btree_walk(&pmd->map_info, &m, rw.next, U64_MAX,
			   retire_mapping, &rw);
	if (r < 0)
		return r;
	if (r > 0) {	/* out of budget: keys from rw.next on are still held */
		rec->account_cursor = cpu_to_le64(rw.next);
		return cow_vol_write_record(pmd, rec);
	}
	/* Every chunk accounted: the tree is plain garbage now. */
	r = cow_btree_remove(&pmd->vol_info, &pmd->volumes_root,
			     le64_to_cpu(rec->id), NULL);
	if (r)
		return r;
	pmd->reclaiming -= m.count;
	return cow_dead_push(pmd, &m, COW_DEAD_MAPPING, le64_to_cpu(rec->id));
}

int cow_acct_reclaim(struct cow_pool_metadata *pmd, unsigned int *budget)
{
	struct cow_disk_volume *rec;
	u64 id;
	int r = 0;

	rec = kmalloc(sizeof(*rec), GFP_NOIO);
	if (!rec)
		return -ENOMEM;
	while (*budget) {
		r = cow_btree_lookup_ge(&pmd->vol_info, &pmd->volumes_root,
					COW_DELETING_ID_BASE, &id, rec);
		if (r == -ENODATA) {
			r = 0;
			break;
		}
		if (!r)
			r = retire_some(pmd, rec, budget);
		if (r)
			break;
	}
	kfree(rec);
	return r;
}
