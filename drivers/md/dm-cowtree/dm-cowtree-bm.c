// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree: block manager over dm-bufio.
 *
 * dm-bufio caches and writes back the 4 KiB metadata blocks; this layer adds
 * the per-block read/write locks and validators the metadata core expects.
 * Locks are counted in each buffer's aux area under one spinlock, not with
 * a lock object per block: metadata paths hold several blocks of one kind
 * at once (parent and child), which lockdep would report as recursion.
 */
#include "dm-cowtree-bm.h"

#include <linux/device-mapper.h>
#include <linux/dm-bufio.h>
#include <linux/err.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#define DM_MSG_PREFIX "cowtree"

struct bufio_bm {
	struct cow_block_manager bm;
	struct dm_bufio_client *client;
	struct block_device *bdev;	/* named in error messages */
	bool read_only;
	/* Per device: one bad pool's messages cannot silence another's. */
	struct ratelimit_state err_limit;
	spinlock_t lock;		/* protects every aux->holders, ->writer */
	wait_queue_head_t waiters;	/* woken on every unlock */
};

/* Lives in each dm-bufio buffer's aux area. */
struct bufio_aux {
	struct cow_block block;		/* handed to callers */
	struct dm_buffer *buffer;
	const struct cow_block_validator *validator; /* NULL: not validated */
	int holders;			/* > 0 readers, -1 one writer */
	struct task_struct *writer;	/* the writer, while holders is -1 */
};

static struct bufio_bm *to_bbm(struct cow_block_manager *bm)
{
	return container_of(bm, struct bufio_bm, bm);
}

static struct bufio_aux *to_aux(struct cow_block *b)
{
	return container_of(b, struct bufio_aux, block);
}

/*----------------------------------------------------------------*/

static void bufio_alloc_callback(struct dm_buffer *buf)
{
	struct bufio_aux *aux = dm_bufio_get_aux_data(buf);

	aux->validator = NULL;
	aux->holders = 0;
	aux->writer = NULL;
	aux->buffer = buf;
}

/* Runs just before dm-bufio writes a dirty buffer. */
static void bufio_write_callback(struct dm_buffer *buf)
{
	struct bufio_aux *aux = dm_bufio_get_aux_data(buf);

	aux->block.location = dm_bufio_get_block_number(buf);
	aux->block.data = dm_bufio_get_block_data(buf);
	if (aux->validator)
		aux->validator->prepare_for_write(aux->validator, &aux->block,
						  COW_METADATA_BLOCK_SIZE);
}

/*----------------------------------------------------------------*/

static bool try_hold(struct bufio_bm *bbm, struct bufio_aux *aux, bool write)
{
	bool ok;

	spin_lock(&bbm->lock);
	ok = write ? aux->holders == 0 : aux->holders >= 0;
	if (ok)
		aux->holders = write ? -1 : aux->holders + 1;
	if (ok && write)
		aux->writer = current;
	spin_unlock(&bbm->lock);
	return ok;
}

static void release_hold(struct bufio_bm *bbm, struct bufio_aux *aux)
{
	spin_lock(&bbm->lock);
	if (aux->holders < 0) {
		aux->holders = 0;
		aux->writer = NULL;
	} else {
		aux->holders--;
	}
	spin_unlock(&bbm->lock);
	wake_up_all(&bbm->waiters);
}

/*
 * Is the buffer write-locked by the caller itself?  Waiting would never
 * end: the metadata references a block the caller is rewriting, which
 * happens only when reference counts on disk are wrong (a live block
 * counted free and handed out again).
 */
static bool held_by_me(struct bufio_bm *bbm, struct bufio_aux *aux)
{
	bool mine;

	spin_lock(&bbm->lock);
	mine = aux->holders < 0 && aux->writer == current;
	spin_unlock(&bbm->lock);
	return mine;
}

/*
 * Validate a freshly pinned buffer once; later lockers reuse the result.
 * A buffer checked under another validator is a type confusion: refuse.
 * A NULL validator reads the raw block and checks nothing.
 */
static int validate(struct bufio_bm *bbm, struct bufio_aux *aux,
		    const struct cow_block_validator *v)
{
	int r;

	if (!v)
		return 0;	/* raw access, e.g. probing block 0 */
	if (aux->validator) {
		if (aux->validator != v) {
			if (__ratelimit(&bbm->err_limit))
				DMERR("metadata device %pg: block %llu is a %s block, not a %s block",
				      bbm->bdev,
				      (unsigned long long)aux->block.location,
				      aux->validator->name, v->name);
			return -EINVAL;
		}
		return 0;
	}
	r = v->check(v, &aux->block, COW_METADATA_BLOCK_SIZE);
	if (r) {
		if (__ratelimit(&bbm->err_limit))
			DMERR("metadata device %pg: %s validator check failed for block %llu",
			      bbm->bdev, v->name,
			      (unsigned long long)aux->block.location);
		return r;
	}
	aux->validator = v;
	return 0;
}

enum get_mode { GET_READ, GET_NEW, GET_CACHED };

static int bufio_lock(struct cow_block_manager *bm, cow_block_t b,
		      const struct cow_block_validator *v, enum get_mode mode,
		      bool write, struct cow_block **result)
{
	struct bufio_bm *bbm = to_bbm(bm);
	struct dm_buffer *buf;
	struct bufio_aux *aux;
	void *data;
	int r;

	if (b >= dm_bufio_get_device_size(bbm->client))
		return -EINVAL;
	if (write && bbm->read_only)
		return -EPERM;

	if (mode == GET_NEW)
		data = dm_bufio_new(bbm->client, b, &buf);
	else if (mode == GET_CACHED)
		data = dm_bufio_get(bbm->client, b, &buf);
	else
		data = dm_bufio_read(bbm->client, b, &buf);
	if (!data)
		return -EWOULDBLOCK;
	if (IS_ERR(data))
		return PTR_ERR(data);

	aux = dm_bufio_get_aux_data(buf);
	aux->block.location = b;
	aux->block.data = data;
	/* Kept for the write callback, which checksums with it too. */
	aux->block.csum_seed = bm->csum_seed;

	if (!try_hold(bbm, aux, write)) {
		if (mode == GET_CACHED) {
			r = -EWOULDBLOCK;
			goto bad;
		}
		if (held_by_me(bbm, aux)) {
			if (__ratelimit(&bbm->err_limit))
				DMERR("metadata device %pg: block %llu is locked again by the thread writing it: corrupt references or reference counts",
				      bbm->bdev, (unsigned long long)b);
			r = -EDEADLK;
			goto bad;
		}
		wait_event(bbm->waiters, try_hold(bbm, aux, write));
	}

	if (mode == GET_NEW) {
		memset(data, 0, COW_METADATA_BLOCK_SIZE);
		aux->validator = v;
	} else {
		r = validate(bbm, aux, v);
		if (r)
			goto bad_held;
	}
	*result = &aux->block;
	return 0;

bad_held:
	release_hold(bbm, aux);
bad:
	dm_bufio_release(buf);
	return r;
}

static int bufio_read_lock(struct cow_block_manager *bm, cow_block_t b,
			   const struct cow_block_validator *v,
			   struct cow_block **result)
{
	return bufio_lock(bm, b, v, GET_READ, false, result);
}

static int bufio_write_lock(struct cow_block_manager *bm, cow_block_t b,
			    const struct cow_block_validator *v,
			    struct cow_block **result)
{
	return bufio_lock(bm, b, v, GET_READ, true, result);
}

static int bufio_write_lock_zero(struct cow_block_manager *bm, cow_block_t b,
				 const struct cow_block_validator *v,
				 struct cow_block **result)
{
	return bufio_lock(bm, b, v, GET_NEW, true, result);
}

static int bufio_read_try_lock(struct cow_block_manager *bm, cow_block_t b,
			       const struct cow_block_validator *v,
			       struct cow_block **result)
{
	return bufio_lock(bm, b, v, GET_CACHED, false, result);
}

/*
 * A write holder marks the buffer dirty when it lets go, not when it takes
 * the lock: dm-bufio writes dirty buffers back in the background whenever
 * dirty ones outnumber clean ones, held or not, and clears the dirty bit as
 * it starts.  A buffer marked at lock time and written back while its holder
 * was still changing it would be clean, evictable, and re-read from disk
 * without the changes made after the write started (issue #20: a btree leaf
 * that kept entries a split had moved out).  persistent-data's block
 * manager does the same for the same reason.
 */
static void bufio_unlock(struct cow_block_manager *bm, struct cow_block *b)
{
	struct bufio_aux *aux = to_aux(b);
	struct dm_buffer *buf = aux->buffer;

	if (aux->holders < 0)
		dm_bufio_mark_buffer_dirty(buf);
	release_hold(to_bbm(bm), aux);
	dm_bufio_release(buf);
}

/*----------------------------------------------------------------*/

static int bufio_flush(struct cow_block_manager *bm)
{
	struct bufio_bm *bbm = to_bbm(bm);

	if (bbm->read_only)
		return -EPERM;
	/* Writes every dirty buffer, waits, then issues REQ_PREFLUSH. */
	return dm_bufio_write_dirty_buffers(bbm->client);
}

static void bufio_prefetch(struct cow_block_manager *bm, cow_block_t b)
{
	dm_bufio_prefetch(to_bbm(bm)->client, b, 1);
}

/*
 * After an abort the cached copies of blocks written in the abandoned
 * transaction must not be trusted.  Those blocks were shadows, unreachable
 * from the committed superblock, so writing them out first is harmless.
 */
static void bufio_invalidate(struct cow_block_manager *bm)
{
	struct dm_bufio_client *c = to_bbm(bm)->client;

	if (!to_bbm(bm)->read_only)
		dm_bufio_write_dirty_buffers(c);
	dm_bufio_forget_buffers(c, 0, dm_bufio_get_device_size(c));
}

static bool bufio_is_read_only(struct cow_block_manager *bm)
{
	return to_bbm(bm)->read_only;
}

static void bufio_set_read_only(struct cow_block_manager *bm, bool ro)
{
	to_bbm(bm)->read_only = ro;
}

static cow_block_t bufio_nr_blocks(struct cow_block_manager *bm)
{
	return dm_bufio_get_device_size(to_bbm(bm)->client);
}

static void bufio_destroy(struct cow_block_manager *bm)
{
	struct bufio_bm *bbm = to_bbm(bm);

	dm_bufio_client_destroy(bbm->client);
	kfree(bbm);
}

static const struct cow_bm_ops bufio_bm_ops = {
	.destroy = bufio_destroy,
	.nr_blocks = bufio_nr_blocks,
	.lock_read = bufio_read_lock,
	.lock_write = bufio_write_lock,
	.lock_write_zero = bufio_write_lock_zero,
	.try_lock_read = bufio_read_try_lock,
	.unlock = bufio_unlock,
	.flush = bufio_flush,
	.prefetch = bufio_prefetch,
	.invalidate = bufio_invalidate,
	.is_read_only = bufio_is_read_only,
	.set_read_only = bufio_set_read_only,
};

struct cow_block_manager *cow_bufio_bm_create(struct block_device *bdev,
					      unsigned int max_held)
{
	struct bufio_bm *bbm;
	int r;

	bbm = kzalloc(sizeof(*bbm), GFP_KERNEL);
	if (!bbm)
		return ERR_PTR(-ENOMEM);

	bbm->bm.ops = &bufio_bm_ops;
	bbm->bm.csum_seed = COW_CSUM_SEED_LEGACY;
	bbm->bdev = bdev;
	spin_lock_init(&bbm->lock);
	ratelimit_state_init(&bbm->err_limit, DEFAULT_RATELIMIT_INTERVAL,
			     DEFAULT_RATELIMIT_BURST);
	init_waitqueue_head(&bbm->waiters);
	bbm->client = dm_bufio_client_create(bdev, COW_METADATA_BLOCK_SIZE,
					     max_held, sizeof(struct bufio_aux),
					     bufio_alloc_callback,
					     bufio_write_callback, 0);
	if (IS_ERR(bbm->client)) {
		r = PTR_ERR(bbm->client);
		kfree(bbm);
		return ERR_PTR(r);
	}
	return &bbm->bm;
}
