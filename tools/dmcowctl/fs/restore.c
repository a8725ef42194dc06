// SPDX-License-Identifier: GPL-2.0-only
/*
 * restore-files: a subtree of a snapshot copied into a mounted volume of
 * the same pool, in one copy context.
 *
 * The snapshot is seen through a throwaway view; its subtree is walked
 * once, so hard links inside it stay linked (source inode -> the first
 * destination path made for it).  Owners, modes, xattrs (ACLs are xattrs),
 * times, symlinks, devices, fifos and holes are kept; security.capability
 * is set after the data and the owner, which would clear it.
 *
 * A file that is the same object on both sides (same inode number and
 * generation: the destination is the snapshot's origin and the file was
 * not replaced) is not copied: the block-level comparison (fcmp.c) of its
 * extents in the snapshot and in the destination, mapped through the
 * pool, says which byte ranges may differ, and of those only the blocks
 * whose bytes differ are written.
 */
#define _GNU_SOURCE
#include "fs.h"
#include "tree.h"
#include "names.h"
#include "restore.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <linux/fs.h>

#define BLK 65536u
#define CAPS "security.capability"

struct linked {
	uint64_t src_ino;
	char *dest;		/* relative to the destination root */
};

/* A name of a hard-linked source file (restore_run's first pass). */
struct hl_name {
	uint64_t ino;
	char *rel;
};

struct rs {
	const struct restore_opts *o;
	struct hl_name *names;	/* sorted by inode */
	size_t nr_names, cap_names;
	struct fs_view *v;	/* the snapshot */
	int dest_fd;		/* DEST (a directory when PATH is one) */
	char *src_root;		/* PATH, normalised */
	struct vmap src_map, dest_map;
	uint64_t chunk_bytes;
	bool same_pool_origin;	/* DEST is on the snapshot's pool */
	struct linked *links;
	size_t nr_links, cap_links;
	char *buf, *buf2;
	struct restore_stats st;
};

/*----------------------------------------------------------------*/
/* Reporting */

static void act(struct rs *s, const char *what, const char *rel, const char *more)
{
	if (s->o->quiet && !s->o->dry_run)
		return;
	printf("%s%s %s%s%s\n", s->o->dry_run ? "would " : "", what, *rel ? rel : ".",
	       more ? " " : "", more ? more : "");
}

/*----------------------------------------------------------------*/
/* Metadata */

/* Sets every xattr of @src on @dst (but capabilities) and drops the rest. */
static int copy_xattrs(const char *src, const char *dst, bool caps)
{
	ssize_t n, m, vl;
	char *names = NULL, *dnames = NULL, *p, *val = NULL;
	int r = 0;

	n = llistxattr(src, NULL, 0);
	m = llistxattr(dst, NULL, 0);
	if (n < 0 || m < 0)
		return errno == ENOTSUP ? 0 : -errno;
	names = malloc((size_t)n + 1);
	dnames = malloc((size_t)m + 1);
	val = malloc(65536);
	if (!names || !dnames || !val) {
		r = -ENOMEM;
		goto out;
	}
	n = llistxattr(src, names, (size_t)n + 1);
	m = llistxattr(dst, dnames, (size_t)m + 1);
	if (n < 0 || m < 0) {
		r = -errno;
		goto out;
	}
	for (p = dnames; p < dnames + m; p += strlen(p) + 1) {
		if (memmem(names, (size_t)n, p, strlen(p) + 1) == NULL &&
		    lremovexattr(dst, p) && errno != ENODATA) {
			r = -errno;
			goto out;
		}
	}
	for (p = names; p < names + n; p += strlen(p) + 1) {
		if (!strcmp(p, CAPS) != caps)
			continue;
		vl = lgetxattr(src, p, val, 65536);
		if (vl < 0 || lsetxattr(dst, p, val, (size_t)vl, 0)) {
			r = -errno;
			goto out;
		}
	}
out:
	free(names);
	free(dnames);
	free(val);
	return r;
}

/* Owner, mode, xattrs, then capabilities (cleared by chown and writes). */
static int copy_meta(struct rs *s, const char *src, const char *dst,
		     const struct stat *st)
{
	int r;

	if (lchown(dst, st->st_uid, st->st_gid))
		return -errno;
	if (!S_ISLNK(st->st_mode) && chmod(dst, st->st_mode & 07777))
		return -errno;
	r = copy_xattrs(src, dst, false);
	if (!r)
		r = copy_xattrs(src, dst, true);
	(void)s;
	return r;
}

static int copy_times(const char *dst, const struct stat *st)
{
	struct timespec t[2] = { st->st_atim, st->st_mtim };

	return utimensat(AT_FDCWD, dst, t, AT_SYMLINK_NOFOLLOW) ? -errno : 0;
}

/*----------------------------------------------------------------*/
/* Data */

static int write_range(struct rs *s, int in, int out, uint64_t off, uint64_t len)
{
	ssize_t n, w;
	size_t want;

	while (len) {
		want = len < BLK ? (size_t)len : BLK;
		n = pread(in, s->buf, want, (off_t)off);
		if (n < 0)
			return -errno;
		if (!n)
			break;
		w = pwrite(out, s->buf, (size_t)n, (off_t)off);
		if (w != n)
			return w < 0 ? -errno : -EIO;
		s->st.bytes_written += (uint64_t)w;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Whole copy, holes kept (SEEK_DATA/SEEK_HOLE). */
static int copy_all(struct rs *s, int in, int out, uint64_t size)
{
	off_t data, hole;
	int r;

	if (ftruncate(out, 0) || ftruncate(out, (off_t)size))
		return -errno;
	for (data = 0; (uint64_t)data < size; data = hole) {
		data = lseek(in, data, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : -errno;
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		r = write_range(s, in, out, (uint64_t)data, (uint64_t)(hole - data));
		if (r)
			return r;
		s->st.ranges_written++;
	}
	return 0;
}

/* Counts, and unless -n writes, the blocks of [off, off + len) that differ. */
static int write_differing(struct rs *s, int in, int out, uint64_t off, uint64_t len,
			   uint64_t *differ)
{
	ssize_t na, nb;
	size_t want;
	int r;

	while (len) {
		want = len < 4096 - off % 4096 ? (size_t)len : 4096 - off % 4096;
		na = pread(in, s->buf, want, (off_t)off);
		nb = pread(out, s->buf2, want, (off_t)off);
		if (na < 0 || nb < 0)
			return -errno;
		if (na != nb || memcmp(s->buf, s->buf2, (size_t)na)) {
			*differ += want;
			if (!s->o->dry_run) {
				r = write_range(s, in, out, off, want);
				if (r)
					return r;
				s->st.ranges_written++;
			}
		}
		off += want;
		len -= want;
	}
	return 0;
}

/*
 * The same object on both sides: only the ranges the block-level
 * comparison cannot prove shared are looked at, and only the blocks that
 * differ are written.
 */
static noinline int update_ranges(struct rs *s, int in, int out, uint64_t size,
				  uint64_t *differ, bool *resized)
{
	struct fx_list xa = { 0 }, xb = { 0 };
	struct fcmp_result res = { 0 };
	struct fcmp_side sa, sb;
	uint64_t end;
	struct stat st;
	size_t i;
	int r;

	r = fx_get(in, 0, &xa);
	if (!r)
		r = fx_get(out, 0, &xb);
	if (r)
		goto out;
	sa = (struct fcmp_side){ .fx = xa.v, .nr = xa.nr, .map = &s->src_map };
	sb = (struct fcmp_side){ .fx = xb.v, .nr = xb.nr, .map = &s->dest_map };
	r = fcmp_file(&sa, &sb, s->chunk_bytes, &res);
	for (i = 0; !r && i < res.nr; i++) {
		if (res.r[i].offset >= size)
			continue;	/* cut by the truncate below */
		end = res.r[i].offset + res.r[i].length;
		if (end > size)
			end = size;
		r = write_differing(s, in, out, res.r[i].offset, end - res.r[i].offset, differ);
	}
	if (!r && !fstat(out, &st) && (uint64_t)st.st_size != size) {
		*resized = true;
		if (!s->o->dry_run && ftruncate(out, (off_t)size))
			r = -errno;
	}
out:
	fcmp_free(&res);
	fx_free(&xa);
	fx_free(&xb);
	return r;
}

/*----------------------------------------------------------------*/
/* Entries */

static bool same_xattrs(const char *a, const char *b)
{
	ssize_t n = llistxattr(a, NULL, 0), m = llistxattr(b, NULL, 0), la, lb;
	char *na, *nb, *p, *va, *vb;
	bool same = n == m;

	if (n < 0 || m < 0)
		return n == m;
	na = malloc((size_t)n + 1);
	nb = malloc((size_t)m + 1);
	va = malloc(65536);
	vb = malloc(65536);
	if (!na || !nb || !va || !vb ||
	    llistxattr(a, na, (size_t)n + 1) != n || llistxattr(b, nb, (size_t)m + 1) != m)
		same = false;
	for (p = na; same && p < na + n; p += strlen(p) + 1) {
		la = lgetxattr(a, p, va, 65536);
		lb = lgetxattr(b, p, vb, 65536);
		same = la >= 0 && la == lb && !memcmp(va, vb, (size_t)la);
	}
	free(na);
	free(nb);
	free(va);
	free(vb);
	return same;
}

static bool meta_differs(const char *src, const char *dst, const struct stat *a,
			 const struct stat *b)
{
	return a->st_uid != b->st_uid || a->st_gid != b->st_gid ||
	       (a->st_mode & 07777) != (b->st_mode & 07777) ||
	       (!S_ISDIR(a->st_mode) && !S_ISLNK(a->st_mode) &&
		(a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
		 a->st_mtim.tv_nsec != b->st_mtim.tv_nsec)) ||
	       !same_xattrs(src, dst);
}

/* Removes @path and, for a directory, everything below it. */
static int remove_tree(const char *path)
{
	struct dir_list l;
	struct stat st;
	char *child;
	size_t i;
	int fd, r = 0;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) ? -errno : 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = dir_list_fd(fd, &l);
	close(fd);
	for (i = 0; !r && i < l.nr; i++) {
		child = path_join(path, l.e[i].name);
		r = child ? remove_tree(child) : -ENOMEM;
		free(child);
	}
	dir_list_free(&l);
	return r ? r : rmdir(path) ? -errno : 0;
}

static const char *linked_target(struct rs *s, uint64_t ino)
{
	size_t i;

	for (i = 0; i < s->nr_links; i++)
		if (s->links[i].src_ino == ino)
			return s->links[i].dest;
	return NULL;
}

static int remember_link(struct rs *s, uint64_t ino, const char *dst)
{
	if (FS_GROW(s->links, s->nr_links, s->cap_links))
		return -ENOMEM;
	s->links[s->nr_links].src_ino = ino;
	s->links[s->nr_links].dest = strdup(dst);
	if (!s->links[s->nr_links].dest)
		return -ENOMEM;
	s->nr_links++;
	return 0;
}

static bool same_object(int in, int out, const struct stat *a, const struct stat *b)
{
	int ga = 0, gb = 0;

	return a->st_ino == b->st_ino && !ioctl(in, FS_IOC_GETVERSION, &ga) &&
	       !ioctl(out, FS_IOC_GETVERSION, &gb) && ga == gb;
}

/* Another object with the same bytes (e.g. a file an earlier run copied). */
static bool same_content(struct rs *s, int in, int out, uint64_t size)
{
	struct stat st;
	uint64_t off;
	ssize_t na, nb;

	if (fstat(out, &st) || (uint64_t)st.st_size != size)
		return false;
	for (off = 0; off < size; off += (uint64_t)na) {
		na = pread(in, s->buf, BLK, (off_t)off);
		nb = pread(out, s->buf2, BLK, (off_t)off);
		if (na <= 0 || na != nb || memcmp(s->buf, s->buf2, (size_t)na))
			return false;
	}
	return true;
}

/* A regular file: the same object updated in place, or a new copy. */
static noinline int restore_file(struct rs *s, const char *src, const char *dst,
			const char *rel, const struct stat *st, bool exists,
			const struct stat *dst_st)
{
	uint64_t differ = 0;
	bool resized = false, changed = false;
	char more[64];
	int in, out = -1, r = 0;

	in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -errno;
	if (exists)
		out = open(dst, (s->o->dry_run ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC);
	if (out >= 0 && s->same_pool_origin && same_object(in, out, st, dst_st)) {
		r = update_ranges(s, in, out, (uint64_t)st->st_size, &differ, &resized);
		changed = differ || resized;
		if (!r && changed) {
			snprintf(more, sizeof(more), "(%" PRIu64 " bytes differ%s)", differ,
				 resized ? ", new size" : "");
			act(s, "update", rel, more);
			s->st.updated++;
		}
		goto meta;
	}
	if (out >= 0 && same_content(s, in, out, (uint64_t)st->st_size))
		goto meta;
	if (out >= 0)
		close(out);
	out = -1;
	changed = true;
	act(s, exists ? "replace" : "create", rel, NULL);
	s->st.created++;
	if (s->o->dry_run)
		goto out;
	/* Not the same object: never write through another file's links. */
	if (exists && unlink(dst)) {
		r = -errno;
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		r = -errno;
		goto out;
	}
	r = copy_all(s, in, out, (uint64_t)st->st_size);
meta:
	if (!r && (changed || !exists || meta_differs(src, dst, st, dst_st))) {
		if (exists && !changed) {
			act(s, "meta", rel, NULL);
			s->st.updated++;
		}
		if (!s->o->dry_run)
			r = copy_meta(s, src, dst, st);
		if (!r && !s->o->dry_run)
			r = copy_times(dst, st);
	}
out:
	close(in);
	if (out >= 0)
		close(out);
	return r;
}

static noinline int restore_special(struct rs *s, const char *src, const char *dst,
			   const char *rel, const struct stat *st, bool exists,
			   const struct stat *dst_st)
{
	char *t = NULL, *u = NULL;
	bool same;
	int r = 0;

	if (S_ISLNK(st->st_mode)) {
		t = calloc(2, PATH_MAX);
		if (!t)
			return -ENOMEM;
		u = t + PATH_MAX;
		if (readlink(src, t, PATH_MAX - 1) < 0) {
			free(t);
			return -errno;
		}
		same = exists && readlink(dst, u, PATH_MAX - 1) >= 0 && !strcmp(t, u);
	} else {
		same = exists && dst_st->st_rdev == st->st_rdev;
	}
	if (!same) {
		act(s, exists ? "replace" : "create", rel, NULL);
		s->st.created++;
		if (!s->o->dry_run && exists && unlink(dst))
			r = -errno;
		if (!r && !s->o->dry_run &&
		    (S_ISLNK(st->st_mode) ? symlink(t, dst) : mknod(dst, st->st_mode, st->st_rdev)))
			r = -errno;
	}
	if (!r && (!same || meta_differs(src, dst, st, dst_st))) {
		if (same) {
			act(s, "meta", rel, NULL);
			s->st.updated++;
		}
		if (!s->o->dry_run)
			r = copy_meta(s, src, dst, st);
		if (!r && !s->o->dry_run)
			r = copy_times(dst, st);
	}
	free(t);
	return r;
}

/* --delete: what DEST has in directory @dst and the snapshot has not. */
static int delete_extra(struct rs *s, const char *src, const char *dst, const char *rel)
{
	struct dir_list ls, ld;
	size_t i, j = 0;
	char *p, *q;
	int fd, r;

	fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = dir_list_fd(fd, &ls);
	close(fd);
	if (r)
		return r;
	fd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = fd < 0 ? -errno : dir_list_fd(fd, &ld);
	if (fd >= 0)
		close(fd);
	for (i = 0; !r && i < ld.nr; i++) {
		while (j < ls.nr && strcmp(ls.e[j].name, ld.e[i].name) < 0)
			j++;
		if (j < ls.nr && !strcmp(ls.e[j].name, ld.e[i].name))
			continue;
		p = path_join(rel, ld.e[i].name);
		q = path_join(dst, ld.e[i].name);
		if (p && q) {
			act(s, "delete", p, NULL);
			s->st.deleted++;
			if (!s->o->dry_run)
				r = remove_tree(q);
		} else {
			r = -ENOMEM;
		}
		free(p);
		free(q);
	}
	if (fd >= 0)
		dir_list_free(&ld);
	dir_list_free(&ls);
	return r;
}

/*----------------------------------------------------------------*/
/* The walk */

struct paths {
	char *src, *dst;
	const char *rel;
};

static int make_paths(struct rs *s, const struct walk_entry *e, struct paths *p)
{
	size_t n = strlen(s->src_root);

	p->rel = !strcmp(s->src_root, "/") ? (strcmp(e->path, "/") ? e->path : "") :
		 e->path + n;
	if (asprintf(&p->src, "%s%s", s->v->dir, strcmp(e->path, "/") ? e->path : "") < 0)
		return -ENOMEM;
	if (asprintf(&p->dst, "%s%s", s->o->dest, p->rel) < 0) {
		free(p->src);
		return -ENOMEM;
	}
	return 0;
}

static noinline int restore_dir(struct rs *s, const struct paths *p, const struct stat *st,
		       bool exists, const struct stat *dst_st)
{
	int r = 0;

	if (!exists) {
		act(s, "create", p->rel, NULL);
		s->st.created++;
		if (!s->o->dry_run && mkdir(p->dst, 0700))
			return -errno;
	}
	if (!exists || meta_differs(p->src, p->dst, st, dst_st)) {
		if (exists) {
			act(s, "meta", p->rel, NULL);
			s->st.updated++;
		}
		if (!s->o->dry_run)
			r = copy_meta(s, p->src, p->dst, st);
	}
	if (!r && exists && s->o->delete)
		r = delete_extra(s, p->src, p->dst, p->rel);
	return r;
}

static noinline int restore_link(struct rs *s, const struct paths *p, const char *target,
			bool exists, const struct stat *dst_st)
{
	struct stat t;
	char *abs;
	int r = 0;

	if (asprintf(&abs, "%s%s", s->o->dest, target) < 0)
		return -ENOMEM;
	if (exists && !lstat(abs, &t) && t.st_ino == dst_st->st_ino && t.st_dev == dst_st->st_dev)
		goto out;	/* already linked */
	act(s, "link", p->rel, target);
	s->st.linked++;
	if (!s->o->dry_run && ((exists && unlink(p->dst)) || link(abs, p->dst)))
		r = -errno;
out:
	free(abs);
	return r;
}

/* Source and destination paths of a path relative to PATH. */
static int rel_paths(struct rs *s, const char *rel, struct paths *p)
{
	p->rel = rel;
	if (asprintf(&p->src, "%s%s%s", s->v->dir, strcmp(s->src_root, "/") ? s->src_root : "",
		     rel) < 0)
		return -ENOMEM;
	if (asprintf(&p->dst, "%s%s", s->o->dest, rel) < 0) {
		free(p->src);
		return -ENOMEM;
	}
	return 0;
}

static bool same_object_paths(const struct paths *p, struct stat *sst, struct stat *dst)
{
	int in = open(p->src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int out = open(p->dst, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	bool same = in >= 0 && out >= 0 && !fstat(in, sst) && !fstat(out, dst) &&
		    S_ISREG(dst->st_mode) && same_object(in, out, sst, dst);

	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return same;
}

/*
 * The first name met of a hard-linked file: if another of its names is
 * the same object in DEST, that one is restored (in place) first and the
 * others are linked to it, so DEST's inode and its links outside the
 * subtree are kept.  Returns the anchor's relative path, or NULL to
 * restore at the current name.
 */
static const char *restore_anchor(struct rs *s, uint64_t ino, const char *cur)
{
	struct stat *st = calloc(2, sizeof(*st));
	struct paths p = { 0 };
	size_t i;
	int r;

	if (!s->same_pool_origin || !st)
		goto none;
	for (i = 0; i < s->nr_names; i++) {
		if (s->names[i].ino != ino)
			continue;
		if (rel_paths(s, s->names[i].rel, &p))
			goto none;
		if (!same_object_paths(&p, &st[0], &st[1])) {
			free(p.src);
			free(p.dst);
			continue;
		}
		if (strcmp(s->names[i].rel, cur)) {
			r = restore_file(s, p.src, p.dst, p.rel, &st[0], true, &st[1]);
			if (!r)
				r = remember_link(s, ino, p.rel);
		} else {
			r = -EEXIST;	/* the current name is the anchor */
		}
		free(p.src);
		free(p.dst);
		free(st);
		return r ? NULL : linked_target(s, ino);
	}
none:
	free(st);
	return NULL;
}

static int restore_pre(void *ctx, const struct walk_entry *e)
{
	struct rs *s = ctx;
	const struct stat *st = e->st;
	struct restore_stats before = s->st;
	struct stat dst_st;
	const char *target;
	struct paths p;
	bool exists;
	int r;

	r = make_paths(s, e, &p);
	if (r)
		return r;
	exists = !lstat(p.dst, &dst_st);
	if (exists && (dst_st.st_mode & S_IFMT) != (st->st_mode & S_IFMT)) {
		act(s, "delete", p.rel, "(another type)");
		s->st.deleted++;
		r = s->o->dry_run ? 0 : remove_tree(p.dst);
		exists = false;
	}
	if (r)
		goto out;
	if (S_ISDIR(st->st_mode)) {
		r = restore_dir(s, &p, st, exists, &dst_st);
	} else if (S_ISREG(st->st_mode)) {
		target = st->st_nlink > 1 ? linked_target(s, st->st_ino) : NULL;
		if (!target && st->st_nlink > 1)
			target = restore_anchor(s, st->st_ino, p.rel);
		if (target) {
			r = restore_link(s, &p, target, exists, &dst_st);
		} else {
			r = restore_file(s, p.src, p.dst, p.rel, st, exists, &dst_st);
			if (!r && st->st_nlink > 1)
				r = remember_link(s, st->st_ino, p.rel);
		}
	} else {
		r = restore_special(s, p.src, p.dst, p.rel, st, exists, &dst_st);
	}
	if (!memcmp(&before, &s->st, sizeof(before)))
		s->st.unchanged++;
out:
	if (r)
		dmcowctl_err("cannot restore %s to %s: %s", e->path, p.dst, strerror(-r));
	free(p.src);
	free(p.dst);
	return r;
}

/* Directory times once their contents are in place. */
static int restore_post(void *ctx, const struct walk_entry *e)
{
	struct rs *s = ctx;
	struct stat dst_st;
	struct paths p;
	int r = 0;

	if (s->o->dry_run)
		return 0;
	r = make_paths(s, e, &p);
	if (r)
		return r;
	if (!lstat(p.dst, &dst_st) &&
	    (dst_st.st_mtim.tv_sec != e->st->st_mtim.tv_sec ||
	     dst_st.st_mtim.tv_nsec != e->st->st_mtim.tv_nsec))
		r = copy_times(p.dst, e->st);
	free(p.src);
	free(p.dst);
	return r;
}

/*----------------------------------------------------------------*/

static int names_pre(void *ctx, const struct walk_entry *e)
{
	struct rs *s = ctx;
	struct hl_name *n;
	struct paths p;

	if (!S_ISREG(e->st->st_mode) || e->st->st_nlink < 2)
		return 0;
	if (s->nr_names == s->cap_names) {
		s->cap_names = s->cap_names ? 2 * s->cap_names : 64;
		n = realloc(s->names, s->cap_names * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->names = n;
	}
	if (make_paths(s, e, &p))
		return -ENOMEM;
	s->names[s->nr_names].ino = e->st->st_ino;
	s->names[s->nr_names].rel = strdup(p.rel);
	free(p.src);
	free(p.dst);
	if (!s->names[s->nr_names].rel)
		return -ENOMEM;
	s->nr_names++;
	return 0;
}

static int load_maps(struct rs *s, uint64_t dest_id)
{
	struct pmap_record *rec = calloc(2, sizeof(*rec));
	struct pmap *pm;
	int r;

	if (!rec)
		return -ENOMEM;
	r = pmap_open(s->v->pool, &pm);
	if (r)
		goto out;
	s->chunk_bytes = (uint64_t)pmap_chunk_sectors(pm) << 9;
	r = pmap_record(pm, s->v->vol_id, &rec[0]);
	if (!r)
		r = pmap_record(pm, dest_id, &rec[1]);
	if (!r)
		r = pmap_map_volume(pm, s->v->vol_id, &s->src_map);
	if (!r)
		r = pmap_map_volume(pm, dest_id, &s->dest_map);
	pmap_close(pm);
	s->same_pool_origin = !r && rec[0].family == rec[1].family;
out:
	if (r)
		dmcowctl_err("cannot read the mappings of pool '%s': %s", s->v->pool, strerror(-r));
	free(rec);
	return r;
}

static void print_stats(const struct rs *s)
{
	printf("# %s%" PRIu64 " created, %" PRIu64 " updated, %" PRIu64 " linked, %" PRIu64
	       " deleted, %" PRIu64 " unchanged; %" PRIu64 " bytes written in %" PRIu64 " ranges\n",
	       s->o->dry_run ? "dry run: " : "", s->st.created, s->st.updated, s->st.linked,
	       s->st.deleted, s->st.unchanged, s->st.bytes_written, s->st.ranges_written);
}

/* DEST's filesystem synced: its FIEMAP and chunk mappings agree. */
static int sync_dest(const char *dest)
{
	char *dir = strdup(dest), *slash;
	int fd, r = 0;

	if (!dir)
		return -ENOMEM;
	fd = open(dest, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		fd = open(dir, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0 || syncfs(fd))
		r = -errno;
	if (r)
		dmcowctl_err("cannot sync the filesystem of %s: %s", dest, strerror(-r));
	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

int restore_run(const struct restore_opts *o)
{
	struct rs *s = calloc(1, sizeof(*s));
	uint64_t dest_id;
	struct stat st;
	int fd, r, rc;

	if (!s)
		return DMCOWCTL_EXIT_ERR;
	s->o = o;
	r = view_open(o->pool, o->snap, NULL, 0, &s->v);
	if (r)
		goto out;
	r = DMCOWCTL_EXIT_ERR;
	s->src_root = malloc(PATH_MAX);
	s->buf = malloc(BLK);
	s->buf2 = malloc(BLK);
	if (!s->src_root || !s->buf || !s->buf2)
		goto out;
	fd = view_resolve(s->v, o->path, s->src_root, PATH_MAX);
	if (fd < 0)
		goto out;
	r = fstat(fd, &st) ? -errno : 0;
	close(fd);
	if (r || view_dest_volume(o->pool, o->dest, S_ISDIR(st.st_mode), &dest_id) ||
	    sync_dest(o->dest) || load_maps(s, dest_id)) {
		r = DMCOWCTL_EXIT_ERR;
		goto out;
	}
	r = view_walk(s->v, s->src_root, names_pre, NULL, s);
	if (!r)
		r = view_walk(s->v, s->src_root, restore_pre, restore_post, s);
	if (!r && !o->dry_run) {
		fd = open(o->dest, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			syncfs(fd);
			close(fd);
		}
	}
	if (!r)
		print_stats(s);
	r = r ? DMCOWCTL_EXIT_ERR : 0;
out:
	for (size_t i = 0; i < s->nr_links; i++)
		free(s->links[i].dest);
	for (size_t i = 0; i < s->nr_names; i++)
		free(s->names[i].rel);
	free(s->names);
	free(s->links);
	free(s->src_root);
	free(s->buf);
	free(s->buf2);
	vmap_free(&s->src_map);
	vmap_free(&s->dest_map);
	rc = view_close(s->v);
	free(s);
	return r ? r : rc;
}
