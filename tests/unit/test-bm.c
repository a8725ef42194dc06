// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the platform shim, the user-space disks and the block
 * cache: crc32c semantics, caching, write-back, locking rules and misuse
 * detection, validators, and the crash disk's cut/tear/reorder.
 */
#include "cow-test.h"
#include "cow-test-pool.h"
#include "cow-format.h"

#include <stdlib.h>
#include <unistd.h>

#define BS COW_METADATA_BLOCK_SIZE

COW_TEST(platform_crc32c_matches_kernel)
{
	/* Kernel: crc32c(~0, "123456789", 9) ^ ~0 == 0xE3069283. */
	CHECK_EQ(crc32c(~0u, "123456789", 9) ^ ~0u, 0xE3069283u);
	/* No hidden inversion: chaining equals one pass. */
	CHECK_EQ(crc32c(crc32c(~0u, "1234", 4), "56789", 5),
		 crc32c(~0u, "123456789", 9));
	CHECK_EQ(crc32c(0, "", 0), 0);
}

COW_TEST(platform_helpers)
{
	char buf[4];

	CHECK_EQ(strscpy(buf, "ab", sizeof(buf)), 2);
	CHECK_EQ(strscpy(buf, "abcdef", sizeof(buf)), -E2BIG);
	CHECK(!strcmp(buf, "abc"));
	CHECK_EQ(DIV_ROUND_UP(9, 4), 3);
	CHECK_EQ(round_up(9u, 8u), 16u);
	CHECK_EQ(div_u64(100, 7), 14);
	CHECK_EQ(le64_to_cpu(cpu_to_le64(0x1122334455667788ULL)),
		 0x1122334455667788ULL);
}

static struct cow_block_manager *mem_bm(u64 blocks, unsigned int cache)
{
	struct cow_block_manager *bm;
	struct cow_disk *d;

	CHECK_OK(cow_disk_mem_create(blocks, &d));
	CHECK_OK(cow_cache_bm_create(d, cache, &bm));
	return bm;
}

static void fill(struct cow_block *b, u8 v)
{
	memset(cow_block_data(b), v, BS);
}

COW_TEST(bm_write_back_and_eviction)
{
	struct cow_block_manager *bm = mem_bm(64, 4);
	struct cow_disk *d = cow_cache_bm_disk(bm);
	struct cow_block *b;
	u64 i;

	for (i = 0; i < 16; i++) {
		CHECK_OK(cow_bm_write_lock_zero(bm, i, NULL, &b));
		fill(b, (u8)(i + 1));
		cow_bm_unlock(bm, b);
	}
	/* A cache of 4: the others were written back on eviction. */
	CHECK(d->nr_writes >= 12);
	CHECK_OK(cow_bm_flush(bm));
	CHECK_EQ(d->nr_writes, 16);
	for (i = 0; i < 16; i++) {
		CHECK_OK(cow_bm_read_lock(bm, i, NULL, &b));
		CHECK_EQ(((u8 *)cow_block_data(b))[100], i + 1);
		cow_bm_unlock(bm, b);
	}
	/* Invalidate drops a dirty block without writing it. */
	CHECK_OK(cow_bm_write_lock(bm, 3, NULL, &b));
	fill(b, 0xee);
	cow_bm_unlock(bm, b);
	cow_bm_invalidate(bm);
	CHECK_OK(cow_bm_read_lock(bm, 3, NULL, &b));
	CHECK_EQ(((u8 *)cow_block_data(b))[0], 4);
	cow_bm_unlock(bm, b);
	cow_log_quiet = true;
	CHECK_EQ(cow_bm_read_lock(bm, 64, NULL, &b), -EINVAL);
	cow_log_quiet = false;
	CHECK_EQ(cow_cache_bm_misuse(bm), 0);
	cow_bm_destroy(bm);
}

COW_TEST(bm_try_lock_never_does_io)
{
	struct cow_block_manager *bm = mem_bm(64, 8);
	struct cow_block *b, *b2;

	CHECK_EQ(cow_bm_read_try_lock(bm, 5, NULL, &b), -EWOULDBLOCK);
	CHECK_OK(cow_bm_read_lock(bm, 5, NULL, &b));
	CHECK_OK(cow_bm_read_try_lock(bm, 5, NULL, &b2));
	cow_bm_unlock(bm, b2);
	cow_bm_unlock(bm, b);
	CHECK_OK(cow_bm_read_try_lock(bm, 5, NULL, &b));
	cow_bm_unlock(bm, b);
	/* Cached under another validator: would need a check, so no. */
	CHECK_EQ(cow_bm_read_try_lock(bm, 5, &cow_node_validator, &b),
		 -EWOULDBLOCK);
	/* Write-locked: would sleep. */
	CHECK_OK(cow_bm_write_lock(bm, 6, NULL, &b));
	CHECK_EQ(cow_bm_read_try_lock(bm, 6, NULL, &b2), -EWOULDBLOCK);
	cow_bm_unlock(bm, b);
	cow_bm_destroy(bm);
}

COW_TEST(bm_detects_misuse)
{
	struct cow_block_manager *bm = mem_bm(64, 8);
	struct cow_block *b, *b2;

	cow_log_quiet = true;
	cow_cache_bm_strict = false;
	CHECK_OK(cow_bm_write_lock(bm, 1, NULL, &b));
	CHECK_EQ(cow_bm_write_lock(bm, 1, NULL, &b2), -EDEADLK);
	CHECK_EQ(cow_bm_read_lock(bm, 1, NULL, &b2), -EDEADLK);
	CHECK_EQ(cow_cache_bm_misuse(bm), 2);
	cow_bm_unlock(bm, b);
	cow_bm_unlock(bm, b);
	CHECK_EQ(cow_cache_bm_misuse(bm), 3);
	CHECK_OK(cow_bm_read_lock(bm, 2, NULL, &b));
	CHECK_OK(cow_bm_read_lock(bm, 2, NULL, &b2));
	CHECK_EQ(cow_bm_write_lock(bm, 2, NULL, &b), -EDEADLK);
	cow_bm_unlock(bm, b2);
	CHECK_EQ(cow_cache_bm_locked(bm), 1);
	/* Destroy with a block still locked is misuse too (reported). */
	cow_bm_destroy(bm);
	cow_cache_bm_strict = true;
	cow_log_quiet = false;
}

COW_TEST(bm_validators_and_read_only)
{
	struct cow_block_manager *bm = mem_bm(64, 8);
	struct cow_block *b;
	u8 *p;

	cow_log_quiet = true;
	CHECK_OK(cow_bm_write_lock_zero(bm, 7, &cow_held_validator, &b));
	cow_init_block_header(b, COW_BT_HELD, 1);
	cow_bm_unlock(bm, b);
	CHECK_OK(cow_bm_flush(bm));
	cow_bm_invalidate(bm);
	CHECK_OK(cow_bm_read_lock(bm, 7, &cow_held_validator, &b));
	cow_bm_unlock(bm, b);
	/* Wrong type for this validator. */
	CHECK_EQ(cow_bm_read_lock(bm, 7, &cow_node_validator, &b), -EILSEQ);
	cow_bm_invalidate(bm);
	p = cow_disk_mem_block(cow_cache_bm_disk(bm), 7, false);
	p[2000] ^= 4;
	CHECK_EQ(cow_bm_read_lock(bm, 7, &cow_held_validator, &b), -EILSEQ);
	cow_bm_set_read_only(bm, true);
	CHECK(cow_bm_is_read_only(bm));
	CHECK_EQ(cow_bm_write_lock_zero(bm, 8, NULL, &b), -EPERM);
	CHECK_EQ(cow_bm_write_lock(bm, 8, NULL, &b), -EPERM);
	cow_bm_destroy(bm);
	cow_log_quiet = false;
}

COW_TEST(bm_file_disk_roundtrip)
{
	char path[] = "/tmp/cowtree-test-XXXXXX";
	struct cow_block_manager *bm;
	struct cow_disk *d;
	struct cow_block *b;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, 128 * BS));
	close(fd);
	CHECK_OK(cow_disk_file_open(path, false, &d));
	CHECK_EQ(cow_disk_nr_blocks(d), 128);
	CHECK_OK(cow_cache_bm_create(d, 4, &bm));
	CHECK_OK(cow_pmd_format(bm, 8, 1000));
	cow_bm_destroy(bm);
	CHECK_OK(cow_disk_file_open(path, true, &d));
	CHECK_OK(cow_cache_bm_create(d, 4, &bm));
	CHECK_OK(cow_bm_read_lock(bm, 0, &cow_sb_validator, &b));
	cow_bm_unlock(bm, b);
	tp_check(bm);
	cow_bm_destroy(bm);
	unlink(path);
}

static u8 block_byte(struct cow_disk *d, u64 b, unsigned int off)
{
	u8 *p = cow_disk_mem_block(d, b, false);

	return p ? p[off] : 0;
}

COW_TEST(crash_disk_cut_tear_reorder)
{
	struct cow_disk *base, *cd, *img;
	u8 buf[BS];
	u64 i;

	CHECK_OK(cow_disk_mem_create(16, &base));
	/* Cut at write 3: writes 1 and 2 land only if flushed or kept. */
	CHECK_OK(cow_crash_disk_create(base, &cd));
	cow_crash_disk_arm(cd, 3, COW_CRASH_DROP, 0);
	for (i = 0; i < 5; i++) {
		memset(buf, (int)(i + 1), BS);
		CHECK_OK(cd->ops->write(cd, i, buf));
		if (i == 0)
			CHECK_OK(cd->ops->flush(cd));
	}
	CHECK(cow_crash_disk_crashed(cd));
	CHECK_EQ(cow_crash_disk_nr_writes(cd), 5);
	CHECK_EQ(cow_crash_disk_write_block(cd, 2), 1);
	/* Reads after the crash see what the software wrote. */
	CHECK_OK(cd->ops->read(cd, 4, buf));
	CHECK_EQ(buf[0], 5);
	CHECK_OK(cow_crash_disk_power_cut(cd, false, 1, &img));
	CHECK_EQ(block_byte(img, 0, 0), 1);
	CHECK_EQ(block_byte(img, 1, 0), 2);
	CHECK_EQ(block_byte(img, 2, 0), 0);
	CHECK_EQ(block_byte(img, 4, 0), 0);
	cow_disk_destroy(img);
	cow_disk_destroy(cd);

	/* Tear write 2 after 2 sectors. */
	CHECK_OK(cow_crash_disk_create(base, &cd));
	cow_crash_disk_arm(cd, 2, COW_CRASH_TEAR, 2);
	memset(buf, 7, BS);
	CHECK_OK(cd->ops->write(cd, 3, buf));
	CHECK_OK(cd->ops->flush(cd));
	memset(buf, 9, BS);
	CHECK_OK(cd->ops->write(cd, 3, buf));
	CHECK_OK(cow_crash_disk_power_cut(cd, false, 1, &img));
	CHECK_EQ(block_byte(img, 3, 0), 9);
	CHECK_EQ(block_byte(img, 3, 1023), 9);
	CHECK_EQ(block_byte(img, 3, 1024), 7);
	cow_disk_destroy(img);
	cow_disk_destroy(cd);

	/* Reorder: some subset of the unflushed writes, over many seeds. */
	{
		unsigned int seen_none = 0, seen_all = 0, seen_some = 0, s;

		for (s = 1; s < 200; s++) {
			unsigned int n = 0;

			CHECK_OK(cow_crash_disk_create(base, &cd));
			cow_crash_disk_arm(cd, 7, COW_CRASH_DROP, 0);
			for (i = 0; i < 6; i++) {
				memset(buf, 1, BS);
				CHECK_OK(cd->ops->write(cd, i, buf));
			}
			CHECK_OK(cow_crash_disk_power_cut(cd, true, s, &img));
			for (i = 0; i < 6; i++)
				n += block_byte(img, i, 0);
			seen_none += n == 0;
			seen_all += n == 6;
			seen_some += n && n < 6;
			cow_disk_destroy(img);
			cow_disk_destroy(cd);
		}
		CHECK(seen_none && seen_all && seen_some);
	}
	cow_disk_destroy(base);
}
