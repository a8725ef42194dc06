/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space "disks" under the write-back block cache (cow-cache-bm.c):
 * a file or block device, plain memory, and a crash-injecting wrapper of a
 * memory disk that can cut, tear and reorder the write stream.
 */
#ifndef COW_DISK_H
#define COW_DISK_H

#include "cow-platform.h"
#include "cow-block-manager.h"

struct cow_disk;

struct cow_disk_ops {
	int (*read)(struct cow_disk *d, u64 block, void *buf);
	int (*write)(struct cow_disk *d, u64 block, const void *buf);
	int (*flush)(struct cow_disk *d);
	u64 (*nr_blocks)(struct cow_disk *d);
	void (*destroy)(struct cow_disk *d);
};

struct cow_disk {
	const struct cow_disk_ops *ops;
	/* Counters of I/O that reached this disk. */
	u64 nr_reads;
	u64 nr_writes;
	u64 nr_flushes;
};

static inline void cow_disk_destroy(struct cow_disk *d)
{
	d->ops->destroy(d);
}

static inline u64 cow_disk_nr_blocks(struct cow_disk *d)
{
	return d->ops->nr_blocks(d);
}

/*----------------------------------------------------------------*/

/* A file or block device; 4 KiB blocks; pread/pwrite/fdatasync. */
int cow_disk_file_open(const char *path, bool read_only, struct cow_disk **result);

/* A zeroed in-memory disk of @nr_blocks blocks, allocated lazily. */
int cow_disk_mem_create(u64 nr_blocks, struct cow_disk **result);
/* Copy the contents of any disk into a new memory disk. */
int cow_disk_mem_clone(struct cow_disk *src, struct cow_disk **result);
/* Direct access to a memory disk block (NULL if never written): tests. */
void *cow_disk_mem_block(struct cow_disk *d, u64 block, bool allocate);

/*----------------------------------------------------------------*/
/* Crash injection */

enum cow_crash_mode {
	COW_CRASH_DROP,		/* write @cut and all later ones are lost */
	COW_CRASH_TEAR,		/* write @cut lands torn, later ones lost */
};

/*
 * A crash disk starts as a copy of @base (not kept).  Writes go to a
 * volatile list until the next flush makes them durable.  From write
 * number @cut on (1-based; 0 = never) the "power is off": writes are
 * accepted but dropped.  cow_crash_disk_power_cut() then builds the image
 * a real disk could hold after the crash.
 */
int cow_crash_disk_create(struct cow_disk *base, struct cow_disk **result);
void cow_crash_disk_arm(struct cow_disk *d, u64 cut, enum cow_crash_mode mode,
			unsigned int torn_sectors);
bool cow_crash_disk_crashed(struct cow_disk *d);
/* Writes issued so far (including dropped ones). */
u64 cow_crash_disk_nr_writes(struct cow_disk *d);
/* Block number of write number @n (1-based), or ~0 if unknown. */
u64 cow_crash_disk_write_block(struct cow_disk *d, u64 n);

/*
 * The durable image after a power cut, as a new memory disk: every flushed
 * write, plus the unflushed writes issued before the cut -- all of them in
 * order, or with @reorder a random subset in random order (seeded).
 */
int cow_crash_disk_power_cut(struct cow_disk *d, bool reorder, u64 seed,
			     struct cow_disk **result);

/*----------------------------------------------------------------*/
/* The write-back block cache, implementing cow-block-manager.h */

/*
 * @cache_blocks bounds the number of cached blocks (dirty unlocked blocks
 * are written back to make room).  The block manager owns @disk.
 */
int cow_cache_bm_create(struct cow_disk *disk, unsigned int cache_blocks,
			struct cow_block_manager **result);

struct cow_disk *cow_cache_bm_disk(struct cow_block_manager *bm);
/* Locking misuse detected so far (double locks, unlock of free blocks...). */
unsigned long cow_cache_bm_misuse(struct cow_block_manager *bm);
/* Blocks currently locked. */
unsigned int cow_cache_bm_locked(struct cow_block_manager *bm);
/*
 * When true (the default), misuse aborts the process: tests want a loud
 * failure.  Misuse tests turn it off and check the returned errors.
 */
extern bool cow_cache_bm_strict;
/*
 * When true, a lock of a block that is write-locked (by the one thread of
 * a user-space program) fails with -EDEADLK and is not misuse: the
 * kernel's block manager refuses a lock by the task that holds the block
 * for writing, which only corrupt references or reference counts can
 * cause.  For tests that feed the core corrupt metadata (tests/fuzz).
 * A write lock of a read-locked block stays misuse: the kernel would wait.
 */
extern bool cow_cache_bm_refuse_relock;

#endif
