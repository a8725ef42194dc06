// SPDX-License-Identifier: GPL-2.0-only
/*
 * One object (the same inode and generation) in two views: what changed.
 * Metadata from fstat and the xattrs (ACLs are xattrs); the access time is
 * no change.  Data from the block level first (fcmp.c): ranges on other
 * blocks changed; ranges on the same blocks in a chunk that was copied are
 * read on both sides, because the copy may have been caused by a
 * neighbouring file, and only the blocks whose bytes differ count.
 */
#define _GNU_SOURCE
#include "fs.h"
#include "tree.h"
#include "objcmp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CMP_BLOCK 4096u

/*----------------------------------------------------------------*/
/* xattrs */

struct xattrs {
	char *names;		/* NUL-separated, as listxattr gives them */
	ssize_t len;
};

static int xattrs_list(int fd, struct xattrs *x, char *proc, size_t plen)
{
	ssize_t n;

	snprintf(proc, plen, "/proc/self/fd/%d", fd);
	x->names = NULL;
	x->len = 0;
	for (;;) {
		n = listxattr(proc, NULL, 0);
		if (n < 0)
			return errno == ENOTSUP ? 0 : -errno;
		free(x->names);
		x->names = malloc((size_t)n + 1);
		if (!x->names)
			return -ENOMEM;
		x->len = listxattr(proc, x->names, (size_t)n + 1);
		if (x->len >= 0)
			return 0;
		if (errno != ERANGE)
			return -errno;
	}
}

/* Value of @name of the file behind @proc; malloc'ed; *len -1 if none. */
static char *xattr_value(const char *proc, const char *name, ssize_t *len)
{
	ssize_t n = getxattr(proc, name, NULL, 0);
	char *v;

	*len = -1;
	if (n < 0)
		return NULL;
	v = malloc((size_t)n + 1);
	if (!v)
		return NULL;
	*len = getxattr(proc, name, v, (size_t)n + 1);
	return v;
}

/* True if @name has the same value in both (missing in both is the same). */
static bool same_xattr(const char *pa, const char *pb, const char *name)
{
	ssize_t la, lb;
	char *va = xattr_value(pa, name, &la), *vb = xattr_value(pb, name, &lb);
	bool same = la == lb && (la <= 0 || !memcmp(va, vb, (size_t)la));

	free(va);
	free(vb);
	return same;
}

/* Which of the xattr and ACL bits differ between two open files. */
static int compare_xattrs(int fa, int fb, unsigned int *what)
{
	char pa[32], pb[32], *n;
	struct xattrs xa, xb;
	int r;

	r = xattrs_list(fa, &xa, pa, sizeof(pa));
	if (!r)
		r = xattrs_list(fb, &xb, pb, sizeof(pb));
	else
		xb.names = NULL;
	for (int side = 0; !r && side < 2; side++) {
		struct xattrs *x = side ? &xb : &xa;

		for (n = x->names; n && n < x->names + x->len; n += strlen(n) + 1) {
			if (same_xattr(pa, pb, n))
				continue;
			*what |= !strncmp(n, "system.posix_acl_", 17) ? CHG_ACL : CHG_XATTR;
		}
	}
	free(xa.names);
	free(xb.names);
	return r;
}

/*----------------------------------------------------------------*/
/* Data */

static int push_range(struct objcmp *o, uint64_t off, uint64_t len)
{
	struct fcmp_range *n;

	if (o->nr && o->r[o->nr - 1].offset + o->r[o->nr - 1].length == off) {
		o->r[o->nr - 1].length += len;
		return 0;
	}
	n = realloc(o->r, (o->nr + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	o->r = n;
	o->r[o->nr].offset = off;
	o->r[o->nr].length = len;
	o->r[o->nr].kind = FCMP_MOVED;
	o->nr++;
	return 0;
}

/* The blocks of a copied range whose bytes differ. */
static int verify_range(int fa, int fb, const struct fcmp_range *cr,
			struct objcmp *o, char *ba, char *bb)
{
	uint64_t off = cr->offset, end = cr->offset + cr->length, n;
	ssize_t na, nb;
	int r;

	for (; off < end; off += n) {
		n = end - off < CMP_BLOCK ? end - off : CMP_BLOCK - off % CMP_BLOCK;
		na = pread(fa, ba, n, (off_t)off);
		nb = pread(fb, bb, n, (off_t)off);
		if (na < 0 || nb < 0)
			return -errno;
		o->bytes_read += (uint64_t)(na + nb);
		if (na == nb && !memcmp(ba, bb, (size_t)na))
			continue;
		r = push_range(o, off, n);
		if (r)
			return r;
	}
	return 0;
}

static int compare_data(int fa, int fb, const struct objcmp_maps *m,
			struct objcmp *o)
{
	struct fx_list xa = { 0 }, xb = { 0 };
	struct fcmp_side sa, sb;
	struct fcmp_result res = { 0 };
	char *ba = NULL, *bb = NULL;
	size_t i;
	int r;

	r = fx_get(fa, 0, &xa);
	if (!r)
		r = fx_get(fb, 0, &xb);
	if (r)
		goto out;
	sa = (struct fcmp_side){ .fx = xa.v, .nr = xa.nr, .map = m->a };
	sb = (struct fcmp_side){ .fx = xb.v, .nr = xb.nr, .map = m->b };
	r = fcmp_file(&sa, &sb, m->chunk_bytes, &res);
	if (r)
		goto out;
	ba = malloc(CMP_BLOCK);
	bb = malloc(CMP_BLOCK);
	if (!ba || !bb) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; !r && i < res.nr; i++) {
		if (res.r[i].kind == FCMP_COPIED)
			r = verify_range(fa, fb, &res.r[i], o, ba, bb);
		else
			r = push_range(o, res.r[i].offset, res.r[i].length);
	}
	if (!r && o->nr)
		o->what |= CHG_DATA;
out:
	free(ba);
	free(bb);
	fcmp_free(&res);
	fx_free(&xa);
	fx_free(&xb);
	return r;
}

/*----------------------------------------------------------------*/

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static unsigned int compare_stat(const struct stat *a, const struct stat *b)
{
	unsigned int what = 0;

	if ((a->st_mode & S_IFMT) != (b->st_mode & S_IFMT))
		what |= CHG_TYPE;
	if ((a->st_mode & 07777) != (b->st_mode & 07777))
		what |= CHG_MODE;
	if (a->st_uid != b->st_uid || a->st_gid != b->st_gid)
		what |= CHG_OWNER;
	if (a->st_size != b->st_size && !S_ISDIR(a->st_mode))
		what |= CHG_SIZE;
	if (a->st_nlink != b->st_nlink && !S_ISDIR(a->st_mode))
		what |= CHG_LINKS;
	if (a->st_rdev != b->st_rdev)
		what |= CHG_RDEV;
	if (!same_time(&a->st_mtim, &b->st_mtim))
		what |= CHG_MTIME;
	if (!same_time(&a->st_ctim, &b->st_ctim))
		what |= CHG_CTIME;
	return what;
}

static int compare_target(int fa, int fb, unsigned int *what)
{
	char *ta = calloc(1, PATH_MAX), *tb = calloc(1, PATH_MAX);
	int r = 0;

	if (!ta || !tb)
		r = -ENOMEM;
	else if (readlinkat(fa, "", ta, PATH_MAX - 1) < 0 ||
		 readlinkat(fb, "", tb, PATH_MAX - 1) < 0)
		r = -errno;
	else if (strcmp(ta, tb))
		*what |= CHG_TARGET;
	free(ta);
	free(tb);
	return r;
}

int obj_compare(int fa, int fb, const struct objcmp_maps *m, struct objcmp *o)
{
	struct stat *st = calloc(2, sizeof(*st));
	int r = 0;

	memset(o, 0, sizeof(*o));
	if (!st)
		return -ENOMEM;
	if (fstatat(fa, "", &st[0], AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ||
	    fstatat(fb, "", &st[1], AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		r = -errno;
		goto out;
	}
	o->what = compare_stat(&st[0], &st[1]);
	if (o->what & CHG_TYPE)
		goto out;
	if (S_ISLNK(st[0].st_mode))
		r = compare_target(fa, fb, &o->what);
	else
		r = compare_xattrs(fa, fb, &o->what);
	if (!r && S_ISREG(st[0].st_mode))
		r = compare_data(fa, fb, m, o);
out:
	free(st);
	return r;
}

void objcmp_free(struct objcmp *o)
{
	free(o->r);
	memset(o, 0, sizeof(*o));
}

static const char *const chg_names[] = {
	"type", "data", "size", "mode", "owner", "xattr", "acl", "mtime", "ctime",
	"links", "target", "rdev",
};

const char *chg_name(unsigned int bit)
{
	unsigned int i = 0;

	while (bit > 1) {
		bit >>= 1;
		i++;
	}
	return i < sizeof(chg_names) / sizeof(chg_names[0]) ? chg_names[i] : "?";
}
