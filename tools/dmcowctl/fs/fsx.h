/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A view's filesystem read below the VFS, for diff: which inodes are stored
 * in a byte range of the volume (inode numbers encode where an inode is:
 * ext4 by inode-table arithmetic on the group descriptors, xfs by AG, block
 * and offset), and which directories live in one group/AG (files mostly
 * live in their directory's group, which is where their names are found
 * without walking the tree).
 *
 * ext4.c reads the filesystem with libext2fs (read-only, through the block
 * device's page cache, which the read-only view shares); xfs.c uses the
 * geometry and bulkstat ioctls of the mounted view.
 */
#ifndef DMCOWCTL_FS_FSX_H
#define DMCOWCTL_FS_FSX_H

#include "fs.h"

/* What diff compares of an inode: everything but the access time. */
struct fsx_inode {
	uint64_t ino;
	uint32_t gen, mode, nlink, uid, gid, flags;
	uint64_t size, blocks;
	int64_t mtime, ctime;
	uint32_t mtime_ns, ctime_ns;
	uint64_t layout;	/* digest of the block map and xattr location */
};

static inline bool fsx_inode_equal(const struct fsx_inode *a,
				   const struct fsx_inode *b)
{
	return a->ino == b->ino && a->gen == b->gen && a->mode == b->mode &&
	       a->nlink == b->nlink && a->uid == b->uid && a->gid == b->gid &&
	       a->flags == b->flags && a->size == b->size && a->blocks == b->blocks &&
	       a->mtime == b->mtime && a->ctime == b->ctime &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns &&
	       a->layout == b->layout;
}

typedef int (*fsx_inode_fn)(void *ctx, const struct fsx_inode *in);
/* An inode stored differently in two views: NULL where it is not allocated. */
typedef int (*fsx_pair_fn)(void *ctx, const struct fsx_inode *a, const struct fsx_inode *b);
/* A directory entry: @name is @len bytes, not NUL-terminated. */
typedef int (*fsx_dirent_fn)(void *ctx, const char *name, size_t len, uint64_t ino);

struct fsx;

struct fsx_ops {
	int (*open)(const struct fs_view *v, void **priv);
	void (*close)(void *priv);
	uint64_t (*nr_groups)(void *priv);
	uint64_t (*group_of)(void *priv, uint64_t ino);
	/* Allocated inodes stored in bytes [begin, end) of the volume. */
	int (*inodes_in)(void *priv, uint64_t begin, uint64_t end,
			 fsx_inode_fn fn, void *ctx);
	/*
	 * Optional, for two views @a and @b of one filesystem: the inodes
	 * stored in bytes [begin, end) whose stored bytes differ between
	 * them (allocated on at least one side); only those are decoded.
	 * Adds the allocated inodes compared, both sides counted, to
	 * *@examined.  -EXDEV if the two do not keep their inodes at the same
	 * places there (then inodes_in() of each side does).
	 */
	int (*changed_inodes_in)(void *a, void *b, uint64_t begin, uint64_t end,
				 fsx_pair_fn fn, void *ctx, uint64_t *examined);
	/* One inode: -ENOENT if it is not allocated. */
	int (*get)(void *priv, uint64_t ino, struct fsx_inode *out);
	/* Allocated directories whose inodes are in @group. */
	int (*dirs_in_group)(void *priv, uint64_t group, fsx_inode_fn fn,
			     void *ctx);
	/*
	 * Optional: the entries of directory @dir but . and .., read below the
	 * VFS; a non-zero return of @fn stops and is returned if negative.
	 */
	int (*dir_entries)(void *priv, uint64_t dir, fsx_dirent_fn fn, void *ctx);
	/*
	 * Optional: a sample of the inode numbers directory @dir names, for
	 * predicting which directory names a file (ext4: the entries of its
	 * first block of entries, which for an htree directory is a sample of
	 * all its entries in hash order).  A non-zero return of @fn stops and
	 * is returned.
	 */
	int (*dir_sample)(void *priv, uint64_t dir,
			  int (*fn)(void *ctx, uint64_t ino), void *ctx);
	/*
	 * Optional: how many block groups had their inode table scanned for
	 * directories (those a walk of the tree could not vouch for).
	 */
	uint64_t (*dir_groups_scanned)(void *priv);
};

extern const struct fsx_ops ext4_fsx_ops, xfs_fsx_ops;

struct fsx {
	const struct fsx_ops *ops;
	void *priv;
};

int fsx_open(const struct fs_view *v, struct fsx **x);
void fsx_close(struct fsx *x);

/* 64-bit FNV-1a, for layout digests. */
static inline uint64_t fsx_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	if (!h)
		h = 0xcbf29ce484222325ULL;
	while (n--)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

#endif
