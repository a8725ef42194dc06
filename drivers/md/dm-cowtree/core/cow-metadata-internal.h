/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree metadata engine: state shared by cow-metadata.c (pool),
 * cow-volume.c (volumes and mappings) and cow-reclaim.c (dead trees).
 */
#ifndef COW_METADATA_INTERNAL_H
#define COW_METADATA_INTERNAL_H

#include "cow-metadata.h"
#include "cow-format.h"
#include "cow-space-map.h"
#include "cow-transaction-manager.h"
#include "cow-btree.h"

/*
 * A translation cache entry: mapping value @value of vchunk @key - 1
 * (key 0: empty).  See cow-mapping.c.
 */
struct cow_xlate_entry {
	u64 key;
	u64 value;
};

#define COW_XLATE_ENTRIES 4096u	/* per open volume: 64 KiB */

struct cow_volume {
	struct cow_pool_metadata *pmd;
	struct cow_volume *next;	/* pmd->open_volumes */
	unsigned int open_count;
	bool quiesced;
	bool gone;		/* vanished by an abort: every call fails */
	bool dirty;		/* record differs from the volumes btree */
	u64 synced_gen;		/* records_gen when its leaf was made ours */
	u64 id;
	struct cow_disk_volume rec;	/* rec.mapping is stale: see mapping */
	struct cow_root mapping;
	u32 snap_time;
	u64 alloc_hint;
	u32 origin_time;
	u64 written;		/* written_since_origin */
	u64 exclusive;		/* exclusive_chunks */
	u64 family;
	/*
	 * Translation cache (NULL if it could not be allocated): entries
	 * change under pmd->lock held for writing, or under xlate_lock by
	 * readers holding it shared.
	 */
	struct cow_xlate_entry *xlate;
	spinlock_t xlate_lock;
};

#define COW_ACCT_PENDING 16u

struct cow_pool_metadata {
	struct rw_semaphore lock;
	struct cow_block_manager *bm;
	struct cow_space_map *msm;
	struct cow_space_map *dsm;
	struct cow_tm tm;

	struct cow_btree_info vol_info;	/* values: struct cow_disk_volume */
	struct cow_btree_info map_info;	/* values: __le64 mapping */
	struct cow_btree_info dead_info;	/* values: struct cow_disk_dead */

	/* The last committed superblock, as written. */
	struct cow_disk_superblock sb;

	/* Current transaction's view of the superblock fields. */
	u32 flags;
	u64 user_txn_id;
	u32 time;
	u32 held_time;
	u64 held_root, held_txn;
	struct cow_root volumes_root;
	struct cow_root dead_root;
	u64 dead_next_seq;
	u64 reclaiming;

	bool read_only;
	bool fail;		/* a change failed half-way: only abort helps */
	bool changed;
	bool time_used;		/* a mapping may carry the current time */
	bool accounting;	/* COMPAT_RO_EXCLUSIVE: see cow-account.c */
	/* Exclusive counts gained by closed volumes, not in their records yet. */
	unsigned int nr_acct_pending;
	struct {
		u64 id, delta;
	} acct_pending[COW_ACCT_PENDING];
	u64 records_gen;
	struct cow_volume *open_volumes;
};

/*----------------------------------------------------------------*/
/* cow-metadata.c */

/* Common entry checks of every function that changes the pool. */
int cow_pmd_check_writable(struct cow_pool_metadata *pmd);

/*
 * Metadata blocks one mapping change may need at most (a path of every
 * tree involved, each node possibly split).  Operations that add mappings
 * or volumes refuse to start with less, so running out of metadata space
 * is a clean -ENOSPC rather than a half-done change.
 */
#define COW_OP_METADATA_RESERVE 64u
/* As cow_pmd_check_writable(), plus room for one more mapping change. */
int cow_pmd_check_space(struct cow_pool_metadata *pmd);
/* Record the outcome of a change: an error makes the pool need an abort. */
int cow_pmd_note_change(struct cow_pool_metadata *pmd, int r);
/* Start a new sharing epoch if any mapping carries the current time. */
int cow_pmd_bump_time(struct cow_pool_metadata *pmd);

/*----------------------------------------------------------------*/
/* cow-mapping.c: the translation cache of open volumes */

void cow_xlate_init(struct cow_volume *vol);
void cow_xlate_exit(struct cow_volume *vol);
/* Forget every cached translation (the mapping root changed). */
void cow_xlate_clear(struct cow_volume *vol);

/*----------------------------------------------------------------*/
/* cow-volume.c */

void cow_vol_init_infos(struct cow_pool_metadata *pmd);
/* Write every changed open volume's record into the volumes btree. */
int cow_vol_flush_open(struct cow_pool_metadata *pmd);
/* After an abort: reload open volumes' records (or mark them gone). */
void cow_vol_reload_open(struct cow_pool_metadata *pmd);
struct cow_volume *cow_vol_find_open(struct cow_pool_metadata *pmd, u64 id);
/* Before @vol's mapping tree changes: see cow-volume.c. */
int cow_vol_ensure_own_record(struct cow_volume *vol);
/* Records by id, live or deleting; an open volume's handle stays in step. */
int cow_vol_read_record(struct cow_pool_metadata *pmd, u64 id,
			struct cow_disk_volume *rec);
int cow_vol_write_record(struct cow_pool_metadata *pmd,
			 const struct cow_disk_volume *rec);

/*
 * May mapping value @v of a tree last shared at @snap_time be reachable
 * from another tree (or the held root)?  See cow-volume.c.
 */
static inline bool cow_mapping_maybe_shared(const struct cow_pool_metadata *pmd,
					    u32 snap_time, u64 v)
{
	u32 t = cow_mapping_time(v);

	return t < snap_time || (pmd->held_time && t < pmd->held_time);
}

/*----------------------------------------------------------------*/
/* cow-account.c: exclusive chunk accounting (COMPAT_RO_EXCLUSIVE) */

static inline bool cow_id_deleting(u64 id)
{
	return id >= COW_DELETING_ID_BASE;
}

/*
 * Record @dropper (a volume or deleting record of @family) no longer maps
 * @dchunk at @key: find the remaining holders.  *was_sole is set if there
 * are none (the chunk was the dropper's alone); if exactly one live volume
 * remains, its exclusive count grows.
 */
int cow_acct_drop(struct cow_pool_metadata *pmd, u64 dropper, u64 family,
		  u64 key, u64 dchunk, bool *was_sole);
/*
 * @vol's mapping of @dchunk went away and the chunk's reference count is
 * now @count: apply cow_acct_drop()'s rule, adjusting @vol's own count.
 */
int cow_acct_vol_dropped(struct cow_volume *vol, u64 key, u64 dchunk,
			 u32 count);
/*
 * Record @gainer (a live volume of @family) is about to map @dchunk at
 * @key too: if the chunk had exactly one holder and it is a live volume,
 * the chunk is no longer exclusive to it.
 */
int cow_acct_gain(struct cow_pool_metadata *pmd, u64 gainer, u64 family,
		  u64 key, u64 dchunk);
/* Turn the (removed) record @rec into a deleting record; takes its tree. */
int cow_acct_retire(struct cow_pool_metadata *pmd, struct cow_disk_volume *rec);
/* Account deleting records' chunks, spending *budget; see cow-account.c. */
int cow_acct_reclaim(struct cow_pool_metadata *pmd, unsigned int *budget);
/* Are there deleting records? */
int cow_acct_pending(struct cow_pool_metadata *pmd, bool *result);
/*
 * Gains of closed volumes are batched in memory: cow_acct_flush() writes
 * them into the records (before anything else reads records for a change,
 * and at commit); cow_acct_take() hands @id's gain to a reader, and
 * removes it from the batch if @consume (the caller holds the lock for
 * writing and now owns the count).
 */
int cow_acct_flush(struct cow_pool_metadata *pmd);
u64 cow_acct_take(struct cow_pool_metadata *pmd, u64 id, bool consume);

/*----------------------------------------------------------------*/
/* cow-reclaim.c */

/* Queue a tree for reclamation; takes over the caller's reference. */
int cow_dead_push(struct cow_pool_metadata *pmd, const struct cow_root *root,
		  u32 kind, u64 owner_id);

#endif
