// SPDX-License-Identifier: GPL-2.0-only
/*
 * xfs below the VFS: an inode number says where the inode is,
 *   ino = agno << (agblklog + inopblog) | agbno << inopblog | offset,
 * so the inodes stored in a byte range of the volume are the allocated ones
 * among a computed range of numbers, which bulkstat returns (it walks the
 * inode btrees from the first number, so unallocated numbers cost nothing).
 * The directories of an AG come from bulkstat restricted to that AG.
 */
#include "fs.h"
#include "fsx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <xfs/xfs.h>

#define BATCH 64u

struct xfsx {
	int fd;			/* the view's root: ioctls go there */
	uint64_t blocksize, agblocks, agcount;
	unsigned int agblklog, inopblog;
	struct xfs_bulkstat_req *req;
};

static unsigned int log2_roundup(uint64_t n)
{
	unsigned int k = 0;

	while ((1ULL << k) < n)
		k++;
	return k;
}

static int xfsx_open(const struct fs_view *v, void **priv)
{
	struct xfs_fsop_geom geo;
	struct xfsx *x;

	if (ioctl(v->root_fd, XFS_IOC_FSGEOMETRY, &geo)) {
		dmcowctl_err("cannot read the xfs geometry of %s: %s", v->dir, strerror(errno));
		return -errno;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->req = calloc(1, XFS_BULKSTAT_REQ_SIZE(BATCH));
	if (!x->req) {
		free(x);
		return -ENOMEM;
	}
	x->fd = v->root_fd;
	x->blocksize = geo.blocksize;
	x->agblocks = geo.agblocks;
	x->agcount = geo.agcount;
	x->agblklog = log2_roundup(geo.agblocks);
	x->inopblog = log2_roundup(geo.blocksize / geo.inodesize);
	*priv = x;
	return 0;
}

static void xfsx_close(void *priv)
{
	struct xfsx *x = priv;

	free(x->req);
	free(x);
}

static uint64_t xfsx_nr_groups(void *priv)
{
	return ((struct xfsx *)priv)->agcount;
}

static uint64_t xfsx_group_of(void *priv, uint64_t ino)
{
	struct xfsx *x = priv;

	return ino >> (x->agblklog + x->inopblog);
}

static void to_fsx(const struct xfs_bulkstat *bs, struct fsx_inode *out)
{
	memset(out, 0, sizeof(*out));
	out->ino = bs->bs_ino;
	out->gen = bs->bs_gen;
	out->mode = bs->bs_mode;
	out->nlink = bs->bs_nlink;
	out->uid = bs->bs_uid;
	out->gid = bs->bs_gid;
	out->flags = (uint32_t)bs->bs_xflags;
	out->size = bs->bs_size;
	out->blocks = bs->bs_blocks;
	out->mtime = bs->bs_mtime;
	out->mtime_ns = bs->bs_mtime_nsec;
	out->ctime = bs->bs_ctime;
	out->ctime_ns = bs->bs_ctime_nsec;
	out->layout = fsx_hash(0, &bs->bs_extents, sizeof(bs->bs_extents));
	out->layout = fsx_hash(out->layout, &bs->bs_extents64, sizeof(bs->bs_extents64));
	out->layout = fsx_hash(out->layout, &bs->bs_aextents, sizeof(bs->bs_aextents));
	out->layout = fsx_hash(out->layout, &bs->bs_forkoff, sizeof(bs->bs_forkoff));
}

/*
 * Bulkstat from @first up to (not including) @last, or the whole AG
 * @agno when @last is 0; @dirs: directories only.
 */
static int bulk(struct xfsx *x, uint64_t first, uint64_t last, bool by_ag,
		uint32_t agno, bool dirs, fsx_inode_fn fn, void *ctx)
{
	struct xfs_bulkstat_req *req = x->req;
	struct fsx_inode out;
	uint32_t i;
	int r;

	memset(&req->hdr, 0, sizeof(req->hdr));
	req->hdr.ino = first;
	if (by_ag) {
		req->hdr.flags = XFS_BULK_IREQ_AGNO;
		req->hdr.agno = agno;
	}
	for (;;) {
		req->hdr.icount = BATCH;
		if (ioctl(x->fd, XFS_IOC_BULKSTAT, req)) {
			dmcowctl_err("xfs bulkstat failed: %s", strerror(errno));
			return -errno;
		}
		if (!req->hdr.ocount)
			return 0;
		for (i = 0; i < req->hdr.ocount; i++) {
			const struct xfs_bulkstat *bs = &req->bulkstat[i];

			if (!by_ag && bs->bs_ino >= last)
				return 0;
			if (dirs && !S_ISDIR(bs->bs_mode))
				continue;
			to_fsx(bs, &out);
			r = fn(ctx, &out);
			if (r)
				return r;
		}
	}
}

static int xfsx_inodes_in(void *priv, uint64_t begin, uint64_t end,
			  fsx_inode_fn fn, void *ctx)
{
	struct xfsx *x = priv;
	uint64_t b = begin / x->blocksize, b1 = (end + x->blocksize - 1) / x->blocksize;
	uint64_t agno, agbno, n, first;
	int r;

	while (b < b1) {
		agno = b / x->agblocks;
		agbno = b % x->agblocks;
		n = x->agblocks - agbno;
		if (n > b1 - b)
			n = b1 - b;
		first = agno << (x->agblklog + x->inopblog) | agbno << x->inopblog;
		r = bulk(x, first, first + (n << x->inopblog), false, 0, false, fn, ctx);
		if (r)
			return r;
		b += n;
	}
	return 0;
}

static int get_one(void *ctx, const struct fsx_inode *in)
{
	*(struct fsx_inode *)ctx = *in;
	return 1;
}

static int xfsx_get(void *priv, uint64_t ino, struct fsx_inode *out)
{
	int r;

	out->ino = ~0ULL;
	r = bulk(priv, ino, ino + 1, false, 0, false, get_one, out);
	if (r < 0)
		return r;
	return out->ino == ino ? 0 : -ENOENT;
}

static int xfsx_dirs_in_group(void *priv, uint64_t group, fsx_inode_fn fn,
			      void *ctx)
{
	return bulk(priv, 0, 0, true, (uint32_t)group, true, fn, ctx);
}

const struct fsx_ops xfs_fsx_ops = {
	.open = xfsx_open,
	.close = xfsx_close,
	.nr_groups = xfsx_nr_groups,
	.group_of = xfsx_group_of,
	.inodes_in = xfsx_inodes_in,
	.get = xfsx_get,
	.dirs_in_group = xfsx_dirs_in_group,
};
