// SPDX-License-Identifier: GPL-2.0-only
/*
 * User-space disks: file/block device, memory, crash-injecting.
 */
#include "cow-disk.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define BS COW_METADATA_BLOCK_SIZE

/*----------------------------------------------------------------*/
/* File / block device */

struct file_disk {
	struct cow_disk disk;
	int fd;
	u64 nr_blocks;
};

static int file_read(struct cow_disk *d, u64 block, void *buf)
{
	struct file_disk *fd = (struct file_disk *)d;
	ssize_t n;

	if (block >= fd->nr_blocks)
		return -EINVAL;
	n = pread(fd->fd, buf, BS, (off_t)(block * BS));
	if (n < 0)
		return -errno;
	if (n != BS)
		return -EIO;
	d->nr_reads++;
	return 0;
}

static int file_write(struct cow_disk *d, u64 block, const void *buf)
{
	struct file_disk *fd = (struct file_disk *)d;
	ssize_t n;

	if (block >= fd->nr_blocks)
		return -EINVAL;
	n = pwrite(fd->fd, buf, BS, (off_t)(block * BS));
	if (n < 0)
		return -errno;
	if (n != BS)
		return -EIO;
	d->nr_writes++;
	return 0;
}

static int file_flush(struct cow_disk *d)
{
	struct file_disk *fd = (struct file_disk *)d;

	d->nr_flushes++;
	return fdatasync(fd->fd) ? -errno : 0;
}

static u64 file_nr_blocks(struct cow_disk *d)
{
	return ((struct file_disk *)d)->nr_blocks;
}

static void file_destroy(struct cow_disk *d)
{
	struct file_disk *fd = (struct file_disk *)d;

	close(fd->fd);
	free(fd);
}

static const struct cow_disk_ops file_ops = {
	.read = file_read,
	.write = file_write,
	.flush = file_flush,
	.nr_blocks = file_nr_blocks,
	.destroy = file_destroy,
};

int cow_disk_file_open(const char *path, bool read_only, struct cow_disk **result)
{
	struct file_disk *fd;
	struct stat st;
	u64 bytes;
	int r;

	fd = calloc(1, sizeof(*fd));
	if (!fd)
		return -ENOMEM;
	fd->fd = open(path, read_only ? O_RDONLY : O_RDWR);
	if (fd->fd < 0) {
		r = -errno;
		goto bad_free;
	}
	if (fstat(fd->fd, &st)) {
		r = -errno;
		goto bad_close;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd->fd, BLKGETSIZE64, &bytes)) {
			r = -errno;
			goto bad_close;
		}
	} else {
		bytes = (u64)st.st_size;
	}
	fd->nr_blocks = bytes / BS;
	fd->disk.ops = &file_ops;
	*result = &fd->disk;
	return 0;

bad_close:
	close(fd->fd);
bad_free:
	free(fd);
	return r;
}

/*----------------------------------------------------------------*/
/* Memory */

struct mem_disk {
	struct cow_disk disk;
	u64 nr_blocks;
	u8 **blocks;
};

void *cow_disk_mem_block(struct cow_disk *d, u64 block, bool allocate)
{
	struct mem_disk *md = (struct mem_disk *)d;

	if (block >= md->nr_blocks)
		return NULL;
	if (!md->blocks[block] && allocate)
		md->blocks[block] = calloc(1, BS);
	return md->blocks[block];
}

static int mem_read(struct cow_disk *d, u64 block, void *buf)
{
	struct mem_disk *md = (struct mem_disk *)d;

	if (block >= md->nr_blocks)
		return -EINVAL;
	if (md->blocks[block])
		memcpy(buf, md->blocks[block], BS);
	else
		memset(buf, 0, BS);
	d->nr_reads++;
	return 0;
}

static int mem_write(struct cow_disk *d, u64 block, const void *buf)
{
	void *p;

	p = cow_disk_mem_block(d, block, true);
	if (!p)
		return block >= ((struct mem_disk *)d)->nr_blocks ? -EINVAL : -ENOMEM;
	memcpy(p, buf, BS);
	d->nr_writes++;
	return 0;
}

static int mem_flush(struct cow_disk *d)
{
	d->nr_flushes++;
	return 0;
}

static u64 mem_nr_blocks(struct cow_disk *d)
{
	return ((struct mem_disk *)d)->nr_blocks;
}

static void mem_destroy(struct cow_disk *d)
{
	struct mem_disk *md = (struct mem_disk *)d;
	u64 i;

	for (i = 0; i < md->nr_blocks; i++)
		free(md->blocks[i]);
	free(md->blocks);
	free(md);
}

static const struct cow_disk_ops mem_ops = {
	.read = mem_read,
	.write = mem_write,
	.flush = mem_flush,
	.nr_blocks = mem_nr_blocks,
	.destroy = mem_destroy,
};

int cow_disk_mem_create(u64 nr_blocks, struct cow_disk **result)
{
	struct mem_disk *md;

	md = calloc(1, sizeof(*md));
	if (!md)
		return -ENOMEM;
	md->blocks = calloc(nr_blocks ? nr_blocks : 1, sizeof(*md->blocks));
	if (!md->blocks) {
		free(md);
		return -ENOMEM;
	}
	md->nr_blocks = nr_blocks;
	md->disk.ops = &mem_ops;
	*result = &md->disk;
	return 0;
}

static bool all_zero(const u8 *p)
{
	unsigned int i;

	for (i = 0; i < BS; i++)
		if (p[i])
			return false;
	return true;
}

int cow_disk_mem_clone(struct cow_disk *src, struct cow_disk **result)
{
	u64 i, n = cow_disk_nr_blocks(src);
	struct cow_disk *d;
	u8 *buf;
	int r;

	r = cow_disk_mem_create(n, &d);
	if (r)
		return r;
	buf = malloc(BS);
	if (!buf) {
		cow_disk_destroy(d);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (src->ops == &mem_ops && !((struct mem_disk *)src)->blocks[i])
			continue;
		r = src->ops->read(src, i, buf);
		if (r)
			break;
		if (!all_zero(buf)) {
			r = mem_write(d, i, buf);
			if (r)
				break;
		}
	}
	free(buf);
	if (r) {
		cow_disk_destroy(d);
		return r;
	}
	d->nr_writes = 0;
	*result = d;
	return 0;
}

/*----------------------------------------------------------------*/
/* Crash injection */

struct pending_write {
	u64 block;
	u8 *data;
	bool ghost;	/* issued after the crash: seen by reads, never lands */
};

struct crash_disk {
	struct cow_disk disk;
	struct cow_disk *durable;	/* a memory disk */

	struct pending_write *pending;	/* unflushed, in issue order */
	size_t nr_pending, max_pending;

	u64 *log;			/* block of every write issued */
	size_t nr_log, max_log;

	u64 cut;
	enum cow_crash_mode mode;
	unsigned int torn_sectors;
	bool crashed;
};

static struct crash_disk *to_crash(struct cow_disk *d)
{
	return (struct crash_disk *)d;
}

static int crash_read(struct cow_disk *d, u64 block, void *buf)
{
	struct crash_disk *cd = to_crash(d);
	size_t i;

	d->nr_reads++;
	for (i = cd->nr_pending; i > 0; i--)
		if (cd->pending[i - 1].block == block) {
			memcpy(buf, cd->pending[i - 1].data, BS);
			return 0;
		}
	return cd->durable->ops->read(cd->durable, block, buf);
}

static int log_write(struct crash_disk *cd, u64 block)
{
	if (cd->nr_log == cd->max_log) {
		size_t n = cd->max_log ? cd->max_log * 2 : 1024;
		u64 *l = realloc(cd->log, n * sizeof(*l));

		if (!l)
			return -ENOMEM;
		cd->log = l;
		cd->max_log = n;
	}
	cd->log[cd->nr_log++] = block;
	return 0;
}

static int add_pending(struct crash_disk *cd, u64 block, const void *buf,
		       unsigned int bytes, bool ghost)
{
	struct pending_write *pw;
	int r;

	if (cd->nr_pending == cd->max_pending) {
		size_t n = cd->max_pending ? cd->max_pending * 2 : 64;

		pw = realloc(cd->pending, n * sizeof(*pw));
		if (!pw)
			return -ENOMEM;
		cd->pending = pw;
		cd->max_pending = n;
	}
	pw = &cd->pending[cd->nr_pending];
	pw->block = block;
	pw->data = malloc(BS);
	if (!pw->data)
		return -ENOMEM;
	/* A torn write: the old contents show through after @bytes. */
	r = crash_read(&cd->disk, block, pw->data);
	if (r) {
		free(pw->data);
		return r;
	}
	memcpy(pw->data, buf, bytes);
	pw->ghost = ghost;
	cd->nr_pending++;
	return 0;
}

static int crash_write(struct cow_disk *d, u64 block, const void *buf)
{
	struct crash_disk *cd = to_crash(d);
	u64 n;
	int r;

	if (block >= cow_disk_nr_blocks(cd->durable))
		return -EINVAL;
	r = log_write(cd, block);
	if (r)
		return r;
	d->nr_writes++;
	n = cd->nr_log;
	if (cd->crashed)
		return add_pending(cd, block, buf, BS, true);
	if (cd->cut && n >= cd->cut) {
		cd->crashed = true;
		if (cd->mode == COW_CRASH_TEAR && cd->torn_sectors) {
			r = add_pending(cd, block, buf,
					min_t(unsigned int, BS,
					      cd->torn_sectors * 512u), false);
			if (r)
				return r;
		}
		/*
		 * The software runs on until the test notices the crash; let
		 * it read back what it wrote, though none of it lands.
		 */
		return add_pending(cd, block, buf, BS, true);
	}
	return add_pending(cd, block, buf, BS, false);
}

static void free_pending(struct crash_disk *cd)
{
	size_t i;

	for (i = 0; i < cd->nr_pending; i++)
		free(cd->pending[i].data);
	cd->nr_pending = 0;
}

static int crash_flush(struct cow_disk *d)
{
	struct crash_disk *cd = to_crash(d);
	size_t i;
	int r;

	d->nr_flushes++;
	if (cd->crashed)
		return 0;
	for (i = 0; i < cd->nr_pending; i++) {
		r = cd->durable->ops->write(cd->durable, cd->pending[i].block,
					    cd->pending[i].data);
		if (r)
			return r;
	}
	free_pending(cd);
	return 0;
}

static u64 crash_nr_blocks(struct cow_disk *d)
{
	return cow_disk_nr_blocks(to_crash(d)->durable);
}

static void crash_destroy(struct cow_disk *d)
{
	struct crash_disk *cd = to_crash(d);

	free_pending(cd);
	free(cd->pending);
	free(cd->log);
	cow_disk_destroy(cd->durable);
	free(cd);
}

static const struct cow_disk_ops crash_ops = {
	.read = crash_read,
	.write = crash_write,
	.flush = crash_flush,
	.nr_blocks = crash_nr_blocks,
	.destroy = crash_destroy,
};

int cow_crash_disk_create(struct cow_disk *base, struct cow_disk **result)
{
	struct crash_disk *cd;
	int r;

	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return -ENOMEM;
	r = cow_disk_mem_clone(base, &cd->durable);
	if (r) {
		free(cd);
		return r;
	}
	cd->disk.ops = &crash_ops;
	*result = &cd->disk;
	return 0;
}

void cow_crash_disk_arm(struct cow_disk *d, u64 cut, enum cow_crash_mode mode,
			unsigned int torn_sectors)
{
	struct crash_disk *cd = to_crash(d);

	cd->cut = cut;
	cd->mode = mode;
	cd->torn_sectors = torn_sectors;
}

bool cow_crash_disk_crashed(struct cow_disk *d)
{
	return to_crash(d)->crashed;
}

u64 cow_crash_disk_nr_writes(struct cow_disk *d)
{
	return to_crash(d)->nr_log;
}

u64 cow_crash_disk_write_block(struct cow_disk *d, u64 n)
{
	struct crash_disk *cd = to_crash(d);

	if (!n || n > cd->nr_log)
		return ~0ULL;
	return cd->log[n - 1];
}

static u64 xorshift(u64 *s)
{
	u64 x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

int cow_crash_disk_power_cut(struct cow_disk *d, bool reorder, u64 seed,
			     struct cow_disk **result)
{
	struct crash_disk *cd = to_crash(d);
	struct cow_disk *img;
	size_t i, n = cd->nr_pending, *order;
	u64 s = seed | 1;
	int r;

	r = cow_disk_mem_clone(cd->durable, &img);
	if (r)
		return r;
	order = calloc(n ? n : 1, sizeof(*order));
	if (!order) {
		cow_disk_destroy(img);
		return -ENOMEM;
	}
	/* Ghost writes come last in the list: leave them out. */
	while (n && cd->pending[n - 1].ghost)
		n--;
	for (i = 0; i < n; i++)
		order[i] = i;
	if (reorder) {
		/* Fisher-Yates, then keep a random prefix: any subset, any order. */
		for (i = n; i > 1; i--) {
			size_t j = xorshift(&s) % i, t = order[i - 1];

			order[i - 1] = order[j];
			order[j] = t;
		}
		n = n ? xorshift(&s) % (n + 1) : 0;
	}
	for (i = 0; i < n; i++) {
		r = mem_write(img, cd->pending[order[i]].block,
			      cd->pending[order[i]].data);
		if (r)
			break;
	}
	free(order);
	if (r) {
		cow_disk_destroy(img);
		return r;
	}
	img->nr_writes = 0;
	*result = img;
	return 0;
}
