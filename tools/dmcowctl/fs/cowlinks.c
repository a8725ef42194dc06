// SPDX-License-Identifier: GPL-2.0-only
/*
 * cowlinks: the reconciliation report of two volumes (typically a snapshot,
 * left, and its origin, right), file by file, at block level.
 *
 * Both volumes are seen through throwaway views (frozen, recovered).  A
 * regular file present at a path on both sides is
 *   shared     every byte on the same block, in a chunk both volumes hold:
 *              a cowlink intact at block level;
 *   diverged   some bytes not shared (the byte ranges are listed);
 *   rewritten  another inode at that path, or no byte shared and every
 *              byte on other blocks (written anew).
 * Files on one side only are new or removed.  Hard-link groups (inode and
 * generation) are compared: same identity, same link count, same link set.
 *
 * The report flags files whose metadata (size, mtime, ctime) says
 * unchanged but whose blocks diverged, and the reverse.  Blocks can diverge
 * with the content unchanged when the chunk holding them was copied because
 * a neighbouring file in it was written; for the flagged files, and for
 * files whose blocks only diverged by such copies, the diverged ranges are
 * read on both sides to tell the two apart.
 */
#define _GNU_SOURCE
#include "fs.h"
#include "tree.h"
#include "cowlinks.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

enum cl_state { CL_SHARED, CL_DIVERGED, CL_REWRITTEN, CL_NEW, CL_REMOVED, CL_NR };

static const char *const state_names[CL_NR] = {
	[CL_SHARED] = "shared", [CL_DIVERGED] = "diverged",
	[CL_REWRITTEN] = "rewritten", [CL_NEW] = "new", [CL_REMOVED] = "removed",
};

enum cl_content { CONTENT_UNCHECKED, CONTENT_EQUAL, CONTENT_DIFFERS };

struct cl {
	const struct cowlinks_opts *o;
	struct fs_view *va, *vb;
	struct tree ta, tb;
	struct vmap ma, mb;
	uint64_t chunk_bytes;
	json_object *files, *groups;	/* with --json */
	uint64_t count[CL_NR];
	uint64_t meta_same_blocks_diverged, meta_changed_blocks_shared;
	uint64_t content_differs, groups_changed;
};

static bool same_metadata(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*----------------------------------------------------------------*/
/* Content of diverged ranges (flagged files only) */

static int ranges_equal(int fa, int fb, const struct fcmp_result *res, bool *equal)
{
	const size_t bs = 1 << 16;
	uint64_t off, end;
	ssize_t na, nb;
	char *ba, *bb;
	size_t i, n;
	int r = 0;

	*equal = true;
	ba = malloc(bs);
	bb = malloc(bs);
	if (!ba || !bb) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < res->nr && *equal; i++) {
		end = res->r[i].offset + res->r[i].length;
		for (off = res->r[i].offset; off < end && *equal; off += n) {
			n = end - off < bs ? (size_t)(end - off) : bs;
			na = pread(fa, ba, n, (off_t)off);
			nb = pread(fb, bb, n, (off_t)off);
			if (na < 0 || nb < 0) {
				r = -errno;
				goto out;
			}
			if (na != nb || memcmp(ba, bb, (size_t)na))
				*equal = false;
			if (!na)
				break;
		}
	}
out:
	free(ba);
	free(bb);
	return r;
}

static enum cl_content check_content(struct cl *c, const char *path,
				     const struct fcmp_result *res)
{
	int fa, fb, r;
	bool equal;

	fa = view_open_at(c->va, path, O_RDONLY);
	fb = view_open_at(c->vb, path, O_RDONLY);
	r = fa < 0 ? fa : fb < 0 ? fb : ranges_equal(fa, fb, res, &equal);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	if (r) {
		dmcowctl_err("cannot read %s to compare it: %s", path, strerror(-r));
		return CONTENT_UNCHECKED;
	}
	return equal ? CONTENT_EQUAL : CONTENT_DIFFERS;
}

/*----------------------------------------------------------------*/
/* Output of one file */

static void text_ranges(const struct fcmp_result *res)
{
	size_t i;

	for (i = 0; i < res->nr && i < 8; i++)
		printf("%s%" PRIu64 "+%" PRIu64, i ? "," : " ", res->r[i].offset,
		       res->r[i].length);
	if (res->nr > 8)
		printf(",...");
}

static json_object *ranges_json(const struct fcmp_result *res)
{
	json_object *a = json_object_new_array(), *o;
	size_t i;

	for (i = 0; i < res->nr; i++) {
		o = json_object_new_object();
		json_object_object_add(o, "offset", json_object_new_int64((int64_t)res->r[i].offset));
		json_object_object_add(o, "length", json_object_new_int64((int64_t)res->r[i].length));
		json_object_object_add(o, "kind", json_object_new_string(
			res->r[i].kind == FCMP_COPIED ? "copied" : "moved"));
		json_object_array_add(a, o);
	}
	return a;
}

struct file_report {
	const char *path;
	enum cl_state state;
	const struct tree_entry *a, *b;
	const struct fcmp_result *res;	/* shared/diverged/rewritten */
	bool meta_same, new_inode;
	enum cl_content content;
};

static const char *flag_of(const struct file_report *f)
{
	if (f->state == CL_SHARED && !f->meta_same)
		return "metadata_changed_blocks_shared";
	if ((f->state == CL_DIVERGED || f->state == CL_REWRITTEN) && f->meta_same &&
	    !f->new_inode)
		return "blocks_diverged_metadata_unchanged";
	return NULL;
}

static void report_json(struct cl *c, const struct file_report *f)
{
	json_object *o = json_object_new_object();
	const char *flag = flag_of(f);

	json_object_object_add(o, "path", json_object_new_string(f->path));
	json_object_object_add(o, "state", json_object_new_string(state_names[f->state]));
	if (f->a)
		json_object_object_add(o, "left_inode", json_object_new_int64((int64_t)f->a->st.st_ino));
	if (f->b)
		json_object_object_add(o, "right_inode", json_object_new_int64((int64_t)f->b->st.st_ino));
	if (f->res) {
		json_object_object_add(o, "shared_bytes", json_object_new_int64((int64_t)f->res->shared));
		json_object_object_add(o, "diverged_bytes", json_object_new_int64((int64_t)f->res->diverged));
		json_object_object_add(o, "ranges", ranges_json(f->res));
		json_object_object_add(o, "metadata_changed", json_object_new_boolean(!f->meta_same));
	}
	json_object_object_add(o, "flag", flag ? json_object_new_string(flag) : NULL);
	if (f->content != CONTENT_UNCHECKED)
		json_object_object_add(o, "content_equal",
				       json_object_new_boolean(f->content == CONTENT_EQUAL));
	json_object_array_add(c->files, o);
}

static void report_text(const struct file_report *f)
{
	const char *flag = flag_of(f);

	printf("%-9s %s", state_names[f->state], f->path);
	if (f->state == CL_DIVERGED) {
		printf("\t%" PRIu64 " bytes diverged in %zu range%s:", f->res->diverged,
		       f->res->nr, f->res->nr > 1 ? "s" : "");
		text_ranges(f->res);
	} else if (f->state == CL_REWRITTEN) {
		printf("\t%s", f->new_inode ? "another inode" : "no block shared");
	}
	if (flag)
		printf("\t%s", !strcmp(flag, "metadata_changed_blocks_shared") ?
		       "metadata changed, blocks shared" : "metadata unchanged, blocks diverged");
	else if (f->res && f->state != CL_SHARED && !f->new_inode)
		printf("\tmetadata changed");
	if (f->content == CONTENT_EQUAL)
		printf(" (content equal: copied with its chunk)");
	else if (f->content == CONTENT_DIFFERS)
		printf(flag ? " (CONTENT DIFFERS)" : " (content differs)");
	putchar('\n');
}

static bool all_copied(const struct fcmp_result *res)
{
	size_t i;

	for (i = 0; i < res->nr; i++)
		if (res->r[i].kind != FCMP_COPIED)
			return false;
	return res->nr > 0;
}

/*
 * Reads the diverged ranges of a flagged file, and of a file whose blocks
 * only diverged by chunk copies (the same blocks, a copied chunk): either
 * a neighbour's write copied the chunk (content equal) or the file was
 * overwritten in place.  Moved ranges of other files are not read.
 */
static void report(struct cl *c, struct file_report *f)
{
	const char *flag;

	c->count[f->state]++;
	flag = flag_of(f);
	if (flag && f->state == CL_SHARED)
		c->meta_changed_blocks_shared++;
	else if (flag)
		c->meta_same_blocks_diverged++;
	if ((flag && f->state != CL_SHARED) ||
	    (f->res && !f->new_inode && all_copied(f->res))) {
		f->content = check_content(c, f->path, f->res);
		if (flag && f->content == CONTENT_DIFFERS)
			c->content_differs++;
	}
	if (c->o->json)
		report_json(c, f);
	else
		report_text(f);
}

/*----------------------------------------------------------------*/
/* Files */

static bool any_copied(const struct fcmp_result *res)
{
	size_t i;

	for (i = 0; i < res->nr; i++)
		if (res->r[i].kind == FCMP_COPIED)
			return true;
	return false;
}

static int compare_file(struct cl *c, const struct tree_entry *a,
			const struct tree_entry *b)
{
	struct fcmp_side sa = { .fx = c->ta.fx.v + a->fx_first, .nr = a->fx_nr, .map = &c->ma };
	struct fcmp_side sb = { .fx = c->tb.fx.v + b->fx_first, .nr = b->fx_nr, .map = &c->mb };
	struct file_report f = { .path = a->path, .a = a, .b = b };
	struct fcmp_result res;
	int r;

	r = fcmp_file(&sa, &sb, c->chunk_bytes, &res);
	if (r)
		return r;
	f.res = &res;
	f.meta_same = same_metadata(&a->st, &b->st);
	f.new_inode = !tree_same_inode(a, b);
	/* Rewritten: another inode, or nothing shared and nothing merely copied. */
	if (f.new_inode || (!res.shared && res.diverged && !any_copied(&res)))
		f.state = CL_REWRITTEN;
	else
		f.state = res.diverged ? CL_DIVERGED : CL_SHARED;
	report(c, &f);
	fcmp_free(&res);
	return 0;
}

static int compare_trees(struct cl *c)
{
	size_t i = 0, j = 0;
	int cmp, r = 0;

	while (!r && (i < c->ta.nr || j < c->tb.nr)) {
		const struct tree_entry *a = i < c->ta.nr ? &c->ta.e[i] : NULL;
		const struct tree_entry *b = j < c->tb.nr ? &c->tb.e[j] : NULL;
		struct file_report f = { 0 };

		cmp = !a ? 1 : !b ? -1 : strcmp(a->path, b->path);
		if (cmp < 0) {
			f = (struct file_report){ .path = a->path, .state = CL_REMOVED, .a = a };
			report(c, &f);
			i++;
		} else if (cmp > 0) {
			f = (struct file_report){ .path = b->path, .state = CL_NEW, .b = b };
			report(c, &f);
			j++;
		} else {
			if (S_ISREG(a->st.st_mode) && S_ISREG(b->st.st_mode))
				r = compare_file(c, a, b);
			i++;
			j++;
		}
	}
	return r;
}

/*----------------------------------------------------------------*/
/* Hard-link groups */

struct link {
	uint64_t ino;
	uint32_t gen;
	int side;		/* 0 left, 1 right */
	const struct tree_entry *e;
};

static int cmp_link(const void *x, const void *y)
{
	const struct link *a = x, *b = y;

	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	if (a->gen != b->gen)
		return a->gen < b->gen ? -1 : 1;
	if (a->side != b->side)
		return a->side - b->side;
	return strcmp(a->e->path, b->e->path);
}

static void group_out(struct cl *c, const struct link *l, size_t n)
{
	json_object *o, *sides[2];
	nlink_t nl[2] = { 0, 0 };
	size_t k;

	for (k = 0; k < n; k++)
		nl[l[k].side] = l[k].e->st.st_nlink;
	if (!c->o->json) {
		printf("links     inode %" PRIu64 ":", l[0].ino);
		for (int s = 0; s < 2; s++) {
			printf("\t%s (%ju links):", s ? "right" : "left", (uintmax_t)nl[s]);
			for (k = 0; k < n; k++)
				if (l[k].side == s)
					printf(" %s", l[k].e->path);
		}
		putchar('\n');
		return;
	}
	o = json_object_new_object();
	sides[0] = json_object_new_array();
	sides[1] = json_object_new_array();
	for (k = 0; k < n; k++)
		json_object_array_add(sides[l[k].side], json_object_new_string(l[k].e->path));
	json_object_object_add(o, "inode", json_object_new_int64((int64_t)l[0].ino));
	json_object_object_add(o, "left", sides[0]);
	json_object_object_add(o, "right", sides[1]);
	json_object_object_add(o, "left_nlink", json_object_new_int64((int64_t)nl[0]));
	json_object_object_add(o, "right_nlink", json_object_new_int64((int64_t)nl[1]));
	json_object_array_add(c->groups, o);
}

/* Same identity on both sides, same link count, same link set. */
static bool group_intact(const struct link *l, size_t n)
{
	size_t na = 0, k;
	bool multi = false;

	for (k = 0; k < n; k++) {
		if (l[k].e->st.st_nlink > 1)
			multi = true;
		na += !l[k].side;
	}
	if (!multi)
		return true;	/* not a hard-link group on either side */
	if (na * 2 != n || l[0].side || l[n - 1].side != 1)
		return false;
	for (k = 0; k < na; k++)
		if (strcmp(l[k].e->path, l[na + k].e->path) ||
		    l[k].e->st.st_nlink != l[na + k].e->st.st_nlink)
			return false;
	return true;
}

static int compare_groups(struct cl *c)
{
	struct link *l;
	size_t n = 0, i, j;
	const struct tree *t;

	l = malloc((c->ta.nr + c->tb.nr + 1) * sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (int s = 0; s < 2; s++) {
		t = s ? &c->tb : &c->ta;
		for (i = 0; i < t->nr; i++) {
			if (S_ISDIR(t->e[i].st.st_mode))
				continue;
			l[n++] = (struct link){ .ino = t->e[i].st.st_ino,
						.gen = t->e[i].has_gen ? t->e[i].gen : 0,
						.side = s, .e = &t->e[i] };
		}
	}
	qsort(l, n, sizeof(*l), cmp_link);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && l[j].ino == l[i].ino && l[j].gen == l[i].gen; j++)
			;
		if (group_intact(l + i, j - i))
			continue;
		c->groups_changed++;
		group_out(c, l + i, j - i);
	}
	free(l);
	return 0;
}

/*----------------------------------------------------------------*/

static int load_maps(struct cl *c)
{
	struct pmap *pm;
	int r;

	r = pmap_open(c->va->pool, &pm);
	if (r)
		return r;
	c->chunk_bytes = (uint64_t)pmap_chunk_sectors(pm) << 9;
	r = pmap_map_volume(pm, c->va->vol_id, &c->ma);
	if (!r)
		r = pmap_map_volume(pm, c->vb->vol_id, &c->mb);
	if (r)
		dmcowctl_err("cannot read the mappings of pool '%s': %s", c->va->pool,
			     strerror(-r));
	pmap_close(pm);
	return r;
}

static void print_summary(struct cl *c)
{
	json_object *j, *s;

	if (!c->o->json) {
		printf("# %" PRIu64 " shared, %" PRIu64 " diverged, %" PRIu64 " rewritten, %"
		       PRIu64 " new, %" PRIu64 " removed; %" PRIu64 " hard-link groups changed\n",
		       c->count[CL_SHARED], c->count[CL_DIVERGED], c->count[CL_REWRITTEN],
		       c->count[CL_NEW], c->count[CL_REMOVED], c->groups_changed);
		printf("# %" PRIu64 " with metadata unchanged but blocks diverged (%" PRIu64
		       " of them with other content), %" PRIu64 " with metadata changed but blocks shared\n",
		       c->meta_same_blocks_diverged, c->content_differs,
		       c->meta_changed_blocks_shared);
		return;
	}
	j = json_object_new_object();
	json_object_object_add(j, "left", json_object_new_string(c->va->name));
	json_object_object_add(j, "right", json_object_new_string(c->vb->name));
	json_object_object_add(j, "files", c->files);
	json_object_object_add(j, "link_groups", c->groups);
	s = json_object_new_object();
	for (int k = 0; k < CL_NR; k++)
		json_object_object_add(s, state_names[k], json_object_new_int64((int64_t)c->count[k]));
	json_object_object_add(s, "link_groups_changed", json_object_new_int64((int64_t)c->groups_changed));
	json_object_object_add(s, "blocks_diverged_metadata_unchanged",
			       json_object_new_int64((int64_t)c->meta_same_blocks_diverged));
	json_object_object_add(s, "content_differs_metadata_unchanged",
			       json_object_new_int64((int64_t)c->content_differs));
	json_object_object_add(s, "metadata_changed_blocks_shared",
			       json_object_new_int64((int64_t)c->meta_changed_blocks_shared));
	json_object_object_add(j, "summary", s);
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
	c->files = c->groups = NULL;
}

int cowlinks_run(const struct cowlinks_opts *o)
{
	struct cl *c = calloc(1, sizeof(*c));
	int r, rc;

	if (!c)
		return DMCOWCTL_EXIT_ERR;
	c->o = o;
	r = view_open(o->pool, o->a, NULL, 0, &c->va);
	if (!r)
		r = view_open(o->pool, o->b, NULL, 0, &c->vb);
	if (r)
		goto out;
	r = DMCOWCTL_EXIT_ERR;
	if (tree_collect(c->va, o->path, true, &c->ta) ||
	    tree_collect(c->vb, o->path, true, &c->tb) || load_maps(c))
		goto out;
	if (o->json) {
		c->files = json_object_new_array();
		c->groups = json_object_new_array();
	} else {
		printf("# cowlinks of %s/%s (left) and %s/%s (right) under %s\n", o->pool,
		       o->a, o->pool, o->b, o->path);
	}
	if (compare_trees(c) || compare_groups(c))
		goto out;
	print_summary(c);
	r = 0;
out:
	json_object_put(c->files);
	json_object_put(c->groups);
	tree_free(&c->ta);
	tree_free(&c->tb);
	vmap_free(&c->ma);
	vmap_free(&c->mb);
	rc = view_close_pair(c->va, c->vb);
	free(c);
	return r ? r : rc;
}
