/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree platform shim, kernel side.
 *
 * core/ is compiled unchanged into the module and into user space.  It may
 * use only what this header provides; tools/libcow/cow-platform.h provides
 * the same names for user space (like libxfs_priv.h in xfsprogs).
 */
#ifndef COW_PLATFORM_H
#define COW_PLATFORM_H

#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/crc32c.h>
#include <linux/build_bug.h>
#include <linux/log2.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <linux/sort.h>
#include <linux/random.h>
#include <asm/byteorder.h>

#define cow_err(fmt, ...) pr_err("device-mapper: cowtree: " fmt "\n", ##__VA_ARGS__)
/* For what every read of a bad block would repeat (block validation). */
#define cow_err_ratelimited(fmt, ...) \
	pr_err_ratelimited("device-mapper: cowtree: " fmt "\n", ##__VA_ARGS__)
#define cow_warn(fmt, ...) pr_warn("device-mapper: cowtree: " fmt "\n", ##__VA_ARGS__)
#define cow_info(fmt, ...) pr_info("device-mapper: cowtree: " fmt "\n", ##__VA_ARGS__)

/* Wall-clock seconds, for volume creation times. */
static inline u64 cow_now_seconds(void)
{
	return ktime_get_real_seconds();
}

/* A fresh random uuid for a new pool. */
static inline void cow_random_bytes(void *buf, size_t len)
{
	get_random_bytes(buf, len);
}

#endif
