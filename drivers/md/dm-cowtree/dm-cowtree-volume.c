// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree: the cowtree (volume) target.
 *
 *   cowtree <pool dev> <volume id>
 */
#include "dm-cowtree.h"

#include <linux/blkdev.h>
#include <linux/module.h>

static int volume_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct cow_volume_table table;
	struct mapped_device *pool_md;
	struct cow_vol *vol;
	unsigned long flags;
	int r;

	r = cow_parse_volume_table(argc, argv, &table, &ti->error);
	if (r)
		return r;
	vol = kzalloc(sizeof(*vol), GFP_KERNEL);
	if (!vol) {
		ti->error = "Cannot allocate volume context";
		return -ENOMEM;
	}
	vol->id = table.id;
	r = dm_get_device(ti, table.pool_dev, dm_table_get_mode(ti->table),
			  &vol->pool_dev);
	if (r) {
		ti->error = "Error opening pool device";
		goto bad;
	}
	pool_md = dm_get_md(vol->pool_dev->bdev->bd_dev);
	if (!pool_md) {
		ti->error = "Pool device is not a device-mapper device";
		r = -EINVAL;
		goto bad_pool;
	}
	vol->pool = cow_pool_get_by_md(pool_md);
	dm_put(pool_md);
	if (!vol->pool) {
		ti->error = "Pool device is not an active cowtree-pool";
		r = -EINVAL;
		goto bad_pool;
	}
	if (vol->pool->mode == COW_MODE_FAIL) {
		ti->error = "Pool is in fail mode";
		r = -EINVAL;
		goto bad_get;
	}
	r = cow_pmd_open_volume(vol->pool->pmd, vol->id, &vol->cvol);
	if (r) {
		ti->error = r == -ENOENT ? "Volume does not exist in the pool" :
					   "Cannot open the volume's metadata";
		goto bad_get;
	}

	vol->suspended = true;	/* until this table is resumed */
	ti->private = vol;
	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	ti->per_io_data_size = sizeof(struct cow_bio_ctx);
	/*
	 * No max_io_len: the map function remaps a run of consecutive chunks
	 * as one bio and splits a bio itself where the run ends
	 * (dm_accept_partial_bio()).
	 */
	if (vol->pool->pf.discard_enabled) {
		ti->num_discard_bios = 1;
		ti->discards_supported = true;
	}

	spin_lock_irqsave(&vol->pool->lock, flags);
	list_add(&vol->list, &vol->pool->active_volumes);
	spin_unlock_irqrestore(&vol->pool->lock, flags);
	return 0;

bad_get:
	cow_pool_put(vol->pool);
bad_pool:
	dm_put_device(ti, vol->pool_dev);
bad:
	kfree(vol);
	return r;
}

static void volume_dtr(struct dm_target *ti)
{
	struct cow_vol *vol = ti->private;
	struct cow_pool *pool = vol->pool;
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	list_del(&vol->list);
	spin_unlock_irqrestore(&pool->lock, flags);

	/* Mappings inserted for this volume must not wait for the timer. */
	flush_workqueue(pool->wq);
	cow_pmd_close_volume(vol->cvol);
	dm_put_device(ti, vol->pool_dev);
	cow_pool_put(pool);
	kfree(vol);
}

static int volume_map(struct dm_target *ti, struct bio *bio)
{
	return cow_volume_map(ti, bio);
}

/*
 * A noflush suspend (e.g. to grow the pool) must not wait for writes queued
 * for data space: hand them back to dm, which reissues them after resume.
 */
static void volume_presuspend(struct dm_target *ti)
{
	struct cow_vol *vol = ti->private;

	if (dm_noflush_suspending(ti))
		cow_io_requeue_no_space(vol->pool, vol);
}

static void volume_postsuspend(struct dm_target *ti)
{
	struct cow_vol *vol = ti->private;

	WRITE_ONCE(vol->suspended, true);
	cow_volume_set_quiesced(vol->cvol, true);
}

static void volume_resume(struct dm_target *ti)
{
	struct cow_vol *vol = ti->private;

	cow_volume_set_quiesced(vol->cvol, false);
	WRITE_ONCE(vol->suspended, false);
}

/* A counter the pool does not maintain shows as "-", never as 0. */
static void emit_counter(char *result, unsigned int maxlen, unsigned int *psz,
			 const struct cow_volume_counters *c, u32 which, u64 value)
{
	unsigned int sz = *psz;

	if (c->valid & which)
		DMEMIT("%llu ", (unsigned long long)value);
	else
		DMEMIT("- ");
	*psz = sz;
}

/*
 * INFO: <mapped chunks> <exclusive chunks|-> <written since origin|->
 *       <highest mapped sector|->
 */
static void volume_status(struct dm_target *ti, status_type_t type,
			  unsigned int status_flags, char *result,
			  unsigned int maxlen)
{
	struct cow_vol *vol = ti->private;
	struct cow_volume_counters c;
	unsigned int sz = 0;
	u64 highest;
	int r;

	switch (type) {
	case STATUSTYPE_INFO:
		if (vol->pool->mode == COW_MODE_FAIL) {
			DMEMIT("Fail");
			break;
		}
		r = cow_volume_get_counters(vol->cvol, &c);
		if (r) {
			DMEMIT("Error");
			break;
		}
		DMEMIT("%llu ", (unsigned long long)c.mapped_chunks);
		emit_counter(result, maxlen, &sz, &c, COW_COUNTER_EXCLUSIVE,
			     c.exclusive_chunks);
		emit_counter(result, maxlen, &sz, &c, COW_COUNTER_WRITTEN,
			     c.written_since_origin);
		r = cow_volume_get_highest_mapped(vol->cvol, &highest);
		if (r == -ENODATA)
			DMEMIT("-");
		else if (r)
			DMEMIT("Error");
		else
			DMEMIT("%llu", (unsigned long long)
			       (((highest + 1) << vol->pool->chunk_shift) - 1));
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %llu", vol->pool_dev->name, (unsigned long long)vol->id);
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

static int volume_iterate_devices(struct dm_target *ti,
				  iterate_devices_callout_fn fn, void *data)
{
	struct cow_vol *vol = ti->private;
	struct dm_target *pool_ti = READ_ONCE(vol->pool->ti);

	/* Volumes are thin: only the pool's own length is backed. */
	if (!pool_ti)
		return 0;
	return fn(ti, vol->pool_dev, 0, pool_ti->len, data);
}

static void volume_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct cow_vol *vol = ti->private;
	unsigned int chunk_bytes = vol->pool->chunk_sectors << SECTOR_SHIFT;

	if (vol->pool->pf.discard_enabled) {
		limits->discard_granularity = chunk_bytes;
		limits->max_discard_sectors = vol->pool->chunk_sectors * 1024;
	}
}

static struct target_type volume_target = {
	.name = "cowtree",
	.version = {1, 0, 0},
	.module = THIS_MODULE,
	.ctr = volume_ctr,
	.dtr = volume_dtr,
	.map = volume_map,
	.presuspend = volume_presuspend,
	.postsuspend = volume_postsuspend,
	.resume = volume_resume,
	.status = volume_status,
	.iterate_devices = volume_iterate_devices,
	.io_hints = volume_io_hints,
};

int cow_volume_target_init(void)
{
	return dm_register_target(&volume_target);
}

void cow_volume_target_exit(void)
{
	dm_unregister_target(&volume_target);
}
