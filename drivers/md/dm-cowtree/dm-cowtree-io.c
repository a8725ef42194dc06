// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree: the I/O path.
 *
 * The map function serves what the cached metadata can answer without I/O:
 * reads of mapped or unmapped chunks and writes to chunks the volume owns
 * exclusively.  Everything else goes to one worker per pool, which may
 * block on metadata: provisioning, breaking sharing, discards, flushes.
 *
 * Breaking sharing (or provisioning) a chunk: allocate a new chunk and
 * fill it, then the worker inserts the mapping and only then completes the
 * bio.  Bios for a chunk in that state wait in its cell.  Two ways to fill
 * it (module parameter copy_mode): dm-kcopyd copies the parts of the old
 * chunk the bio does not cover (or zeroes them for a fresh chunk) while the
 * bio itself is written to the new chunk; read-merge-write reads the old
 * chunk into pages (or zeroes them), merges the bio's data and writes the
 * whole chunk once.  A bio covering the whole chunk is simply written.
 *
 * Freed chunks: a chunk freed in a transaction (discard, an overwrite that
 * drops the last reference, reclaim, rollback) is not reused before that
 * transaction commits, and no chunk is allocated after a commit until all
 * I/O to mapped chunks started before the commit has completed (pool->all_io
 * epochs; a write that needs a chunk waits in pool->wait_reuse).  So a read
 * or write in flight to a chunk never sees it reused by another volume.
 * I/O enters its epoch before it looks its chunk up.
 *
 * Durability: REQ_PREFLUSH/REQ_FUA bios are issued or completed only after
 * a commit, and every commit flushes the data device before the metadata,
 * so a committed mapping never points at data still in a volatile cache.
 */
#include "dm-cowtree.h"

#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/hash.h>
#include <linux/highmem.h>
#include <linux/slab.h>

struct cow_mapping {
	struct list_head list;
	struct cow_vol *vol;
	struct cow_cell *cell;
	struct bio *bio;
	u64 vchunk;
	u64 dchunk;
	atomic_t pending;	/* copies/zeroes + the bio, + 1 while issuing */
	blk_status_t status;	/* first error */

	/* Read-merge-write */
	u64 old;		/* the shared chunk */
	struct bio *chunk_bio;	/* the whole chunk, in pages */
	struct work_struct work;
};

static struct kmem_cache *mapping_cache;
static struct kmem_cache *cell_cache;

/*----------------------------------------------------------------*/

static u64 bio_vchunk(struct cow_pool *pool, struct bio *bio)
{
	return bio->bi_iter.bi_sector >> pool->chunk_shift;
}

static sector_t chunk_offset(struct cow_pool *pool, sector_t sector)
{
	return sector & (pool->chunk_sectors - 1);
}

static void remap(struct cow_pool *pool, struct bio *bio, u64 dchunk)
{
	bio_set_dev(bio, pool->data_bdev);
	bio->bi_iter.bi_sector = (dchunk << pool->chunk_shift) |
				 chunk_offset(pool, bio->bi_iter.bi_sector);
}

void cow_io_wake(struct cow_pool *pool)
{
	queue_work(pool->wq, &pool->worker);
}

static void defer_bio(struct cow_pool *pool, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	bio_list_add(&pool->deferred_bios, bio);
	spin_unlock_irqrestore(&pool->lock, flags);
	cow_io_wake(pool);
}

/* Issue a remapped bio, holding flush/FUA bios until the next commit. */
static void issue_remapped(struct cow_pool *pool, struct bio *bio)
{
	unsigned long flags;

	if (op_is_flush(bio->bi_opf)) {
		spin_lock_irqsave(&pool->lock, flags);
		bio_list_add(&pool->flush_bios, bio);
		spin_unlock_irqrestore(&pool->lock, flags);
		return;
	}
	submit_bio_noacct(bio);
}

/*----------------------------------------------------------------*/
/* I/O to mapped chunks: counted in pool->all_io until it completes. */

static void io_exit(struct cow_pool *pool, u64 epoch)
{
	if (cow_ds_exit(&pool->all_io, epoch))
		cow_io_wake(pool);	/* writes may allocate again */
}

static void counted_endio(struct bio *bio)
{
	struct cow_bio_ctx *ctx = dm_per_bio_data(bio, sizeof(*ctx));

	bio->bi_end_io = ctx->saved_end_io;
	io_exit(ctx->vol->pool, ctx->epoch);
	bio_endio(bio);
}

/* Remap @bio, which entered @epoch before its lookup, until it completes. */
static void remap_counted(struct cow_pool *pool, struct bio *bio, u64 dchunk,
			  u64 epoch)
{
	struct cow_bio_ctx *ctx = dm_per_bio_data(bio, sizeof(*ctx));

	ctx->epoch = epoch;
	ctx->saved_end_io = bio->bi_end_io;
	bio->bi_end_io = counted_endio;
	remap(pool, bio, dchunk);
}

/*----------------------------------------------------------------*/
/*
 * Cells: one per chunk being provisioned or unshared, or compared by a
 * share message.  A cell locks the chunk of the volume (the core handle,
 * which every active table of the volume shares), not of one target.
 */

static struct hlist_head *cell_bucket(struct cow_pool *pool,
				      struct cow_volume *cvol, u64 vchunk)
{
	u64 key = vchunk ^ ((unsigned long)cvol >> 4);

	return &pool->cells[hash_64(key, ilog2(COW_CELL_BUCKETS))];
}

static struct cow_cell *cell_find(struct cow_pool *pool,
				  struct cow_volume *cvol, u64 vchunk)
{
	struct cow_cell *cell;

	hlist_for_each_entry(cell, cell_bucket(pool, cvol, vchunk), node)
		if (cell->cvol == cvol && cell->vchunk == vchunk)
			return cell;
	return NULL;
}

/*
 * Lock the chunk, for @bio if not NULL.  Returns the cell, or NULL when
 * another holds it (then @bio waits in that cell and is deferred again on
 * release), or an ERR_PTR if no memory.
 */
static struct cow_cell *cell_lock(struct cow_pool *pool,
				  struct cow_volume *cvol, u64 vchunk,
				  struct bio *bio)
{
	struct cow_cell *cell, *holder;
	unsigned long flags;

	cell = kmem_cache_alloc(cell_cache, GFP_NOIO);
	if (!cell)
		return ERR_PTR(-ENOMEM);

	spin_lock_irqsave(&pool->lock, flags);
	holder = cell_find(pool, cvol, vchunk);
	if (holder) {
		if (bio)
			bio_list_add(&holder->waiters, bio);
		spin_unlock_irqrestore(&pool->lock, flags);
		kmem_cache_free(cell_cache, cell);
		return NULL;
	}
	cell->cvol = cvol;
	cell->vchunk = vchunk;
	bio_list_init(&cell->waiters);
	hlist_add_head(&cell->node, cell_bucket(pool, cvol, vchunk));
	spin_unlock_irqrestore(&pool->lock, flags);
	return cell;
}

struct cow_cell *cow_cell_try_lock(struct cow_pool *pool,
				   struct cow_volume *cvol, u64 vchunk)
{
	return cell_lock(pool, cvol, vchunk, NULL);
}

/* Release the chunk; its waiters go back to the worker in order. */
void cow_cell_release(struct cow_pool *pool, struct cow_cell *cell)
{
	unsigned long flags;
	bool wake;

	spin_lock_irqsave(&pool->lock, flags);
	hlist_del(&cell->node);
	wake = !bio_list_empty(&cell->waiters);
	bio_list_merge(&pool->deferred_bios, &cell->waiters);
	spin_unlock_irqrestore(&pool->lock, flags);
	kmem_cache_free(cell_cache, cell);
	if (wake)
		cow_io_wake(pool);
}

/*
 * A cell locking a chunk of @vol in [begin, end), or NULL.  Called with
 * pool->lock held.
 */
static struct cow_cell *range_cell(struct cow_pool *pool, struct cow_vol *vol,
				   u64 begin, u64 end)
{
	struct cow_cell *cell;
	unsigned int i;
	u64 v;

	if (end - begin <= COW_CELL_BUCKETS / 16) {
		for (v = begin; v < end; v++) {
			cell = cell_find(pool, vol->cvol, v);
			if (cell)
				return cell;
		}
		return NULL;
	}
	for (i = 0; i < COW_CELL_BUCKETS; i++)
		hlist_for_each_entry(cell, &pool->cells[i], node)
			if (cell->cvol == vol->cvol && cell->vchunk >= begin &&
			    cell->vchunk < end)
				return cell;
	return NULL;
}

/*----------------------------------------------------------------*/
/* The share message's write fence */

/*
 * Does a write to chunks [@vchunk, @vchunk + @nr) of @vol meet the fence?
 * Called after the write entered all_io: cow_io_fence() sets the fence
 * before it closes the epoch (both under all_io's lock), so a write that
 * misses the fence is waited for.
 */
static bool write_fenced(struct cow_pool *pool, struct cow_vol *vol,
			 u64 vchunk, unsigned int nr)
{
	/* Pairs with cow_io_fence(): the range is set before the volume. */
	if (likely(smp_load_acquire(&pool->fence_cvol) != vol->cvol))
		return false;
	return vchunk < READ_ONCE(pool->fence_end) &&
	       vchunk + nr > READ_ONCE(pool->fence_begin);
}

/*
 * Polls for the I/O in flight: a share message is rare, that I/O was
 * issued already and completes in milliseconds, and the deferred set's
 * one waiter slot is the reuse barrier's.
 */
void cow_io_fence(struct cow_pool *pool, struct cow_volume *cvol, u64 begin,
		  u64 end)
{
	u64 epoch;

	WRITE_ONCE(pool->fence_begin, begin);
	WRITE_ONCE(pool->fence_end, end);
	/* Pairs with write_fenced(): the range is visible with the volume. */
	smp_store_release(&pool->fence_cvol, cvol);
	epoch = cow_ds_close(&pool->all_io);
	while (!cow_ds_passed(&pool->all_io, epoch, false))
		usleep_range(1000, 2000);
}

void cow_io_unfence(struct cow_pool *pool)
{
	unsigned long flags;
	bool wake;

	spin_lock_irqsave(&pool->lock, flags);
	WRITE_ONCE(pool->fence_cvol, NULL);
	wake = !bio_list_empty(&pool->wait_fence);
	bio_list_merge(&pool->deferred_bios, &pool->wait_fence);
	bio_list_init(&pool->wait_fence);
	spin_unlock_irqrestore(&pool->lock, flags);
	if (wake)
		cow_io_wake(pool);
}

/* Park a write that met the fence; false if the fence went meanwhile. */
static bool park_fenced(struct cow_pool *pool, struct cow_vol *vol,
			struct bio *bio)
{
	unsigned long flags;
	bool parked;

	spin_lock_irqsave(&pool->lock, flags);
	parked = write_fenced(pool, vol, bio_vchunk(pool, bio), 1);
	if (parked)
		bio_list_add(&pool->wait_fence, bio);
	spin_unlock_irqrestore(&pool->lock, flags);
	return parked;
}

/*----------------------------------------------------------------*/
/* Map path: never blocks on metadata I/O. */

/*
 * The worker handles one chunk per bio: leave the rest of @bio to a later
 * map call (dm core resubmits it).
 */
static void first_chunk_only(struct cow_pool *pool, struct bio *bio)
{
	sector_t left = pool->chunk_sectors -
			chunk_offset(pool, bio->bi_iter.bi_sector);

	if (bio_sectors(bio) > left)
		dm_accept_partial_bio(bio, left);
}

/* Chunks @bio touches. */
static unsigned int bio_chunks(struct cow_pool *pool, struct bio *bio)
{
	sector_t end = chunk_offset(pool, bio->bi_iter.bi_sector) + bio_sectors(bio);

	return max_t(sector_t, 1, (end + pool->chunk_sectors - 1) >> pool->chunk_shift);
}

int cow_volume_map(struct dm_target *ti, struct bio *bio)
{
	struct cow_vol *vol = ti->private;
	struct cow_pool *pool = vol->pool;
	struct cow_bio_ctx *ctx = dm_per_bio_data(bio, sizeof(*ctx));
	struct cow_lookup_result lr;
	unsigned int nr;
	u64 epoch;
	int r;

	ctx->vol = vol;
	ctx->mapping = NULL;
	ctx->saved_end_io = NULL;

	if (READ_ONCE(pool->mode) == COW_MODE_FAIL) {
		bio_io_error(bio);
		return DM_MAPIO_SUBMITTED;
	}
	if (bio_op(bio) == REQ_OP_DISCARD) {
		defer_bio(pool, bio);
		return DM_MAPIO_SUBMITTED;
	}
	if (op_is_flush(bio->bi_opf)) {
		if (bio_sectors(bio))
			first_chunk_only(pool, bio);
		defer_bio(pool, bio);
		return DM_MAPIO_SUBMITTED;
	}

	/*
	 * A run of chunks mapped to consecutive data chunks (and, for a
	 * write, not shared) is remapped as one bio: the part of @bio it
	 * covers.
	 */
	epoch = cow_ds_enter(&pool->all_io);
	if (unlikely(op_is_write(bio_op(bio)) &&
		     write_fenced(pool, vol, bio_vchunk(pool, bio),
				  bio_chunks(pool, bio)))) {
		io_exit(pool, epoch);
		first_chunk_only(pool, bio);
		defer_bio(pool, bio);
		return DM_MAPIO_SUBMITTED;
	}
	r = cow_volume_lookup_run(vol->cvol, bio_vchunk(pool, bio),
				  bio_chunks(pool, bio), false, &lr, &nr);
	if (r == 0 && !(lr.shared && op_is_write(bio_op(bio)))) {
		sector_t len = ((sector_t)nr << pool->chunk_shift) -
			       chunk_offset(pool, bio->bi_iter.bi_sector);

		if (bio_sectors(bio) > len)
			dm_accept_partial_bio(bio, len);
		remap_counted(pool, bio, lr.dchunk, epoch);
		return DM_MAPIO_REMAPPED;
	}
	io_exit(pool, epoch);
	first_chunk_only(pool, bio);
	if (r == -ENODATA && !op_is_write(bio_op(bio))) {
		zero_fill_bio(bio);
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
	/* -EWOULDBLOCK, a write that needs a chunk, or an error: worker. */
	defer_bio(pool, bio);
	return DM_MAPIO_SUBMITTED;
}

/*----------------------------------------------------------------*/
/* Provisioning and breaking sharing. */

static void mapping_job_done(struct cow_mapping *m, blk_status_t status)
{
	struct cow_pool *pool = m->vol->pool;
	unsigned long flags;

	if (status)
		cmpxchg(&m->status, 0, status);
	if (!atomic_dec_and_test(&m->pending))
		return;

	spin_lock_irqsave(&pool->lock, flags);
	list_add_tail(&m->list, &pool->prepared_mappings);
	spin_unlock_irqrestore(&pool->lock, flags);
	cow_io_wake(pool);
}

static void copy_done(int read_err, unsigned long write_err, void *context)
{
	mapping_job_done(context, read_err || write_err ? BLK_STS_IOERR : 0);
}

/* The bio's data is in the new chunk: the worker still has to map it. */
static void provisioned_bio_endio(struct bio *bio)
{
	struct cow_bio_ctx *ctx = dm_per_bio_data(bio, sizeof(*ctx));

	bio->bi_end_io = ctx->saved_end_io;
	mapping_job_done(ctx->mapping, bio->bi_status);
}

/*
 * Fill sectors [begin, end) of the new chunk: a copy of the old chunk's
 * sectors when breaking sharing, zeroes for a fresh chunk.
 */
static void fill_range(struct cow_mapping *m, bool has_old, u64 old,
		       sector_t begin, sector_t end)
{
	struct cow_pool *pool = m->vol->pool;
	struct dm_io_region from, to;

	if (begin >= end || (!has_old && !pool->pf.zero_new_chunks))
		return;

	to.bdev = pool->data_bdev;
	to.sector = (m->dchunk << pool->chunk_shift) + begin;
	to.count = end - begin;
	atomic_inc(&m->pending);
	if (has_old) {
		from.bdev = pool->data_bdev;
		from.sector = (old << pool->chunk_shift) + begin;
		from.count = end - begin;
		dm_kcopyd_copy(pool->copier, &from, 1, &to, 0, copy_done, m);
	} else {
		dm_kcopyd_zero(pool->copier, 1, &to, 0, copy_done, m);
	}
}

/*----------------------------------------------------------------*/
/* Read-merge-write: the whole new chunk built in memory, written once. */

static bool use_rmw(struct cow_pool *pool)
{
	switch (READ_ONCE(cow_copy_mode)) {
	case COW_COPY_KCOPYD:
		return false;
	case COW_COPY_RMW:
		return true;
	default:
		return pool->chunk_sectors >= COW_COPY_AUTO_RMW_MIN_SECTORS;
	}
}

static unsigned int chunk_bytes(struct cow_pool *pool)
{
	return pool->chunk_sectors << SECTOR_SHIFT;
}

static unsigned int chunk_pages(struct cow_pool *pool)
{
	return DIV_ROUND_UP(chunk_bytes(pool), PAGE_SIZE);
}

/*
 * Pages of the pool's read-merge-write buffers: kept on a free list once
 * allocated (allocating and freeing a chunk's worth per write costs more
 * than the copy saves), never more than COW_RMW_MAX_PAGES in all.
 */
static unsigned int rmw_pages_get(struct cow_pool *pool, struct bio *cb,
				  unsigned int nr)
{
	unsigned int i, got = 0, bytes = chunk_bytes(pool);
	struct page *pages[16];
	unsigned long flags;

	while (got < nr) {
		unsigned int want = min_t(unsigned int, nr - got, ARRAY_SIZE(pages));
		unsigned int n = 0;

		spin_lock_irqsave(&pool->rmw_lock, flags);
		while (n < want && !list_empty(&pool->rmw_free)) {
			pages[n] = list_first_entry(&pool->rmw_free, struct page, lru);
			list_del(&pages[n]->lru);
			n++;
		}
		pool->rmw_nr_free -= n;
		spin_unlock_irqrestore(&pool->rmw_lock, flags);
		for (; n < want; n++) {
			pages[n] = alloc_page(GFP_NOWAIT | __GFP_NOWARN);
			if (!pages[n])
				break;
		}
		for (i = 0; i < n; i++, got++)
			__bio_add_page(cb, pages[i],
				       min_t(unsigned int, bytes - got * PAGE_SIZE,
					     PAGE_SIZE), 0);
		if (n < want)
			break;
	}
	return got;
}

/* Free the chunk bio; its first bi_vcnt vecs hold the pages. */
static void rmw_put(struct cow_pool *pool, struct bio *cb)
{
	unsigned short i;
	unsigned long flags;

	spin_lock_irqsave(&pool->rmw_lock, flags);
	for (i = 0; i < cb->bi_vcnt; i++)
		list_add(&cb->bi_io_vec[i].bv_page->lru, &pool->rmw_free);
	pool->rmw_nr_free += cb->bi_vcnt;
	spin_unlock_irqrestore(&pool->rmw_lock, flags);
	atomic_sub(chunk_pages(pool), &pool->rmw_pages_used);
	bio_uninit(cb);
	kfree(cb);
}

/* Add the chunk's pages, held in cb->bi_io_vec, to a (reset) bio. */
static void rmw_add_pages(struct cow_pool *pool, struct bio *cb)
{
	unsigned int i, nr = chunk_pages(pool), bytes = chunk_bytes(pool);

	for (i = 0; i < nr; i++)
		__bio_add_page(cb, cb->bi_io_vec[i].bv_page,
			       min_t(unsigned int, bytes - i * PAGE_SIZE, PAGE_SIZE), 0);
}

static void rmw_write_endio(struct bio *cb)
{
	struct cow_mapping *m = cb->bi_private;
	blk_status_t status = cb->bi_status;

	rmw_put(m->vol->pool, cb);
	mapping_job_done(m, status);
}

/* Copy the bio's data into the chunk's pages, then write the chunk. */
static void rmw_merge_and_write(struct cow_mapping *m)
{
	struct cow_pool *pool = m->vol->pool;
	struct bio *cb = m->chunk_bio;
	size_t off = chunk_offset(pool, m->bio->bi_iter.bi_sector) << SECTOR_SHIFT;
	struct bvec_iter iter;
	struct bio_vec bv;

	bio_for_each_segment(bv, m->bio, iter) {
		char *src = bvec_kmap_local(&bv);
		unsigned int done = 0;

		while (done < bv.bv_len) {
			size_t poff = offset_in_page(off);
			unsigned int n = min_t(size_t, bv.bv_len - done,
					       PAGE_SIZE - poff);

			memcpy_to_page(cb->bi_io_vec[off >> PAGE_SHIFT].bv_page,
				       poff, src + done, n);
			done += n;
			off += n;
		}
		kunmap_local(src);
	}

	bio_reset(cb, pool->data_bdev, REQ_OP_WRITE);
	rmw_add_pages(pool, cb);
	cb->bi_iter.bi_sector = m->dchunk << pool->chunk_shift;
	cb->bi_end_io = rmw_write_endio;
	cb->bi_private = m;
	submit_bio_noacct(cb);
}

static void rmw_read_done(struct work_struct *ws)
{
	struct cow_mapping *m = container_of(ws, struct cow_mapping, work);
	struct bio *cb = m->chunk_bio;

	if (cb->bi_status) {
		blk_status_t status = cb->bi_status;

		rmw_put(m->vol->pool, cb);
		mapping_job_done(m, status);
		return;
	}
	rmw_merge_and_write(m);
}

static void rmw_read_endio(struct bio *cb)
{
	struct cow_mapping *m = cb->bi_private;

	/* Merging and submitting may sleep: not here. */
	queue_work(m->vol->pool->rmw_wq, &m->work);
}

/*
 * Fill the new chunk by read-merge-write from the old chunk.  Returns
 * false, having done nothing, if the pool's page budget or memory is
 * short: then use kcopyd.
 */
static bool rmw_start(struct cow_mapping *m)
{
	struct cow_pool *pool = m->vol->pool;
	unsigned int nr = chunk_pages(pool);
	struct bio *cb;

	if (atomic_add_return(nr, &pool->rmw_pages_used) > COW_RMW_MAX_PAGES) {
		atomic_sub(nr, &pool->rmw_pages_used);
		return false;
	}
	cb = bio_kmalloc(nr, GFP_NOWAIT | __GFP_NOWARN);
	if (!cb) {
		atomic_sub(nr, &pool->rmw_pages_used);
		return false;
	}
	bio_init(cb, pool->data_bdev, cb->bi_inline_vecs, nr, REQ_OP_READ);
	if (rmw_pages_get(pool, cb, nr) < nr) {
		rmw_put(pool, cb);
		return false;
	}
	m->chunk_bio = cb;
	INIT_WORK(&m->work, rmw_read_done);
	cb->bi_iter.bi_sector = m->old << pool->chunk_shift;
	cb->bi_end_io = rmw_read_endio;
	cb->bi_private = m;
	submit_bio_noacct(cb);
	return true;
}

/*----------------------------------------------------------------*/

static bool pool_writable(struct cow_pool *pool)
{
	enum cow_pool_mode mode = READ_ONCE(pool->mode);

	return mode == COW_MODE_WRITE || mode == COW_MODE_OUT_OF_DATA_SPACE;
}

/*
 * No chunk is allocated before the I/O started before the last commit has
 * completed (the commit may have made chunks it was using free).  Called
 * with pool->commit_lock held; if not yet, @bio waits in wait_reuse.
 */
static bool wait_for_reuse(struct cow_pool *pool, struct bio *bio)
{
	unsigned long flags;

	/* A pool that cannot allocate fails the write below instead. */
	if (!pool_writable(pool) ||
	    cow_ds_passed(&pool->all_io, pool->reuse_barrier, true))
		return false;
	spin_lock_irqsave(&pool->lock, flags);
	bio_list_add(&pool->wait_reuse, bio);
	spin_unlock_irqrestore(&pool->lock, flags);
	return true;
}

static void provision(struct cow_pool *pool, struct cow_vol *vol,
		      struct cow_cell *cell, struct bio *bio,
		      const struct cow_lookup_result *old)
{
	struct cow_bio_ctx *ctx = dm_per_bio_data(bio, sizeof(*ctx));
	sector_t begin = chunk_offset(pool, bio->bi_iter.bi_sector);
	sector_t end = begin + bio_sectors(bio);
	struct cow_mapping *m;
	unsigned long flags;
	u64 dchunk;
	int r;

	mutex_lock(&pool->commit_lock);
	if (wait_for_reuse(pool, bio)) {
		mutex_unlock(&pool->commit_lock);
		/* Its waiters go back to the worker and queue up behind it. */
		cow_cell_release(pool, cell);
		return;
	}
	r = cow_volume_alloc_chunk(vol->cvol, &dchunk);
	mutex_unlock(&pool->commit_lock);
	if (r == -ENOSPC && !cow_pmd_metadata_exhausted(pool->pmd)) {
		cow_cell_release(pool, cell);
		if (pool->pf.error_if_no_space) {
			cow_pool_set_mode(pool, COW_MODE_OUT_OF_DATA_SPACE);
			bio->bi_status = BLK_STS_NOSPC;
			bio_endio(bio);
			return;
		}
		cow_pool_set_mode(pool, COW_MODE_OUT_OF_DATA_SPACE);
		spin_lock_irqsave(&pool->lock, flags);
		bio_list_add(&pool->retry_on_resume, bio);
		spin_unlock_irqrestore(&pool->lock, flags);
		return;
	}
	if (r) {
		cow_cell_release(pool, cell);
		cow_pool_metadata_failed(pool, "cow_volume_alloc_chunk", r);
		bio_io_error(bio);
		return;
	}
	cow_pool_check_low_water(pool);

	m = kmem_cache_alloc(mapping_cache, GFP_NOIO);
	if (!m) {
		cow_volume_free_unused_chunk(vol->cvol, dchunk);
		cow_cell_release(pool, cell);
		bio->bi_status = BLK_STS_RESOURCE;
		bio_endio(bio);
		return;
	}
	m->vol = vol;
	m->cell = cell;
	m->bio = bio;
	m->vchunk = cell->vchunk;
	m->dchunk = dchunk;
	m->status = 0;
	m->old = old ? old->dchunk : 0;
	atomic_set(&m->pending, 1);

	/*
	 * Zeroing the rest of a fresh chunk stays with kcopyd whatever the
	 * mode: it writes from the zero page (or uses WRITE_ZEROES), which
	 * measured 2-5x faster than zeroing pages and merging.
	 */
	if (old && (begin || end < pool->chunk_sectors) && use_rmw(pool)) {
		atomic_inc(&m->pending);
		ctx->mapping = m;
		if (rmw_start(m)) {
			mapping_job_done(m, 0);
			return;
		}
		atomic_dec(&m->pending);
	}

	fill_range(m, old, old ? old->dchunk : 0, 0, begin);
	fill_range(m, old, old ? old->dchunk : 0, end, pool->chunk_sectors);

	/* The bio's own sectors go straight into the new chunk. */
	atomic_inc(&m->pending);
	ctx->mapping = m;
	ctx->saved_end_io = bio->bi_end_io;
	bio->bi_end_io = provisioned_bio_endio;
	remap(pool, bio, dchunk);
	submit_bio_noacct(bio);

	mapping_job_done(m, 0);
}

static void complete_mapping(struct cow_pool *pool, struct cow_mapping *m)
{
	struct bio *bio = m->bio;
	unsigned long flags;
	int r;

	if (m->status) {
		if (pool_writable(pool))
			cow_volume_free_unused_chunk(m->vol->cvol, m->dchunk);
		bio->bi_status = m->status;
		bio_endio(bio);
		goto out;
	}
	if (!pool_writable(pool)) {
		/* The transaction that allocated the chunk was aborted. */
		bio_io_error(bio);
		goto out;
	}
	r = cow_volume_insert(m->vol->cvol, m->vchunk, m->dchunk);
	if (r) {
		cow_pool_metadata_failed(pool, "cow_volume_insert", r);
		bio_io_error(bio);
		goto out;
	}
	if (op_is_flush(bio->bi_opf)) {
		spin_lock_irqsave(&pool->lock, flags);
		bio_list_add(&pool->flush_completions, bio);
		spin_unlock_irqrestore(&pool->lock, flags);
	} else {
		bio_endio(bio);
	}
out:
	cow_cell_release(pool, m->cell);
	kmem_cache_free(mapping_cache, m);
}

static void process_prepared_mappings(struct cow_pool *pool)
{
	struct cow_mapping *m, *tmp;
	unsigned long flags;
	LIST_HEAD(list);

	spin_lock_irqsave(&pool->lock, flags);
	list_splice_init(&pool->prepared_mappings, &list);
	spin_unlock_irqrestore(&pool->lock, flags);

	list_for_each_entry_safe(m, tmp, &list, list)
		complete_mapping(pool, m);
}

/*----------------------------------------------------------------*/
/* Deferred bios. */

static bool can_provision(struct cow_pool *pool, struct bio *bio)
{
	unsigned long flags;

	switch (READ_ONCE(pool->mode)) {
	case COW_MODE_WRITE:
		return true;
	case COW_MODE_OUT_OF_DATA_SPACE:
		if (pool->pf.error_if_no_space) {
			bio->bi_status = BLK_STS_NOSPC;
			bio_endio(bio);
		} else {
			spin_lock_irqsave(&pool->lock, flags);
			bio_list_add(&pool->retry_on_resume, bio);
			spin_unlock_irqrestore(&pool->lock, flags);
		}
		return false;
	default:
		bio_io_error(bio);
		return false;
	}
}

static void process_read(struct cow_pool *pool, struct cow_vol *vol,
			 struct bio *bio)
{
	struct cow_lookup_result lr;
	u64 epoch;
	int r;

	epoch = cow_ds_enter(&pool->all_io);
	r = cow_volume_lookup(vol->cvol, bio_vchunk(pool, bio), true, &lr);
	if (r == 0) {
		remap_counted(pool, bio, lr.dchunk, epoch);
		submit_bio_noacct(bio);
		return;
	}
	io_exit(pool, epoch);
	if (r == -ENODATA) {
		zero_fill_bio(bio);
		bio_endio(bio);
	} else {
		cow_pool_err_limit(pool, "volume %llu: chunk lookup failed: error = %d",
				   (unsigned long long)vol->id, r);
		bio_io_error(bio);
	}
}

static void process_write(struct cow_pool *pool, struct cow_vol *vol,
			  struct bio *bio)
{
	u64 vchunk = bio_vchunk(pool, bio);
	struct cow_lookup_result lr;
	struct cow_cell *cell;
	u64 epoch;
	int r;

	cell = cell_lock(pool, vol->cvol, vchunk, bio);
	if (!cell)
		return;		/* waits behind the chunk's holder */
	if (IS_ERR(cell)) {
		bio->bi_status = BLK_STS_RESOURCE;
		bio_endio(bio);
		return;
	}

	epoch = cow_ds_enter(&pool->all_io);
	if (unlikely(park_fenced(pool, vol, bio))) {
		io_exit(pool, epoch);
		cow_cell_release(pool, cell);
		return;
	}
	r = cow_volume_lookup(vol->cvol, vchunk, true, &lr);
	if (r == 0 && !lr.shared) {
		cow_cell_release(pool, cell);
		remap_counted(pool, bio, lr.dchunk, epoch);
		issue_remapped(pool, bio);
		return;
	}
	io_exit(pool, epoch);
	if (r && r != -ENODATA) {
		cow_cell_release(pool, cell);
		cow_pool_err_limit(pool, "volume %llu: chunk lookup failed: error = %d",
				   (unsigned long long)vol->id, r);
		bio_io_error(bio);
		return;
	}
	if (!can_provision(pool, bio)) {
		cow_cell_release(pool, cell);
		return;
	}
	provision(pool, vol, cell, bio, r == 0 ? &lr : NULL);
}

struct passdown {
	struct cow_pool *pool;
	int error;
};

static void passdown_freed(void *context, u64 dbegin, u64 dend)
{
	struct passdown *pd = context;
	struct cow_pool *pool = pd->pool;
	int r;

	r = blkdev_issue_discard(pool->data_bdev, dbegin << pool->chunk_shift,
				 (dend - dbegin) << pool->chunk_shift, GFP_NOIO);
	if (r && r != -EOPNOTSUPP)
		pd->error = r;
}

/*
 * Unmap the whole chunks inside the discard.  Freed chunks are not reused
 * before the next commit, and the worker is the only allocator, so passing
 * the discard down here cannot hit a chunk that was handed out again.
 */
static void process_discard(struct cow_pool *pool, struct cow_vol *vol,
			    struct bio *bio)
{
	sector_t start = bio->bi_iter.bi_sector;
	u64 begin = DIV_ROUND_UP_ULL(start, pool->chunk_sectors);
	u64 end = (start + bio_sectors(bio)) >> pool->chunk_shift;
	struct passdown pd = { .pool = pool };
	struct cow_cell *holder;
	unsigned long flags;
	int r;

	if (begin >= end || !pool->pf.discard_enabled) {
		bio_endio(bio);
		return;
	}
	if (!pool_writable(pool)) {
		bio_io_error(bio);
		return;
	}
	/*
	 * A chunk in the range is being provisioned: wait in its cell, like
	 * other bios for it, and come back when it is released.  Only the
	 * worker locks cells, so none appears before the removal below.
	 */
	spin_lock_irqsave(&pool->lock, flags);
	holder = range_cell(pool, vol, begin, end);
	if (holder)
		bio_list_add(&holder->waiters, bio);
	spin_unlock_irqrestore(&pool->lock, flags);
	if (holder)
		return;
	r = cow_volume_remove_range(vol->cvol, begin, end,
				    pool->pf.discard_passdown ? passdown_freed : NULL,
				    &pd);
	if (r) {
		cow_pool_metadata_failed(pool, "cow_volume_remove_range", r);
		bio_io_error(bio);
		return;
	}
	if (pd.error)
		DMWARN_LIMIT("discard passdown failed: error = %d", pd.error);
	bio_endio(bio);
}

static void process_deferred_bios(struct cow_pool *pool)
{
	struct bio_list bios, reuse;
	unsigned long flags;
	struct bio *bio;

	bio_list_init(&bios);
	bio_list_init(&reuse);
	spin_lock_irqsave(&pool->lock, flags);
	bio_list_merge(&bios, &pool->deferred_bios);
	bio_list_init(&pool->deferred_bios);
	/* Writes that waited to allocate go first, if they may now. */
	if (!bio_list_empty(&pool->wait_reuse) &&
	    (!pool_writable(pool) ||
	     cow_ds_passed(&pool->all_io, READ_ONCE(pool->reuse_barrier), false))) {
		bio_list_merge(&reuse, &pool->wait_reuse);
		bio_list_init(&pool->wait_reuse);
	}
	spin_unlock_irqrestore(&pool->lock, flags);
	bio_list_merge_head(&bios, &reuse);

	while ((bio = bio_list_pop(&bios))) {
		struct cow_bio_ctx *ctx = dm_per_bio_data(bio, sizeof(*ctx));
		struct cow_vol *vol = ctx->vol;

		if (READ_ONCE(pool->mode) == COW_MODE_FAIL) {
			bio_io_error(bio);
		} else if (bio_op(bio) == REQ_OP_DISCARD) {
			process_discard(pool, vol, bio);
		} else if (op_is_flush(bio->bi_opf) && !bio_sectors(bio)) {
			bio_set_dev(bio, pool->data_bdev);
			issue_remapped(pool, bio);
		} else if (op_is_write(bio_op(bio))) {
			process_write(pool, vol, bio);
		} else {
			process_read(pool, vol, bio);
		}
	}
}

/*----------------------------------------------------------------*/
/* Commit. */

int cow_io_commit(struct cow_pool *pool)
{
	int r = 0;

	mutex_lock(&pool->commit_lock);
	if (!pool_writable(pool))
		goto out;
	if (!cow_pmd_changed_this_transaction(pool->pmd))
		goto out;

	/* New mappings must never point at data still in a volatile cache. */
	r = blkdev_issue_flush(pool->data_bdev);
	if (r) {
		cow_pool_err_limit(pool, "data device flush failed before commit: error = %d", r);
		goto out;
	}
	r = cow_pmd_commit(pool->pmd);
	if (r) {
		cow_pool_metadata_failed(pool, "cow_pmd_commit", r);
		goto out;
	}
	/*
	 * Chunks this transaction freed may be allocated from now on: not
	 * before the I/O that may still be using them has completed.
	 */
	WRITE_ONCE(pool->reuse_barrier, cow_ds_close(&pool->all_io));
out:
	mutex_unlock(&pool->commit_lock);
	if (xchg(&pool->reclaim_after_commit, false))
		cow_io_wake(pool);
	return r;
}

void cow_io_reclaim_after_commit(struct cow_pool *pool)
{
	WRITE_ONCE(pool->reclaim_after_commit, true);
}

static void process_commit(struct cow_pool *pool)
{
	struct bio_list issue, complete;
	unsigned long flags;
	struct bio *bio;
	bool requested;
	int r;

	bio_list_init(&issue);
	bio_list_init(&complete);
	spin_lock_irqsave(&pool->lock, flags);
	bio_list_merge(&issue, &pool->flush_bios);
	bio_list_init(&pool->flush_bios);
	bio_list_merge(&complete, &pool->flush_completions);
	bio_list_init(&pool->flush_completions);
	requested = pool->commit_requested;
	pool->commit_requested = false;
	spin_unlock_irqrestore(&pool->lock, flags);

	if (!requested && bio_list_empty(&issue) && bio_list_empty(&complete))
		return;

	r = cow_io_commit(pool);
	while ((bio = bio_list_pop(&issue))) {
		if (r)
			bio_io_error(bio);
		else
			submit_bio_noacct(bio);
	}
	while ((bio = bio_list_pop(&complete))) {
		if (r)
			bio_io_error(bio);
		else
			bio_endio(bio);
	}
}

/*----------------------------------------------------------------*/
/* Background reclamation of deleted volumes and released metadata snapshots. */

static void process_reclaim(struct cow_pool *pool)
{
	bool more = false;
	int r;

	if (pool->mode != COW_MODE_WRITE || pool->suspended ||
	    !cow_pmd_reclaim_pending(pool->pmd))
		return;

	r = cow_pmd_reclaim_step(pool->pmd, COW_RECLAIM_STEP_CHUNKS, &more);
	if (r) {
		cow_pool_metadata_failed(pool, "cow_pmd_reclaim_step", r);
		return;
	}
	if (more)
		cow_io_wake(pool);
}

static void do_worker(struct work_struct *ws)
{
	struct cow_pool *pool = container_of(ws, struct cow_pool, worker);

	process_prepared_mappings(pool);
	process_deferred_bios(pool);
	process_commit(pool);
	process_reclaim(pool);
}

static void do_periodic_commit(struct work_struct *ws)
{
	struct cow_pool *pool = container_of(to_delayed_work(ws),
					     struct cow_pool, periodic_commit);
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	pool->commit_requested = true;
	spin_unlock_irqrestore(&pool->lock, flags);
	cow_io_wake(pool);
	queue_delayed_work(pool->wq, &pool->periodic_commit, COW_COMMIT_PERIOD);
}

/* Queued too long for data space: fail those bios from now on. */
static void do_no_space_timeout(struct work_struct *ws)
{
	struct cow_pool *pool = container_of(to_delayed_work(ws),
					     struct cow_pool, no_space_timeout);
	struct bio_list bios;
	unsigned long flags;
	struct bio *bio;

	if (pool->mode != COW_MODE_OUT_OF_DATA_SPACE)
		return;
	DMWARN("pool out of data space for %u s: failing queued writes",
	       cow_no_space_timeout_secs);
	pool->pf.error_if_no_space = true;
	bio_list_init(&bios);
	spin_lock_irqsave(&pool->lock, flags);
	bio_list_merge(&bios, &pool->retry_on_resume);
	bio_list_init(&pool->retry_on_resume);
	spin_unlock_irqrestore(&pool->lock, flags);
	while ((bio = bio_list_pop(&bios))) {
		bio->bi_status = BLK_STS_NOSPC;
		bio_endio(bio);
	}
}

void cow_io_retry_no_space(struct cow_pool *pool)
{
	unsigned long flags;

	cancel_delayed_work(&pool->no_space_timeout);
	spin_lock_irqsave(&pool->lock, flags);
	bio_list_merge(&pool->deferred_bios, &pool->retry_on_resume);
	bio_list_init(&pool->retry_on_resume);
	spin_unlock_irqrestore(&pool->lock, flags);
	cow_io_wake(pool);
}

void cow_io_requeue_no_space(struct cow_pool *pool, struct cow_vol *vol)
{
	struct bio_list keep, requeue;
	unsigned long flags;
	struct bio *bio;

	bio_list_init(&keep);
	bio_list_init(&requeue);
	spin_lock_irqsave(&pool->lock, flags);
	while ((bio = bio_list_pop(&pool->retry_on_resume))) {
		struct cow_bio_ctx *ctx = dm_per_bio_data(bio, sizeof(*ctx));

		bio_list_add(ctx->vol == vol ? &requeue : &keep, bio);
	}
	bio_list_merge(&pool->retry_on_resume, &keep);
	spin_unlock_irqrestore(&pool->lock, flags);

	while ((bio = bio_list_pop(&requeue))) {
		bio->bi_status = BLK_STS_DM_REQUEUE;
		bio_endio(bio);
	}
}

void cow_io_quiesce(struct cow_pool *pool)
{
	cancel_delayed_work_sync(&pool->periodic_commit);
	flush_workqueue(pool->wq);
}

void cow_io_resume(struct cow_pool *pool)
{
	queue_delayed_work(pool->wq, &pool->periodic_commit, COW_COMMIT_PERIOD);
	cow_io_wake(pool);
}

/*----------------------------------------------------------------*/

int cow_io_init(struct cow_pool *pool)
{
	unsigned int i;
	int r = -ENOMEM;

	spin_lock_init(&pool->lock);
	bio_list_init(&pool->deferred_bios);
	bio_list_init(&pool->flush_bios);
	bio_list_init(&pool->flush_completions);
	bio_list_init(&pool->retry_on_resume);
	bio_list_init(&pool->wait_reuse);
	cow_ds_init(&pool->all_io);
	mutex_init(&pool->commit_lock);
	mutex_init(&pool->share_lock);
	bio_list_init(&pool->wait_fence);
	pool->reuse_barrier = 0;
	atomic_set(&pool->rmw_pages_used, 0);
	INIT_LIST_HEAD(&pool->prepared_mappings);
	INIT_LIST_HEAD(&pool->active_volumes);
	for (i = 0; i < COW_CELL_BUCKETS; i++)
		INIT_HLIST_HEAD(&pool->cells[i]);
	INIT_WORK(&pool->worker, do_worker);
	INIT_DELAYED_WORK(&pool->periodic_commit, do_periodic_commit);
	INIT_DELAYED_WORK(&pool->no_space_timeout, do_no_space_timeout);

	pool->wq = alloc_ordered_workqueue("dm-" DM_MSG_PREFIX, WQ_MEM_RECLAIM);
	if (!pool->wq)
		return -ENOMEM;

	pool->rmw_wq = alloc_workqueue("dm-" DM_MSG_PREFIX "-rmw", WQ_MEM_RECLAIM, 0);
	if (!pool->rmw_wq)
		goto bad_rmw_wq;
	spin_lock_init(&pool->rmw_lock);
	INIT_LIST_HEAD(&pool->rmw_free);
	pool->rmw_nr_free = 0;

	pool->copier = dm_kcopyd_client_create(NULL);
	if (IS_ERR(pool->copier)) {
		r = PTR_ERR(pool->copier);
		goto bad_copier;
	}
	return 0;

bad_copier:
	destroy_workqueue(pool->rmw_wq);
bad_rmw_wq:
	destroy_workqueue(pool->wq);
	return r;
}

void cow_io_exit(struct cow_pool *pool)
{
	cancel_delayed_work_sync(&pool->periodic_commit);
	cancel_delayed_work_sync(&pool->no_space_timeout);
	flush_workqueue(pool->wq);
	dm_kcopyd_client_destroy(pool->copier);
	destroy_workqueue(pool->rmw_wq);
	while (!list_empty(&pool->rmw_free)) {
		struct page *page = list_first_entry(&pool->rmw_free, struct page, lru);

		list_del(&page->lru);
		__free_page(page);
	}
	destroy_workqueue(pool->wq);
}

int cow_io_module_init(void)
{
	mapping_cache = KMEM_CACHE(cow_mapping, 0);
	if (!mapping_cache)
		return -ENOMEM;
	cell_cache = KMEM_CACHE(cow_cell, 0);
	if (!cell_cache) {
		kmem_cache_destroy(mapping_cache);
		return -ENOMEM;
	}
	return 0;
}

void cow_io_module_exit(void)
{
	kmem_cache_destroy(cell_cache);
	kmem_cache_destroy(mapping_cache);
}
