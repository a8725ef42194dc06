// SPDX-License-Identifier: GPL-2.0-only
/*
 * A subtree of a view as a list of entries sorted by path: stat, inode
 * generation (FS_IOC_GETVERSION: an inode number reused after a delete has
 * another generation) and, for regular files, FIEMAP extents.  cowlinks
 * compares two of these; nothing here reads file data.
 */
#define _GNU_SOURCE
#include "fs.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

struct collect {
	struct tree *t;
	const struct fs_view *v;
	bool extents;
};

static int file_details(struct collect *c, const struct walk_entry *we,
			struct tree_entry *e)
{
	int fd, r = 0;

	if (!S_ISREG(we->st->st_mode) && !S_ISDIR(we->st->st_mode))
		return 0;
	fd = openat(we->dir_fd, we->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		dmcowctl_err("cannot open %s in %s/%s: %s", we->path, c->v->pool,
			     c->v->name, strerror(-r));
		return r;
	}
	if (!ioctl(fd, FS_IOC_GETVERSION, &e->gen))
		e->has_gen = true;
	e->fx_first = c->t->fx.nr;
	if (c->extents && S_ISREG(we->st->st_mode)) {
		r = fx_get(fd, c->v->live ? FX_SYNC : 0, &c->t->fx);
		if (r)
			dmcowctl_err("FIEMAP of %s failed: %s", we->path, strerror(-r));
	}
	e->fx_nr = c->t->fx.nr - e->fx_first;
	close(fd);
	return r;
}

static int collect_pre(void *ctx, const struct walk_entry *we)
{
	struct collect *c = ctx;
	struct tree *t = c->t;
	struct tree_entry *e;

	if (FS_GROW(t->e, t->nr, t->cap))
		return -ENOMEM;
	e = &t->e[t->nr];
	memset(e, 0, sizeof(*e));
	e->path = strdup(we->path);
	if (!e->path)
		return -ENOMEM;
	t->nr++;
	e->st = *we->st;
	e->depth = we->depth;
	return file_details(c, we, e);
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct tree_entry *)a)->path,
		      ((const struct tree_entry *)b)->path);
}

int tree_collect(const struct fs_view *v, const char *path, bool extents,
		 struct tree *t)
{
	struct collect c = { .t = t, .v = v, .extents = extents };
	int r;

	memset(t, 0, sizeof(*t));
	r = view_walk(v, path, collect_pre, NULL, &c);
	if (!r)
		qsort(t->e, t->nr, sizeof(*t->e), cmp_path);
	return r;
}

const struct tree_entry *tree_find(const struct tree *t, const char *path)
{
	struct tree_entry key = { .path = (char *)path };

	return bsearch(&key, t->e, t->nr, sizeof(*t->e), cmp_path);
}

void tree_free(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->nr; i++)
		free(t->e[i].path);
	free(t->e);
	fx_free(&t->fx);
	memset(t, 0, sizeof(*t));
}
