/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A subtree of a view as entries sorted by path (tree.c), and the block-
 * level comparison of one file in two volumes (fcmp.c).
 */
#ifndef DMCOWCTL_FS_TREE_H
#define DMCOWCTL_FS_TREE_H

#include "fs.h"

#include <sys/stat.h>

struct tree_entry {
	char *path;
	struct stat st;
	uint32_t gen;		/* inode generation, if has_gen */
	bool has_gen;
	unsigned int depth;
	size_t fx_first, fx_nr;	/* regular files: extents in tree.fx */
};

struct tree {
	struct tree_entry *e;	/* sorted by path (strcmp) */
	size_t nr, cap;
	struct fx_list fx;
};

/* Collects the subtree at @path of @v; FIEMAP of regular files if @extents. */
int tree_collect(const struct fs_view *v, const char *path, bool extents,
		 struct tree *t);
const struct tree_entry *tree_find(const struct tree *t, const char *path);
void tree_free(struct tree *t);

/* Same inode: number and (where the filesystem gives one) generation. */
static inline bool tree_same_inode(const struct tree_entry *a,
				   const struct tree_entry *b)
{
	return a->st.st_ino == b->st.st_ino &&
	       (!a->has_gen || !b->has_gen || a->gen == b->gen);
}

/*----------------------------------------------------------------*/
/* One file in two volumes, at block level (fcmp.c) */

enum fcmp_kind {
	FCMP_MOVED,	/* other blocks, or data on one side only */
	FCMP_COPIED,	/* same blocks, but their chunk was copied */
};

struct fcmp_range {
	uint64_t offset, length;	/* bytes in the file */
	enum fcmp_kind kind;
};

struct fcmp_result {
	struct fcmp_range *r;
	size_t nr, cap;
	uint64_t shared, diverged;	/* bytes */
};

struct fcmp_side {
	const struct fx *fx;	/* the file's extents, by logical offset */
	size_t nr;
	const struct vmap *map;	/* its volume's chunk mappings */
};

/*
 * The byte ranges of a file where two volumes do not share its blocks:
 * other physical blocks, data on one side only, or the same blocks in
 * chunks that map to different data chunks.  Adjacent ranges of one kind
 * are merged.
 */
int fcmp_file(const struct fcmp_side *a, const struct fcmp_side *b,
	      uint64_t chunk_bytes, struct fcmp_result *res);
void fcmp_free(struct fcmp_result *res);

#endif
