// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree: the cowtree-pool target.
 *
 * A pool object is shared by every table load of one pool device and by
 * the active volumes; it is found by its metadata device (table reload) or
 * by its mapped device (volume constructor), as dm-thin does.
 */
#include "dm-cowtree.h"
#include "dm-cowtree-bm.h"

#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/mutex.h>

/* The btree depth bound: blocks one thread may hold at once. */
#define COW_BM_MAX_HELD 16

unsigned int cow_no_space_timeout_secs = 60;
module_param_named(no_space_timeout, cow_no_space_timeout_secs, uint, 0644);
MODULE_PARM_DESC(no_space_timeout,
		 "Seconds a write waits for data space before it fails (default 60, 0: forever)");

static bool cow_exclusive_accounting = true;
module_param_named(exclusive_accounting, cow_exclusive_accounting, bool, 0644);
MODULE_PARM_DESC(exclusive_accounting,
		 "N: pools activated from now on stop maintaining exclusive chunk counts, for good (to measure their cost)");

static DEFINE_MUTEX(pool_table_lock);
static LIST_HEAD(pool_table);

/* One table load of a pool device. */
struct pool_c {
	struct dm_target *ti;
	struct cow_pool *pool;
	struct dm_dev *metadata_dev;
	struct dm_dev *data_dev;
	struct cow_pool_features pf;
	u64 low_water_chunks;
};

/*----------------------------------------------------------------*/
/* Modes and events */

const char *cow_pool_mode_name(enum cow_pool_mode mode)
{
	switch (mode) {
	case COW_MODE_WRITE:
		return "rw";
	case COW_MODE_OUT_OF_DATA_SPACE:
		return "out_of_data_space";
	case COW_MODE_READ_ONLY:
		return "ro";
	case COW_MODE_FAIL:
		return "fail";
	}
	return "fail";
}

static void pool_event(struct cow_pool *pool)
{
	if (pool->ti)
		dm_table_event(pool->ti->table);
}

void cow_pool_set_mode(struct cow_pool *pool, enum cow_pool_mode mode)
{
	enum cow_pool_mode old = READ_ONCE(pool->mode);

	if (old == mode)
		return;
	/* Never leave a worse mode for a better one except by reload. */
	if (old == COW_MODE_FAIL ||
	    (old == COW_MODE_READ_ONLY && mode != COW_MODE_FAIL))
		return;

	WRITE_ONCE(pool->mode, mode);
	if (mode == COW_MODE_READ_ONLY || mode == COW_MODE_FAIL)
		cow_bm_set_read_only(pool->bm, true);
	if (mode == COW_MODE_OUT_OF_DATA_SPACE && !pool->pf.error_if_no_space &&
	    cow_no_space_timeout_secs)
		queue_delayed_work(pool->wq, &pool->no_space_timeout,
				   cow_no_space_timeout_secs * HZ);
	DMINFO("pool %s: switching from %s to %s mode",
	       dm_device_name(pool->pool_md), cow_pool_mode_name(old),
	       cow_pool_mode_name(mode));
	pool_event(pool);
}

void cow_pool_err_limit(struct cow_pool *pool, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (!__ratelimit(&pool->err_limit))
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	DMERR("pool %s: %pV", dm_device_name(pool->pool_md), &vaf);
	va_end(args);
}

void cow_pool_metadata_failed(struct cow_pool *pool, const char *op, int r)
{
	enum cow_pool_mode mode = READ_ONCE(pool->mode);

	cow_pool_err_limit(pool, "metadata operation '%s' failed: error = %d",
			   op, r);
	/*
	 * Already read-only: a bio in flight failed the same way.  Abort
	 * again all the same, so the core drops whatever half change that
	 * call left, and lookups keep working.
	 */
	if (mode == COW_MODE_READ_ONLY || mode == COW_MODE_FAIL) {
		cow_pmd_abort(pool->pmd);
		return;
	}
	if (cow_pmd_abort(pool->pmd) || cow_pmd_set_needs_check(pool->pmd)) {
		cow_pool_err_limit(pool, "could not flag needs_check; run dmcowctl check");
		cow_pool_set_mode(pool, COW_MODE_FAIL);
		return;
	}
	cow_pool_set_mode(pool, COW_MODE_READ_ONLY);
}

void cow_pool_check_low_water(struct cow_pool *pool)
{
	u64 free;

	if (cow_pmd_get_free_data_chunks(pool->pmd, &free))
		return;
	if (free <= pool->low_water_chunks && !pool->low_water_triggered) {
		pool->low_water_triggered = true;
		DMWARN("pool %s: reached low water mark for data device: sending event",
		       dm_device_name(pool->pool_md));
		pool_event(pool);
	} else if (free > pool->low_water_chunks) {
		pool->low_water_triggered = false;
	}
}

/*----------------------------------------------------------------*/
/* The pool table */

static struct cow_pool *lookup_by_metadata(struct block_device *md_bdev)
{
	struct cow_pool *pool;

	list_for_each_entry(pool, &pool_table, list)
		if (pool->md_bdev == md_bdev)
			return pool;
	return NULL;
}

/* dm lets every dm device share a block device; pools must not. */
static bool device_used_by_other_pool(struct pool_c *pt, struct mapped_device *md)
{
	struct block_device *meta = pt->metadata_dev->bdev, *data = pt->data_dev->bdev;
	struct cow_pool *pool;

	list_for_each_entry(pool, &pool_table, list) {
		if (pool->pool_md == md)
			continue;
		if (pool->md_bdev == meta || pool->md_bdev == data ||
		    pool->data_bdev == meta || pool->data_bdev == data)
			return true;
	}
	return false;
}

struct cow_pool *cow_pool_get_by_md(struct mapped_device *md)
{
	struct cow_pool *pool, *found = NULL;

	mutex_lock(&pool_table_lock);
	list_for_each_entry(pool, &pool_table, list)
		if (pool->pool_md == md) {
			pool->refs++;
			found = pool;
			break;
		}
	mutex_unlock(&pool_table_lock);
	return found;
}

static void pool_destroy(struct cow_pool *pool)
{
	cow_io_quiesce(pool);
	if (pool->mode == COW_MODE_WRITE || pool->mode == COW_MODE_OUT_OF_DATA_SPACE)
		cow_io_commit(pool);
	cow_io_exit(pool);
	cow_pmd_close(pool->pmd);
	cow_bm_destroy(pool->bm);
	kfree(pool);
}

void cow_pool_put(struct cow_pool *pool)
{
	bool last;

	mutex_lock(&pool_table_lock);
	last = !--pool->refs;
	if (last)
		list_del(&pool->list);
	mutex_unlock(&pool_table_lock);
	if (last)
		pool_destroy(pool);
}

/*
 * Throwaway volumes (a file-level view's snapshot, for one) are deleted
 * by whoever made them; one still here was left by a crash.  Failing to
 * delete it is not a reason to refuse the pool.
 */
static void delete_throwaways(struct cow_pool *pool)
{
	u64 nr;
	int r;

	r = cow_pmd_delete_throwaways(pool->pmd, &nr);
	if (!r && nr)
		r = cow_pmd_commit(pool->pmd);
	if (r)
		DMERR("pool %pg: cannot delete the throwaway volumes left by a crash: error %d",
		      pool->md_bdev, r);
	else if (nr)
		DMINFO("pool %pg: deleted %llu throwaway volume(s) left by a crash",
		       pool->md_bdev, (unsigned long long)nr);
}

/* Open (formatting a blank device) the metadata; sets ti->error. */
static int pool_open_metadata(struct dm_target *ti, struct cow_pool *pool,
			      u64 nr_data_chunks, bool read_only)
{
	struct cow_pmd_open_args args = {
		.chunk_sectors = pool->chunk_sectors,
		.nr_data_chunks = nr_data_chunks,
		.read_only = read_only,
		.drop_exclusive = !READ_ONCE(cow_exclusive_accounting),
	};
	bool blank;
	int r;

	r = cow_pmd_is_unformatted(pool->bm, &blank);
	if (r) {
		ti->error = "Cannot read the metadata superblock";
		return r;
	}
	if (blank) {
		if (read_only) {
			ti->error = "Metadata device is blank and the pool is read_only: nothing to open";
			return -EINVAL;
		}
		r = cow_pmd_format(pool->bm, pool->chunk_sectors, nr_data_chunks);
		if (r) {
			ti->error = "Formatting the metadata device failed";
			return r;
		}
	}
	cow_bm_set_read_only(pool->bm, read_only);
	r = cow_pmd_open(pool->bm, &args, &pool->pmd);
	if (r) {
		ti->error = "Metadata device does not hold a valid cowtree pool of this chunk size (see kernel log)";
		return r;
	}
	if (!read_only && !cow_pmd_needs_check(pool->pmd))
		delete_throwaways(pool);
	return 0;
}

static struct cow_pool *pool_create(struct dm_target *ti, struct pool_c *pt,
				    u32 chunk_sectors)
{
	struct cow_pool *pool;
	int r;

	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool) {
		ti->error = "Cannot allocate pool";
		return ERR_PTR(-ENOMEM);
	}
	pool->refs = 1;
	pool->md_bdev = pt->metadata_dev->bdev;
	pool->data_bdev = pt->data_dev->bdev;
	pool->pool_md = dm_table_get_md(ti->table);
	pool->chunk_sectors = chunk_sectors;
	pool->chunk_shift = __ffs(chunk_sectors);
	pool->pf = pt->pf;
	pool->low_water_chunks = pt->low_water_chunks;
	pool->suspended = true;
	ratelimit_state_init(&pool->err_limit, DEFAULT_RATELIMIT_INTERVAL,
			     DEFAULT_RATELIMIT_BURST);

	r = cow_io_init(pool);
	if (r) {
		ti->error = "Cannot create the pool's worker or copier";
		goto bad_io;
	}
	pool->bm = cow_bufio_bm_create(pool->md_bdev, COW_BM_MAX_HELD);
	if (IS_ERR(pool->bm)) {
		r = PTR_ERR(pool->bm);
		ti->error = "Cannot create the metadata block manager";
		goto bad_bm;
	}
	r = pool_open_metadata(ti, pool, ti->len >> pool->chunk_shift,
			       pt->pf.mode == COW_MODE_READ_ONLY);
	if (r)
		goto bad_pmd;

	pool->mode = COW_MODE_WRITE;
	if (pt->pf.mode == COW_MODE_READ_ONLY) {
		pool->mode = COW_MODE_READ_ONLY;
	} else if (cow_pmd_needs_check(pool->pmd)) {
		DMERR("pool %s: metadata needs_check is set: activating read-only; run dmcowctl check/repair",
		      dm_device_name(pool->pool_md));
		pool->mode = COW_MODE_READ_ONLY;
		cow_bm_set_read_only(pool->bm, true);
	}
	list_add(&pool->list, &pool_table);
	return pool;

bad_pmd:
	cow_bm_destroy(pool->bm);
bad_bm:
	cow_io_exit(pool);
bad_io:
	kfree(pool);
	return ERR_PTR(r);
}

/*----------------------------------------------------------------*/
/* Constructor */

/*
 * cowtree-pool <metadata dev> <data dev> <chunk sectors> <low water chunks>
 *              [<#feature args> <arg>*]
 */
static int pool_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	fmode_t mode = FMODE_READ | FMODE_WRITE;
	struct cow_pool_table table;
	struct cow_pool *pool;
	struct pool_c *pt;
	u32 chunk_sectors;
	int r;

	r = cow_parse_pool_table(argc, argv, ti->len, &table, &ti->error);
	if (r)
		return r;
	pt = kzalloc(sizeof(*pt), GFP_KERNEL);
	if (!pt) {
		ti->error = "Cannot allocate pool context";
		return -ENOMEM;
	}
	pt->ti = ti;
	chunk_sectors = table.chunk_sectors;
	pt->low_water_chunks = table.low_water_chunks;
	pt->pf = table.pf;
	if (pt->pf.mode == COW_MODE_READ_ONLY)
		mode = FMODE_READ;

	r = dm_get_device(ti, table.metadata_dev, mode, &pt->metadata_dev);
	if (r) {
		ti->error = "Error opening metadata device";
		goto bad;
	}
	r = dm_get_device(ti, table.data_dev, FMODE_READ | FMODE_WRITE, &pt->data_dev);
	if (r) {
		ti->error = "Error opening data device";
		goto bad_data;
	}
	if (pt->metadata_dev->bdev == pt->data_dev->bdev) {
		ti->error = "Metadata and data devices must differ";
		r = -EINVAL;
		goto bad_pool;
	}

	mutex_lock(&pool_table_lock);
	if (device_used_by_other_pool(pt, dm_table_get_md(ti->table))) {
		mutex_unlock(&pool_table_lock);
		ti->error = "Data or metadata device is already in use by another pool";
		r = -EBUSY;
		goto bad_pool;
	}
	pool = lookup_by_metadata(pt->metadata_dev->bdev);
	if (pool) {
		if (pool->chunk_sectors != chunk_sectors) {
			ti->error = "Chunk size does not match the active pool";
			pool = ERR_PTR(-EINVAL);
		} else if (pool->pool_md != dm_table_get_md(ti->table)) {
			ti->error = "Metadata device is already in use by another pool";
			pool = ERR_PTR(-EBUSY);
		} else {
			pool->refs++;
		}
	} else {
		pool = pool_create(ti, pt, chunk_sectors);
	}
	mutex_unlock(&pool_table_lock);
	if (IS_ERR(pool)) {
		r = PTR_ERR(pool);
		goto bad_pool;
	}
	pt->pool = pool;

	ti->private = pt;
	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	if (pt->pf.discard_enabled) {
		ti->num_discard_bios = 1;
		ti->discards_supported = true;
	}
	return 0;

bad_pool:
	dm_put_device(ti, pt->data_dev);
bad_data:
	dm_put_device(ti, pt->metadata_dev);
bad:
	kfree(pt);
	return r;
}

static void pool_dtr(struct dm_target *ti)
{
	struct pool_c *pt = ti->private;

	if (pt->pool->ti == ti)
		pt->pool->ti = NULL;
	cow_pool_put(pt->pool);
	dm_put_device(ti, pt->metadata_dev);
	dm_put_device(ti, pt->data_dev);
	kfree(pt);
}

/* The pool device itself passes I/O through to the data device. */
static int pool_map(struct dm_target *ti, struct bio *bio)
{
	struct pool_c *pt = ti->private;

	bio_set_dev(bio, pt->data_dev->bdev);
	return DM_MAPIO_REMAPPED;
}

/*----------------------------------------------------------------*/
/* Suspend, resume, resize */

static int pool_resize(struct cow_pool *pool, struct dm_target *ti)
{
	u64 nr, wanted = ti->len >> pool->chunk_shift;
	bool grew = false;
	int r;

	r = cow_pmd_get_nr_data_chunks(pool->pmd, &nr);
	if (r)
		return r;
	if (wanted < nr) {
		DMERR("pool %s: data device shrank from %llu to %llu chunks: refusing",
		      dm_device_name(pool->pool_md), (unsigned long long)nr,
		      (unsigned long long)wanted);
		return -EINVAL;
	}
	if (wanted > nr) {
		r = cow_pmd_resize_data(pool->pmd, wanted);
		if (r)
			return r;
		DMINFO("pool %s: data device grown to %llu chunks",
		       dm_device_name(pool->pool_md), (unsigned long long)wanted);
		grew = true;
	}

	r = cow_pmd_get_nr_metadata_blocks(pool->pmd, &nr);
	if (r)
		return r;
	wanted = cow_bm_nr_blocks(pool->bm);
	if (wanted > nr) {
		r = cow_pmd_resize_metadata(pool->pmd, wanted);
		if (r)
			return r;
		DMINFO("pool %s: metadata device grown to %llu blocks",
		       dm_device_name(pool->pool_md), (unsigned long long)wanted);
		grew = true;
	}
	if (grew)
		r = cow_pmd_commit(pool->pmd);
	return r;
}

static int pool_preresume(struct dm_target *ti)
{
	struct pool_c *pt = ti->private;
	struct cow_pool *pool = pt->pool;
	int r;

	/* The newest table's settings win. */
	pool->ti = ti;
	pool->pf = pt->pf;
	pool->low_water_chunks = pt->low_water_chunks;
	pool->data_bdev = pt->data_dev->bdev;

	if (pool->mode != COW_MODE_WRITE && pool->mode != COW_MODE_OUT_OF_DATA_SPACE)
		return 0;
	r = pool_resize(pool, ti);
	if (r) {
		cow_pool_metadata_failed(pool, "resize", r);
		return 0;
	}
	if (pool->mode == COW_MODE_OUT_OF_DATA_SPACE) {
		u64 free = 0;

		cow_pmd_get_free_data_chunks(pool->pmd, &free);
		if (free) {
			WRITE_ONCE(pool->mode, COW_MODE_WRITE);
			DMINFO("pool %s: data space available again: switching to rw mode",
			       dm_device_name(pool->pool_md));
			pool_event(pool);
		}
	}
	cow_pool_check_low_water(pool);
	return 0;
}

static void pool_resume(struct dm_target *ti)
{
	struct cow_pool *pool = ((struct pool_c *)ti->private)->pool;

	pool->suspended = false;
	cow_io_resume(pool);
	if (pool->mode == COW_MODE_WRITE)
		cow_io_retry_no_space(pool);
}

static void pool_postsuspend(struct dm_target *ti)
{
	struct cow_pool *pool = ((struct pool_c *)ti->private)->pool;

	pool->suspended = true;
	cow_io_quiesce(pool);
	cow_io_commit(pool);
}

/*----------------------------------------------------------------*/
/* Messages */

/* Returns the state of volume @id among active targets. */
enum vol_state { VOL_INACTIVE, VOL_SUSPENDED, VOL_LIVE };

static enum vol_state volume_state(struct cow_pool *pool, u64 id)
{
	enum vol_state state = VOL_INACTIVE;
	struct cow_vol *vol;
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	list_for_each_entry(vol, &pool->active_volumes, list) {
		if (vol->id != id)
			continue;
		if (!vol->suspended) {
			state = VOL_LIVE;
			break;
		}
		state = VOL_SUSPENDED;
	}
	spin_unlock_irqrestore(&pool->lock, flags);
	return state;
}

/* Refuses a snapshot of a live origin (cow_parse_msg_args() callback). */
static int origin_not_live(void *context, u64 origin_id)
{
	if (volume_state(context, origin_id) == VOL_LIVE) {
		DMERR("snapshot: origin volume %llu is active and not suspended",
		      (unsigned long long)origin_id);
		return -EBUSY;
	}
	return 0;
}

static int msg_delete(struct cow_pool *pool, u64 id)
{
	int r;

	if (volume_state(pool, id) != VOL_INACTIVE) {
		DMERR("delete: volume %llu is active: remove its device first",
		      (unsigned long long)id);
		return -EBUSY;
	}
	r = cow_pmd_delete_volume(pool->pmd, id);
	if (!r)
		cow_io_reclaim_after_commit(pool);
	return r;
}

static int msg_rollback(struct cow_pool *pool, u64 id, u64 snap)
{
	if (volume_state(pool, id) == VOL_LIVE) {
		DMERR("rollback: volume %llu is active and not suspended",
		      (unsigned long long)id);
		return -EBUSY;
	}
	return cow_pmd_rollback(pool->pmd, id, snap);
}

/* Carry out a message that changes the metadata (parsed by cow-parse.c). */
static int msg_execute(struct cow_pool *pool, const struct cow_msg *msg)
{
	struct cow_pool_metadata *pmd = pool->pmd;
	int r;

	switch (msg->desc->type) {
	case COW_MSG_CREATE:
		r = cow_pmd_create_volume(pmd, msg->id, msg->name);
		/* Same transaction: the message's commit comes after both. */
		if (!r && msg->flags)
			r = cow_pmd_set_visibility(pmd, msg->id, msg->flags, NULL);
		return r;
	case COW_MSG_SNAPSHOT:
		return cow_pmd_snapshot(pmd, msg->snaps, msg->nr_snaps);
	case COW_MSG_DELETE:
		return msg_delete(pool, msg->id);
	case COW_MSG_ROLLBACK:
		return msg_rollback(pool, msg->id, msg->snap_id);
	case COW_MSG_SET_TRANSACTION_ID:
		return cow_pmd_set_transaction_id(pmd, msg->old_txn, msg->new_txn);
	case COW_MSG_RESERVE_METADATA_SNAP:
		return cow_pmd_reserve_metadata_snap(pmd);
	case COW_MSG_RELEASE_METADATA_SNAP:
		return cow_pmd_release_metadata_snap(pmd);
	case COW_MSG_SET_NAME:
		return cow_pmd_set_name(pmd, msg->id, msg->name);
	case COW_MSG_SET_SIZE:
		return cow_pmd_set_size(pmd, msg->id, msg->sectors);
	case COW_MSG_SET_VISIBILITY:
		return cow_pmd_set_visibility(pmd, msg->id, msg->flags, msg->name);
	case COW_MSG_SET_RECEIVED:
		return cow_pmd_set_received(pmd, msg->id, msg->received_from,
					    msg->received_mark);
	case COW_MSG_VOLUMES:
	case COW_MSG_SHARE:	/* pool_message(): it has output */
		break;
	}
	return -EINVAL;
}

struct list_ctx {
	char *result;
	unsigned int maxlen;
	unsigned int sz;
};

static int emit_volume(void *context, const struct cow_volume_info *info)
{
	struct list_ctx *lc = context;
	char *result = lc->result;
	unsigned int maxlen = lc->maxlen, sz = lc->sz;

	DMEMIT("%llu %s %llu %llu ", (unsigned long long)info->id, info->name,
	       (unsigned long long)info->size_sectors,
	       (unsigned long long)info->ctime);
	if (info->origin_id == COW_NO_ORIGIN)
		DMEMIT("- ");
	else
		DMEMIT("%llu ", (unsigned long long)info->origin_id);
	DMEMIT("%u %llu ", info->flags, (unsigned long long)info->mapped_chunks);
	/* A counter the pool does not maintain shows as "-". */
	if (info->valid_counters & COW_COUNTER_EXCLUSIVE)
		DMEMIT("%llu ", (unsigned long long)info->exclusive_chunks);
	else
		DMEMIT("- ");
	if (info->valid_counters & COW_COUNTER_WRITTEN)
		DMEMIT("%llu\n", (unsigned long long)info->written_since_origin);
	else
		DMEMIT("-\n");
	lc->sz = sz;
	return 0;
}

/*
 * "volumes": one line per volume, for dmcowctl:
 * <id> <name> <size sectors> <ctime> <origin id|-> <flags> <mapped chunks>
 * <exclusive chunks|-> <written since origin|->
 */
static int msg_volumes(struct cow_pool *pool, char *result, unsigned int maxlen)
{
	struct list_ctx lc = { .result = result, .maxlen = maxlen };

	return cow_pmd_walk_volumes(pool->pmd, emit_volume, &lc);
}

static int pool_message(struct dm_target *ti, unsigned int argc, char **argv,
			char *result, unsigned int maxlen)
{
	struct cow_pool *pool = ((struct pool_c *)ti->private)->pool;
	const struct cow_msg_desc *desc;
	struct cow_msg msg;
	int r;

	desc = cow_parse_msg_lookup(argc, argv, dm_device_name(pool->pool_md));
	if (!desc)
		return -EINVAL;
	if (desc->read_only) {
		r = msg_volumes(pool, result, maxlen);
		return r ? r : 1;	/* 1: the result buffer holds output */
	}
	if (pool->mode != COW_MODE_WRITE && pool->mode != COW_MODE_OUT_OF_DATA_SPACE) {
		DMERR("pool %s: is in %s mode: '%s' refused",
		      dm_device_name(pool->pool_md), cow_pool_mode_name(pool->mode),
		      desc->name);
		return -EINVAL;
	}

	r = cow_parse_msg_args(desc, argc, argv, &msg, origin_not_live, pool);
	if (!r && desc->type == COW_MSG_SHARE)
		r = cow_share_message(pool, &msg, result, maxlen);
	else if (!r)
		r = msg_execute(pool, &msg);
	cow_msg_free(&msg);
	if (r) {
		DMERR("pool %s: message '%s' failed: error = %d",
		      dm_device_name(pool->pool_md), desc->name, r);
		return r;
	}
	r = cow_io_commit(pool);
	/* 1: the result buffer holds output */
	return !r && desc->type == COW_MSG_SHARE ? 1 : r;
}

/*----------------------------------------------------------------*/
/* Status */

static void emit_info(struct cow_pool *pool, char *result, unsigned int maxlen)
{
	u64 txid = 0, free_meta = 0, nr_meta = 0, free_data = 0, nr_data = 0;
	u64 held = 0, reclaiming = 0;
	unsigned int sz = 0;
	int r;

	r = cow_pmd_get_transaction_id(pool->pmd, &txid);
	if (!r)
		r = cow_pmd_get_free_metadata_blocks(pool->pmd, &free_meta);
	if (!r)
		r = cow_pmd_get_nr_metadata_blocks(pool->pmd, &nr_meta);
	if (!r)
		r = cow_pmd_get_free_data_chunks(pool->pmd, &free_data);
	if (!r)
		r = cow_pmd_get_nr_data_chunks(pool->pmd, &nr_data);
	if (!r)
		r = cow_pmd_get_held_root(pool->pmd, &held);
	if (!r)
		r = cow_pmd_get_reclaiming_chunks(pool->pmd, &reclaiming);
	if (r) {
		DMEMIT("Error");
		return;
	}

	DMEMIT("%llu %llu/%llu %llu/%llu ", (unsigned long long)txid,
	       (unsigned long long)(nr_meta - free_meta),
	       (unsigned long long)nr_meta,
	       (unsigned long long)(nr_data - free_data),
	       (unsigned long long)nr_data);
	if (held)
		DMEMIT("%llu ", (unsigned long long)held);
	else
		DMEMIT("- ");
	DMEMIT("%s %s %s %s %llu", cow_pool_mode_name(pool->mode),
	       pool->pf.discard_passdown ? "discard_passdown" : "no_discard_passdown",
	       pool->pf.error_if_no_space ? "error_if_no_space" : "queue_if_no_space",
	       cow_pmd_needs_check(pool->pmd) ? "needs_check" : "-",
	       (unsigned long long)reclaiming);
}

static void pool_status(struct dm_target *ti, status_type_t type,
			unsigned int status_flags, char *result,
			unsigned int maxlen)
{
	struct pool_c *pt = ti->private;
	const struct cow_pool_features *pf = &pt->pf;
	unsigned int count, sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		emit_info(pt->pool, result, maxlen);
		break;
	case STATUSTYPE_TABLE:
		count = !pf->zero_new_chunks + !pf->discard_enabled +
			(pf->discard_enabled && !pf->discard_passdown) +
			(pf->mode == COW_MODE_READ_ONLY) + pf->error_if_no_space;
		DMEMIT("%s %s %u %llu %u", pt->metadata_dev->name,
		       pt->data_dev->name, pt->pool->chunk_sectors,
		       (unsigned long long)pt->low_water_chunks, count);
		if (!pf->zero_new_chunks)
			DMEMIT(" skip_zeroing");
		if (!pf->discard_enabled)
			DMEMIT(" ignore_discard");
		if (pf->discard_enabled && !pf->discard_passdown)
			DMEMIT(" no_discard_passdown");
		if (pf->mode == COW_MODE_READ_ONLY)
			DMEMIT(" read_only");
		if (pf->error_if_no_space)
			DMEMIT(" error_if_no_space");
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

static int pool_iterate_devices(struct dm_target *ti,
				iterate_devices_callout_fn fn, void *data)
{
	struct pool_c *pt = ti->private;

	return fn(ti, pt->data_dev, 0, ti->len, data);
}

static void pool_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct pool_c *pt = ti->private;
	unsigned int chunk_bytes = pt->pool->chunk_sectors << SECTOR_SHIFT;

	if (limits->max_sectors < pt->pool->chunk_sectors)
		return;
	blk_limits_io_min(limits, chunk_bytes);
	blk_limits_io_opt(limits, chunk_bytes);
}

static struct target_type pool_target = {
	.name = "cowtree-pool",
	.features = DM_TARGET_SINGLETON | DM_TARGET_ALWAYS_WRITEABLE |
		    DM_TARGET_IMMUTABLE,
	.version = {1, 0, 0},
	.module = THIS_MODULE,
	.ctr = pool_ctr,
	.dtr = pool_dtr,
	.map = pool_map,
	.postsuspend = pool_postsuspend,
	.preresume = pool_preresume,
	.resume = pool_resume,
	.message = pool_message,
	.status = pool_status,
	.iterate_devices = pool_iterate_devices,
	.io_hints = pool_io_hints,
};

int cow_pool_target_init(void)
{
	return dm_register_target(&pool_target);
}

void cow_pool_target_exit(void)
{
	dm_unregister_target(&pool_target);
}
