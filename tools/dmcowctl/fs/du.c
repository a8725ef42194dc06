// SPDX-License-Identifier: GPL-2.0-only
/*
 * du: where a volume's space goes, per file and per directory, and how much
 * of it is shared with other volumes.  No file data is read.
 *
 * FIEMAP gives each file's physical extents (with FIEMAP_FLAG_SYNC on a
 * live mount, so delayed allocations are real); physical offsets are
 * volume offsets, hence volume chunks; the held metadata root maps those to
 * data chunks and says who else holds them (pmap.c).  A file's bytes in a
 * chunk held by another volume are shared, the others exclusive.  A chunk
 * holding blocks of several files is divided by the bytes each has in it;
 * what no file holds (inode tables, journal, free but unreclaimed blocks)
 * is filesystem overhead, so that files + overhead = the volume's chunks.
 * Extents the filesystem itself shares (xfs reflinks: FIEMAP_EXTENT_SHARED)
 * are counted per file but once in the volume totals, and reported apart.
 */
#define _GNU_SOURCE
#include "fs.h"
#include "du.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <linux/fiemap.h>

/* One walked entry: a file, directory or other inode, in walk order. */
struct du_entry {
	char *path;
	unsigned int depth;
	bool dir, counted;	/* counted: first link of its inode */
	uint64_t ino, size;
	size_t fx_first, fx_nr;	/* extents in du_state.fx */
	struct du_sums own, total;
};

struct du_state {
	const struct du_opts *o;
	struct fs_view *v;
	struct du_entry *e;
	size_t nr, cap;
	struct fx_list fx;	/* every entry's extents, back to back */
	uint64_t *linked;	/* inode numbers of files with links > 1 seen */
	size_t nr_linked, cap_linked;
	uint64_t chunk_bytes;
	struct vmap map;
};

static bool seen_linked(struct du_state *s, uint64_t ino)
{
	uint64_t *n;
	size_t i;

	for (i = 0; i < s->nr_linked; i++)
		if (s->linked[i] == ino)
			return true;
	if (s->nr_linked == s->cap_linked) {
		s->cap_linked = s->cap_linked ? 2 * s->cap_linked : 64;
		n = realloc(s->linked, s->cap_linked * sizeof(*n));
		if (!n)
			return false;
		s->linked = n;
	}
	s->linked[s->nr_linked++] = ino;
	return false;
}

/* FIEMAP of a regular file or directory; other inodes hold no extents. */
static int entry_extents(struct du_state *s, const struct walk_entry *we)
{
	unsigned int flags = s->v->live ? FX_SYNC : 0;
	int fd, r;

	if (!S_ISREG(we->st->st_mode) && !S_ISDIR(we->st->st_mode))
		return 0;
	fd = openat(we->dir_fd, we->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		dmcowctl_err("cannot open %s: %s", we->path, strerror(-r));
		return r;
	}
	r = fx_get(fd, flags, &s->fx);
	/* Directories: xfs has no FIEMAP for them (their blocks are overhead). */
	if (r == -EOPNOTSUPP && S_ISDIR(we->st->st_mode))
		r = 0;
	/* An external xattr block (ext4) belongs to the file too. */
	if (!r && s->v->type == FS_EXT4)
		r = fx_get(fd, FX_XATTR, &s->fx);
	if (r)
		dmcowctl_err("FIEMAP of %s failed: %s", we->path, strerror(-r));
	close(fd);
	return r;
}

static int du_pre(void *ctx, const struct walk_entry *we)
{
	struct du_state *s = ctx;
	struct du_entry *e;
	size_t before = s->fx.nr;
	int r;

	if (FS_GROW(s->e, s->nr, s->cap))
		return -ENOMEM;
	e = &s->e[s->nr];
	memset(e, 0, sizeof(*e));
	e->path = strdup(we->path);
	if (!e->path)
		return -ENOMEM;
	s->nr++;
	e->depth = we->depth;
	e->dir = S_ISDIR(we->st->st_mode);
	e->ino = we->st->st_ino;
	e->size = S_ISREG(we->st->st_mode) || e->dir ? (uint64_t)we->st->st_size : 0;
	e->counted = e->dir || we->st->st_nlink < 2 || !seen_linked(s, e->ino);
	if (!e->counted)
		return 0;
	r = entry_extents(s, we);
	e->fx_first = before;
	e->fx_nr = s->fx.nr - before;
	return r;
}

/*----------------------------------------------------------------*/
/* Sums */

static void sums_add(struct du_sums *a, const struct du_sums *b)
{
	a->size += b->size;
	a->allocated += b->allocated;
	a->shared += b->shared;
	a->exclusive += b->exclusive;
	a->unmapped += b->unmapped;
	a->fs_shared += b->fs_shared;
	a->with |= b->with;
	a->files += b->files;
	a->dirs += b->dirs;
}

/* Adds @len bytes at volume offset @phys to @sum, chunk by chunk. */
static void account_range(struct du_state *s, uint64_t phys, uint64_t len,
			  struct du_sums *sum)
{
	uint64_t c, end = phys + len, piece;
	long i;

	while (phys < end) {
		c = phys / s->chunk_bytes;
		piece = (c + 1) * s->chunk_bytes - phys;
		if (piece > end - phys)
			piece = end - phys;
		i = vmap_find(&s->map, c);
		if (i < 0) {
			sum->unmapped += piece;
		} else if (s->map.nr_others[i]) {
			sum->shared += piece;
			sum->with |= s->map.with[i];
		} else {
			sum->exclusive += piece;
		}
		phys += piece;
	}
}

static bool extent_has_blocks(const struct fx *x)
{
	return !(x->flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC |
			     FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_DATA_TAIL |
			     FIEMAP_EXTENT_NOT_ALIGNED));
}

static void entry_own(struct du_state *s, struct du_entry *e)
{
	const struct fx *x;
	size_t i;

	if (e->dir)
		e->own.dirs = 1;
	else if (e->counted)
		e->own.files = 1;
	if (!e->counted)
		return;
	e->own.size = e->size;
	for (i = 0; i < e->fx_nr; i++) {
		x = &s->fx.v[e->fx_first + i];
		if (!extent_has_blocks(x))
			continue;
		e->own.allocated += x->length;
		if (x->flags & FIEMAP_EXTENT_SHARED)
			e->own.fs_shared += x->length;
		account_range(s, x->physical, x->length, &e->own);
	}
}

/*
 * Directory totals: in reverse walk order every entry's descendants come
 * right before it, so acc[d + 1] holds the sum of a directory's children
 * when the directory at depth d is reached.
 */
static int totals(struct du_state *s, struct du_sums *grand)
{
	unsigned int max = 0;
	struct du_sums *acc;
	size_t i;

	for (i = 0; i < s->nr; i++)
		if (s->e[i].depth > max)
			max = s->e[i].depth;
	acc = calloc(max + 2, sizeof(*acc));
	if (!acc)
		return -ENOMEM;
	for (i = s->nr; i-- > 0;) {
		struct du_entry *e = &s->e[i];

		entry_own(s, e);
		e->total = e->own;
		if (e->dir) {
			sums_add(&e->total, &acc[e->depth + 1]);
			memset(&acc[e->depth + 1], 0, sizeof(*acc));
		}
		sums_add(&acc[e->depth], &e->total);
	}
	*grand = acc[0];
	free(acc);
	return 0;
}

/*----------------------------------------------------------------*/
/* The volume: files + overhead = its chunks */

static int cmp_fx_phys(const void *a, const void *b)
{
	const struct fx *x = a, *y = b;

	return x->physical < y->physical ? -1 : x->physical > y->physical;
}

static int volume_summary(struct du_state *s, struct du_volume *vs)
{
	struct fx *all;
	size_t i, nr = 0;
	uint64_t cur_begin = 0, cur_end = 0;
	struct du_sums in_files = { 0 };

	for (i = 0; i < s->map.nr; i++)
		if (!s->map.nr_others[i])
			vs->exclusive_chunks++;
	vs->mapped_chunks = s->map.nr;
	all = malloc((s->fx.nr ? s->fx.nr : 1) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (i = 0; i < s->fx.nr; i++)
		if (extent_has_blocks(&s->fx.v[i]))
			all[nr++] = s->fx.v[i];
	qsort(all, nr, sizeof(*all), cmp_fx_phys);
	/* The union of all extents: reflinks and shared xattr blocks once. */
	for (i = 0; i < nr; i++) {
		if (all[i].physical > cur_end) {
			if (cur_end > cur_begin)
				account_range(s, cur_begin, cur_end - cur_begin, &in_files);
			cur_begin = all[i].physical;
			cur_end = cur_begin;
		}
		if (all[i].physical + all[i].length > cur_end)
			cur_end = all[i].physical + all[i].length;
	}
	if (cur_end > cur_begin)
		account_range(s, cur_begin, cur_end - cur_begin, &in_files);
	free(all);
	vs->files_bytes = in_files.shared + in_files.exclusive;
	vs->files_exclusive_bytes = in_files.exclusive;
	vs->files_unmapped_bytes = in_files.unmapped;
	vs->overhead_bytes = vs->mapped_chunks * s->chunk_bytes - vs->files_bytes;
	vs->overhead_exclusive_bytes = vs->exclusive_chunks * s->chunk_bytes -
				       vs->files_exclusive_bytes;
	return 0;
}

/*----------------------------------------------------------------*/

static int du_collect(struct du_state *s)
{
	size_t i;
	int r = 0;

	for (i = 0; !r && i < s->o->nr_paths; i++)
		r = view_walk(s->v, s->o->paths[i], du_pre, NULL, s);
	return r;
}

static int du_map(struct du_state *s, struct du_volume *vs)
{
	struct pmap *pm;
	int r;

	r = pmap_open(s->v->pool, &pm);
	if (r)
		return r;
	s->chunk_bytes = (uint64_t)pmap_chunk_sectors(pm) << 9;
	r = pmap_record(pm, s->v->vol_id, &vs->rec);
	if (!r)
		r = pmap_map_volume(pm, s->v->vol_id, &s->map);
	if (!r)
		r = pmap_holders(pm, s->v->vol_id, &s->map);
	if (r)
		dmcowctl_err("cannot read the mappings of %s/%s: %s", s->v->pool,
			     s->v->name, strerror(-r));
	pmap_close(pm);
	return r;
}

static void du_free(struct du_state *s)
{
	size_t i;

	for (i = 0; i < s->nr; i++)
		free(s->e[i].path);
	free(s->e);
	free(s->linked);
	fx_free(&s->fx);
	vmap_free(&s->map);
}

/*----------------------------------------------------------------*/
/* Output */

/* "a,b" of the sharers in @with, or "-". */
static char *with_names(const struct vmap *m, uint64_t with)
{
	size_t i, len = 2;
	char *buf;

	for (i = 0; i < m->nr_sharers && i < 64; i++)
		len += strlen(m->sharers[i].name) + 20;
	buf = calloc(1, len);
	if (!buf)
		return NULL;
	for (i = 0; i < m->nr_sharers && i < 64; i++) {
		if (!(with & (1ULL << i)))
			continue;
		if (*buf)
			strcat(buf, ",");
		if (m->sharers[i].flags & PMAP_F_DELETING)
			strcat(buf, "(deleted)");
		else
			strcat(buf, m->sharers[i].name);
	}
	if (!*buf)
		strcpy(buf, "-");
	return buf;
}

static void text_line(const struct du_state *s, const struct du_sums *t,
		      const char *path)
{
	char *w = s->o->with ? with_names(&s->map, t->with) : NULL;

	printf("%14" PRIu64 " %14" PRIu64 " %14" PRIu64 " %14" PRIu64 " %s%s%s\n",
	       t->size, t->allocated, t->shared, t->exclusive, w ? w : "",
	       w ? "\t" : "", path);
	free(w);
}

static void print_text(const struct du_state *s, const struct du_volume *vs,
		       const struct du_sums *grand)
{
	size_t i;

	printf("# %s/%s (%s): bytes; SHARED: in chunks other volumes hold too\n",
	       s->v->pool, s->v->name, fs_type_name(s->v->type));
	printf("%14s %14s %14s %14s %s%s\n", "SIZE", "ALLOCATED", "SHARED",
	       "EXCLUSIVE", s->o->with ? "WITH\t" : "", "PATH");
	for (i = 0; i < s->nr; i++)
		if (s->e[i].counted)
			text_line(s, &s->e[i].total, s->e[i].path);
	text_line(s, grand, "total");
	printf("# %" PRIu64 " files, %" PRIu64 " directories; %" PRIu64
	       " bytes unmapped in the pool, %" PRIu64 " shared inside the filesystem\n",
	       grand->files, grand->dirs, grand->unmapped, grand->fs_shared);
	if (!vs->whole)
		return;
	printf("# volume: %" PRIu64 " chunks of %" PRIu64 " bytes mapped, %" PRIu64
	       " exclusive\n", vs->mapped_chunks, vs->chunk_bytes, vs->exclusive_chunks);
	printf("# in files: %" PRIu64 " bytes (%" PRIu64 " exclusive); filesystem overhead: %"
	       PRIu64 " bytes (%" PRIu64 " exclusive)\n", vs->files_bytes,
	       vs->files_exclusive_bytes, vs->overhead_bytes, vs->overhead_exclusive_bytes);
}

static json_object *sums_json(const struct du_state *s, const struct du_sums *t)
{
	json_object *o = json_object_new_object(), *a;
	size_t i;

	json_object_object_add(o, "size", json_object_new_int64((int64_t)t->size));
	json_object_object_add(o, "allocated", json_object_new_int64((int64_t)t->allocated));
	json_object_object_add(o, "shared", json_object_new_int64((int64_t)t->shared));
	json_object_object_add(o, "exclusive", json_object_new_int64((int64_t)t->exclusive));
	json_object_object_add(o, "unmapped", json_object_new_int64((int64_t)t->unmapped));
	json_object_object_add(o, "fs_shared", json_object_new_int64((int64_t)t->fs_shared));
	json_object_object_add(o, "files", json_object_new_int64((int64_t)t->files));
	json_object_object_add(o, "directories", json_object_new_int64((int64_t)t->dirs));
	if (!s->o->with)
		return o;
	a = json_object_new_array();
	for (i = 0; i < s->map.nr_sharers && i < 64; i++)
		if (t->with & (1ULL << i))
			json_object_array_add(a, json_object_new_string(
				s->map.sharers[i].flags & PMAP_F_DELETING ? "(deleted)" :
				s->map.sharers[i].name));
	json_object_object_add(o, "with", a);
	return o;
}

static void print_json(const struct du_state *s, const struct du_volume *vs,
		       const struct du_sums *grand)
{
	json_object *j = json_object_new_object(), *a = json_object_new_array(), *o;
	size_t i;

	json_object_object_add(j, "pool", json_object_new_string(s->v->pool));
	json_object_object_add(j, "volume", json_object_new_string(s->v->name));
	json_object_object_add(j, "filesystem", json_object_new_string(fs_type_name(s->v->type)));
	json_object_object_add(j, "chunk_bytes", json_object_new_int64((int64_t)s->chunk_bytes));
	for (i = 0; i < s->nr; i++) {
		if (!s->e[i].counted)
			continue;
		o = sums_json(s, &s->e[i].total);
		json_object_object_add(o, "path", json_object_new_string(s->e[i].path));
		json_object_object_add(o, "type", json_object_new_string(
			s->e[i].dir ? "directory" : "file"));
		json_object_array_add(a, o);
	}
	json_object_object_add(j, "entries", a);
	json_object_object_add(j, "total", sums_json(s, grand));
	if (vs->whole) {
		o = json_object_new_object();
		json_object_object_add(o, "mapped_chunks", json_object_new_int64((int64_t)vs->mapped_chunks));
		json_object_object_add(o, "exclusive_chunks", json_object_new_int64((int64_t)vs->exclusive_chunks));
		json_object_object_add(o, "files_bytes", json_object_new_int64((int64_t)vs->files_bytes));
		json_object_object_add(o, "files_exclusive_bytes", json_object_new_int64((int64_t)vs->files_exclusive_bytes));
		json_object_object_add(o, "overhead_bytes", json_object_new_int64((int64_t)vs->overhead_bytes));
		json_object_object_add(o, "overhead_exclusive_bytes", json_object_new_int64((int64_t)vs->overhead_exclusive_bytes));
		json_object_object_add(j, "volume_summary", o);
	}
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
}

int du_run(const struct du_opts *o)
{
	struct du_state s = { .o = o };
	struct du_volume *vs;
	struct du_sums grand;
	int r, rc;

	vs = calloc(1, sizeof(*vs));
	if (!vs)
		return DMCOWCTL_EXIT_ERR;
	r = view_open(o->pool, o->name, NULL, VIEW_USE_LIVE, &s.v);
	if (r) {
		free(vs);
		return r;
	}
	/* A live mount: FIEMAP (with sync) first, then hold the root. */
	r = du_collect(&s);
	if (!r)
		r = du_map(&s, vs);
	if (!r)
		r = totals(&s, &grand);
	vs->chunk_bytes = s.chunk_bytes;
	vs->whole = o->whole;
	if (!r && o->whole)
		r = volume_summary(&s, vs);
	if (!r && o->json)
		print_json(&s, vs, &grand);
	else if (!r)
		print_text(&s, vs, &grand);
	rc = view_close(s.v);
	du_free(&s);
	free(vs);
	return r ? DMCOWCTL_EXIT_ERR : rc;
}
