// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree metadata engine: pool lifetime, commit and pool properties.
 */
#include "cow-metadata-internal.h"

/*----------------------------------------------------------------*/
/* Loading and saving the superblock */

static void sb_to_pmd(struct cow_pool_metadata *pmd)
{
	struct cow_disk_superblock *sb = &pmd->sb;

	pmd->flags = le32_to_cpu(sb->flags);
	pmd->user_txn_id = le64_to_cpu(sb->user_txn_id);
	pmd->time = le32_to_cpu(sb->time);
	pmd->held_time = le32_to_cpu(sb->held_time);
	pmd->held_root = le64_to_cpu(sb->held_root.blocknr);
	pmd->held_txn = le64_to_cpu(sb->held_root.txn);
	cow_root_from_disk(&sb->volumes_root, &pmd->volumes_root);
	cow_root_from_disk(&sb->dead_root, &pmd->dead_root);
	pmd->dead_next_seq = le64_to_cpu(sb->dead_next_seq);
	pmd->reclaiming = le64_to_cpu(sb->reclaiming_chunks);
	pmd->accounting = le64_to_cpu(sb->compat_ro_flags) &
		COW_FEATURE_COMPAT_RO_EXCLUSIVE;
	/* We cannot know whether a mapping carries the current time. */
	pmd->time_used = true;
}

static void pmd_to_sb(struct cow_pool_metadata *pmd, struct cow_disk_superblock *sb,
		      u64 msm_root, u64 msm_txn)
{
	struct cow_root dsm_root;
	u64 dsm_allocated;

	*sb = pmd->sb;
	sb->flags = cpu_to_le32(pmd->flags);
	sb->nr_data_chunks = cpu_to_le64(cow_sm_nr_blocks(pmd->dsm));
	sb->nr_metadata_blocks = cpu_to_le64(cow_sm_nr_blocks(pmd->msm));
	sb->user_txn_id = cpu_to_le64(pmd->user_txn_id);
	sb->time = cpu_to_le32(pmd->time);
	sb->held_time = cpu_to_le32(pmd->held_time);
	sb->msm_root.blocknr = cpu_to_le64(msm_root);
	sb->msm_root.txn = cpu_to_le64(msm_txn);
	cow_dsm_get_root(pmd->dsm, &dsm_root, &dsm_allocated);
	cow_root_to_disk(&dsm_root, &sb->dsm_root);
	sb->dsm_nr_allocated = cpu_to_le64(dsm_allocated);
	cow_root_to_disk(&pmd->volumes_root, &sb->volumes_root);
	cow_root_to_disk(&pmd->dead_root, &sb->dead_root);
	sb->dead_next_seq = cpu_to_le64(pmd->dead_next_seq);
	sb->reclaiming_chunks = cpu_to_le64(pmd->reclaiming);
	sb->held_root.blocknr = cpu_to_le64(pmd->held_root);
	sb->held_root.txn = cpu_to_le64(pmd->held_txn);
	sb->msm_nr_allocated = cpu_to_le64(cow_sm_nr_blocks(pmd->msm) -
					   cow_sm_nr_free(pmd->msm));
}

/* Write @sb (already complete apart from the header) as block 0. */
static int write_sb(struct cow_pool_metadata *pmd,
		    const struct cow_disk_superblock *sb, struct cow_block **result)
{
	int r;

	r = cow_bm_write_lock_zero(pmd->bm, COW_SUPERBLOCK_LOCATION,
				   &cow_sb_validator, result);
	if (r)
		return r;
	memcpy(cow_block_data(*result), sb, sizeof(*sb));
	return 0;
}

static int commit(struct cow_pool_metadata *pmd)
{
	struct cow_disk_superblock *sb;
	struct cow_block *b;
	u64 msm_root, msm_txn;
	int r;

	r = cow_vol_flush_open(pmd);
	if (r)
		return r;
	sb = kmalloc(sizeof(*sb), GFP_NOIO);
	if (!sb)
		return -ENOMEM;
	/* Chunks allocated for writes not mapped yet stay out of the commit. */
	r = cow_dsm_pre_commit(pmd->dsm);
	if (r)
		goto out;
	/* Phase one: everything but the superblock is durable. */
	r = cow_tm_pre_commit(&pmd->tm, &msm_root, &msm_txn);
	if (r)
		goto out;
	pmd_to_sb(pmd, sb, msm_root, msm_txn);
	sb->hdr.txn = cpu_to_le64(pmd->tm.txn);
	r = write_sb(pmd, sb, &b);
	if (r)
		goto out;
	/* Phase two: the superblock switches to the new transaction. */
	r = cow_tm_commit(&pmd->tm, b);
	if (r)
		goto out;
	cow_sm_commit_done(pmd->dsm);
	pmd->sb = *sb;
	pmd->changed = false;
	pmd->records_gen++;
	/* ... and are allocated again in the new transaction. */
	r = cow_dsm_post_commit(pmd->dsm, &pmd->changed);
out:
	kfree(sb);
	return r;
}

/*----------------------------------------------------------------*/
/* Opening */

static void unload(struct cow_pool_metadata *pmd)
{
	if (pmd->dsm)
		cow_sm_destroy(pmd->dsm);
	if (pmd->msm)
		cow_sm_destroy(pmd->msm);
	pmd->dsm = pmd->msm = NULL;
}

static int check_sb(struct cow_pool_metadata *pmd, u32 chunk_sectors)
{
	struct cow_disk_superblock *sb = &pmd->sb;
	u32 cs = le32_to_cpu(sb->chunk_sectors);

	if (le64_to_cpu(sb->magic) != COW_SB_MAGIC) {
		cow_err("superblock has a bad magic number: not a cowtree pool");
		return -EILSEQ;
	}
	if (le32_to_cpu(sb->version) != COW_FORMAT_VERSION) {
		cow_err("pool metadata version %u is not supported (only %u)",
			le32_to_cpu(sb->version), COW_FORMAT_VERSION);
		return -EINVAL;
	}
	if (le64_to_cpu(sb->incompat_flags) & ~COW_FEATURE_INCOMPAT_SUPP) {
		cow_err("pool uses unsupported incompatible features 0x%llx",
			(unsigned long long)le64_to_cpu(sb->incompat_flags));
		return -EINVAL;
	}
	if (!pmd->read_only &&
	    (le64_to_cpu(sb->compat_ro_flags) & ~COW_FEATURE_COMPAT_RO_SUPP)) {
		cow_err("pool uses features that allow only read-only access");
		return -EROFS;
	}
	if (le32_to_cpu(sb->metadata_block_size) != COW_METADATA_BLOCK_SIZE) {
		cow_err("metadata block size %u is not supported",
			le32_to_cpu(sb->metadata_block_size));
		return -EINVAL;
	}
	if (chunk_sectors && chunk_sectors != cs) {
		cow_err("chunk size mismatch: pool has %u sectors, table says %u",
			cs, chunk_sectors);
		return -EINVAL;
	}
	if (le64_to_cpu(sb->msm_root.txn) > le64_to_cpu(sb->hdr.txn) ||
	    le64_to_cpu(sb->dsm_root.txn) > le64_to_cpu(sb->hdr.txn) ||
	    le64_to_cpu(sb->volumes_root.txn) > le64_to_cpu(sb->hdr.txn) ||
	    le64_to_cpu(sb->dead_root.txn) > le64_to_cpu(sb->hdr.txn) ||
	    le64_to_cpu(sb->held_root.txn) > le64_to_cpu(sb->hdr.txn)) {
		cow_err("superblock (transaction %llu) is older than the blocks it references: stale",
			(unsigned long long)le64_to_cpu(sb->hdr.txn));
		return -EILSEQ;
	}
	if (le64_to_cpu(sb->nr_metadata_blocks) > cow_bm_nr_blocks(pmd->bm)) {
		cow_err("metadata device is smaller (%llu blocks) than the pool's metadata (%llu)",
			(unsigned long long)cow_bm_nr_blocks(pmd->bm),
			(unsigned long long)le64_to_cpu(sb->nr_metadata_blocks));
		return -EINVAL;
	}
	return 0;
}

static int read_sb(struct cow_pool_metadata *pmd)
{
	struct cow_block *b;
	int r;

	r = cow_bm_read_lock(pmd->bm, COW_SUPERBLOCK_LOCATION, &cow_sb_validator,
			     &b);
	if (r) {
		cow_err("cannot read the pool superblock: %d", r);
		return r;
	}
	memcpy(&pmd->sb, cow_block_data(b), sizeof(pmd->sb));
	cow_bm_unlock(pmd->bm, b);
	cow_bm_set_csum_seed(pmd->bm, cow_sb_csum_seed(&pmd->sb));
	return 0;
}

/* Build the in-core state from pmd->sb. */
static int load(struct cow_pool_metadata *pmd)
{
	struct cow_disk_superblock *sb = &pmd->sb;
	struct cow_root dsm_root;
	u64 txn = le64_to_cpu(sb->hdr.txn);
	int r;

	r = cow_msm_open(pmd->bm, le64_to_cpu(sb->msm_root.blocknr),
			 le64_to_cpu(sb->msm_root.txn), &pmd->msm);
	if (r)
		return r;
	if (cow_sm_nr_blocks(pmd->msm) != le64_to_cpu(sb->nr_metadata_blocks)) {
		cow_err("metadata space map size disagrees with the superblock");
		return -EILSEQ;
	}
	cow_tm_init(&pmd->tm, pmd->bm, pmd->msm, txn + 1);
	cow_root_from_disk(&sb->dsm_root, &dsm_root);
	r = cow_dsm_open(&pmd->tm, &dsm_root, le64_to_cpu(sb->nr_data_chunks),
			 le64_to_cpu(sb->dsm_nr_allocated), &pmd->dsm);
	if (r)
		return r;
	sb_to_pmd(pmd);
	pmd->changed = false;
	pmd->fail = false;
	pmd->records_gen++;
	return 0;
}

static struct cow_pool_metadata *alloc_pmd(struct cow_block_manager *bm)
{
	struct cow_pool_metadata *pmd = kzalloc(sizeof(*pmd), GFP_KERNEL);

	if (!pmd)
		return NULL;
	init_rwsem(&pmd->lock);
	pmd->bm = bm;
	cow_vol_init_infos(pmd);
	return pmd;
}

int cow_pmd_is_unformatted(struct cow_block_manager *bm, bool *result)
{
	struct cow_block *b;
	const u8 *p;
	unsigned int i;
	int r;

	r = cow_bm_read_lock(bm, COW_SUPERBLOCK_LOCATION, NULL, &b);
	if (r)
		return r;
	p = cow_block_data(b);
	*result = true;
	for (i = 0; i < COW_METADATA_BLOCK_SIZE; i++)
		if (p[i]) {
			*result = false;
			break;
		}
	cow_bm_unlock(bm, b);
	return 0;
}

int cow_pmd_format(struct cow_block_manager *bm, u32 chunk_sectors,
		   u64 nr_data_chunks)
{
	return cow_pmd_format_uuid(bm, chunk_sectors, nr_data_chunks, NULL);
}

int cow_pmd_format_uuid(struct cow_block_manager *bm, u32 chunk_sectors,
			u64 nr_data_chunks, const u8 *uuid)
{
	struct cow_pool_metadata *pmd;
	struct cow_disk_superblock *sb;
	u64 nr_blocks = min_t(u64, cow_bm_nr_blocks(bm), COW_MAX_METADATA_BLOCKS);
	u64 b;
	int r;

	cow_format_build_checks();
	if (chunk_sectors < COW_MIN_CHUNK_SECTORS ||
	    chunk_sectors > COW_MAX_CHUNK_SECTORS ||
	    (chunk_sectors & (chunk_sectors - 1)) ||
	    nr_data_chunks > COW_MAX_DATA_CHUNKS ||
	    nr_blocks < COW_MIN_METADATA_BLOCKS || cow_bm_is_read_only(bm))
		return -EINVAL;
	pmd = alloc_pmd(bm);
	if (!pmd)
		return -ENOMEM;
	sb = &pmd->sb;
	if (uuid)
		memcpy(sb->uuid, uuid, sizeof(sb->uuid));
	else
		cow_random_bytes(sb->uuid, sizeof(sb->uuid));
	/* Before the first block is written: every one carries the seed. */
	sb->incompat_flags = cpu_to_le64(COW_FEATURE_INCOMPAT_UUID_CSUM);
	cow_bm_set_csum_seed(bm, cow_sb_csum_seed(sb));
	r = cow_msm_create(bm, nr_blocks, &pmd->msm);
	if (r)
		goto out;
	/* The superblock's own block is the first allocation. */
	r = cow_sm_new_block(pmd->msm, COW_SUPERBLOCK_LOCATION, &b);
	if (!r && b != COW_SUPERBLOCK_LOCATION)
		r = -EINVAL;
	if (r)
		goto out;
	cow_tm_init(&pmd->tm, bm, pmd->msm, 1);
	r = cow_dsm_create(&pmd->tm, nr_data_chunks, &pmd->dsm);
	if (r)
		goto out;
	sb->magic = cpu_to_le64(COW_SB_MAGIC);
	sb->version = cpu_to_le32(COW_FORMAT_VERSION);
	sb->metadata_block_size = cpu_to_le32(COW_METADATA_BLOCK_SIZE);
	sb->chunk_sectors = cpu_to_le32(chunk_sectors);
	sb->compat_ro_flags = cpu_to_le64(COW_FEATURE_COMPAT_RO_WRITTEN |
					  COW_FEATURE_COMPAT_RO_EXCLUSIVE);
	pmd->time = 1;
	pmd->changed = true;
	r = commit(pmd);
out:
	unload(pmd);
	kfree(pmd);
	return r;
}

static int grow_data_on_open(struct cow_pool_metadata *pmd, u64 nr)
{
	u64 cur = cow_sm_nr_blocks(pmd->dsm);
	int r;

	if (!nr || nr == cur)
		return 0;
	if (nr < cur) {
		cow_err("data device (%llu chunks) is smaller than the pool's (%llu)",
			(unsigned long long)nr, (unsigned long long)cur);
		return -EINVAL;
	}
	if (pmd->read_only)
		return 0;
	r = cow_sm_extend(pmd->dsm, nr);
	if (r)
		return r;
	pmd->changed = true;
	return commit(pmd);
}

int cow_pmd_open(struct cow_block_manager *bm,
		 const struct cow_pmd_open_args *args,
		 struct cow_pool_metadata **result)
{
	struct cow_pool_metadata *pmd;
	int r;

	pmd = alloc_pmd(bm);
	if (!pmd)
		return -ENOMEM;
	pmd->read_only = args->read_only;
	if (pmd->read_only)
		cow_bm_set_read_only(bm, true);
	r = read_sb(pmd);
	if (!r)
		r = check_sb(pmd, args->chunk_sectors);
	if (!r)
		r = load(pmd);
	if (!r)
		r = grow_data_on_open(pmd, args->nr_data_chunks);
	if (!r && args->drop_exclusive && pmd->accounting && !pmd->read_only) {
		pmd->accounting = false;
		pmd->sb.compat_ro_flags &=
			cpu_to_le64(~COW_FEATURE_COMPAT_RO_EXCLUSIVE);
		pmd->changed = true;
	}
	if (r) {
		unload(pmd);
		kfree(pmd);
		cow_bm_invalidate(bm);
		return r;
	}
	*result = pmd;
	return 0;
}

void cow_pmd_close(struct cow_pool_metadata *pmd)
{
	if (pmd->open_volumes)
		cow_err("pool closed with volumes still open");
	unload(pmd);
	kfree(pmd);
}

/*----------------------------------------------------------------*/
/* Transactions */

int cow_pmd_check_writable(struct cow_pool_metadata *pmd)
{
	if (pmd->read_only)
		return -EPERM;
	if (pmd->fail)
		return -EIO;
	return 0;
}

int cow_pmd_check_space(struct cow_pool_metadata *pmd)
{
	int r = cow_pmd_check_writable(pmd);

	if (!r && cow_msm_nr_available(pmd->msm) < COW_OP_METADATA_RESERVE)
		r = -ENOSPC;
	return r;
}

int cow_pmd_note_change(struct cow_pool_metadata *pmd, int r)
{
	if (r && r != -EWOULDBLOCK)
		pmd->fail = true;
	pmd->changed = true;
	return r;
}

int cow_pmd_bump_time(struct cow_pool_metadata *pmd)
{
	if (!pmd->time_used)
		return 0;
	if (pmd->time >= COW_MAX_TIME) {
		cow_err("sharing time exhausted (%u snapshot epochs)", COW_MAX_TIME);
		return -EOVERFLOW;
	}
	pmd->time++;
	pmd->time_used = false;
	pmd->changed = true;
	return 0;
}

int cow_pmd_commit(struct cow_pool_metadata *pmd)
{
	int r;

	down_write(&pmd->lock);
	r = cow_pmd_check_writable(pmd);
	if (!r && pmd->changed) {
		r = commit(pmd);
		if (r)
			pmd->fail = true;
	}
	up_write(&pmd->lock);
	return r;
}

int cow_pmd_abort(struct cow_pool_metadata *pmd)
{
	int r;

	down_write(&pmd->lock);
	unload(pmd);
	cow_bm_invalidate(pmd->bm);
	r = read_sb(pmd);
	if (!r)
		r = load(pmd);
	if (r)
		pmd->fail = true;
	else
		cow_vol_reload_open(pmd);
	up_write(&pmd->lock);
	return r;
}

bool cow_pmd_changed_this_transaction(struct cow_pool_metadata *pmd)
{
	bool r;

	down_read(&pmd->lock);
	r = pmd->changed;
	up_read(&pmd->lock);
	return r;
}

/*----------------------------------------------------------------*/
/* Pool properties */

u32 cow_pmd_chunk_sectors(struct cow_pool_metadata *pmd)
{
	return le32_to_cpu(pmd->sb.chunk_sectors);
}

int cow_pmd_get_transaction_id(struct cow_pool_metadata *pmd, u64 *result)
{
	down_read(&pmd->lock);
	*result = pmd->user_txn_id;
	up_read(&pmd->lock);
	return 0;
}

int cow_pmd_set_transaction_id(struct cow_pool_metadata *pmd, u64 old, u64 new)
{
	int r;

	down_write(&pmd->lock);
	r = cow_pmd_check_writable(pmd);
	if (!r && pmd->user_txn_id != old) {
		cow_err("transaction id mismatch: expected %llu, have %llu",
			(unsigned long long)old,
			(unsigned long long)pmd->user_txn_id);
		r = -EINVAL;
	}
	if (!r) {
		pmd->user_txn_id = new;
		pmd->changed = true;
	}
	up_write(&pmd->lock);
	return r;
}

/*
 * The space maps' counts.  After an abort that could not reload them
 * (pmd->fail) there are none: an error, as for every other call.
 */
static int sm_count(struct cow_pool_metadata *pmd, bool data, bool free,
		    u64 *result)
{
	struct cow_space_map *sm;
	int r = 0;

	down_read(&pmd->lock);
	sm = data ? pmd->dsm : pmd->msm;
	if (pmd->fail)
		r = -EIO;
	else
		*result = free ? cow_sm_nr_free(sm) : cow_sm_nr_blocks(sm);
	up_read(&pmd->lock);
	return r;
}

int cow_pmd_get_nr_data_chunks(struct cow_pool_metadata *pmd, u64 *result)
{
	return sm_count(pmd, true, false, result);
}

int cow_pmd_get_free_data_chunks(struct cow_pool_metadata *pmd, u64 *result)
{
	return sm_count(pmd, true, true, result);
}

int cow_pmd_get_nr_metadata_blocks(struct cow_pool_metadata *pmd, u64 *result)
{
	return sm_count(pmd, false, false, result);
}

int cow_pmd_get_free_metadata_blocks(struct cow_pool_metadata *pmd,
				     u64 *result)
{
	return sm_count(pmd, false, true, result);
}

bool cow_pmd_metadata_exhausted(struct cow_pool_metadata *pmd)
{
	bool r;

	down_read(&pmd->lock);
	r = !pmd->fail &&
	    cow_msm_nr_available(pmd->msm) < COW_OP_METADATA_RESERVE;
	up_read(&pmd->lock);
	return r;
}

int cow_pmd_resize_data(struct cow_pool_metadata *pmd, u64 new_nr_chunks)
{
	int r;

	down_write(&pmd->lock);
	r = cow_pmd_check_writable(pmd);
	if (!r && (new_nr_chunks < cow_sm_nr_blocks(pmd->dsm) ||
		   new_nr_chunks > COW_MAX_DATA_CHUNKS))
		r = -EINVAL;
	if (!r && new_nr_chunks != cow_sm_nr_blocks(pmd->dsm))
		r = cow_pmd_note_change(pmd, cow_sm_extend(pmd->dsm, new_nr_chunks));
	up_write(&pmd->lock);
	return r;
}

int cow_pmd_resize_metadata(struct cow_pool_metadata *pmd, u64 new_nr_blocks)
{
	int r;

	down_write(&pmd->lock);
	r = cow_pmd_check_writable(pmd);
	if (!r && (new_nr_blocks < cow_sm_nr_blocks(pmd->msm) ||
		   new_nr_blocks > cow_bm_nr_blocks(pmd->bm) ||
		   new_nr_blocks > COW_MAX_METADATA_BLOCKS))
		r = -EINVAL;
	if (!r && new_nr_blocks != cow_sm_nr_blocks(pmd->msm))
		r = cow_pmd_note_change(pmd, cow_sm_extend(pmd->msm, new_nr_blocks));
	up_write(&pmd->lock);
	return r;
}

/*----------------------------------------------------------------*/
/*
 * needs_check: written into the last committed superblock at once,
 * without committing the current transaction (which may be the broken
 * one that made us set the flag).
 */

static int write_flags(struct cow_pool_metadata *pmd, u32 flags)
{
	struct cow_disk_superblock *sb;
	struct cow_block *b;
	int r;

	if (cow_bm_is_read_only(pmd->bm))
		return -EPERM;
	sb = kmalloc(sizeof(*sb), GFP_NOIO);
	if (!sb)
		return -ENOMEM;
	*sb = pmd->sb;
	sb->flags = cpu_to_le32(flags);
	r = write_sb(pmd, sb, &b);
	if (!r) {
		cow_bm_unlock(pmd->bm, b);
		r = cow_bm_flush(pmd->bm);
	}
	if (!r) {
		pmd->sb.flags = sb->flags;
		pmd->flags = flags;
	}
	kfree(sb);
	return r;
}

bool cow_pmd_needs_check(struct cow_pool_metadata *pmd)
{
	bool r;

	down_read(&pmd->lock);
	r = pmd->flags & COW_SB_F_NEEDS_CHECK;
	up_read(&pmd->lock);
	return r;
}

int cow_pmd_set_needs_check(struct cow_pool_metadata *pmd)
{
	int r;

	down_write(&pmd->lock);
	r = write_flags(pmd, pmd->flags | COW_SB_F_NEEDS_CHECK);
	up_write(&pmd->lock);
	return r;
}

int cow_pmd_clear_needs_check(struct cow_pool_metadata *pmd)
{
	int r;

	down_write(&pmd->lock);
	r = write_flags(pmd, pmd->flags & ~COW_SB_F_NEEDS_CHECK);
	up_write(&pmd->lock);
	return r;
}

/*----------------------------------------------------------------*/
/* Held metadata snapshot */

static int reserve_snap(struct cow_pool_metadata *pmd)
{
	struct cow_disk_held *h;
	struct cow_block *b;
	int r;

	r = cow_vol_flush_open(pmd);
	if (!r)
		r = cow_pmd_bump_time(pmd);
	if (!r)
		r = cow_tm_new_block(&pmd->tm, &cow_held_validator, COW_BT_HELD, &b);
	if (r)
		return r;
	h = cow_block_data(b);
	cow_root_to_disk(&pmd->volumes_root, &h->volumes_root);
	h->user_txn_id = cpu_to_le64(pmd->user_txn_id);
	h->nr_data_chunks = cpu_to_le64(cow_sm_nr_blocks(pmd->dsm));
	h->time = cpu_to_le32(pmd->time);
	h->chunk_sectors = pmd->sb.chunk_sectors;
	pmd->held_root = cow_block_location(b);
	pmd->held_txn = pmd->tm.txn;
	cow_bm_unlock(pmd->bm, b);
	if (pmd->volumes_root.blocknr) {
		r = cow_tm_inc(&pmd->tm, pmd->volumes_root.blocknr);
		if (r)
			return r;
	}
	/* Every mapping existing now is reachable from the held root. */
	pmd->held_time = pmd->time;
	/* Volumes btree nodes are shared again: re-own them before writes. */
	pmd->records_gen++;
	return 0;
}

int cow_pmd_reserve_metadata_snap(struct cow_pool_metadata *pmd)
{
	int r;

	down_write(&pmd->lock);
	r = cow_pmd_check_writable(pmd);
	if (!r && pmd->held_root)
		r = -EBUSY;
	if (!r)
		r = cow_pmd_note_change(pmd, reserve_snap(pmd));
	up_write(&pmd->lock);
	return r;
}

static int release_snap(struct cow_pool_metadata *pmd)
{
	struct cow_disk_held *h;
	struct cow_block *b;
	struct cow_root vr;
	int r;

	r = cow_tm_read_lock(&pmd->tm, pmd->held_root, pmd->held_txn,
			     &cow_held_validator, &b);
	if (r)
		return r;
	h = cow_block_data(b);
	cow_root_from_disk(&h->volumes_root, &vr);
	cow_bm_unlock(pmd->bm, b);
	r = cow_dead_push(pmd, &vr, COW_DEAD_VOLUMES, COW_NO_ORIGIN);
	if (r)
		return r;
	r = cow_tm_dec(&pmd->tm, pmd->held_root);
	pmd->held_root = pmd->held_txn = 0;
	pmd->held_time = 0;
	return r;
}

int cow_pmd_release_metadata_snap(struct cow_pool_metadata *pmd)
{
	int r;

	down_write(&pmd->lock);
	r = cow_pmd_check_writable(pmd);
	if (!r && !pmd->held_root)
		r = -EINVAL;
	if (!r)
		r = cow_pmd_note_change(pmd, release_snap(pmd));
	up_write(&pmd->lock);
	return r;
}

int cow_pmd_get_held_root(struct cow_pool_metadata *pmd, u64 *result)
{
	down_read(&pmd->lock);
	*result = pmd->held_root;
	up_read(&pmd->lock);
	return 0;
}

bool cow_pmd_reclaim_pending(struct cow_pool_metadata *pmd)
{
	bool r;

	down_read(&pmd->lock);
	r = pmd->reclaiming || pmd->dead_root.blocknr;
	up_read(&pmd->lock);
	return r;
}

int cow_pmd_get_reclaiming_chunks(struct cow_pool_metadata *pmd, u64 *result)
{
	down_read(&pmd->lock);
	*result = pmd->reclaiming;
	up_read(&pmd->lock);
	return 0;
}
