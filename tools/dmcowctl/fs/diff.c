// SPDX-License-Identifier: GPL-2.0-only
/*
 * diff: the file-level changes between two volumes, found from the block
 * delta so that the cost follows the change, not the filesystem.
 *
 * Both volumes are seen through throwaway views (recovered, read-only);
 * the delta is taken between the views, so what recovery replayed counts.
 *   1. Changed chunks (metadata only: the two mapping trees are diffed).
 *   2. Inodes stored in them (fsx: ext4 inode-table arithmetic, both
 *      views' tables compared side by side; xfs inode number arithmetic +
 *      bulkstat), kept if they differ in anything but the access time.  Journal, bitmap and lazy-init writes change
 *      chunks but no inode, so they produce nothing.
 *   3. Changed directories: their entries on both sides give the names
 *      added and removed, hence new, removed and renamed objects and hard
 *      links; an inode number with another generation is another object.
 *   4. Every other changed object is compared (objcmp.c) and reported at
 *      its names: directories by file handle, files by a search of the
 *      directories predicted to hold them (names.c).
 */
#define _GNU_SOURCE
#include "fs.h"
#include "fsx.h"
#include "names.h"
#include "objcmp.h"
#include "diff.h"
#include "dm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

struct cand {
	uint64_t ino;
	bool in[2];
	struct fsx_inode fi[2];
};

/* A name removed (side 0) or added (side 1) in a changed directory. */
struct event {
	uint64_t ino;
	int side;
	char *path;
};

struct line {
	char type;		/* + - M R */
	char *path, *path2;	/* R: old, new */
	uint32_t mode;
	struct objcmp cmp;	/* M */
};

/* An object whose names must be searched: emit @type lines for them. */
struct pending {
	size_t cand;
	int side;
	char type;
	struct objcmp cmp;
};

struct diff {
	const struct diff_opts *o;
	struct fs_view *v[2];
	struct fsx *x[2];
	struct vmap map[2];
	struct objcmp_maps maps;
	struct cand *c;
	size_t nr, cap;
	struct event *ev;
	size_t nev, cap_ev;
	struct line *ln;
	size_t nln, cap_ln;
	struct pending *pend;
	size_t npend, cap_pend;
	uint64_t changed_chunks, inodes_seen, bytes_read, dirs_listed;
};

/*----------------------------------------------------------------*/
/* 1 and 2: changed chunks, the inodes stored there */

struct seen {
	struct fsx_inode fi;
	int side;
};

struct collect {
	struct diff *d;
	struct seen *s;
	size_t nr, cap;
	int side;
	uint64_t chunk_bytes;
};

static int seen_fn(void *ctx, const struct fsx_inode *in)
{
	struct collect *c = ctx;

	if (FS_GROW(c->s, c->nr, c->cap))
		return -ENOMEM;
	c->s[c->nr].fi = *in;
	c->s[c->nr].side = c->side;
	c->nr++;
	return 0;
}

static int pair_fn(void *ctx, const struct fsx_inode *a, const struct fsx_inode *b)
{
	struct collect *c = ctx;
	int r = 0;

	for (c->side = 0; !r && c->side < 2; c->side++)
		if (c->side ? b : a)
			r = seen_fn(c, c->side ? b : a);
	return r;
}

static int range_fn(void *ctx, uint64_t vbegin, uint64_t vend)
{
	struct collect *c = ctx;
	struct fsx *x0 = c->d->x[0], *x1 = c->d->x[1];
	int r;

	c->d->changed_chunks += vend - vbegin;
	/* Both views side by side: only the inodes stored differently. */
	if (x0->ops == x1->ops && x0->ops->changed_inodes_in) {
		r = x0->ops->changed_inodes_in(x0->priv, x1->priv, vbegin * c->chunk_bytes,
					       vend * c->chunk_bytes, pair_fn, c,
					       &c->d->inodes_seen);
		if (r != -EXDEV)
			return r;
	}
	for (c->side = 0; c->side < 2; c->side++) {
		size_t before = c->nr;

		r = c->d->x[c->side]->ops->inodes_in(c->d->x[c->side]->priv,
						      vbegin * c->chunk_bytes,
						      vend * c->chunk_bytes, seen_fn, c);
		if (r)
			return r;
		c->d->inodes_seen += c->nr - before;
	}
	return 0;
}

static int cmp_seen(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->fi.ino != y->fi.ino)
		return x->fi.ino < y->fi.ino ? -1 : 1;
	return x->side - y->side;
}

/* Inodes seen on either side, merged; those equal on both sides dropped. */
static int merge_candidates(struct diff *d, struct collect *c)
{
	struct cand *k;
	size_t i;

	qsort(c->s, c->nr, sizeof(*c->s), cmp_seen);
	for (i = 0; i < c->nr; i++) {
		if (d->nr && d->c[d->nr - 1].ino == c->s[i].fi.ino) {
			k = &d->c[d->nr - 1];
		} else {
			if (FS_GROW(d->c, d->nr, d->cap))
				return -ENOMEM;
			k = &d->c[d->nr++];
			memset(k, 0, sizeof(*k));
			k->ino = c->s[i].fi.ino;
		}
		k->in[c->s[i].side] = true;
		k->fi[c->s[i].side] = c->s[i].fi;
	}
	for (i = 0, c->nr = 0; i < d->nr; i++)
		if (!(d->c[i].in[0] && d->c[i].in[1] &&
		      fsx_inode_equal(&d->c[i].fi[0], &d->c[i].fi[1])))
			d->c[c->nr++] = d->c[i];
	d->nr = c->nr;
	return 0;
}

static int find_candidates(struct diff *d)
{
	struct collect c = { .d = d };
	struct pmap *pm;
	int r;

	r = pmap_open(d->v[0]->pool, &pm);
	if (r)
		return r;
	dmc_debug_step("held root opened");
	c.chunk_bytes = (uint64_t)pmap_chunk_sectors(pm) << 9;
	d->maps.chunk_bytes = c.chunk_bytes;
	r = pmap_map_volume(pm, d->v[0]->view_id, &d->map[0]);
	if (!r)
		r = pmap_map_volume(pm, d->v[1]->view_id, &d->map[1]);
	dmc_debug_step("volumes mapped");
	if (!r)
		r = pmap_delta(pm, d->v[0]->view_id, d->v[1]->view_id, range_fn, &c);
	dmc_debug_step("delta and its inodes read");
	pmap_close(pm);
	d->maps.a = &d->map[0];
	d->maps.b = &d->map[1];
	if (!r)
		r = merge_candidates(d, &c);
	free(c.s);
	return r;
}

static struct cand *cand_find(struct diff *d, uint64_t ino)
{
	size_t lo = 0, hi = d->nr, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (d->c[mid].ino < ino)
			lo = mid + 1;
		else if (d->c[mid].ino > ino)
			hi = mid;
		else
			return &d->c[mid];
	}
	return NULL;
}

static bool is_dir(const struct cand *c, int side)
{
	return c->in[side] && S_ISDIR(c->fi[side].mode);
}

static bool same_object(const struct cand *c)
{
	return c->in[0] && c->in[1] && c->fi[0].gen == c->fi[1].gen &&
	       (c->fi[0].mode & S_IFMT) == (c->fi[1].mode & S_IFMT);
}

/*----------------------------------------------------------------*/
/* 3: entries of changed directories */

static int add_event(struct diff *d, int side, const char *dir,
		     const struct dirent_rec *e)
{
	if (FS_GROW(d->ev, d->nev, d->cap_ev))
		return -ENOMEM;
	d->ev[d->nev].ino = e->ino;
	d->ev[d->nev].side = side;
	d->ev[d->nev].path = path_join(dir, e->name);
	if (!d->ev[d->nev].path)
		return -ENOMEM;
	d->nev++;
	return 0;
}

/* Entries and path of directory @c on @side. */
static int list_dir(struct diff *d, const struct cand *c, int side,
		    struct dir_list *l, char **path)
{
	int fd, r;

	memset(l, 0, sizeof(*l));
	*path = NULL;
	fd = view_open_inode(d->v[side], c->ino, c->fi[side].gen, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	r = dir_list_fd(fd, l);
	*path = malloc(PATH_MAX);
	if (!r)
		r = *path ? view_fd_path(d->v[side], fd, *path, PATH_MAX) : -ENOMEM;
	close(fd);
	return r;
}

static int dir_events(struct diff *d, const struct cand *c)
{
	struct dir_list l[2] = { { 0 } };
	char *path[2] = { NULL, NULL };
	size_t i = 0, j = 0;
	bool same = same_object(c);
	int cmp, r = 0;

	for (int s = 0; !r && s < 2; s++)
		if (is_dir(c, s))
			r = list_dir(d, c, s, &l[s], &path[s]);
	/* A directory on one side only: all its entries are events. */
	for (int s = 0; !r && !same && s < 2; s++)
		for (i = 0; !r && i < l[s].nr; i++)
			r = add_event(d, s, path[s], &l[s].e[i]);
	for (i = 0, j = 0; !r && same && (i < l[0].nr || j < l[1].nr);) {
		cmp = i == l[0].nr ? 1 : j == l[1].nr ? -1 :
			strcmp(l[0].e[i].name, l[1].e[j].name);
		if (cmp < 0) {
			r = add_event(d, 0, path[0], &l[0].e[i++]);
		} else if (cmp > 0) {
			r = add_event(d, 1, path[1], &l[1].e[j++]);
		} else {
			if (l[0].e[i].ino != l[1].e[j].ino)
				r = add_event(d, 0, path[0], &l[0].e[i]);
			if (!r && l[0].e[i].ino != l[1].e[j].ino)
				r = add_event(d, 1, path[1], &l[1].e[j]);
			i++;
			j++;
		}
	}
	for (int s = 0; s < 2; s++) {
		dir_list_free(&l[s]);
		free(path[s]);
	}
	return r;
}

static int cmp_event(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->side != y->side)
		return x->side - y->side;
	return strcmp(x->path, y->path);
}

/* Inodes named in events but unchanged themselves become candidates too. */
static int event_objects(struct diff *d)
{
	struct cand *k;
	size_t i, before = d->nr;
	int r;

	for (i = 0; i < d->nev; i++) {
		if (cand_find(d, d->ev[i].ino))
			continue;
		if (FS_GROW(d->c, d->nr, d->cap))
			return -ENOMEM;
		k = &d->c[d->nr];
		memset(k, 0, sizeof(*k));
		k->ino = d->ev[i].ino;
		for (int s = 0; s < 2; s++) {
			r = d->x[s]->ops->get(d->x[s]->priv, k->ino, &k->fi[s]);
			if (r && r != -ENOENT)
				return r;
			k->in[s] = !r;
		}
		d->nr++;
		/* Keep d->c sorted for cand_find(). */
		for (size_t m = d->nr - 1; m > 0 && d->c[m - 1].ino > d->c[m].ino; m--) {
			struct cand t = d->c[m];

			d->c[m] = d->c[m - 1];
			d->c[m - 1] = t;
		}
	}
	(void)before;
	qsort(d->ev, d->nev, sizeof(*d->ev), cmp_event);
	return 0;
}

/* Events of inode @ino on @side: first index and count. */
static size_t events_of(struct diff *d, uint64_t ino, int side, size_t *first)
{
	size_t lo = 0, hi = d->nev, mid, n = 0;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (d->ev[mid].ino < ino || (d->ev[mid].ino == ino && d->ev[mid].side < side))
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo + n < d->nev && d->ev[lo + n].ino == ino && d->ev[lo + n].side == side)
		n++;
	return n;
}

/*----------------------------------------------------------------*/
/* 4: objects */

static int add_line(struct diff *d, char type, const char *path, const char *path2,
		    uint32_t mode, const struct objcmp *cmp)
{
	struct line *l;

	if (FS_GROW(d->ln, d->nln, d->cap_ln))
		return -ENOMEM;
	l = &d->ln[d->nln];
	memset(l, 0, sizeof(*l));
	l->type = type;
	l->mode = mode;
	l->path = strdup(path);
	l->path2 = path2 ? strdup(path2) : NULL;
	if (!l->path || (path2 && !l->path2))
		return -ENOMEM;
	d->nln++;
	if (!cmp)
		return 0;
	l->cmp.what = cmp->what;
	if (!cmp->nr)
		return 0;
	l->cmp.r = malloc(cmp->nr * sizeof(*cmp->r));
	if (!l->cmp.r)
		return -ENOMEM;
	memcpy(l->cmp.r, cmp->r, cmp->nr * sizeof(*cmp->r));
	l->cmp.nr = cmp->nr;
	return 0;
}

static int add_pending(struct diff *d, size_t cand, int side, char type,
		       const struct objcmp *cmp)
{
	struct pending *p;

	if (FS_GROW(d->pend, d->npend, d->cap_pend))
		return -ENOMEM;
	p = &d->pend[d->npend++];
	memset(p, 0, sizeof(*p));
	p->cand = cand;
	p->side = side;
	p->type = type;
	if (cmp) {
		p->cmp = *cmp;	/* the pending entry owns the ranges now */
		p->cmp.r = malloc((cmp->nr ? cmp->nr : 1) * sizeof(*cmp->r));
		if (!p->cmp.r)
			return -ENOMEM;
		memcpy(p->cmp.r, cmp->r, cmp->nr * sizeof(*cmp->r));
	}
	return 0;
}

static int open_flags(uint32_t mode)
{
	if (S_ISREG(mode))
		return O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
	if (S_ISDIR(mode))
		return O_RDONLY | O_DIRECTORY;
	return O_PATH | O_NOFOLLOW;
}

static int compare_object(struct diff *d, const struct cand *c, struct objcmp *o)
{
	int fa, fb, r;

	fa = view_open_inode(d->v[0], c->ino, c->fi[0].gen, open_flags(c->fi[0].mode));
	if (fa < 0)
		return fa;
	fb = view_open_inode(d->v[1], c->ino, c->fi[1].gen, open_flags(c->fi[1].mode));
	if (fb < 0) {
		close(fa);
		return fb;
	}
	r = obj_compare(fa, fb, &d->maps, o);
	d->bytes_read += o->bytes_read;
	close(fa);
	close(fb);
	return r;
}

/*
 * Lines of type @type for object @ci on @side at every name it has there:
 * the names events gave when they are all of them (@events), else its path
 * (directories) or a search of its group's directories (the others).
 */
static int lines_at_names(struct diff *d, size_t ci, int side, char type,
			  const struct objcmp *cmp, bool events)
{
	const struct cand *c = &d->c[ci];
	size_t first, n = events_of(d, c->ino, side, &first), k;
	char *path;
	int r = 0;

	if (events && n) {
		for (k = 0; !r && k < n; k++)
			r = add_line(d, type, d->ev[first + k].path, NULL, c->fi[side].mode, cmp);
		return r;
	}
	if (!S_ISDIR(c->fi[side].mode))
		return add_pending(d, ci, side, type, cmp);
	r = dir_path_by_inode(d->v[side], c->ino, c->fi[side].gen, &path);
	if (!r) {
		r = add_line(d, type, path, NULL, c->fi[side].mode, cmp);
		free(path);
	}
	return r;
}

static int same_object_lines(struct diff *d, size_t ci)
{
	const struct cand *c = &d->c[ci];
	size_t f0, f1, n0 = events_of(d, c->ino, 0, &f0), n1 = events_of(d, c->ino, 1, &f1);
	bool single = S_ISDIR(c->fi[0].mode) || (c->fi[0].nlink == 1 && c->fi[1].nlink == 1);
	struct objcmp o;
	size_t k;
	int r;

	r = compare_object(d, c, &o);
	if (r)
		return r;
	/* A rename or a link change explains a new ctime and link count. */
	if (n0 || n1)
		o.what &= ~(CHG_CTIME | CHG_LINKS);
	if (single && n0 == 1 && n1 == 1) {
		r = add_line(d, 'R', d->ev[f0].path, d->ev[f1].path, c->fi[1].mode, NULL);
	} else {
		for (k = 0; !r && k < n0; k++)
			r = add_line(d, '-', d->ev[f0 + k].path, NULL, c->fi[0].mode, NULL);
		for (k = 0; !r && k < n1; k++)
			r = add_line(d, '+', d->ev[f1 + k].path, NULL, c->fi[1].mode, NULL);
		/* The names kept see the link count change. */
		if (!S_ISDIR(c->fi[1].mode) && (n0 || n1) && c->fi[1].nlink > n1)
			o.what |= CHG_LINKS;
	}
	/* Every current name gets the M line (all of a hard-link group's). */
	if (!r && o.what)
		r = lines_at_names(d, ci, 1, 'M', &o, c->fi[1].nlink == n1);
	objcmp_free(&o);
	return r;
}

static int object_lines(struct diff *d)
{
	size_t i;
	int r = 0;

	for (i = 0; !r && i < d->nr; i++) {
		const struct cand *c = &d->c[i];

		if (same_object(c)) {
			r = same_object_lines(d, i);
			continue;
		}
		if (c->in[0])
			r = lines_at_names(d, i, 0, '-', NULL, true);
		if (!r && c->in[1])
			r = lines_at_names(d, i, 1, '+', NULL, true);
	}
	return r;
}

static int cmp_want_ino(const void *key, const void *elem)
{
	uint64_t ino = *(const uint64_t *)key;
	const struct name_want *w = elem;

	return ino < w->ino ? -1 : ino > w->ino;
}

/* Names of the objects no event named, searched side by side. */
static int pending_lines(struct diff *d)
{
	struct name_want *w;
	size_t i, k, n;
	int r = 0;

	for (int s = 0; !r && s < 2; s++) {
		w = calloc(d->npend + 1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		for (i = 0, n = 0; i < d->npend; i++) {
			if (d->pend[i].side != s)
				continue;
			w[n].ino = d->c[d->pend[i].cand].ino;
			w[n].nlink = d->c[d->pend[i].cand].fi[s].nlink;
			n++;
		}
		r = find_names(d->v[s], d->x[s], w, n, &d->dirs_listed);
		for (i = 0; !r && i < d->npend; i++) {
			struct pending *p = &d->pend[i];
			const struct cand *c = &d->c[p->cand];
			struct name_want *found;

			if (p->side != s)
				continue;
			found = bsearch(&c->ino, w, n, sizeof(*w), cmp_want_ino);
			if (!found || !found->nr) {
				dmcowctl_err("no name found for inode %" PRIu64 " in %s/%s",
					     c->ino, d->v[s]->pool, d->v[s]->name);
				continue;
			}
			for (k = 0; !r && k < found->nr; k++)
				r = add_line(d, p->type, found->names[k], NULL, c->fi[s].mode,
					     p->type == 'M' ? &p->cmp : NULL);
		}
		name_want_free(w, n);
		free(w);
	}
	return r;
}

/*----------------------------------------------------------------*/
/* Output */

static bool under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (!strcmp(prefix, "/"))
		return true;
	return !strncmp(path, prefix, n) && (!path[n] || path[n] == '/');
}

static int cmp_line(const void *a, const void *b)
{
	const struct line *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : x->type - y->type;
}

/* A path as zfs diff prints it: non-printables and spaces as \ooo. */
static void put_path(const char *p)
{
	for (; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch <= ' ' || ch >= 0x7f || ch == '\\')
			printf("\\%03o", ch);
		else
			putchar(ch);
	}
}

static const char *type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "file";
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symlink";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	case S_IFCHR: return "char";
	case S_IFBLK: return "block";
	default: return "unknown";
	}
}

static void text_line(const struct line *l)
{
	unsigned int b;
	size_t i;
	bool first = true;

	printf("%c\t", l->type);
	put_path(l->path);
	if (l->type == 'R') {
		fputs(" -> ", stdout);
		put_path(l->path2);
	}
	if (l->type == 'M') {
		putchar('\t');
		for (b = 0; b < CHG_NR; b++) {
			if (!(l->cmp.what & (1u << b)))
				continue;
			printf("%s%s", first ? "" : ",", chg_name(1u << b));
			first = false;
		}
		for (i = 0; i < l->cmp.nr; i++)
			printf("%c%" PRIu64 "+%" PRIu64, i ? ',' : ' ', l->cmp.r[i].offset,
			       l->cmp.r[i].length);
	}
	putchar('\n');
}

static json_object *line_json(const struct line *l)
{
	json_object *o = json_object_new_object(), *a;
	static const char *const kinds[] = { ['+'] = "added", ['-'] = "removed",
		['M'] = "modified", ['R'] = "renamed" };
	unsigned int b;
	size_t i;

	json_object_object_add(o, "change", json_object_new_string(kinds[(int)l->type]));
	json_object_object_add(o, "path", json_object_new_string(l->path));
	if (l->path2)
		json_object_object_add(o, "new_path", json_object_new_string(l->path2));
	json_object_object_add(o, "type", json_object_new_string(type_name(l->mode)));
	if (l->type != 'M')
		return o;
	a = json_object_new_array();
	for (b = 0; b < CHG_NR; b++)
		if (l->cmp.what & (1u << b))
			json_object_array_add(a, json_object_new_string(chg_name(1u << b)));
	json_object_object_add(o, "what", a);
	a = json_object_new_array();
	for (i = 0; i < l->cmp.nr; i++) {
		json_object *r = json_object_new_object();

		json_object_object_add(r, "offset", json_object_new_int64((int64_t)l->cmp.r[i].offset));
		json_object_object_add(r, "length", json_object_new_int64((int64_t)l->cmp.r[i].length));
		json_object_array_add(a, r);
	}
	json_object_object_add(o, "ranges", a);
	return o;
}

static void print_lines(struct diff *d)
{
	json_object *j = NULL, *a = NULL, *s;
	uint64_t count[4] = { 0 };	/* + - M R */
	size_t i;

	qsort(d->ln, d->nln, sizeof(*d->ln), cmp_line);
	if (d->o->json) {
		j = json_object_new_object();
		a = json_object_new_array();
		json_object_object_add(j, "left", json_object_new_string(d->o->a));
		json_object_object_add(j, "right", json_object_new_string(d->o->b));
	}
	for (i = 0; i < d->nln; i++) {
		const struct line *l = &d->ln[i];

		if (!under(l->path, d->o->path) && !(l->path2 && under(l->path2, d->o->path)))
			continue;
		count[strchr("+-MR", l->type) - "+-MR"]++;
		if (j)
			json_object_array_add(a, line_json(l));
		else
			text_line(l);
	}
	if (!j) {
		fprintf(stderr, "# %" PRIu64 " added, %" PRIu64 " removed, %" PRIu64 " modified, %"
			PRIu64 " renamed; from %" PRIu64 " changed chunks, %" PRIu64
			" inodes in them, %" PRIu64 " bytes of data compared, %" PRIu64
			" directories listed for names\n",
			count[0], count[1], count[2], count[3], d->changed_chunks,
			d->inodes_seen, d->bytes_read, d->dirs_listed);
		return;
	}
	json_object_object_add(j, "changes", a);
	s = json_object_new_object();
	json_object_object_add(s, "added", json_object_new_int64((int64_t)count[0]));
	json_object_object_add(s, "removed", json_object_new_int64((int64_t)count[1]));
	json_object_object_add(s, "modified", json_object_new_int64((int64_t)count[2]));
	json_object_object_add(s, "renamed", json_object_new_int64((int64_t)count[3]));
	json_object_object_add(s, "changed_chunks", json_object_new_int64((int64_t)d->changed_chunks));
	json_object_object_add(s, "inodes_examined", json_object_new_int64((int64_t)d->inodes_seen));
	json_object_object_add(s, "bytes_compared", json_object_new_int64((int64_t)d->bytes_read));
	json_object_object_add(s, "directories_listed",
			       json_object_new_int64((int64_t)d->dirs_listed));
	json_object_object_add(j, "summary", s);
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
}

/*----------------------------------------------------------------*/

static void diff_free(struct diff *d)
{
	size_t i;

	for (i = 0; i < d->nev; i++)
		free(d->ev[i].path);
	for (i = 0; i < d->nln; i++) {
		free(d->ln[i].path);
		free(d->ln[i].path2);
		objcmp_free(&d->ln[i].cmp);
	}
	for (i = 0; i < d->npend; i++)
		objcmp_free(&d->pend[i].cmp);
	free(d->ev);
	free(d->ln);
	free(d->pend);
	free(d->c);
	for (int s = 0; s < 2; s++) {
		vmap_free(&d->map[s]);
		fsx_close(d->x[s]);
	}
}

static int diff_compute(struct diff *d)
{
	size_t i, nr;
	int r;

	r = find_candidates(d);
	dmc_debug_step("held root closed, candidates merged");
	/* Directory events of the changed directories (d->nr may grow later). */
	for (i = 0, nr = d->nr; !r && i < nr; i++)
		if (is_dir(&d->c[i], 0) || is_dir(&d->c[i], 1))
			r = dir_events(d, &d->c[i]);
	if (!r)
		r = event_objects(d);
	if (!r)
		r = object_lines(d);
	dmc_debug_step("changed directories and objects compared");
	if (!r)
		r = pending_lines(d);
	dmc_debug_step("names found");
	return r;
}

int diff_run(const struct diff_opts *o)
{
	struct diff *d = calloc(1, sizeof(*d));
	char *norm = NULL;
	int r, rc;

	if (!d)
		return DMCOWCTL_EXIT_ERR;
	d->o = o;
	r = view_open(o->pool, o->a, NULL, 0, &d->v[0]);
	if (!r)
		r = view_open(o->pool, o->b, NULL, 0, &d->v[1]);
	dmc_debug_step("views");
	if (r)
		goto out;
	r = DMCOWCTL_EXIT_ERR;
	if (d->v[0]->type != d->v[1]->type) {
		dmcowctl_err("%s/%s holds %s and %s/%s holds %s: diff compares one filesystem",
			     o->pool, o->a, fs_type_name(d->v[0]->type), o->pool, o->b,
			     fs_type_name(d->v[1]->type));
		goto out;
	}
	if (!d->v[0]->handle_type || !d->v[1]->handle_type) {
		dmcowctl_err("the filesystems of %s/%s give no file handles", o->pool, o->a);
		goto out;
	}
	norm = malloc(PATH_MAX);
	if (!norm)
		goto out;
	/* PATH must be inside (at least one of) the views. */
	rc = view_resolve(d->v[1], o->path, norm, PATH_MAX);
	if (rc < 0 && rc != -ENOENT)
		goto out;
	if (rc >= 0)
		close(rc);
	if (fsx_open(d->v[0], &d->x[0]) || fsx_open(d->v[1], &d->x[1]))
		goto out;
	dmc_debug_step("filesystems opened");
	rc = diff_compute(d);
	if (rc) {
		dmcowctl_err("cannot compare %s/%s and %s/%s: %s", o->pool, o->a, o->pool,
			     o->b, strerror(-rc));
		goto out;
	}
	print_lines(d);
	r = 0;
out:
	free(norm);
	diff_free(d);
	dmc_debug_step("output");
	rc = view_close_pair(d->v[0], d->v[1]);
	dmc_debug_step("views removed");
	free(d);
	return r ? r : rc;
}
