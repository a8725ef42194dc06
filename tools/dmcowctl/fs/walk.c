// SPDX-License-Identifier: GPL-2.0-only
/*
 * Paths inside a view: PATH arguments resolved with openat2(RESOLVE_BENEATH)
 * so that no "..", symlink or mount leads out of the view, and a walk of a
 * subtree in name order that never crosses mounts or follows symlinks.
 */
#define _GNU_SOURCE
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

static int open_beneath(int root_fd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};

	while (*path == '/')
		path++;
	return (int)syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof(how));
}

int view_open_at(const struct fs_view *v, const char *path, int flags)
{
	int fd = open_beneath(v->root_fd, path, flags | O_NOFOLLOW);

	return fd < 0 ? -errno : fd;
}

/* "/a/b" of an open descriptor below the view's directory. */
int view_fd_path(const struct fs_view *v, int fd, char *norm, size_t len)
{
	char proc[32], *buf;
	size_t dl = strlen(v->dir);
	ssize_t n;

	buf = malloc(PATH_MAX);
	if (!buf)
		return -ENOMEM;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, PATH_MAX - 1);
	if (n >= 0)
		buf[n] = '\0';
	if (n < 0 || (size_t)n < dl || strncmp(buf, v->dir, dl) ||
	    (buf[dl] && buf[dl] != '/')) {
		free(buf);
		return -EXDEV;
	}
	snprintf(norm, len, "%s", buf[dl] ? buf + dl : "/");
	free(buf);
	return 0;
}

int view_resolve(const struct fs_view *v, const char *path, char *norm,
		 size_t len)
{
	int fd, r;

	fd = open_beneath(v->root_fd, path, O_PATH | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		if (r == -EXDEV || r == -ELOOP)
			dmcowctl_err("'%s' is outside the view of %s/%s: give a path inside its filesystem",
				     path, v->pool, v->name);
		else
			dmcowctl_err("'%s' in %s/%s: %s", path, v->pool, v->name, strerror(-r));
		return r;
	}
	r = view_fd_path(v, fd, norm, len);
	if (r) {
		dmcowctl_err("'%s' is outside the view of %s/%s", path, v->pool, v->name);
		close(fd);
		return r;
	}
	return fd;
}

/*
 * File handles as the filesystems encode them without a parent:
 * FILEID_INO32_GEN {u32 ino, u32 gen}, or with xfs's 64-bit flag (0x80)
 * {u64 ino, u32 gen}, packed.  The root's handle says which one.
 */
#define FILEID_64BIT 0x80

int view_open_inode(const struct fs_view *v, uint64_t ino, uint32_t gen, int flags)
{
	struct file_handle *h;
	uint32_t ino32 = (uint32_t)ino;
	int fd;

	if (!v->handle_type)
		return -EOPNOTSUPP;
	h = calloc(1, sizeof(*h) + 16);
	if (!h)
		return -ENOMEM;
	h->handle_type = v->handle_type;
	if (v->handle_type & FILEID_64BIT) {
		h->handle_bytes = 12;
		memcpy(h->f_handle, &ino, 8);
		memcpy(h->f_handle + 8, &gen, 4);
	} else {
		h->handle_bytes = 8;
		memcpy(h->f_handle, &ino32, 4);
		memcpy(h->f_handle + 4, &gen, 4);
	}
	fd = open_by_handle_at(v->root_fd, h, flags | O_CLOEXEC);
	free(h);
	return fd < 0 ? -errno : fd;
}

/*----------------------------------------------------------------*/
/* Walk */

struct walker {
	const struct fs_view *v;
	int (*pre)(void *ctx, const struct walk_entry *e);
	int (*post)(void *ctx, const struct walk_entry *e);
	void *ctx;
	char *path;
	size_t cap;
	dev_t dev;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory @fd, sorted; *nr of them. */
static int read_names(int fd, char ***names, size_t *nr)
{
	size_t cap = 0;
	struct dirent *de;
	char **n;
	DIR *d;
	int dup_fd = dup(fd);

	*names = NULL;
	*nr = 0;
	d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*nr == cap) {
			cap = cap ? 2 * cap : 32;
			n = realloc(*names, cap * sizeof(*n));
			if (!n)
				goto nomem;
			*names = n;
		}
		(*names)[*nr] = strdup(de->d_name);
		if (!(*names)[*nr])
			goto nomem;
		(*nr)++;
	}
	closedir(d);
	qsort(*names, *nr, sizeof(**names), cmp_names);
	return 0;
nomem:
	closedir(d);
	return -ENOMEM;
}

static void free_names(char **names, size_t nr)
{
	while (nr)
		free(names[--nr]);
	free(names);
}

static int path_push(struct walker *w, size_t at, const char *name)
{
	size_t need = at + strlen(name) + 2;
	char *n;

	if (need > w->cap) {
		w->cap = need * 2;
		n = realloc(w->path, w->cap);
		if (!n)
			return -ENOMEM;
		w->path = n;
	}
	snprintf(w->path + at, w->cap - at, "%s%s", at > 1 ? "/" : "", name);
	return 0;
}

static int walk_one(struct walker *w, int dir_fd, const char *name, size_t at,
		    unsigned int depth);

static int walk_dir(struct walker *w, int fd, size_t at, unsigned int depth)
{
	char **names;
	size_t nr, i;
	int r;

	r = read_names(fd, &names, &nr);
	if (r) {
		dmcowctl_err("cannot read directory %s: %s", w->path, strerror(-r));
		return r;
	}
	for (i = 0, r = 0; i < nr && !r; i++)
		r = walk_one(w, fd, names[i], at, depth + 1);
	free_names(names, nr);
	return r;
}

/* @at: length of the parent's path in w->path. */
static int walk_one(struct walker *w, int dir_fd, const char *name, size_t at,
		    unsigned int depth)
{
	struct walk_entry e = { .name = name, .dir_fd = dir_fd, .depth = depth };
	struct stat *st;
	size_t len;
	int fd, r;

	st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	r = depth ? path_push(w, at, name) : 0;
	if (r)
		goto out;
	len = strlen(w->path);
	if (fstatat(dir_fd, name, st, AT_SYMLINK_NOFOLLOW)) {
		r = -errno;
		dmcowctl_err("cannot stat %s: %s", w->path, strerror(-r));
		goto out;
	}
	e.path = w->path;
	e.st = st;
	r = w->pre ? w->pre(w->ctx, &e) : 0;
	if (r || !S_ISDIR(st->st_mode) || st->st_dev != w->dev)
		goto out;
	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		dmcowctl_err("cannot open directory %s: %s", w->path, strerror(-r));
		goto out;
	}
	r = walk_dir(w, fd, len, depth);
	close(fd);
	if (!r && w->post) {
		w->path[len] = '\0';
		e.path = w->path;
		r = w->post(w->ctx, &e);
	}
out:
	free(st);
	return r;
}

int view_walk(const struct fs_view *v, const char *path,
	      int (*pre)(void *ctx, const struct walk_entry *e),
	      int (*post)(void *ctx, const struct walk_entry *e), void *ctx)
{
	struct walker w = { .v = v, .pre = pre, .post = post, .ctx = ctx };
	struct stat st;
	char *slash;
	int fd, pfd, r;

	w.cap = PATH_MAX;
	w.path = malloc(w.cap);
	if (!w.path)
		return -ENOMEM;
	fd = view_resolve(v, path, w.path, w.cap);
	if (fd < 0) {
		free(w.path);
		return fd;
	}
	close(fd);
	if (fstat(v->root_fd, &st)) {
		r = -errno;
		goto out;
	}
	w.dev = st.st_dev;
	if (!strcmp(w.path, "/")) {
		r = walk_one(&w, v->root_fd, ".", 0, 0);
		goto out;
	}
	/* The parent of a canonical path inside the view. */
	slash = strrchr(w.path, '/');
	*slash = '\0';
	pfd = open_beneath(v->root_fd, w.path, O_RDONLY | O_DIRECTORY);
	*slash = '/';
	if (pfd < 0) {
		r = -errno;
		dmcowctl_err("cannot open the directory of %s: %s", w.path, strerror(-r));
		goto out;
	}
	r = walk_one(&w, pfd, slash + 1, 0, 0);
	close(pfd);
out:
	free(w.path);
	return r;
}
