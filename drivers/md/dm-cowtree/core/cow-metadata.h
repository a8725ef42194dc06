/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree metadata engine: the pool/volume domain API.
 *
 * This is the only interface the kernel target and the tools use to change
 * pool metadata; nothing outside core/ touches a btree or a space map.  Like
 * dm-thin-metadata, every function takes the pool's internal rw-semaphore,
 * so callers need no locking of their own.
 *
 * Units: "chunk" is a data-device allocation unit of chunk_sectors 512-byte
 * sectors; volume chunk indexes (vchunk) are offsets into a volume, data
 * chunk numbers (dchunk) are offsets into the data device.
 *
 * Every change is part of the current transaction, which becomes durable
 * only at cow_pmd_commit().  After a crash the pool opens exactly at the last
 * commit.  Data chunks freed in the current transaction are not reallocated
 * before it commits, so a crash never exposes a reused chunk through an old
 * mapping.
 */
#ifndef COW_METADATA_H
#define COW_METADATA_H

#include "cow-platform.h"
#include "cow-block-manager.h"

#define COW_MIN_CHUNK_SECTORS 8u	/* 4 KiB */
#define COW_MAX_CHUNK_SECTORS 2048u	/* 1 MiB */
#define COW_VOLUME_NAME_LEN 64u	/* including the terminating NUL */
#define COW_MAX_VOLUME_ID ((1ULL << 48) - 1)

struct cow_pool_metadata;
struct cow_volume;

/*----------------------------------------------------------------*/
/* Pool lifetime */

/* True if the first metadata block is all zeroes (a fresh device). */
int cow_pmd_is_unformatted(struct cow_block_manager *bm, bool *result);

/*
 * Write a new, empty pool to @bm (which must be writable) and commit it.
 * @nr_data_chunks is the data device size in chunks.  The pool gets a
 * random uuid, which seeds every block checksum (INCOMPAT_UUID_CSUM);
 * @bm's checksum seed is set to it.
 */
int cow_pmd_format(struct cow_block_manager *bm, u32 chunk_sectors,
		   u64 nr_data_chunks);

/* As cow_pmd_format(), with the 16-byte @uuid (a restored pool keeps its own). */
int cow_pmd_format_uuid(struct cow_block_manager *bm, u32 chunk_sectors,
			u64 nr_data_chunks, const u8 *uuid);

struct cow_pmd_open_args {
	u32 chunk_sectors;	/* 0: accept what the superblock says */
	u64 nr_data_chunks;	/* 0: keep; larger: grow data space map */
	bool read_only;
	/*
	 * Stop maintaining exclusive_chunks: clears COMPAT_RO_EXCLUSIVE for
	 * good (only a restore brings it back).  For measuring its cost.
	 */
	bool drop_exclusive;
};

/*
 * Open a formatted pool.  Validates magic, version, checksums and chunk
 * size; on any mismatch returns a negative errno, logs one clear sentence
 * with cow_err() and writes nothing.  The pool keeps a pointer to @bm but
 * does not own it.
 */
int cow_pmd_open(struct cow_block_manager *bm,
		 const struct cow_pmd_open_args *args,
		 struct cow_pool_metadata **result);

/* Closes every volume handle first (the caller must have done that). */
void cow_pmd_close(struct cow_pool_metadata *pmd);

/* Make everything done since the last commit durable (two-phase). */
int cow_pmd_commit(struct cow_pool_metadata *pmd);

/* Throw away everything since the last commit and re-read the superblock. */
int cow_pmd_abort(struct cow_pool_metadata *pmd);

/* True if anything changed since the last commit. */
bool cow_pmd_changed_this_transaction(struct cow_pool_metadata *pmd);

/*----------------------------------------------------------------*/
/* Pool properties */

u32 cow_pmd_chunk_sectors(struct cow_pool_metadata *pmd);

/* The user-visible transaction id (set_transaction_id message). */
int cow_pmd_get_transaction_id(struct cow_pool_metadata *pmd, u64 *result);
/* Fails with -EINVAL unless the current id is @old. */
int cow_pmd_set_transaction_id(struct cow_pool_metadata *pmd, u64 old, u64 new);

/* Space map counts; -EIO once an abort could not reload the space maps. */
int cow_pmd_get_nr_data_chunks(struct cow_pool_metadata *pmd, u64 *result);
int cow_pmd_get_free_data_chunks(struct cow_pool_metadata *pmd, u64 *result);
int cow_pmd_get_nr_metadata_blocks(struct cow_pool_metadata *pmd, u64 *result);
int cow_pmd_get_free_metadata_blocks(struct cow_pool_metadata *pmd,
				     u64 *result);

/*
 * True while the metadata device has less room than one operation may
 * need: an -ENOSPC from an operation is then the metadata's, which makes
 * the pool read-only, not the data device's, which only stops allocation.
 */
bool cow_pmd_metadata_exhausted(struct cow_pool_metadata *pmd);

/* Grow (never shrink: -EINVAL) the data or metadata space. */
int cow_pmd_resize_data(struct cow_pool_metadata *pmd, u64 new_nr_chunks);
int cow_pmd_resize_metadata(struct cow_pool_metadata *pmd, u64 new_nr_blocks);

/* needs_check flag in the superblock; set is committed at once. */
bool cow_pmd_needs_check(struct cow_pool_metadata *pmd);
int cow_pmd_set_needs_check(struct cow_pool_metadata *pmd);
int cow_pmd_clear_needs_check(struct cow_pool_metadata *pmd);

/*
 * Metadata snapshot for live userspace reads (like dm-thin): a frozen copy
 * of the superblock's roots, refcounted so it survives later commits.
 */
int cow_pmd_reserve_metadata_snap(struct cow_pool_metadata *pmd);
int cow_pmd_release_metadata_snap(struct cow_pool_metadata *pmd);
/* Block number of the held root, or 0 if none is held. */
int cow_pmd_get_held_root(struct cow_pool_metadata *pmd, u64 *result);

/* Chunks still referenced by deleted volumes awaiting reclamation. */
int cow_pmd_get_reclaiming_chunks(struct cow_pool_metadata *pmd, u64 *result);
/*
 * Is there anything for cow_pmd_reclaim_step() to do: chunks of deleted
 * volumes, or a dead tree (a released metadata snapshot's holds no chunk
 * of its own, but may hold the last reference to some)?  Cheap: for the
 * worker's every pass.
 */
bool cow_pmd_reclaim_pending(struct cow_pool_metadata *pmd);

/*----------------------------------------------------------------*/
/* Volumes */

#define COW_VOL_F_DELETING (1u << 0)	/* hidden; being reclaimed */
/*
 * Hidden volumes are the tools' own: a file-level view's throwaway
 * snapshot, a receive in progress.  They work like any other volume; only
 * listings leave them out unless asked.  A THROWAWAY volume (always
 * HIDDEN too) is deleted when the pool is next opened: whatever made it
 * did not live to delete it (cow_pmd_delete_throwaways()).
 */
#define COW_VOL_F_HIDDEN (1u << 1)
#define COW_VOL_F_THROWAWAY (1u << 2)
#define COW_VOL_F_VISIBILITY (COW_VOL_F_HIDDEN | COW_VOL_F_THROWAWAY)

struct cow_volume_info {
	u64 id;
	char name[COW_VOLUME_NAME_LEN];
	u64 size_sectors;	/* recorded by the tools; 0 = unset */
	u64 ctime;		/* seconds since the epoch */
	u64 origin_id;		/* COW_NO_ORIGIN for a volume made by create */
	u32 flags;
	u64 mapped_chunks;
	/* Live accounting (see cowtree-format.rst); valid per valid_counters. */
	u64 exclusive_chunks;
	u64 written_since_origin;
	u32 valid_counters;	/* COW_COUNTER_* */
	u64 received_from, received_mark;	/* cow_pmd_set_received() */
};

/*
 * Which per-volume counters the pool maintains.  MAPPED always;
 * WRITTEN and EXCLUSIVE on pools with COW_FEATURE_COMPAT_RO_WRITTEN and
 * _EXCLUSIVE (set at format).  Print a counter not maintained as unknown.
 */
#define COW_COUNTER_MAPPED (1u << 0)
#define COW_COUNTER_EXCLUSIVE (1u << 1)
#define COW_COUNTER_WRITTEN (1u << 2)

#define COW_NO_ORIGIN (~0ULL)

/* -EEXIST if @id is in use, -EINVAL for a bad id or name. */
int cow_pmd_create_volume(struct cow_pool_metadata *pmd, u64 id,
			  const char *name);

struct cow_snapshot_request {
	u64 new_id;
	u64 origin_id;
	const char *name;
	u32 flags;		/* 0, HIDDEN or HIDDEN | THROWAWAY */
};

/*
 * Snapshot @nr origins in one transaction (a consistency group): either all
 * snapshots exist afterwards or none.  Each is O(1) in metadata I/O.
 * The caller must have quiesced every active origin.
 */
int cow_pmd_snapshot(struct cow_pool_metadata *pmd,
		     const struct cow_snapshot_request *reqs, unsigned int nr);

/*
 * Delete a volume: it disappears from listings at once; its mappings are
 * freed later by cow_pmd_reclaim_step().  -EBUSY if the volume is open.
 */
int cow_pmd_delete_volume(struct cow_pool_metadata *pmd, u64 id);

/*
 * Free at most @max_chunks mapping references held by deleted volumes.
 * Sets *more to true if work remains.  Resumable across commits and crashes.
 */
int cow_pmd_reclaim_step(struct cow_pool_metadata *pmd, unsigned int max_chunks,
			 bool *more);

/*
 * Volume @id's mapping becomes a copy (O(1), shared) of @snap_id's, in one
 * transaction; @snap_id is unchanged.  The caller quiesces @id; -EBUSY if
 * it is open for I/O in the core (cow_volume handle) and not quiesced.
 */
int cow_pmd_rollback(struct cow_pool_metadata *pmd, u64 id, u64 snap_id);

/*
 * (Extension) Tell the core whether the target has quiesced I/O to an open
 * volume; cow_pmd_rollback() of an open volume needs it set.
 */
void cow_volume_set_quiesced(struct cow_volume *vol, bool quiesced);

int cow_pmd_set_name(struct cow_pool_metadata *pmd, u64 id, const char *name);
/*
 * Record where volume @id was received from (dmcowctl receive): two values
 * the core keeps in the record and never interprets; 0 0 clears them.
 * Sets the pool's COMPAT_RECEIVED feature at the next commit.
 */
int cow_pmd_set_received(struct cow_pool_metadata *pmd, u64 id, u64 from,
			 u64 mark);

/*
 * Set @id's visibility (@flags: 0, HIDDEN or HIDDEN | THROWAWAY) and, if
 * @name is not NULL, its name, in one record update: a hidden volume made
 * visible under its final name appears atomically at the next commit.
 */
int cow_pmd_set_visibility(struct cow_pool_metadata *pmd, u64 id, u32 flags,
			   const char *name);

/*
 * Delete every THROWAWAY volume (none may be open); *@nr counts them.
 * Called once when a writable pool is opened.
 */
int cow_pmd_delete_throwaways(struct cow_pool_metadata *pmd, u64 *nr);
int cow_pmd_set_size(struct cow_pool_metadata *pmd, u64 id, u64 size_sectors);

/* -ENOENT if no live volume has that id. */
int cow_pmd_get_volume_info(struct cow_pool_metadata *pmd, u64 id,
			    struct cow_volume_info *result);

/* Calls @fn for each live volume in id order; stops on a non-zero return. */
int cow_pmd_walk_volumes(struct cow_pool_metadata *pmd,
			    int (*fn)(void *context,
				      const struct cow_volume_info *info),
			    void *context);

/*----------------------------------------------------------------*/
/* Volume I/O mapping */

int cow_pmd_open_volume(struct cow_pool_metadata *pmd, u64 id,
			struct cow_volume **result);
void cow_pmd_close_volume(struct cow_volume *vol);
u64 cow_volume_id(struct cow_volume *vol);

struct cow_lookup_result {
	u64 dchunk;
	/*
	 * True if the chunk may be reachable from another volume (or from
	 * the held metadata snapshot), so a write must break sharing first.
	 */
	bool shared;
};

/*
 * Map @vchunk.  Returns 0, -ENODATA if unmapped, or, when @can_block is
 * false, -EWOULDBLOCK if the answer needs metadata I/O or a sleeping lock.
 */
int cow_volume_lookup(struct cow_volume *vol, u64 vchunk, bool can_block,
		      struct cow_lookup_result *result);

/*
 * As cow_volume_lookup(), and *nr (1 to @max_chunks) says how many chunks
 * from @vchunk on map to the data chunks following result->dchunk, with
 * the same sharing: one remap can serve them all.  A chunk whose answer
 * would need metadata I/O (when !@can_block) ends the run.
 */
int cow_volume_lookup_run(struct cow_volume *vol, u64 vchunk,
			  unsigned int max_chunks, bool can_block,
			  struct cow_lookup_result *result, unsigned int *nr);

/*
 * Find the first mapped run at or after @begin and before @end, with
 * consecutive data chunks and the same sharing.  -ENODATA if none.
 */
int cow_volume_find_mapped_range(struct cow_volume *vol, u64 begin, u64 end,
				 u64 *vbegin, u64 *vend, u64 *dbegin,
				 bool *shared);

/*
 * Allocate a data chunk for this volume, preferring the one after the
 * volume's last allocation so sequential writes stay sequential.
 * -ENOSPC when the data device is full, or when the metadata device is
 * (cow_pmd_metadata_exhausted() tells which).  The chunk has one reference,
 * owned by the caller until cow_volume_insert() consumes it.
 */
int cow_volume_alloc_chunk(struct cow_volume *vol, u64 *dchunk);

/*
 * Map @vchunk to @dchunk (whose reference the caller got from
 * cow_volume_alloc_chunk()); any previous mapping's reference is dropped.
 */
int cow_volume_insert(struct cow_volume *vol, u64 vchunk, u64 dchunk);

/* Give back a chunk from cow_volume_alloc_chunk() that was never inserted. */
int cow_volume_free_unused_chunk(struct cow_volume *vol, u64 dchunk);

/*
 * Unmap [@begin, @end).  For each run of data chunks whose reference count
 * dropped to zero, @freed (if not NULL) is called; such chunks are not
 * reused before the next commit.
 */
int cow_volume_remove_range(struct cow_volume *vol, u64 begin, u64 end,
			    void (*freed)(void *context, u64 dbegin, u64 dend),
			    void *context);

int cow_volume_get_mapped_count(struct cow_volume *vol, u64 *result);

/*----------------------------------------------------------------*/
/* Sharing the chunks of two volumes again (the pool's share message) */

/* What cow_volume_share() checks it is still sharing. */
struct cow_share_probe {
	u64 dst_value, src_value;	/* mapping values: chunk and time */
	u64 dst_dchunk, src_dchunk;
};

/*
 * May @dst's @vchunk be made to map @src's data chunk at @vchunk?  0 with
 * both chunks in *probe if so: the caller compares their data and then
 * calls cow_volume_share().  -ENODATA if not: unmapped in either, the same
 * chunk already, or @src's mapping is not older than both volumes' last
 * snapshot (sharing is decided by time stamps: a chunk written since would
 * look exclusive to one of them and be overwritten in place).  -EXDEV if
 * the volumes are not of one family (only those may share chunks).
 */
int cow_volume_share_probe(struct cow_volume *dst, struct cow_volume *src,
			   u64 vchunk, struct cow_share_probe *probe);

/*
 * Map @dst's @vchunk to @src's data chunk (one more reference on it) and
 * drop @dst's old chunk as an overwrite would: the counters follow.  Only
 * if both mappings are still those of @probe: -EAGAIN if either changed.
 * The data of the two chunks are the caller's to compare first.
 */
int cow_volume_share(struct cow_volume *dst, struct cow_volume *src,
		     u64 vchunk, const struct cow_share_probe *probe);

struct cow_volume_counters {
	u64 mapped_chunks;
	u64 exclusive_chunks;	/* chunks only this volume maps */
	u64 written_since_origin;	/* mappings it wrote since its copy */
	u32 valid;		/* COW_COUNTER_*: which fields mean something */
};

/*
 * The live accounting counters of an open volume, read from the in-core
 * record: O(1), no metadata I/O, may sleep (takes the pool lock shared).
 * -ENODEV if the volume vanished.
 */
int cow_volume_get_counters(struct cow_volume *vol,
			    struct cow_volume_counters *result);
/* Highest mapped vchunk; -ENODATA if the volume maps nothing. */
int cow_volume_get_highest_mapped(struct cow_volume *vol, u64 *result);

/*----------------------------------------------------------------*/
/* Delta between two volumes (like thin_delta) */

enum cow_delta_kind {
	COW_DELTA_LEFT_ONLY,	/* mapped in A only */
	COW_DELTA_RIGHT_ONLY,	/* mapped in B only */
	COW_DELTA_DIFFERENT,	/* mapped in both, to different chunks */
};

/*
 * Report the vchunk ranges where @a and @b differ, in order, merged into
 * maximal runs of one kind.  Subtrees shared by both are skipped without
 * being read, so the cost follows the size of the difference.
 */
int cow_pmd_delta(struct cow_pool_metadata *pmd, u64 a, u64 b,
		  int (*fn)(void *context, u64 vbegin, u64 vend,
			    enum cow_delta_kind kind),
		  void *context);

#endif
