// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree metadata engine: incremental reclamation of dead trees.
 *
 * Deleting a volume, rolling one back, or releasing the held root turns a
 * tree into a "dead" entry: a reference to its root, kept in the dead
 * btree (keyed by a sequence number) so it survives commits and crashes.
 * cow_pmd_reclaim_step() works on the newest entry, so the walk is
 * depth-first and the dead btree stays small:
 *
 *  - a root whose block is still shared just loses our reference: O(1),
 *    and the rest of the tree stays with its other owners;
 *  - otherwise the node is ours alone and nobody can gain a reference to
 *    it (nothing live points at it), so we never need to change it: a
 *    cursor in the entry says how far we got.  A leaf drops one reference
 *    per value; an internal node hands its children, one at a time, over
 *    to new dead entries.  When the cursor reaches the end, the node's
 *    block is freed (its contents were handed over or dropped already).
 *
 * The entry's root.count always says how many leaf values are still
 * referenced beneath the unprocessed part; for mapping trees the sum of
 * those is the pool's reclaiming counter.
 */
#include "cow-metadata-internal.h"

#define BATCH 16u

int cow_dead_push(struct cow_pool_metadata *pmd, const struct cow_root *root,
		  u32 kind, u64 owner_id)
{
	struct cow_disk_dead d;
	bool existed;
	int r;

	if (!root->blocknr)
		return 0;
	memset(&d, 0, sizeof(d));
	cow_root_to_disk(root, &d.root);
	d.kind = cpu_to_le32(kind);
	d.owner_id = cpu_to_le64(owner_id);
	r = cow_btree_insert(&pmd->dead_info, &pmd->dead_root,
			     pmd->dead_next_seq, &d, NULL, &existed);
	if (r)
		return r;
	/*
	 * The sequence number is above every key in use, or the superblock
	 * is corrupt: overwriting an entry would leak its whole tree.  The
	 * caller aborts the transaction, so the entry comes back.
	 */
	if (existed) {
		cow_err("dead entry %llu exists already: corrupt superblock",
			(unsigned long long)pmd->dead_next_seq);
		return -EILSEQ;
	}
	pmd->dead_next_seq++;
	if (kind == COW_DEAD_MAPPING)
		pmd->reclaiming += root->count;
	return 0;
}

/*----------------------------------------------------------------*/

struct reclaim {
	struct cow_pool_metadata *pmd;
	u64 seq;
	struct cow_disk_dead d;
	struct cow_root root;
	u32 kind, cursor;
	unsigned int budget;
};

static struct cow_btree_info *kind_info(struct reclaim *rc)
{
	return rc->kind == COW_DEAD_MAPPING ? &rc->pmd->map_info :
		&rc->pmd->vol_info;
}

static void dropped(struct reclaim *rc, u64 n)
{
	rc->root.count -= n;
	if (rc->kind == COW_DEAD_MAPPING)
		rc->pmd->reclaiming -= n;
}

static int remove_entry(struct reclaim *rc)
{
	struct cow_pool_metadata *pmd = rc->pmd;

	return cow_btree_remove(&pmd->dead_info, &pmd->dead_root, rc->seq, NULL);
}

static int save_entry(struct reclaim *rc)
{
	struct cow_pool_metadata *pmd = rc->pmd;

	cow_root_to_disk(&rc->root, &rc->d.root);
	rc->d.cursor = cpu_to_le32(rc->cursor);
	return cow_btree_insert(&pmd->dead_info, &pmd->dead_root, rc->seq,
				&rc->d, NULL, NULL);
}

/* Drop the references held by mapping leaf values [cursor, cursor + n). */
static int drop_mappings(struct reclaim *rc, struct cow_disk_node_header *n,
			 u32 nr)
{
	__le64 v[BATCH];
	u32 i, k;
	int r;

	k = min_t(u32, nr - rc->cursor, min_t(u32, BATCH, rc->budget));
	memcpy(v, cow_node_value(n, rc->cursor), k * sizeof(v[0]));
	for (i = 0; i < k; i++) {
		r = cow_sm_dec(rc->pmd->dsm, cow_mapping_chunk(le64_to_cpu(v[i])),
			       NULL);
		if (r)
			return r;
	}
	rc->cursor += k;
	rc->budget -= k;
	dropped(rc, k);
	return 0;
}

/* Hand the mapping tree of the record at the cursor over to a new entry. */
static int drop_record(struct reclaim *rc, struct cow_disk_node_header *n)
{
	struct cow_disk_volume *rec = cow_node_value(n, rc->cursor);
	struct cow_root m;
	u64 owner = le64_to_cpu(rec->id);

	cow_root_from_disk(&rec->mapping, &m);
	rc->cursor++;
	rc->budget--;
	dropped(rc, 1);
	return cow_dead_push(rc->pmd, &m, COW_DEAD_MAPPING, owner);
}

/* Hand the child at the cursor over to a new entry. */
static int drop_child(struct reclaim *rc, struct cow_disk_node_header *n)
{
	struct cow_root c;

	cow_root_from_disk(cow_node_value(n, rc->cursor), &c);
	rc->cursor++;
	rc->budget--;
	/* Moved, not dropped: the new entry now counts these values. */
	rc->root.count -= c.count;
	if (rc->kind == COW_DEAD_MAPPING)
		rc->pmd->reclaiming -= c.count;
	return cow_dead_push(rc->pmd, &c, rc->kind,
			     le64_to_cpu(rc->d.owner_id));
}

/* Work on an entry whose root block is ours alone. */
static int process_node(struct reclaim *rc)
{
	struct cow_disk_node_header *n;
	struct cow_block *b;
	struct cow_disk_node_header *copy;
	u32 nr;
	int r;

	r = cow_btree_read_node(kind_info(rc), rc->root.blocknr, rc->root.txn, &b);
	if (r)
		return r;
	/* Work on a copy: pushing entries may evict or lock other blocks. */
	copy = kmalloc(COW_METADATA_BLOCK_SIZE, GFP_NOIO);
	if (!copy) {
		cow_tm_unlock(&rc->pmd->tm, b);
		return -ENOMEM;
	}
	memcpy(copy, cow_block_data(b), COW_METADATA_BLOCK_SIZE);
	cow_tm_unlock(&rc->pmd->tm, b);
	n = copy;
	nr = cow_node_nr(n);
	while (!r && rc->cursor < nr && rc->budget) {
		if (!cow_node_is_leaf(n))
			r = drop_child(rc, n);
		else if (rc->kind == COW_DEAD_MAPPING)
			r = drop_mappings(rc, n, nr);
		else
			r = drop_record(rc, n);
	}
	kfree(copy);
	if (r)
		return r;
	if (rc->cursor < nr)
		return save_entry(rc);
	r = cow_tm_dec(&rc->pmd->tm, rc->root.blocknr);
	return r ? r : remove_entry(rc);
}

static int process_entry(struct reclaim *rc)
{
	u32 count;
	int r;

	cow_root_from_disk(&rc->d.root, &rc->root);
	rc->kind = le32_to_cpu(rc->d.kind);
	rc->cursor = le32_to_cpu(rc->d.cursor);
	if (rc->kind != COW_DEAD_MAPPING && rc->kind != COW_DEAD_VOLUMES) {
		cow_err("dead tree entry %llu has unknown kind %u",
			(unsigned long long)rc->seq, rc->kind);
		return -EILSEQ;
	}
	if (!rc->root.blocknr)
		return remove_entry(rc);
	r = cow_tm_get_count(&rc->pmd->tm, rc->root.blocknr, &count);
	if (r)
		return r;
	if (count > 1 && !rc->cursor) {
		/* Still used elsewhere: just let go of it. */
		r = cow_tm_dec(&rc->pmd->tm, rc->root.blocknr);
		if (r)
			return r;
		rc->budget--;
		dropped(rc, rc->root.count);
		return remove_entry(rc);
	}
	return process_node(rc);
}

static int reclaim_step(struct cow_pool_metadata *pmd, unsigned int max_chunks)
{
	struct reclaim *rc;
	int r = 0;

	rc = kzalloc(sizeof(*rc), GFP_NOIO);
	if (!rc)
		return -ENOMEM;
	rc->pmd = pmd;
	rc->budget = max(max_chunks, 1u);
	/* Deleting records first: their trees join the dead list when done. */
	r = cow_acct_reclaim(pmd, &rc->budget);
	while (!r && rc->budget && pmd->dead_root.blocknr) {
		r = cow_btree_find_highest(&pmd->dead_info, &pmd->dead_root,
					   &rc->seq, &rc->d);
		if (!r)
			r = process_entry(rc);
	}
	kfree(rc);
	return r;
}

int cow_pmd_reclaim_step(struct cow_pool_metadata *pmd, unsigned int max_chunks,
			 bool *more)
{
	bool deleting = false;
	int r;

	down_write(&pmd->lock);
	r = cow_pmd_check_writable(pmd);
	if (!r)
		r = cow_acct_pending(pmd, &deleting);
	if (!r && (deleting || pmd->dead_root.blocknr))
		r = cow_pmd_note_change(pmd, reclaim_step(pmd, max_chunks));
	if (!r)
		r = cow_acct_pending(pmd, &deleting);
	*more = !r && (deleting || pmd->dead_root.blocknr);
	up_write(&pmd->lock);
	return r;
}
