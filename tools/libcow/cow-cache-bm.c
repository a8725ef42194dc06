// SPDX-License-Identifier: GPL-2.0-only
/*
 * A write-back block cache implementing cow-block-manager.h over a
 * struct cow_disk.  Single-threaded: instead of sleeping on a contended
 * lock it reports the misuse (a second write lock, a read lock of a
 * write-locked block, an unlock of an unlocked block, a destroy with
 * locked blocks) -- in the kernel each of those would be a deadlock or a
 * use-after-free.
 */
#include "cow-disk.h"

#define BS COW_METADATA_BLOCK_SIZE
#define HASH_BITS 12
#define NR_BUCKETS (1u << HASH_BITS)

bool cow_cache_bm_strict = true;
bool cow_cache_bm_refuse_relock;

struct cblock {
	struct cow_block b;		/* first: handed out to callers */
	struct cblock *hash_next;
	struct cblock *lru_prev, *lru_next;
	const struct cow_block_validator *v;
	unsigned int readers;
	bool write_locked;
	bool dirty;
	bool validated;
};

struct cache_bm {
	struct cow_block_manager bm;
	struct cow_disk *disk;
	unsigned int max_blocks, nr_blocks, nr_locked;
	bool read_only;
	unsigned long misuse;
	struct cblock *buckets[NR_BUCKETS];
	struct cblock lru;		/* head: next is most recently used */
};

static struct cache_bm *to_cache(struct cow_block_manager *bm)
{
	return (struct cache_bm *)bm;
}

static void report_misuse(struct cache_bm *c, const char *what, u64 b)
{
	c->misuse++;
	cow_err("block manager misuse: %s (block %llu)", what,
		(unsigned long long)b);
	if (cow_cache_bm_strict)
		abort();
}

/*----------------------------------------------------------------*/
/* Hash and LRU */

static unsigned int hash_block(u64 b)
{
	return (unsigned int)((b * 0x9e3779b97f4a7c15ULL) >> (64 - HASH_BITS));
}

static struct cblock *find(struct cache_bm *c, u64 b)
{
	struct cblock *cb;

	for (cb = c->buckets[hash_block(b)]; cb; cb = cb->hash_next)
		if (cb->b.location == b)
			return cb;
	return NULL;
}

static void lru_del(struct cblock *cb)
{
	cb->lru_prev->lru_next = cb->lru_next;
	cb->lru_next->lru_prev = cb->lru_prev;
}

static void lru_add_front(struct cache_bm *c, struct cblock *cb)
{
	cb->lru_next = c->lru.lru_next;
	cb->lru_prev = &c->lru;
	c->lru.lru_next->lru_prev = cb;
	c->lru.lru_next = cb;
}

static void unhash(struct cache_bm *c, struct cblock *cb)
{
	struct cblock **p = &c->buckets[hash_block(cb->b.location)];

	while (*p != cb)
		p = &(*p)->hash_next;
	*p = cb->hash_next;
}

static void free_cblock(struct cache_bm *c, struct cblock *cb)
{
	unhash(c, cb);
	lru_del(cb);
	c->nr_blocks--;
	free(cb->b.data);
	free(cb);
}

static int write_back(struct cache_bm *c, struct cblock *cb)
{
	int r;

	if (cb->v && cb->v->prepare_for_write) {
		cb->b.csum_seed = c->bm.csum_seed;
		cb->v->prepare_for_write(cb->v, &cb->b, BS);
	}
	r = c->disk->ops->write(c->disk, cb->b.location, cb->b.data);
	if (r) {
		cow_err("write of metadata block %llu failed: %d",
			(unsigned long long)cb->b.location, r);
		return r;
	}
	cb->dirty = false;
	return 0;
}

/* Make room for one more block by evicting the least recently used. */
static int evict_one(struct cache_bm *c)
{
	struct cblock *cb;
	int r;

	for (cb = c->lru.lru_prev; cb != &c->lru; cb = cb->lru_prev) {
		if (cb->readers || cb->write_locked)
			continue;
		if (cb->dirty) {
			r = write_back(c, cb);
			if (r)
				return r;
		}
		free_cblock(c, cb);
		return 0;
	}
	return 0;	/* everything locked: grow past the limit */
}

static int get_cblock(struct cache_bm *c, u64 b, struct cblock **result)
{
	struct cblock *cb;
	int r;

	if (c->nr_blocks >= c->max_blocks) {
		r = evict_one(c);
		if (r)
			return r;
	}
	cb = calloc(1, sizeof(*cb));
	if (!cb)
		return -ENOMEM;
	if (posix_memalign(&cb->b.data, 4096, BS)) {
		free(cb);
		return -ENOMEM;
	}
	cb->b.location = b;
	cb->hash_next = c->buckets[hash_block(b)];
	c->buckets[hash_block(b)] = cb;
	lru_add_front(c, cb);
	c->nr_blocks++;
	*result = cb;
	return 0;
}

/*----------------------------------------------------------------*/
/* Locking */

/* Validate a cached block for @v unless already done. */
static int validate(struct cow_block_manager *bm, struct cblock *cb,
		    const struct cow_block_validator *v)
{
	int r;

	if (cb->validated && cb->v == v)
		return 0;
	if (v && v->check) {
		cb->b.csum_seed = bm->csum_seed;
		r = v->check(v, &cb->b, BS);
		if (r)
			return r;
	}
	cb->v = v;
	cb->validated = true;
	return 0;
}

/*
 * Find or read block @b.  On success the block is cached, validated by
 * @v and at the front of the LRU; nothing is locked yet.
 */
static int lookup(struct cache_bm *c, u64 b, const struct cow_block_validator *v,
		  bool may_read, bool zero, struct cblock **result)
{
	struct cblock *cb;
	int r;

	if (b >= cow_disk_nr_blocks(c->disk)) {
		cow_err("metadata block %llu is beyond the device (%llu blocks)",
			(unsigned long long)b,
			(unsigned long long)cow_disk_nr_blocks(c->disk));
		return -EINVAL;
	}
	cb = find(c, b);
	if (cb) {
		lru_del(cb);
		lru_add_front(c, cb);
		if (zero)
			return (*result = cb), 0;
		if (!may_read && !(cb->validated && cb->v == v))
			return -EWOULDBLOCK;
		if (cb->write_locked && !may_read)
			return -EWOULDBLOCK;
		r = validate(&c->bm, cb, v);
		if (r)
			return r;
		*result = cb;
		return 0;
	}
	if (!may_read)
		return -EWOULDBLOCK;
	r = get_cblock(c, b, &cb);
	if (r)
		return r;
	if (zero) {
		*result = cb;
		return 0;
	}
	r = c->disk->ops->read(c->disk, b, cb->b.data);
	if (!r)
		r = validate(&c->bm, cb, v);
	if (r) {
		free_cblock(c, cb);
		return r;
	}
	*result = cb;
	return 0;
}

/* What the kernel's block manager does when its writer locks again. */
static bool refused_relock(struct cblock *cb)
{
	if (!cow_cache_bm_refuse_relock || !cb->write_locked)
		return false;
	cow_err("block %llu is locked again by the thread writing it",
		(unsigned long long)cb->b.location);
	return true;
}

static int take_read(struct cache_bm *c, struct cblock *cb, struct cow_block **result)
{
	if (refused_relock(cb))
		return -EDEADLK;
	if (cb->write_locked) {
		report_misuse(c, "read lock of a write-locked block", cb->b.location);
		return -EDEADLK;
	}
	if (!cb->readers++)
		c->nr_locked++;
	*result = &cb->b;
	return 0;
}

static int take_write(struct cache_bm *c, struct cblock *cb,
		      const struct cow_block_validator *v, struct cow_block **result)
{
	if (refused_relock(cb))
		return -EDEADLK;
	if (cb->write_locked || cb->readers) {
		report_misuse(c, "write lock of a locked block", cb->b.location);
		return -EDEADLK;
	}
	cb->write_locked = true;
	cb->dirty = true;
	cb->v = v;
	cb->validated = true;
	c->nr_locked++;
	*result = &cb->b;
	return 0;
}

static int cbm_read_lock(struct cow_block_manager *bm, cow_block_t b,
			 const struct cow_block_validator *v,
			 struct cow_block **result)
{
	struct cache_bm *c = to_cache(bm);
	struct cblock *cb;
	int r;

	r = lookup(c, b, v, true, false, &cb);
	return r ? r : take_read(c, cb, result);
}

static int cbm_read_try_lock(struct cow_block_manager *bm, cow_block_t b,
			     const struct cow_block_validator *v,
			     struct cow_block **result)
{
	struct cache_bm *c = to_cache(bm);
	struct cblock *cb;
	int r;

	r = lookup(c, b, v, false, false, &cb);
	return r ? r : take_read(c, cb, result);
}

static int cbm_write_lock(struct cow_block_manager *bm, cow_block_t b,
			  const struct cow_block_validator *v,
			  struct cow_block **result)
{
	struct cache_bm *c = to_cache(bm);
	struct cblock *cb;
	int r;

	if (c->read_only)
		return -EPERM;
	r = lookup(c, b, v, true, false, &cb);
	return r ? r : take_write(c, cb, v, result);
}

static int cbm_write_lock_zero(struct cow_block_manager *bm, cow_block_t b,
			       const struct cow_block_validator *v,
			       struct cow_block **result)
{
	struct cache_bm *c = to_cache(bm);
	struct cblock *cb;
	int r;

	if (c->read_only)
		return -EPERM;
	r = lookup(c, b, v, true, true, &cb);
	if (r)
		return r;
	r = take_write(c, cb, v, result);
	if (!r)
		memset(cb->b.data, 0, BS);
	return r;
}

static void cbm_unlock(struct cow_block_manager *bm, struct cow_block *b)
{
	struct cache_bm *c = to_cache(bm);
	struct cblock *cb = (struct cblock *)b;

	if (find(c, b->location) != cb) {
		report_misuse(c, "unlock of an unknown block", b->location);
		return;
	}
	if (cb->write_locked) {
		cb->write_locked = false;
		c->nr_locked--;
	} else if (cb->readers) {
		if (!--cb->readers)
			c->nr_locked--;
	} else {
		report_misuse(c, "unlock of an unlocked block", b->location);
	}
}

/*----------------------------------------------------------------*/
/* Flush, invalidate, lifetime */

static int cmp_cblock(const void *a, const void *b)
{
	const struct cblock *x = *(struct cblock * const *)a;
	const struct cblock *y = *(struct cblock * const *)b;

	return x->b.location < y->b.location ? -1 : x->b.location > y->b.location;
}

static int cbm_flush(struct cow_block_manager *bm)
{
	struct cache_bm *c = to_cache(bm);
	struct cblock *cb, **v;
	unsigned int i, n = 0;
	int r = 0;

	if (c->read_only)
		return 0;
	v = calloc(c->nr_blocks + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (cb = c->lru.lru_next; cb != &c->lru; cb = cb->lru_next)
		if (cb->dirty && !cb->write_locked)
			v[n++] = cb;
	/* In block order, as a real writeback would sort them. */
	qsort(v, n, sizeof(*v), cmp_cblock);
	for (i = 0; i < n && !r; i++)
		r = write_back(c, v[i]);
	free(v);
	if (!r)
		r = c->disk->ops->flush(c->disk);
	return r;
}

static void cbm_prefetch(struct cow_block_manager *bm, cow_block_t b)
{
	(void)bm;
	(void)b;
}

static void cbm_invalidate(struct cow_block_manager *bm)
{
	struct cache_bm *c = to_cache(bm);
	struct cblock *cb, *next;

	for (cb = c->lru.lru_next; cb != &c->lru; cb = next) {
		next = cb->lru_next;
		if (cb->readers || cb->write_locked) {
			report_misuse(c, "invalidate of a locked block", cb->b.location);
			continue;
		}
		free_cblock(c, cb);
	}
}

static bool cbm_is_read_only(struct cow_block_manager *bm)
{
	return to_cache(bm)->read_only;
}

static void cbm_set_read_only(struct cow_block_manager *bm, bool ro)
{
	to_cache(bm)->read_only = ro;
}

static cow_block_t cbm_nr_blocks(struct cow_block_manager *bm)
{
	return cow_disk_nr_blocks(to_cache(bm)->disk);
}

static void cbm_destroy(struct cow_block_manager *bm)
{
	struct cache_bm *c = to_cache(bm);
	struct cblock *cb, *next;

	if (c->nr_locked)
		report_misuse(c, "destroy with locked blocks", c->nr_locked);
	for (cb = c->lru.lru_next; cb != &c->lru; cb = next) {
		next = cb->lru_next;
		free_cblock(c, cb);
	}
	cow_disk_destroy(c->disk);
	free(c);
}

static const struct cow_bm_ops cache_bm_ops = {
	.destroy = cbm_destroy,
	.nr_blocks = cbm_nr_blocks,
	.lock_read = cbm_read_lock,
	.lock_write = cbm_write_lock,
	.lock_write_zero = cbm_write_lock_zero,
	.try_lock_read = cbm_read_try_lock,
	.unlock = cbm_unlock,
	.flush = cbm_flush,
	.prefetch = cbm_prefetch,
	.invalidate = cbm_invalidate,
	.is_read_only = cbm_is_read_only,
	.set_read_only = cbm_set_read_only,
};

int cow_cache_bm_create(struct cow_disk *disk, unsigned int cache_blocks,
			struct cow_block_manager **result)
{
	struct cache_bm *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->bm.ops = &cache_bm_ops;
	c->bm.csum_seed = COW_CSUM_SEED_LEGACY;
	c->disk = disk;
	c->max_blocks = cache_blocks ? cache_blocks : 1;
	c->lru.lru_next = c->lru.lru_prev = &c->lru;
	*result = &c->bm;
	return 0;
}

struct cow_disk *cow_cache_bm_disk(struct cow_block_manager *bm)
{
	return to_cache(bm)->disk;
}

unsigned long cow_cache_bm_misuse(struct cow_block_manager *bm)
{
	return to_cache(bm)->misuse;
}

unsigned int cow_cache_bm_locked(struct cow_block_manager *bm)
{
	return to_cache(bm)->nr_locked;
}
