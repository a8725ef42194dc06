// SPDX-License-Identifier: GPL-2.0-only
/*
 * Names of inodes without walking the tree.
 *
 * Directories opened by file handle are reconnected to their path by the
 * kernel (through ".."), so a directory's path costs its depth.  Other
 * inodes have no parent pointer: their names are searched in directories
 * until every wanted inode has as many names as links.  ext4 first lists
 * the directory naming the inode numbers nearest to the file's (fsx
 * dir_sample: a directory's files take consecutive free numbers); xfs the
 * directories of the file's AG, then the others.  Entries give inode
 * numbers, so no file is stat'ed or read, and a directory's path is only
 * looked up when it holds a wanted name.
 */
#define _GNU_SOURCE
#include "fs.h"
#include "fsx.h"
#include "names.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int cmp_dirent(const void *a, const void *b)
{
	return strcmp(((const struct dirent_rec *)a)->name,
		      ((const struct dirent_rec *)b)->name);
}

/* Calls @fn for each entry of open directory @fd but . and .. (getdents). */
static int each_entry(int fd, int (*fn)(void *ctx, const struct linux_dirent64 *d),
		      void *ctx)
{
	const size_t bs = 32768;
	struct linux_dirent64 *d;
	char *buf;
	long got, off;
	int r = 0;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	buf = malloc(bs);
	if (!buf)
		return -ENOMEM;
	while (!r && (got = syscall(SYS_getdents64, fd, buf, bs)) > 0)
		for (off = 0; !r && off < got; off += d->d_reclen) {
			d = (struct linux_dirent64 *)(buf + off);
			if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
				r = fn(ctx, d);
		}
	if (!r && got < 0)
		r = -errno;
	free(buf);
	return r;
}

static int list_entry(void *ctx, const struct linux_dirent64 *d)
{
	struct dir_list *l = ctx;

	if (FS_GROW(l->e, l->nr, l->cap))
		return -ENOMEM;
	l->e[l->nr].name = strdup(d->d_name);
	if (!l->e[l->nr].name)
		return -ENOMEM;
	l->e[l->nr].ino = d->d_ino;
	l->e[l->nr].type = d->d_type;
	l->nr++;
	return 0;
}

int dir_list_fd(int fd, struct dir_list *l)
{
	int r;

	memset(l, 0, sizeof(*l));
	r = each_entry(fd, list_entry, l);
	if (r) {
		dir_list_free(l);
		return r;
	}
	qsort(l->e, l->nr, sizeof(*l->e), cmp_dirent);
	return 0;
}

void dir_list_free(struct dir_list *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		free(l->e[i].name);
	free(l->e);
	memset(l, 0, sizeof(*l));
}

char *path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", strcmp(dir, "/") ? dir : "", name) < 0)
		return NULL;
	return p;
}

int dir_path_by_inode(const struct fs_view *v, uint64_t ino, uint32_t gen,
		      char **path)
{
	char *buf;
	int fd, r;

	*path = NULL;
	fd = view_open_inode(v, ino, gen, O_PATH | O_DIRECTORY);
	if (fd < 0)
		return fd;
	buf = malloc(PATH_MAX);
	r = buf ? view_fd_path(v, fd, buf, PATH_MAX) : -ENOMEM;
	close(fd);
	if (r) {
		free(buf);
		return r;
	}
	*path = buf;
	return 0;
}

/*----------------------------------------------------------------*/
/* Searching the names of non-directories */

struct search {
	const struct fs_view *v;
	struct fsx *x;
	struct name_want *w;
	size_t nr, satisfied;
	uint64_t listed;
	/* The directory being listed; its path is found at its first match. */
	const struct fsx_inode *dir;
	int dir_fd;
	char *path;
};

static int cmp_want(const void *key, const void *elem)
{
	uint64_t ino = *(const uint64_t *)key;
	const struct name_want *w = elem;

	return ino < w->ino ? -1 : ino > w->ino;
}

static int dir_path(struct search *s)
{
	int r;

	if (s->dir_fd < 0)
		return dir_path_by_inode(s->v, s->dir->ino, s->dir->gen, &s->path);
	s->path = malloc(PATH_MAX);
	if (!s->path)
		return -ENOMEM;
	r = view_fd_path(s->v, s->dir_fd, s->path, PATH_MAX);
	if (r) {
		free(s->path);
		s->path = NULL;
	}
	return r;
}

/* One entry of the directory listed: a name of a wanted inode? */
static int match_entry(void *ctx, const char *name, size_t len, uint64_t ino)
{
	struct search *s = ctx;
	struct name_want *w;
	char **n;
	char *leaf;
	int r;

	w = bsearch(&ino, s->w, s->nr, sizeof(*s->w), cmp_want);
	if (!w || w->nr >= w->nlink)
		return 0;
	if (!s->path) {
		r = dir_path(s);
		if (r)
			return r;
	}
	n = realloc(w->names, (w->nr + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	w->names = n;
	leaf = strndup(name, len);
	w->names[w->nr] = leaf ? path_join(s->path, leaf) : NULL;
	free(leaf);
	if (!w->names[w->nr])
		return -ENOMEM;
	if (++w->nr == w->nlink)
		s->satisfied++;
	return 0;
}

static int match_kernel_entry(void *ctx, const struct linux_dirent64 *d)
{
	return match_entry(ctx, d->d_name, strlen(d->d_name), d->d_ino);
}

/*
 * Lists directory @d for names of wanted inodes: below the VFS where fsx
 * can (ext4: its blocks), else through a file handle and getdents.
 */
static int search_dir(void *ctx, const struct fsx_inode *d)
{
	struct search *s = ctx;
	int r;

	s->dir = d;
	s->dir_fd = -1;
	s->listed++;
	if (s->x->ops->dir_entries) {
		r = s->x->ops->dir_entries(s->x->priv, d->ino, match_entry, s);
	} else {
		s->dir_fd = view_open_inode(s->v, d->ino, d->gen, O_RDONLY | O_DIRECTORY);
		if (s->dir_fd < 0)
			return 0;	/* gone meanwhile: not on a read-only view */
		r = each_entry(s->dir_fd, match_kernel_entry, s);
		close(s->dir_fd);
	}
	free(s->path);
	s->path = NULL;
	if (r)
		return r;
	return s->satisfied == s->nr;	/* 1: stop, all found */
}

static int cmp_want_sort(const void *a, const void *b)
{
	const struct name_want *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/*----------------------------------------------------------------*/
/* Predicting a file's directory from samples of what directories name */

struct cand_dir {
	struct fsx_inode d;
	bool listed;
};

/* An inode number directory dir (an index into cand_dirs.c) names. */
struct sample {
	uint64_t ino;
	size_t dir;
};

struct cand_dirs {
	struct cand_dir *c;
	size_t nr, cap;
	struct sample *s;
	size_t ns, cap_s;
	size_t sampled;		/* the directory dir_sample() is called for */
};

static int collect_dir(void *ctx, const struct fsx_inode *d)
{
	struct cand_dirs *cd = ctx;

	if (FS_GROW(cd->c, cd->nr, cd->cap))
		return -ENOMEM;
	cd->c[cd->nr++] = (struct cand_dir){ .d = *d };
	return 0;
}

static int add_sample(void *ctx, uint64_t ino)
{
	struct cand_dirs *cd = ctx;

	if (FS_GROW(cd->s, cd->ns, cd->cap_s))
		return -ENOMEM;
	cd->s[cd->ns++] = (struct sample){ .ino = ino, .dir = cd->sampled };
	return 0;
}

static int cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Every directory, each with its sample, the samples sorted. */
static int collect_samples(struct fsx *x, struct cand_dirs *cd)
{
	uint64_t g, ng = x->ops->nr_groups(x->priv);
	int r = 0;

	for (g = 0; g < ng && !r; g++)
		r = x->ops->dirs_in_group(x->priv, g, collect_dir, cd);
	for (cd->sampled = 0; !r && cd->sampled < cd->nr; cd->sampled++)
		r = x->ops->dir_sample(x->priv, cd->c[cd->sampled].d.ino, add_sample, cd);
	if (cd->ns)
		qsort(cd->s, cd->ns, sizeof(*cd->s), cmp_sample);
	return r;
}

static int list_cand(struct search *s, struct cand_dir *c)
{
	if (c->listed)
		return 0;
	c->listed = true;
	return search_dir(s, &c->d);
}

static uint64_t distance(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/*
 * Lists directories in the order of their samples' distance to @w's inode
 * number until it has all its names.  Files made in a directory take the
 * next free numbers of its flex group (or of another one when that is
 * full), so a file's directory is the one naming its nearest neighbours,
 * wherever ext4 put the directory itself.
 */
static int search_nearest(struct search *s, struct cand_dirs *cd, struct name_want *w)
{
	size_t lo = 0, hi = cd->ns, mid, pick;
	int r = 0;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (cd->s[mid].ino < w->ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Below the inode: [0, lo); at or above it: [hi, ns). */
	while (!r && w->nr < w->nlink && (lo || hi < cd->ns)) {
		if (!lo || (hi < cd->ns && distance(cd->s[hi].ino, w->ino) <
					   distance(cd->s[lo - 1].ino, w->ino)))
			pick = hi++;
		else
			pick = --lo;
		r = list_cand(s, &cd->c[cd->s[pick].dir]);
	}
	return r;
}

/*
 * With samples (ext4): every wanted inode's directories in order of their
 * samples' distance, then the directories no sample led to.
 */
static int search_by_samples(struct search *s)
{
	struct cand_dirs cd = { 0 };
	size_t i;
	int r;

	r = collect_samples(s->x, &cd);
	for (i = 0; !r && i < s->nr; i++)
		r = search_nearest(s, &cd, &s->w[i]);
	for (i = 0; !r && i < cd.nr && s->satisfied < s->nr; i++)
		r = list_cand(s, &cd.c[i]);
	free(cd.c);
	free(cd.s);
	return r;
}

/*
 * Without samples (xfs): the directories of the wanted inodes' groups
 * first (a file is mostly in its directory's AG), then the others.
 */
static int search_by_groups(struct search *s)
{
	struct fsx *x = s->x;
	uint64_t g, ng = x->ops->nr_groups(x->priv);
	uint8_t *first;
	size_t i;
	int r = 0;

	first = calloc(ng ? ng : 1, 1);
	if (!first)
		return -ENOMEM;
	for (i = 0; i < s->nr; i++)
		first[x->ops->group_of(x->priv, s->w[i].ino)] = 1;
	for (g = 0; g < ng && !r; g++)
		if (first[g])
			r = x->ops->dirs_in_group(x->priv, g, search_dir, s);
	for (g = 0; g < ng && !r; g++)
		if (!first[g])
			r = x->ops->dirs_in_group(x->priv, g, search_dir, s);
	free(first);
	return r;
}

int find_names(const struct fs_view *v, struct fsx *x, struct name_want *w,
	       size_t nr, uint64_t *listed)
{
	struct search s = { .v = v, .x = x, .w = w, .nr = nr };
	size_t i;
	int r;

	if (!nr)
		return 0;
	qsort(w, nr, sizeof(*w), cmp_want_sort);
	for (i = 0; i < nr; i++)
		if (!w[i].nlink)
			w[i].nlink = 1;
	r = x->ops->dir_sample ? search_by_samples(&s) : search_by_groups(&s);
	*listed += s.listed;
	return r < 0 ? r : 0;
}

void name_want_free(struct name_want *w, size_t nr)
{
	size_t i, k;

	for (i = 0; i < nr; i++) {
		for (k = 0; k < w[i].nr; k++)
			free(w[i].names[k]);
		free(w[i].names);
	}
}
