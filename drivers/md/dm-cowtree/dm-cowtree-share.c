// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree: the pool's share message.  A chunk of the destination volume
 * that holds the same data as the source's chunk at the same offset is
 * remapped to the source's data chunk, and its own goes back to the pool:
 * data rewritten with identical bytes (a reinstall, an rsync, a restore)
 * becomes shared again.
 *
 * Race-free against the I/O path, which never takes a lock for a write to
 * a chunk its volume owns alone:
 *  - Writes to the destination's chunks are fenced first: they wait until
 *    the message is done (cow_io_fence()), and the writes in flight are
 *    waited for.  Held writes must not break sharing meanwhile either:
 *    a copy of a chunk could miss a write in flight to it.
 *  - Then, chunk by chunk, the cells of both volumes are locked (busy if
 *    one is held: a copy that broke sharing before the fence is still
 *    going on), both mappings probed, both data chunks read and
 *    compared, and, if equal, the destination remapped by a
 *    compare-and-swap in the core (busy if either mapping changed).
 * The source's chunk is shared as the source sees it (the core refuses
 * it otherwise), so writes to it go through the cells.  The held writes
 * then find their chunk shared and break sharing as after a snapshot.
 * Reads go on throughout: a read of the destination's old chunk in flight
 * when it is freed is covered by the reuse barrier.
 */
#include "dm-cowtree.h"

#include <linux/dm-io.h>
#include <linux/ioprio.h>
#include <linux/vmalloc.h>

struct share_ctx {
	struct cow_pool *pool;
	u64 dst_id, src_id;
	struct cow_volume *dst, *src;
	struct dm_io_client *io;
	void *buf[2];		/* a chunk each: destination, source */
	unsigned int nr_shared, nr_different, nr_busy, nr_skipped;
	char *outcome;		/* a character per chunk */
};

static int read_chunk(struct share_ctx *sc, u64 dchunk, void *buf)
{
	struct cow_pool *pool = sc->pool;
	struct dm_io_region where = {
		.bdev = pool->data_bdev,
		.sector = dchunk << pool->chunk_shift,
		.count = pool->chunk_sectors,
	};
	struct dm_io_request req = {
		.bi_opf = REQ_OP_READ | REQ_SYNC,
		.mem.type = DM_IO_VMA,
		.mem.ptr.vma = buf,
		.client = sc->io,
	};

	return dm_io(&req, 1, &where, NULL, IOPRIO_DEFAULT);
}

/*
 * Are two chunks equal?  On x86-64 memcmp() is lib/string.c's loop of one
 * byte at a time (a quarter of a reshare's instructions went there); this
 * compares four words a step.  The buffers are vmalloc'ed (page aligned)
 * and a chunk is a multiple of 4 KiB.
 */
static bool chunks_equal(const void *a, const void *b, size_t len)
{
	const unsigned long *x = a, *y = b;
	size_t i, n = len / sizeof(unsigned long);

	for (i = 0; i < n; i += 4)
		if ((x[i] ^ y[i]) | (x[i + 1] ^ y[i + 1]) |
		    (x[i + 2] ^ y[i + 2]) | (x[i + 3] ^ y[i + 3]))
			return false;
	return true;
}

/* Compare with the chunk's cells held; 's', 'd', '-' or an error. */
static int compare_and_share(struct share_ctx *sc, u64 vchunk)
{
	size_t len = (size_t)sc->pool->chunk_sectors << SECTOR_SHIFT;
	struct cow_share_probe probe;
	int r;

	r = cow_volume_share_probe(sc->dst, sc->src, vchunk, &probe);
	if (r == -ENODATA)
		return '-';
	if (r)
		return r;
	r = read_chunk(sc, probe.dst_dchunk, sc->buf[0]);
	if (!r)
		r = read_chunk(sc, probe.src_dchunk, sc->buf[1]);
	if (r) {
		DMERR("pool %s: share: reading data chunks %llu and %llu failed: error = %d",
		      dm_device_name(sc->pool->pool_md),
		      (unsigned long long)probe.dst_dchunk,
		      (unsigned long long)probe.src_dchunk, r);
		return r;
	}
	if (!chunks_equal(sc->buf[0], sc->buf[1], len))
		return 'd';
	r = cow_volume_share(sc->dst, sc->src, vchunk, &probe);
	if (r == -EAGAIN)
		return 'b';
	if (r) {
		cow_pool_metadata_failed(sc->pool, "cow_volume_share", r);
		return r;
	}
	return 's';
}

/* One chunk: its outcome character, or an error. */
static int share_chunk(struct share_ctx *sc, u64 vchunk)
{
	struct cow_cell *dst_cell, *src_cell;
	int r;

	dst_cell = cow_cell_try_lock(sc->pool, sc->dst, vchunk);
	if (IS_ERR(dst_cell))
		return PTR_ERR(dst_cell);
	if (!dst_cell)
		return 'b';
	src_cell = cow_cell_try_lock(sc->pool, sc->src, vchunk);
	if (IS_ERR_OR_NULL(src_cell)) {
		cow_cell_release(sc->pool, dst_cell);
		return src_cell ? PTR_ERR(src_cell) : 'b';
	}
	r = compare_and_share(sc, vchunk);
	cow_cell_release(sc->pool, src_cell);
	cow_cell_release(sc->pool, dst_cell);
	return r;
}

static void count_outcome(struct share_ctx *sc, unsigned int i, char c)
{
	sc->outcome[i] = c;
	if (c == 's')
		sc->nr_shared++;
	else if (c == 'd')
		sc->nr_different++;
	else if (c == 'b')
		sc->nr_busy++;
	else
		sc->nr_skipped++;
}

static int share_range(struct share_ctx *sc, u64 vchunk, unsigned int count)
{
	unsigned int i;
	int r = 0;

	cow_io_fence(sc->pool, sc->dst, vchunk, vchunk + count);
	for (i = 0; i < count; i++) {
		r = share_chunk(sc, vchunk + i);
		if (r < 0)
			break;
		count_outcome(sc, i, (char)r);
		r = 0;
	}
	cow_io_unfence(sc->pool);
	return r;
}

static int open_volumes(struct share_ctx *sc)
{
	struct cow_pool_metadata *pmd = sc->pool->pmd;
	u64 missing = sc->dst_id;
	int r;

	r = cow_pmd_open_volume(pmd, sc->dst_id, &sc->dst);
	if (!r) {
		missing = sc->src_id;
		r = cow_pmd_open_volume(pmd, sc->src_id, &sc->src);
		if (r)
			cow_pmd_close_volume(sc->dst);
	}
	if (r == -ENOENT) {
		DMERR("pool %s: share: no volume %llu",
		      dm_device_name(sc->pool->pool_md),
		      (unsigned long long)missing);
		r = -EINVAL;
	}
	return r;
}

static int alloc_buffers(struct share_ctx *sc, unsigned int count)
{
	size_t len = (size_t)sc->pool->chunk_sectors << SECTOR_SHIFT;

	sc->buf[0] = vmalloc(len);
	sc->buf[1] = vmalloc(len);
	sc->outcome = kzalloc(count + 1, GFP_KERNEL);
	sc->io = dm_io_client_create();
	if (IS_ERR(sc->io)) {
		int r = PTR_ERR(sc->io);

		sc->io = NULL;
		return r;
	}
	return sc->buf[0] && sc->buf[1] && sc->outcome ? 0 : -ENOMEM;
}

static void free_buffers(struct share_ctx *sc)
{
	if (sc->io)
		dm_io_client_destroy(sc->io);
	kfree(sc->outcome);
	vfree(sc->buf[1]);
	vfree(sc->buf[0]);
}

/* Are the volumes of one family?  Asked of chunk 0, mapped or not. */
static int check_family(struct share_ctx *sc)
{
	struct cow_share_probe probe;
	int r = cow_volume_share_probe(sc->dst, sc->src, 0, &probe);

	if (r == -EXDEV) {
		DMERR("pool %s: share: volumes %llu and %llu are not of one family (snapshots of each other or of a common origin)",
		      dm_device_name(sc->pool->pool_md),
		      (unsigned long long)sc->dst_id,
		      (unsigned long long)sc->src_id);
		return -EINVAL;
	}
	return r == -ENODATA ? 0 : r;
}

int cow_share_message(struct cow_pool *pool, const struct cow_msg *msg,
		      char *result, unsigned int maxlen)
{
	struct share_ctx sc = {
		.pool = pool, .dst_id = msg->id, .src_id = msg->src_id,
	};
	unsigned int sz = 0;
	int r;

	mutex_lock(&pool->share_lock);
	r = open_volumes(&sc);
	if (r)
		goto out;
	r = check_family(&sc);
	if (!r)
		r = alloc_buffers(&sc, msg->count);
	if (!r)
		r = share_range(&sc, msg->vchunk, msg->count);
	if (!r)
		DMEMIT("compared %u shared %u different %u busy %u skipped %u outcome %s\n",
		       sc.nr_shared + sc.nr_different, sc.nr_shared,
		       sc.nr_different, sc.nr_busy, sc.nr_skipped, sc.outcome);
	free_buffers(&sc);
	cow_pmd_close_volume(sc.src);
	cow_pmd_close_volume(sc.dst);
out:
	mutex_unlock(&pool->share_lock);
	return r;
}
