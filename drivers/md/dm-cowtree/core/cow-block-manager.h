/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree metadata engine: block manager interface.
 *
 * The block manager is the lowest layer of the metadata engine: it hands out
 * locked, cached, fixed-size metadata blocks and writes dirty ones back.
 * Every implementation (dm-bufio in the kernel; file, memory and
 * crash-injecting in user space) fills in struct cow_bm_ops; everything
 * above this layer is written against these functions only.
 *
 * Locking rules (as dm-block-manager): any number of read locks or one
 * write lock per block.  Locks are not recursive.  A block returned by any of
 * the lock functions must be given back with cow_bm_unlock().
 */
#ifndef COW_BLOCK_MANAGER_H
#define COW_BLOCK_MANAGER_H

#include "cow-platform.h"

#define COW_METADATA_BLOCK_SIZE 4096u
#define COW_METADATA_BLOCK_SHIFT 12

typedef u64 cow_block_t;

struct cow_block;
struct cow_block_manager;

/*----------------------------------------------------------------*/

/*
 * A validator checks a block as it is read from disk and prepares it (sets
 * checksum, block number, ...) just before it is written.  One validator per
 * on-disk block type, each with its own checksum salt.
 */
struct cow_block_validator {
	const char *name;
	void (*prepare_for_write)(const struct cow_block_validator *v,
				  struct cow_block *b, size_t block_size);
	/* Returns 0 or a negative errno (-EILSEQ for a bad checksum). */
	int (*check)(const struct cow_block_validator *v,
		     struct cow_block *b, size_t block_size);
};

/*
 * Implementation hooks.  Implementations embed struct cow_block_manager as
 * their first member and hand out blocks whose first member is struct
 * cow_block.
 */
struct cow_bm_ops {
	void (*destroy)(struct cow_block_manager *bm);
	cow_block_t (*nr_blocks)(struct cow_block_manager *bm);
	int (*lock_read)(struct cow_block_manager *bm, cow_block_t b,
			 const struct cow_block_validator *v,
			 struct cow_block **result);
	int (*lock_write)(struct cow_block_manager *bm, cow_block_t b,
			  const struct cow_block_validator *v,
			  struct cow_block **result);
	int (*lock_write_zero)(struct cow_block_manager *bm, cow_block_t b,
			       const struct cow_block_validator *v,
			       struct cow_block **result);
	int (*try_lock_read)(struct cow_block_manager *bm, cow_block_t b,
			     const struct cow_block_validator *v,
			     struct cow_block **result);
	void (*unlock)(struct cow_block_manager *bm, struct cow_block *b);
	int (*flush)(struct cow_block_manager *bm);
	void (*prefetch)(struct cow_block_manager *bm, cow_block_t b);
	/* Forget every cached copy of every block (used after an abort). */
	void (*invalidate)(struct cow_block_manager *bm);
	bool (*is_read_only)(struct cow_block_manager *bm);
	void (*set_read_only)(struct cow_block_manager *bm, bool ro);
};

/*
 * Seed of the block checksums of a pool formatted before the pool uuid was
 * part of them (no COW_FEATURE_INCOMPAT_UUID_CSUM), and of every block
 * manager until the pool's superblock has been read.
 */
#define COW_CSUM_SEED_LEGACY (~(u32)0)

struct cow_block_manager {
	const struct cow_bm_ops *ops;
	/*
	 * Seeds the checksum of every block but the superblock (which seeds
	 * its own from the uuid it holds): derived from the pool uuid, so a
	 * block left on the device by another pool never validates.  Set by
	 * the core when it formats or opens a pool (cow_bm_set_csum_seed()).
	 */
	u32 csum_seed;
};

struct cow_block {
	cow_block_t location;
	void *data;
	/* The block manager's csum_seed, set before a validator runs. */
	u32 csum_seed;
};

static inline cow_block_t cow_block_location(struct cow_block *b)
{
	return b->location;
}

static inline void *cow_block_data(struct cow_block *b)
{
	return b->data;
}

/*----------------------------------------------------------------*/

/* Destroys the block manager; every block must have been unlocked. */
static inline void cow_bm_destroy(struct cow_block_manager *bm)
{
	bm->ops->destroy(bm);
}

/* Size of the underlying device in metadata blocks. */
static inline cow_block_t cow_bm_nr_blocks(struct cow_block_manager *bm)
{
	return bm->ops->nr_blocks(bm);
}

/*
 * Read-lock block @b, reading it and running @v->check if it is not cached
 * (or was cached under another validator).  @v may be NULL for a raw read
 * that checks nothing (probing a device).  On success *result holds the
 * block until cow_bm_unlock().  -ENODATA-style errors come from the device,
 * -EILSEQ from the validator, -EINVAL for an out-of-range block.
 */
static inline int cow_bm_read_lock(struct cow_block_manager *bm, cow_block_t b,
				   const struct cow_block_validator *v,
				   struct cow_block **result)
{
	return bm->ops->lock_read(bm, b, v, result);
}

/*
 * Write-lock block @b (reading and validating it first).  The block is
 * dirty once unlocked (not before: a cache may write a dirty block back
 * while it is held, and must see it dirty again after the last change);
 * @v->prepare_for_write runs before it reaches the disk.
 * Fails with -EPERM on a read-only block manager.
 */
static inline int cow_bm_write_lock(struct cow_block_manager *bm, cow_block_t b,
				    const struct cow_block_validator *v,
				    struct cow_block **result)
{
	return bm->ops->lock_write(bm, b, v, result);
}

/* As cow_bm_write_lock(), but the old contents are not read: data is zeroed. */
static inline int cow_bm_write_lock_zero(struct cow_block_manager *bm,
					 cow_block_t b,
					 const struct cow_block_validator *v,
					 struct cow_block **result)
{
	return bm->ops->lock_write_zero(bm, b, v, result);
}

/*
 * Non-blocking read lock: returns -EWOULDBLOCK if the block is not already
 * cached and validated, or if taking the lock would sleep.  Never does I/O.
 */
static inline int cow_bm_read_try_lock(struct cow_block_manager *bm,
				       cow_block_t b,
				       const struct cow_block_validator *v,
				       struct cow_block **result)
{
	return bm->ops->try_lock_read(bm, b, v, result);
}

static inline void cow_bm_unlock(struct cow_block_manager *bm,
				 struct cow_block *b)
{
	bm->ops->unlock(bm, b);
}

/*
 * Write every dirty block and then issue a cache flush to the device.
 * Returns only when all of it is durable.  Blocks may still be locked.
 */
static inline int cow_bm_flush(struct cow_block_manager *bm)
{
	return bm->ops->flush(bm);
}

/* Hint that block @b will be read soon.  May do nothing. */
static inline void cow_bm_prefetch(struct cow_block_manager *bm, cow_block_t b)
{
	if (bm->ops->prefetch)
		bm->ops->prefetch(bm, b);
}

/* Drop every clean and dirty cached block without writing it. */
static inline void cow_bm_invalidate(struct cow_block_manager *bm)
{
	bm->ops->invalidate(bm);
}

/* Checksums of blocks validated or written from now on use @seed. */
static inline void cow_bm_set_csum_seed(struct cow_block_manager *bm, u32 seed)
{
	bm->csum_seed = seed;
}

static inline bool cow_bm_is_read_only(struct cow_block_manager *bm)
{
	return bm->ops->is_read_only(bm);
}

/* Once read-only, write locks fail with -EPERM and flush does nothing. */
static inline void cow_bm_set_read_only(struct cow_block_manager *bm, bool ro)
{
	bm->ops->set_read_only(bm, ro);
}

#endif
