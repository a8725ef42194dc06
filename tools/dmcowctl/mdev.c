// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl: metadata devices for the offline tools.  Reading goes through
 * a disk of our own (O_DIRECT capable, counting reads for the progress
 * bar) under the libcow block cache; writing uses libcow's file disk.
 */
#define _GNU_SOURCE 1	/* O_DIRECT */
#include "mdev.h"
#include "offline.h"
#include "cow-disk.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define BS COW_METADATA_BLOCK_SIZE

bool mdev_progress_reads;
u64 mdev_blocks_read;

struct ro_disk {
	struct cow_disk disk;
	int fd;
	u64 nr_blocks;
	void *bounce;		/* aligned buffer for O_DIRECT */
};

static int ro_read(struct cow_disk *d, u64 block, void *buf)
{
	struct ro_disk *rd = (struct ro_disk *)d;
	ssize_t n;

	if (block >= rd->nr_blocks)
		return -EINVAL;
	n = pread(rd->fd, rd->bounce, BS, (off_t)(block * BS));
	if (n < 0)
		return -errno;
	if (n != BS)
		return -EIO;
	memcpy(buf, rd->bounce, BS);
	d->nr_reads++;
	mdev_blocks_read++;
	if (mdev_progress_reads)
		progress_update(d->nr_reads);
	return 0;
}

static int ro_write(struct cow_disk *d, u64 block, const void *buf)
{
	(void)d;
	(void)block;
	(void)buf;
	return -EROFS;
}

static int ro_flush(struct cow_disk *d)
{
	(void)d;
	return 0;
}

static u64 ro_nr_blocks(struct cow_disk *d)
{
	return ((struct ro_disk *)d)->nr_blocks;
}

static void ro_destroy(struct cow_disk *d)
{
	struct ro_disk *rd = (struct ro_disk *)d;

	close(rd->fd);
	free(rd->bounce);
	free(rd);
}

static const struct cow_disk_ops ro_ops = {
	.read = ro_read,
	.write = ro_write,
	.flush = ro_flush,
	.nr_blocks = ro_nr_blocks,
	.destroy = ro_destroy,
};

static int dev_bytes(int fd, const char *path, u64 *bytes)
{
	struct stat st;

	if (fstat(fd, &st)) {
		dmcowctl_err("cannot stat '%s': %s", path, strerror(errno));
		return -errno;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, bytes)) {
			dmcowctl_err("cannot get the size of '%s': %s", path,
				     strerror(errno));
			return -errno;
		}
	} else if (S_ISREG(st.st_mode)) {
		*bytes = (u64)st.st_size;
	} else {
		dmcowctl_err("'%s' is neither a block device nor a file", path);
		return -EINVAL;
	}
	return 0;
}

int mdev_open_ro(const char *path, bool direct, struct cow_block_manager **bm)
{
	struct ro_disk *rd;
	u64 bytes = 0;
	int r;

	rd = calloc(1, sizeof(*rd));
	if (!rd || posix_memalign(&rd->bounce, BS, BS)) {
		free(rd);
		dmcowctl_err("out of memory");
		return -ENOMEM;
	}
	rd->fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
	if (rd->fd < 0) {
		r = -errno;
		dmcowctl_err("cannot open '%s': %s", path, strerror(errno));
		free(rd->bounce);
		free(rd);
		return r;
	}
	r = dev_bytes(rd->fd, path, &bytes);
	rd->nr_blocks = bytes / BS;
	rd->disk.ops = &ro_ops;
	if (!r && rd->nr_blocks < COW_MIN_METADATA_BLOCKS) {
		dmcowctl_err("'%s' is too small for dm-cowtree metadata (%llu bytes)",
			     path, (unsigned long long)bytes);
		r = -ENOSPC;
	}
	if (!r) {
		r = cow_cache_bm_create(&rd->disk, MDEV_CACHE_BLOCKS, bm);
		if (r)
			dmcowctl_err("cannot set up a block cache: %s", strerror(-r));
		else
			cow_bm_set_read_only(*bm, true);
		if (!r)
			return 0;
	}
	ro_destroy(&rd->disk);
	return r;
}

int mdev_open_rw(const char *path, u64 create_blocks,
		 struct cow_block_manager **bm)
{
	struct cow_disk *d;
	struct stat st;
	int fd, r;

	if (stat(path, &st)) {
		if (errno != ENOENT || !create_blocks) {
			dmcowctl_err("cannot open '%s': %s", path, strerror(errno));
			return -errno;
		}
		fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)(create_blocks * BS))) {
			r = -errno;
			dmcowctl_err("cannot create '%s': %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			return r;
		}
		close(fd);
	} else if (S_ISBLK(st.st_mode)) {
		/* O_EXCL on a block device: fails if mounted or held by dm. */
		fd = open(path, O_RDONLY | O_EXCL);
		if (fd < 0) {
			dmcowctl_err("'%s' is in use (%s); deactivate the pool first",
				     path, strerror(errno));
			return -EBUSY;
		}
		close(fd);
	}
	r = cow_disk_file_open(path, false, &d);
	if (r) {
		dmcowctl_err("cannot open '%s' for writing: %s", path, strerror(-r));
		return r;
	}
	r = cow_cache_bm_create(d, MDEV_CACHE_BLOCKS, bm);
	if (r) {
		cow_disk_destroy(d);
		dmcowctl_err("cannot set up a block cache: %s", strerror(-r));
	}
	return r;
}

void mdev_close(struct cow_block_manager *bm)
{
	if (!bm)
		return;
	cow_bm_invalidate(bm);
	cow_bm_destroy(bm);
}

int mdev_read_sb(struct cow_block_manager *bm, struct cow_disk_superblock *sb,
		 bool *csum_ok)
{
	struct cow_block *b;
	int r;

	r = cow_bm_read_lock(bm, COW_SUPERBLOCK_LOCATION, &cow_sb_validator, &b);
	*csum_ok = !r;
	if (r)
		r = cow_bm_read_lock(bm, COW_SUPERBLOCK_LOCATION, NULL, &b);
	if (r)
		return r;
	memcpy(sb, cow_block_data(b), sizeof(*sb));
	cow_bm_unlock(bm, b);
	if (le64_to_cpu(sb->magic) != COW_SB_MAGIC)
		return -EILSEQ;
	/* The other blocks are checked with the pool's own seed. */
	cow_bm_set_csum_seed(bm, cow_sb_csum_seed(sb));
	return 0;
}
