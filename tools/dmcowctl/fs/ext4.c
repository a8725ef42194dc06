// SPDX-License-Identifier: GPL-2.0-only
/*
 * ext4 below the VFS (libext2fs, read-only): inode numbers of the inode
 * table blocks in a byte range of the volume, by arithmetic on the group
 * descriptors (group g's table starts at inode_table_loc(g); inode
 * g * inodes_per_group + i + 1 is at byte i * inode_size of it), the
 * directories of one flex group (from a walk of the directory tree that
 * lists only directories with subdirectories, or a scan of the group's
 * inode table) and a directory's entries read from its blocks.  Groups whose
 * inodes were never used (INODE_UNINIT, itable_unused) are skipped: lazy
 * init writes there are no change.
 */
#include "fs.h"
#include "fsx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2fs.h>

/*
 * Every directory reachable from the root, found by a walk that lists only
 * the directories with subdirectories (a link count above 2, find's leaf
 * optimisation) and stops listing one when all its subdirectories are
 * found: its cost follows the directories of the tree, not its files.  A
 * block group whose directory count (bg_used_dirs_count) differs from the
 * directories found there (an unlinked directory still open, a wrong link
 * count) has its inode table scanned instead.
 */
struct dir_index {
	struct fsx_inode *d;	/* sorted by inode number */
	size_t nr, cap;
	uint32_t *per_group;	/* directories found in each block group */
	bool built, usable;
	uint64_t groups_scanned;	/* block groups scanned instead */
};

struct ext4x {
	ext2_filsys fs;
	unsigned int inode_size, per_block;
	unsigned int flex_log;	/* groups per flex group, log2 (0: no flex_bg) */
	void *buf;		/* one inode, inode_size bytes */
	void *itable;		/* ITABLE_READ blocks of an inode table */
	void *dirblock;		/* one directory block, for dir_sample */
	struct dir_index dirs;
	/* changed_inodes_in: the last other side compared, and whether alike. */
	const struct ext4x *twin;
	bool twin_alike;
};

/* Inode-table blocks read at once by inodes_in. */
#define ITABLE_READ 64u

static int ext4x_open(const struct fs_view *v, void **priv)
{
	struct ext4x *e = calloc(1, sizeof(*e));
	errcode_t err;

	if (!e)
		return -ENOMEM;
	/* error_message() names libext2fs's codes only after this (idempotent). */
	initialize_ext2_error_table();
	err = ext2fs_open(v->dev, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0,
			  unix_io_manager, &e->fs);
	if (err) {
		dmcowctl_err("libext2fs cannot open %s: %s", v->dev, error_message(err));
		free(e);
		return -EIO;
	}
	e->inode_size = EXT2_INODE_SIZE(e->fs->super);
	e->per_block = e->fs->blocksize / e->inode_size;
	if (ext2fs_has_feature_flex_bg(e->fs->super))
		e->flex_log = e->fs->super->s_log_groups_per_flex;
	e->buf = malloc(e->inode_size);
	e->itable = malloc((size_t)ITABLE_READ * e->fs->blocksize);
	e->dirblock = malloc(e->fs->blocksize);
	if (!e->buf || !e->itable || !e->dirblock) {
		free(e->buf);
		free(e->itable);
		free(e->dirblock);
		ext2fs_close_free(&e->fs);
		free(e);
		return -ENOMEM;
	}
	*priv = e;
	return 0;
}

static void ext4x_close(void *priv)
{
	struct ext4x *e = priv;

	ext2fs_close_free(&e->fs);
	free(e->buf);
	free(e->itable);
	free(e->dirblock);
	free(e->dirs.d);
	free(e->dirs.per_group);
	free(e);
}

/*
 * fsx's groups are flex groups: with flex_bg, ext4 puts a file in the first
 * group of its directory's flex group that has a free inode, and spreads
 * directories over the flex group's groups, so a file and its directory
 * often sit in different groups of one flex group.
 */
static uint64_t ext4x_nr_groups(void *priv)
{
	struct ext4x *e = priv;

	return ((uint64_t)e->fs->group_desc_count + (1u << e->flex_log) - 1) >> e->flex_log;
}

static uint64_t ext4x_group_of(void *priv, uint64_t ino)
{
	struct ext4x *e = priv;

	return (ino - 1) / EXT2_INODES_PER_GROUP(e->fs->super) >> e->flex_log;
}

/* Time with the extra epoch bits, and its nanoseconds. */
static void ext4_time(uint32_t base, uint32_t extra, bool has_extra, int64_t *s,
		      uint32_t *ns)
{
	*s = (int32_t)base;
	*ns = 0;
	if (has_extra) {
		*s += (int64_t)(extra & 3) << 32;
		*ns = extra >> 2;
	}
}

static bool allocated(struct ext4x *e, ext2_ino_t ino, const struct ext2_inode *in)
{
	return in->i_links_count &&
	       (ino == EXT2_ROOT_INO || ino >= EXT2_FIRST_INODE(e->fs->super));
}

static void to_fsx(struct ext4x *e, ext2_ino_t ino, const struct ext2_inode_large *in,
		   struct fsx_inode *out)
{
	bool extra = e->inode_size > EXT2_GOOD_OLD_INODE_SIZE &&
		     in->i_extra_isize >= 24;	/* up to i_crtime_extra */
	unsigned int xoff = EXT2_GOOD_OLD_INODE_SIZE + in->i_extra_isize;

	memset(out, 0, sizeof(*out));
	out->ino = ino;
	out->gen = in->i_generation;
	out->mode = in->i_mode;
	out->nlink = in->i_links_count;
	out->uid = in->i_uid | (uint32_t)in->osd2.linux2.l_i_uid_high << 16;
	out->gid = in->i_gid | (uint32_t)in->osd2.linux2.l_i_gid_high << 16;
	out->flags = in->i_flags;
	out->size = EXT2_I_SIZE(in);
	out->blocks = in->i_blocks | (uint64_t)in->osd2.linux2.l_i_blocks_hi << 32;
	ext4_time(in->i_mtime, in->i_mtime_extra, extra, &out->mtime, &out->mtime_ns);
	ext4_time(in->i_ctime, in->i_ctime_extra, extra, &out->ctime, &out->ctime_ns);
	/* Block map, xattr block and in-inode xattrs: not atime, not checksums. */
	out->layout = fsx_hash(0, in->i_block, sizeof(in->i_block));
	out->layout = fsx_hash(out->layout, &in->i_file_acl, sizeof(in->i_file_acl));
	out->layout = fsx_hash(out->layout, &in->osd2.linux2.l_i_file_acl_high,
			       sizeof(in->osd2.linux2.l_i_file_acl_high));
	if (e->inode_size > EXT2_GOOD_OLD_INODE_SIZE && xoff < e->inode_size)
		out->layout = fsx_hash(out->layout, (const char *)in + xoff,
				       e->inode_size - xoff);
}

/* Inodes of group @g in use: INODE_UNINIT and itable_unused honoured. */
static uint64_t used_in_group(struct ext4x *e, dgrp_t g)
{
	uint64_t ipg = EXT2_INODES_PER_GROUP(e->fs->super);

	if (!ext2fs_has_group_desc_csum(e->fs))
		return ipg;
	if (ext2fs_bg_flags_test(e->fs, g, EXT2_BG_INODE_UNINIT))
		return 0;
	return ipg - ext2fs_bg_itable_unused(e->fs, g);
}

struct itable_walk {
	fsx_inode_fn fn;
	void *ctx;
	bool dirs_only;
	uint64_t dirs_left;	/* dirs_only: the group's directories not seen */
};

/* Allocated inodes of @count blocks at @blk, the first one @ino. */
static int itable_blocks(struct ext4x *e, blk64_t blk, unsigned int count, uint64_t ino,
			 uint64_t last, struct itable_walk *w)
{
	struct ext2_inode_large *in;
	struct fsx_inode out;
	errcode_t err;
	size_t i, n = (size_t)count * e->per_block;
	int r;

	err = io_channel_read_blk64(e->fs->io, blk, (int)count, e->itable);
	if (err) {
		dmcowctl_err("libext2fs cannot read inode table block %llu: %s",
			     (unsigned long long)blk, error_message(err));
		return -EIO;
	}
	for (i = 0; i < n && ino + i <= last; i++) {
		in = (struct ext2_inode_large *)((char *)e->itable + i * e->inode_size);
#ifdef WORDS_BIGENDIAN
		ext2fs_swap_inode_full(e->fs, in, in, 0, e->inode_size);
#endif
		if (w->dirs_only && !LINUX_S_ISDIR(in->i_mode))
			continue;
		if (!allocated(e, (ext2_ino_t)(ino + i), (struct ext2_inode *)in))
			continue;
		to_fsx(e, (ext2_ino_t)(ino + i), in, &out);
		r = w->fn(w->ctx, &out);
		if (r)
			return r;
		if (w->dirs_only && !--w->dirs_left)
			return 0;
	}
	return 0;
}

/*
 * Blocks [@lo, @hi) of group @g's inode table, those holding inodes in use
 * only, read in runs (not an inode at a time through libext2fs, which also
 * computes every inode's checksum).
 */
static int itable_range(struct ext4x *e, dgrp_t g, uint64_t lo, uint64_t hi,
			struct itable_walk *w)
{
	uint64_t ipg = EXT2_INODES_PER_GROUP(e->fs->super), used = used_in_group(e, g);
	uint64_t it = ext2fs_inode_table_loc(e->fs, g), b;
	unsigned int n;
	int r = 0;

	if (hi > it + (used + e->per_block - 1) / e->per_block)
		hi = it + (used + e->per_block - 1) / e->per_block;
	for (b = lo; !r && b < hi && !(w->dirs_only && !w->dirs_left); b += n) {
		n = hi - b < ITABLE_READ ? (unsigned int)(hi - b) : ITABLE_READ;
		r = itable_blocks(e, b, n, g * ipg + (b - it) * e->per_block + 1,
				  g * ipg + used, w);
	}
	return r;
}

/* Blocks [@lo, @hi) of group @g's inode table within blocks [@b0, @b1). */
static bool itable_overlap(ext2_filsys fs, dgrp_t g, uint64_t b0, uint64_t b1,
			   uint64_t *lo, uint64_t *hi)
{
	uint64_t it = ext2fs_inode_table_loc(fs, g);

	*lo = b0 > it ? b0 : it;
	*hi = b1 < it + fs->inode_blocks_per_group ? b1 : it + fs->inode_blocks_per_group;
	return *lo < *hi;
}

/* diff reads every inode of every changed inode-table chunk. */
static int ext4x_inodes_in(void *priv, uint64_t begin, uint64_t end,
			   fsx_inode_fn fn, void *ctx)
{
	struct ext4x *e = priv;
	struct itable_walk w = { .fn = fn, .ctx = ctx };
	uint64_t bs = e->fs->blocksize, b0 = begin / bs, b1 = (end + bs - 1) / bs;
	uint64_t lo, hi;
	dgrp_t g;
	int r = 0;

	for (g = 0; !r && g < e->fs->group_desc_count; g++)
		if (itable_overlap(e->fs, g, b0, b1, &lo, &hi))
			r = itable_range(e, g, lo, hi, &w);
	return r;
}

/*----------------------------------------------------------------*/
/* Two views' inode tables side by side */

/* The same inode tables: geometry and every group's table location. */
static bool same_itables(struct ext4x *a, struct ext4x *b)
{
	dgrp_t g;

	if (a->inode_size != b->inode_size || a->fs->blocksize != b->fs->blocksize ||
	    a->fs->group_desc_count != b->fs->group_desc_count ||
	    a->fs->inode_blocks_per_group != b->fs->inode_blocks_per_group ||
	    EXT2_INODES_PER_GROUP(a->fs->super) != EXT2_INODES_PER_GROUP(b->fs->super))
		return false;
	for (g = 0; g < a->fs->group_desc_count; g++)
		if (ext2fs_inode_table_loc(a->fs, g) != ext2fs_inode_table_loc(b->fs, g))
			return false;
	return true;
}

struct pair_walk {
	fsx_pair_fn fn;
	void *ctx;
	uint64_t examined;
};

/* Slot @i of both buffers, inode @ino; @used_*: the sides' last used inode. */
static int compare_slot(struct ext4x *a, struct ext4x *b, size_t i, uint64_t ino,
			uint64_t used_a, uint64_t used_b, struct pair_walk *w)
{
	struct ext2_inode_large *ia, *ib;
	struct fsx_inode fa, fb;
	bool in_a, in_b;

	ia = (struct ext2_inode_large *)((char *)a->itable + i * a->inode_size);
	ib = (struct ext2_inode_large *)((char *)b->itable + i * b->inode_size);
	in_a = ino <= used_a && allocated(a, (ext2_ino_t)ino, (struct ext2_inode *)ia);
	in_b = ino <= used_b && allocated(b, (ext2_ino_t)ino, (struct ext2_inode *)ib);
	w->examined += in_a + in_b;
	if ((!in_a && !in_b) || (in_a && in_b && !memcmp(ia, ib, a->inode_size)))
		return 0;
	if (in_a)
		to_fsx(a, (ext2_ino_t)ino, ia, &fa);
	if (in_b)
		to_fsx(b, (ext2_ino_t)ino, ib, &fb);
	return w->fn(w->ctx, in_a ? &fa : NULL, in_b ? &fb : NULL);
}

/* Blocks [@lo, @hi) of group @g's table on both sides, in runs. */
static int compare_itable_range(struct ext4x *a, struct ext4x *b, dgrp_t g, uint64_t lo,
				uint64_t hi, struct pair_walk *w)
{
	uint64_t ipg = EXT2_INODES_PER_GROUP(a->fs->super), it = ext2fs_inode_table_loc(a->fs, g);
	uint64_t used_a = g * ipg + used_in_group(a, g), used_b = g * ipg + used_in_group(b, g);
	uint64_t used = used_a > used_b ? used_a : used_b, b0, ino;
	errcode_t err = 0;
	unsigned int n;
	size_t i;
	int r = 0;

	if (hi > it + (used - g * ipg + a->per_block - 1) / a->per_block)
		hi = it + (used - g * ipg + a->per_block - 1) / a->per_block;
	for (b0 = lo; !r && b0 < hi; b0 += n) {
		n = hi - b0 < ITABLE_READ ? (unsigned int)(hi - b0) : ITABLE_READ;
		err = io_channel_read_blk64(a->fs->io, b0, (int)n, a->itable);
		if (!err)
			err = io_channel_read_blk64(b->fs->io, b0, (int)n, b->itable);
		if (err)
			break;
		ino = g * ipg + (b0 - it) * a->per_block + 1;
		for (i = 0; !r && i < (size_t)n * a->per_block && ino + i <= used; i++) {
#ifdef WORDS_BIGENDIAN
			ext2fs_swap_inode_full(a->fs, a->itable + i * a->inode_size,
					       a->itable + i * a->inode_size, 0, a->inode_size);
			ext2fs_swap_inode_full(b->fs, b->itable + i * b->inode_size,
					       b->itable + i * b->inode_size, 0, b->inode_size);
#endif
			r = compare_slot(a, b, i, ino + i, used_a, used_b, w);
		}
	}
	if (err) {
		dmcowctl_err("libext2fs cannot read inode table block %llu: %s",
			     (unsigned long long)b0, error_message(err));
		return -EIO;
	}
	return r;
}

static int ext4x_changed_inodes_in(void *pa, void *pb, uint64_t begin, uint64_t end,
				   fsx_pair_fn fn, void *ctx, uint64_t *examined)
{
	struct ext4x *a = pa, *b = pb;
	struct pair_walk w = { .fn = fn, .ctx = ctx };
	uint64_t bs = a->fs->blocksize, b0 = begin / bs, b1 = (end + bs - 1) / bs;
	uint64_t lo, hi;
	dgrp_t g;
	int r = 0;

	if (a->twin != b) {
		a->twin = b;
		a->twin_alike = same_itables(a, b);
	}
	if (!a->twin_alike)
		return -EXDEV;
	for (g = 0; !r && g < a->fs->group_desc_count; g++)
		if (itable_overlap(a->fs, g, b0, b1, &lo, &hi))
			r = compare_itable_range(a, b, g, lo, hi, &w);
	*examined += w.examined;
	return r;
}

static int ext4x_get(void *priv, uint64_t ino, struct fsx_inode *out)
{
	struct ext4x *e = priv;
	errcode_t err;

	if (!ino || ino > e->fs->super->s_inodes_count)
		return -ENOENT;
	err = ext2fs_read_inode_full(e->fs, (ext2_ino_t)ino, e->buf, e->inode_size);
	if (err) {
		dmcowctl_err("libext2fs cannot read inode %llu: %s",
			     (unsigned long long)ino, error_message(err));
		return -EIO;
	}
	if (!allocated(e, (ext2_ino_t)ino, e->buf))
		return -ENOENT;
	to_fsx(e, (ext2_ino_t)ino, e->buf, out);
	return 0;
}

/* Directories of block group @g: the scan stops at the group's count. */
static int dirs_in_block_group(struct ext4x *e, dgrp_t g, fsx_inode_fn fn, void *ctx)
{
	struct itable_walk w = { .fn = fn, .ctx = ctx, .dirs_only = true,
				 .dirs_left = ext2fs_bg_used_dirs_count(e->fs, g) };
	uint64_t it = ext2fs_inode_table_loc(e->fs, g);

	if (!w.dirs_left)
		return 0;
	return itable_range(e, g, it, it + e->fs->inode_blocks_per_group, &w);
}

/* "." or "..": by name, since inline directories report ".." as an entry. */
static bool dot_name(const char *name, unsigned int len)
{
	return (len == 1 && name[0] == '.') || (len == 2 && !memcmp(name, "..", 2));
}

struct dir_walk {
	fsx_dirent_fn fn;
	void *ctx;
	int r;
};

static int dir_walk_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *de,
			  int offset, int blocksize, char *buf, void *priv)
{
	struct dir_walk *w = priv;
	unsigned int len;

	(void)dir;
	(void)offset;
	(void)blocksize;
	(void)buf;
	len = ext2fs_dirent_name_len(de);
	if (entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE || !de->inode ||
	    dot_name(de->name, len))
		return 0;
	w->r = w->fn(w->ctx, de->name, len, de->inode);
	return w->r ? DIRENT_ABORT : 0;
}

/* ext2fs_dir_iterate2() of @dir, inline or in blocks, reading its inode. */
static errcode_t iterate_dir(struct ext4x *e, ext2_ino_t dir,
			     int (*fn)(ext2_ino_t, int, struct ext2_dir_entry *,
				       int, int, char *, void *),
			     void *priv)
{
	struct ext2_inode in;
	errcode_t err;
	int flags = 0;

	/* libext2fs fails a block directory walked with the inline flag. */
	err = ext2fs_read_inode(e->fs, dir, &in);
	if (err)
		return err;
	if (in.i_flags & EXT4_INLINE_DATA_FL)
		flags = DIRENT_FLAG_INCLUDE_INLINE_DATA;
	return ext2fs_dir_iterate2(e->fs, dir, flags, NULL, fn, priv);
}

/*
 * The entries of directory @dir read from its blocks (htree interior
 * blocks read as empty): no file handle, path or kernel readdir, whose
 * htree order costs a hash and a tree insert per entry.
 */
static int ext4x_dir_entries(void *priv, uint64_t dir, fsx_dirent_fn fn, void *ctx)
{
	struct ext4x *e = priv;
	struct dir_walk w = { .fn = fn, .ctx = ctx };
	errcode_t err;

	err = iterate_dir(e, (ext2_ino_t)dir, dir_walk_entry, &w);
	if (err && !w.r) {
		dmcowctl_err("libext2fs cannot read directory %llu: %s",
			     (unsigned long long)dir, error_message(err));
		return -EIO;
	}
	return w.r < 0 ? w.r : 0;
}

/*----------------------------------------------------------------*/
/* The directory index */

struct subdir_walk {
	ext2_ino_t *stack;	/* directories found, not yet read */
	size_t nr, cap;
	uint32_t want, found;	/* want 0: every entry */
	int r;
};

static int subdir_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *de,
			int offset, int blocksize, char *buf, void *priv)
{
	struct subdir_walk *w = priv;

	(void)dir;
	(void)offset;
	(void)blocksize;
	(void)buf;
	if (entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE || !de->inode ||
	    ext2fs_dirent_file_type(de) != EXT2_FT_DIR ||
	    dot_name(de->name, ext2fs_dirent_name_len(de)))
		return 0;
	w->r = FS_GROW(w->stack, w->nr, w->cap);
	if (w->r)
		return DIRENT_ABORT;
	w->stack[w->nr++] = de->inode;
	return ++w->found == w->want ? DIRENT_ABORT : 0;
}

/*
 * Directory @ino into the index, and its subdirectories onto the walk's
 * stack: none if its link count says it has none, else its entries up to
 * the last subdirectory (a link count of 1: more than ext4 counts, all).
 */
static int index_dir(struct ext4x *e, ext2_ino_t ino, struct subdir_walk *w)
{
	struct dir_index *x = &e->dirs;
	struct ext2_inode_large *in = e->buf;
	errcode_t err;

	err = ext2fs_read_inode_full(e->fs, ino, e->buf, e->inode_size);
	if (err) {
		dmcowctl_err("libext2fs cannot read inode %u: %s", ino, error_message(err));
		return -EIO;
	}
	if (!LINUX_S_ISDIR(in->i_mode) || !allocated(e, ino, e->buf))
		return 0;	/* a stale file type: the group counts catch it */
	if (FS_GROW(x->d, x->nr, x->cap))
		return -ENOMEM;
	to_fsx(e, ino, in, &x->d[x->nr++]);
	x->per_group[(ino - 1) / EXT2_INODES_PER_GROUP(e->fs->super)]++;
	if (in->i_links_count == 2)
		return 0;
	w->want = in->i_links_count > 2 ? in->i_links_count - 2u : 0;
	w->found = 0;
	err = iterate_dir(e, ino, subdir_entry, w);
	if (w->r)
		return w->r;
	if (err) {
		dmcowctl_err("libext2fs cannot read directory %u: %s", ino, error_message(err));
		return -EIO;
	}
	return 0;
}

static int cmp_fsx_ino(const void *a, const void *b)
{
	const struct fsx_inode *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Builds the index (once); without file types in entries it is not used. */
static int build_dir_index(struct ext4x *e)
{
	struct dir_index *x = &e->dirs;
	struct subdir_walk w = { 0 };
	ext2fs_inode_bitmap seen = NULL;
	ext2_ino_t ino;
	errcode_t err;
	int r = 0;

	if (x->built)
		return 0;
	x->built = true;
	if (!ext2fs_has_feature_filetype(e->fs->super))
		return 0;
	x->per_group = calloc(e->fs->group_desc_count, sizeof(*x->per_group));
	err = ext2fs_allocate_inode_bitmap(e->fs, "directories walked", &seen);
	if (!x->per_group || err || FS_GROW(w.stack, w.nr, w.cap)) {
		r = -ENOMEM;
		goto out;
	}
	w.stack[w.nr++] = EXT2_ROOT_INO;
	while (!r && w.nr) {
		ino = w.stack[--w.nr];
		if (!ino || ino > e->fs->super->s_inodes_count ||
		    ext2fs_test_inode_bitmap2(seen, ino))
			continue;	/* corrupt or a cycle: the group counts catch it */
		ext2fs_mark_inode_bitmap2(seen, ino);
		r = index_dir(e, ino, &w);
	}
	qsort(x->d, x->nr, sizeof(*x->d), cmp_fsx_ino);
	x->usable = !r;
out:
	if (seen)
		ext2fs_free_inode_bitmap(seen);
	free(w.stack);
	return r;
}

/* Directories of block group @g: the index's if it has them all, or a scan. */
static int dirs_of_block_group(struct ext4x *e, dgrp_t g, fsx_inode_fn fn, void *ctx)
{
	struct dir_index *x = &e->dirs;
	uint64_t ipg = EXT2_INODES_PER_GROUP(e->fs->super);
	size_t lo = 0, hi = x->nr, mid;
	int r = 0;

	if (!x->usable || x->per_group[g] != ext2fs_bg_used_dirs_count(e->fs, g)) {
		x->groups_scanned += ext2fs_bg_used_dirs_count(e->fs, g) != 0;
		return dirs_in_block_group(e, g, fn, ctx);
	}
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (x->d[mid].ino <= (uint64_t)g * ipg)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; !r && lo < x->nr && x->d[lo].ino <= (uint64_t)(g + 1) * ipg; lo++)
		r = fn(ctx, &x->d[lo]);
	return r;
}

static uint64_t ext4x_dir_groups_scanned(void *priv)
{
	return ((struct ext4x *)priv)->dirs.groups_scanned;
}

static int ext4x_dirs_in_group(void *priv, uint64_t group, fsx_inode_fn fn,
			       void *ctx)
{
	struct ext4x *e = priv;
	uint64_t g = group << e->flex_log, last = (group + 1) << e->flex_log;
	int r;

	r = build_dir_index(e);
	for (; !r && g < last && g < e->fs->group_desc_count; g++)
		r = dirs_of_block_group(e, (dgrp_t)g, fn, ctx);
	return r;
}

/*
 * The inode numbers in the first block of entries of @dir (block 1 of an
 * htree directory: block 0 holds the index root).  One block read; inline
 * directories give none.
 */
static int ext4x_dir_sample(void *priv, uint64_t dir,
			    int (*fn)(void *ctx, uint64_t ino), void *ctx)
{
	struct ext4x *e = priv;
	struct ext2_dir_entry *de;
	struct ext2_inode in;
	unsigned int off, rec_len, len;
	blk64_t pblk = 0;
	errcode_t err;
	int r;

	err = ext2fs_read_inode(e->fs, (ext2_ino_t)dir, &in);
	if (err || (in.i_flags & EXT4_INLINE_DATA_FL))
		return 0;
	err = ext2fs_bmap2(e->fs, (ext2_ino_t)dir, &in, NULL, 0,
			   (in.i_flags & EXT2_INDEX_FL) ? 1 : 0, NULL, &pblk);
	if (err || !pblk || io_channel_read_blk64(e->fs->io, pblk, 1, e->dirblock))
		return 0;	/* no sample: the directory is listed in turn */
	for (off = 0; off + 8 <= e->fs->blocksize; off += rec_len) {
		de = (struct ext2_dir_entry *)((char *)e->dirblock + off);
		if (ext2fs_get_rec_len(e->fs, de, &rec_len) || rec_len < 8 ||
		    off + rec_len > e->fs->blocksize)
			break;
		len = ext2fs_dirent_name_len(de);
		if (!de->inode || len + 8 > rec_len || dot_name(de->name, len))
			continue;
		r = fn(ctx, de->inode);
		if (r)
			return r;
	}
	return 0;
}

const struct fsx_ops ext4_fsx_ops = {
	.open = ext4x_open,
	.close = ext4x_close,
	.nr_groups = ext4x_nr_groups,
	.group_of = ext4x_group_of,
	.inodes_in = ext4x_inodes_in,
	.changed_inodes_in = ext4x_changed_inodes_in,
	.get = ext4x_get,
	.dirs_in_group = ext4x_dirs_in_group,
	.dir_entries = ext4x_dir_entries,
	.dir_sample = ext4x_dir_sample,
	.dir_groups_scanned = ext4x_dir_groups_scanned,
};
