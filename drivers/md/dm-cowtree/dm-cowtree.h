/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree: state shared by the pool target, the volume target and the
 * I/O path.  The metadata core (core/cow-metadata.h) owns every on-disk
 * decision; nothing here touches a btree or a space map.
 */
#ifndef DM_COWTREE_H
#define DM_COWTREE_H

#include "cow-metadata.h"
#include "cow-parse.h"

#include <linux/bio.h>
#include <linux/device-mapper.h>
#include <linux/dm-kcopyd.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/ratelimit.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#define DM_MSG_PREFIX "cowtree"

#define COW_COMMIT_PERIOD (HZ)
#define COW_RECLAIM_STEP_CHUNKS 4096u
#define COW_CELL_BUCKETS 1024u

/*
 * How the part of a chunk shared with a snapshot that a write does not
 * cover is copied (module parameter copy_mode): dm-kcopyd copies it while
 * the bio goes to the new chunk, or read-merge-write reads the old chunk,
 * merges the bio and writes the whole chunk once.  AUTO picks
 * read-merge-write for chunks of at least COW_COPY_AUTO_RMW_MIN_SECTORS
 * (measured: cowtree.rst).  Zeroing a fresh chunk always uses kcopyd.
 */
enum cow_copy_mode {
	COW_COPY_AUTO,
	COW_COPY_KCOPYD,
	COW_COPY_RMW,
};

#define COW_COPY_AUTO_RMW_MIN_SECTORS 16u
/*
 * Pages all read-merge-write buffers of one pool may hold (16 MiB, kept
 * for reuse until the pool is destroyed).
 */
#define COW_RMW_MAX_PAGES 4096u

/*
 * A deferred set (like dm-thin's all_io_ds): I/O to mapped data chunks
 * enters the current epoch before it looks its chunk up and leaves when it
 * completes.  cow_ds_close() ends the epoch and returns it; the epoch has
 * passed once every I/O that entered it, or an earlier one, completed.
 */
#define COW_DS_EPOCHS 64u

struct cow_deferred_set {
	spinlock_t lock;
	u64 current_epoch;	/* the epoch I/O enters now */
	u64 sweeper;		/* oldest epoch that may hold I/O */
	u64 wait_for;		/* a waiter wants to know when this passes */
	bool waiting;
	unsigned int count[COW_DS_EPOCHS];
};

/*
 * A chunk being provisioned or unshared: bios for it wait here until the
 * new mapping is in the metadata.
 */
struct cow_cell {
	struct hlist_node node;
	struct cow_volume *cvol;
	u64 vchunk;
	struct bio_list waiters;
};

/* Shared by the pool target (every table load) and the active volumes. */
struct cow_pool {
	struct list_head list;		/* in the global pool table */
	struct mapped_device *pool_md;
	struct block_device *md_bdev;
	struct block_device *data_bdev;
	struct dm_target *ti;		/* the pool target of the live table */
	unsigned int refs;		/* pool targets + volumes, under table lock */

	struct cow_block_manager *bm;
	struct cow_pool_metadata *pmd;
	u32 chunk_sectors;
	unsigned int chunk_shift;
	u64 low_water_chunks;
	bool low_water_triggered;

	struct cow_pool_features pf;	/* as set by the live table */
	enum cow_pool_mode mode;
	struct ratelimit_state err_limit; /* cow_pool_err_limit() */

	struct workqueue_struct *wq;
	struct work_struct worker;
	struct delayed_work periodic_commit;
	struct delayed_work no_space_timeout;
	struct dm_kcopyd_client *copier;
	struct workqueue_struct *rmw_wq;	/* read-merge-write merges */
	spinlock_t rmw_lock;		/* protects the next two */
	struct list_head rmw_free;	/* pages of finished buffers */
	unsigned int rmw_nr_free;
	atomic_t rmw_pages_used;	/* bounded by COW_RMW_MAX_PAGES */

	/*
	 * A data chunk freed in a transaction is reused only after that
	 * transaction commits and all I/O started before the commit has
	 * completed: cow_io_commit() closes an epoch of all_io into
	 * reuse_barrier, and no chunk is allocated before it passed.
	 * commit_lock orders commits against allocations.
	 */
	struct cow_deferred_set all_io;
	struct mutex commit_lock;
	u64 reuse_barrier;

	spinlock_t lock;		/* protects everything below */
	struct bio_list deferred_bios;	/* need the worker */
	struct bio_list flush_bios;	/* issue after the next commit */
	struct bio_list flush_completions; /* end after the next commit */
	struct bio_list retry_on_resume; /* out of data space */
	struct bio_list wait_reuse;	/* writes waiting for reuse_barrier */
	struct list_head prepared_mappings; /* data written; insert mapping */
	struct list_head active_volumes;
	struct hlist_head cells[COW_CELL_BUCKETS];
	bool commit_requested;
	bool suspended;
	bool reclaim_after_commit;	/* cow_io_reclaim_after_commit() */

	/*
	 * A share message's write fence (cow_io_fence()): writes to chunks
	 * [fence_begin, fence_end) of fence_cvol wait in wait_fence.  Set
	 * under lock; the map path reads fence_cvol with acquire.
	 */
	struct mutex share_lock;	/* one share message at a time */
	struct cow_volume *fence_cvol;
	u64 fence_begin, fence_end;
	struct bio_list wait_fence;
};

/* One active cowtree volume target. */
struct cow_vol {
	struct list_head list;		/* in pool->active_volumes */
	struct cow_pool *pool;
	struct dm_dev *pool_dev;
	struct cow_volume *cvol;	/* core handle */
	u64 id;
	bool suspended;
};

/* Per-bio data of the volume target. */
struct cow_bio_ctx {
	struct cow_vol *vol;
	bio_end_io_t *saved_end_io;
	struct cow_mapping *mapping;
	u64 epoch;		/* of pool->all_io, while remapped */
};

/*----------------------------------------------------------------*/
/* dm-cowtree-pool.c */

int cow_pool_target_init(void);
void cow_pool_target_exit(void);

/* Find the pool behind a pool device and take a reference, or NULL. */
struct cow_pool *cow_pool_get_by_md(struct mapped_device *md);
void cow_pool_put(struct cow_pool *pool);

/*
 * Report a failed metadata operation: abort the transaction, set
 * needs_check and drop the pool to read-only (or fail) mode.
 */
void cow_pool_metadata_failed(struct cow_pool *pool, const char *op, int r);

/*
 * DMERR "pool <name>: ...", rate-limited per pool (10 lines in 5 s): for
 * errors each bio can repeat.  A limit per call site would let one pool's
 * flood of errors hide every other pool's.
 */
__printf(2, 3) void cow_pool_err_limit(struct cow_pool *pool,
				       const char *fmt, ...);
void cow_pool_set_mode(struct cow_pool *pool, enum cow_pool_mode mode);
void cow_pool_check_low_water(struct cow_pool *pool);
const char *cow_pool_mode_name(enum cow_pool_mode mode);

/*----------------------------------------------------------------*/
/* dm-cowtree-io.c */

int cow_io_module_init(void);
void cow_io_module_exit(void);
int cow_io_init(struct cow_pool *pool);
void cow_io_exit(struct cow_pool *pool);
void cow_io_wake(struct cow_pool *pool);
/* Commit now (data device flushed first). */
int cow_io_commit(struct cow_pool *pool);
/*
 * Start reclaiming after the next commit, not before: a delete message
 * then returns once its own small transaction is committed, instead of
 * waiting for a reclaim step and committing its work too.
 */
void cow_io_reclaim_after_commit(struct cow_pool *pool);
/* Stop periodic work and drain the worker (pool postsuspend). */
void cow_io_quiesce(struct cow_pool *pool);
void cow_io_resume(struct cow_pool *pool);
/* Requeue bios that waited for data space (after a resize). */
void cow_io_retry_no_space(struct cow_pool *pool);
/* Give @vol's bios waiting for data space back to dm for requeueing. */
void cow_io_requeue_no_space(struct cow_pool *pool, struct cow_vol *vol);

int cow_volume_map(struct dm_target *ti, struct bio *bio);

/*
 * Lock chunk @vchunk of volume @cvol against the I/O path's writes (which
 * take the same cells): NULL if it is locked already, or an ERR_PTR.
 */
struct cow_cell *cow_cell_try_lock(struct cow_pool *pool,
				   struct cow_volume *cvol, u64 vchunk);
void cow_cell_release(struct cow_pool *pool, struct cow_cell *cell);
/*
 * Hold writes to chunks [@begin, @end) of @cvol until cow_io_unfence(),
 * and wait until the I/O that looked its chunk up before has completed:
 * then no write to those chunks is in flight, and none overwrites them in
 * place or copies them (breaking sharing) before cow_io_unfence().
 */
void cow_io_fence(struct cow_pool *pool, struct cow_volume *cvol, u64 begin,
		  u64 end);
/* Lift the fence; the writes it held go to the worker. */
void cow_io_unfence(struct cow_pool *pool);

/* Seconds writes wait for data space before failing (module parameter). */
extern unsigned int cow_no_space_timeout_secs;
/* enum cow_copy_mode (module parameter copy_mode). */
extern int cow_copy_mode;

/*----------------------------------------------------------------*/
/* dm-cowtree-share.c */

/*
 * The share message (parsed in @msg): compare and share its chunks, and
 * write "compared N shared N different N busy N skipped N outcome C..."
 * into @result.  The caller commits.
 */
int cow_share_message(struct cow_pool *pool, const struct cow_msg *msg,
		      char *result, unsigned int maxlen);

/*----------------------------------------------------------------*/
/* dm-cowtree-ds.c */

void cow_ds_init(struct cow_deferred_set *ds);
u64 cow_ds_enter(struct cow_deferred_set *ds);
/* Returns true if a waiter's epoch (cow_ds_passed(..., true)) just passed. */
bool cow_ds_exit(struct cow_deferred_set *ds, u64 epoch);
u64 cow_ds_close(struct cow_deferred_set *ds);
/* Has @epoch passed?  If not and @wait, the exit that passes it says so. */
bool cow_ds_passed(struct cow_deferred_set *ds, u64 epoch, bool wait);

/*----------------------------------------------------------------*/
/* dm-cowtree-volume.c */

int cow_volume_target_init(void);
void cow_volume_target_exit(void);

#endif
