/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Directory entries and names of inodes inside a view (names.c).
 */
#ifndef DMCOWCTL_FS_NAMES_H
#define DMCOWCTL_FS_NAMES_H

#include "fs.h"

struct fsx;

struct dirent_rec {
	char *name;
	uint64_t ino;
	unsigned char type;	/* DT_* */
};

struct dir_list {
	struct dirent_rec *e;	/* sorted by name, without . and .. */
	size_t nr, cap;
};

/* The entries of open directory @fd. */
int dir_list_fd(int fd, struct dir_list *l);
void dir_list_free(struct dir_list *l);

/* "dir/name" ("/name" under the root); malloc'ed, NULL without memory. */
char *path_join(const char *dir, const char *name);

/* Path of directory @ino (generation @gen) in the view; malloc'ed. */
int dir_path_by_inode(const struct fs_view *v, uint64_t ino, uint32_t gen,
		      char **path);

struct name_want {
	uint64_t ino;
	uint32_t nlink;		/* names to find */
	char **names;		/* found: malloc'ed paths */
	size_t nr;
};

/*
 * Finds the names of non-directory inodes @w (sorted here by inode): the
 * directories predicted first (see names.c), then the others, until each
 * has nlink names.  Names not found (links outside the view's reach) stay
 * missing.  Adds the number of directories listed to *@listed.
 */
int find_names(const struct fs_view *v, struct fsx *x, struct name_want *w,
	       size_t nr, uint64_t *listed);
void name_want_free(struct name_want *w, size_t nr);

#endif
