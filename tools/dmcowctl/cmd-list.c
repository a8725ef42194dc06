// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl list [POOL] [--all] [--json] [-o COLUMNS]: volumes and snapshots
 * as a tree (a snapshot under its origin, like lsblk), one pool after
 * another.  Hidden volumes (the tools' views and receives in progress) only
 * with --all, which adds a flags column.
 */
#define _GNU_SOURCE
#include "dmcowctl.h"
#include "dm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#define SYN "list [POOL] [--all] [--json] [-o COLUMNS]"

enum col { C_NAME, C_ID, C_SIZE, C_MAPPED, C_DATA, C_EXCL, C_SHARED,
	   C_WRITTEN, C_CREATED, C_ORIGIN, C_ACTIVE, C_MOUNTED, C_FLAGS, NR_COLS };

static const struct {
	const char *name;
	const char *head;
	bool right;		/* numbers are right-aligned */
} cols[NR_COLS] = {
	[C_NAME] = { "name", "NAME", false },
	[C_ID] = { "id", "ID", true },
	[C_SIZE] = { "size", "SIZE", true },
	[C_MAPPED] = { "mapped", "MAPPED", true },
	[C_DATA] = { "data%", "DATA%", true },
	[C_EXCL] = { "excl", "EXCL", true },
	[C_SHARED] = { "shared", "SHARED", true },
	[C_WRITTEN] = { "written", "WRITTEN", true },
	[C_CREATED] = { "created", "CREATED", false },
	[C_ORIGIN] = { "origin", "ORIGIN", false },
	[C_ACTIVE] = { "active", "ACTIVE", false },
	[C_MOUNTED] = { "mounted", "MOUNTED", false },
	[C_FLAGS] = { "flags", "FLAGS", false },
};

#define CELL_LEN 160

/* The text output is built as rows of cells, then aligned. */
struct table {
	int sel[NR_COLS];
	int nr_sel;
	char (*cells)[NR_COLS][CELL_LEN];
	size_t rows;
};

struct list_ctx {
	struct table tab;
	bool all;		/* --all: hidden volumes too */
	char indent[CELL_LEN];	/* tree drawing of the current depth */
	json_object *pools;	/* with --json */
	char **names;		/* pools found by enumeration */
	size_t nr_names;
};

static int parse_columns(const char *s, struct table *tab)
{
	char buf[256], *save = NULL, *tok;
	int i;

	snprintf(buf, sizeof(buf), "%s", s);
	tab->nr_sel = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < NR_COLS; i++)
			if (!strcasecmp(tok, cols[i].name))
				break;
		if (i == NR_COLS)
			return usage_err(SYN, "unknown column '%s': choose from name,id,size,mapped,data%%,excl,shared,written,created,origin,active,mounted,flags",
					 tok);
		if (tab->nr_sel == NR_COLS)
			return usage_err(SYN, "too many columns: at most %d", NR_COLS);
		tab->sel[tab->nr_sel++] = i;
	}
	return tab->nr_sel ? 0 : usage_err(SYN, "no columns given");
}

static char (*new_row(struct table *tab))[CELL_LEN]
{
	char (*c)[NR_COLS][CELL_LEN];

	c = realloc(tab->cells, (tab->rows + 1) * sizeof(*c));
	if (!c)
		return NULL;
	tab->cells = c;
	memset(c[tab->rows], 0, sizeof(*c));
	return c[tab->rows++];
}

static int cmp_id(const void *a, const void *b)
{
	const struct cow_volume *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Deleted volumes never; hidden ones with --all. */
static bool listed(const struct list_ctx *lc, const struct cow_volume *v)
{
	if (v->flags & COW_VOLUME_DELETING)
		return false;
	return lc->all || !(v->flags & COW_VOLUME_HIDDEN);
}

/* A volume whose origin is not listed is shown as a root of its own. */
static bool is_root(const struct list_ctx *lc, struct cow_pool *p,
		    const struct cow_volume *v)
{
	struct cow_volume *o;

	if (!v->has_origin)
		return true;
	o = pool_find_id(p, v->origin);
	return !o || !listed(lc, o);
}

static const char *flags_word(const struct cow_volume *v)
{
	if (v->flags & COW_VOLUME_THROWAWAY)
		return "throwaway";
	return v->flags & COW_VOLUME_HIDDEN ? "hidden" : "-";
}

static json_object *json_str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static void volume_json(struct cow_pool *p, struct cow_volume *v, const char *origin,
			const char *mnt, double pct, json_object *jvols)
{
	uint64_t chunk = (uint64_t)p->chunk_sectors << 9;
	json_object *j = json_object_new_object();
	char *dev = NULL;

	if (v->nr_devs && asprintf(&dev, "/dev/mapper/%s", v->dev) < 0)
		dev = NULL;
	json_object_object_add(j, "name", json_object_new_string(v->name));
	json_object_object_add(j, "id", json_object_new_int64((int64_t)v->id));
	json_object_object_add(j, "size_bytes", json_object_new_int64((int64_t)(v->size << 9)));
	json_object_object_add(j, "mapped_chunks", json_object_new_int64((int64_t)v->mapped));
	json_object_object_add(j, "mapped_bytes", json_object_new_int64((int64_t)(v->mapped * chunk)));
	/* Counters the pool does not maintain are null, never 0. */
	json_object_object_add(j, "exclusive_chunks", v->exclusive_known ?
			       json_object_new_int64((int64_t)v->exclusive) : NULL);
	json_object_object_add(j, "exclusive_bytes", v->exclusive_known ?
			       json_object_new_int64((int64_t)(v->exclusive * chunk)) : NULL);
	json_object_object_add(j, "shared_bytes", v->exclusive_known ?
			       json_object_new_int64((int64_t)((v->mapped - v->exclusive) * chunk)) :
			       NULL);
	json_object_object_add(j, "written_chunks", v->written_known ?
			       json_object_new_int64((int64_t)v->written) : NULL);
	json_object_object_add(j, "written_bytes", v->written_known ?
			       json_object_new_int64((int64_t)(v->written * chunk)) : NULL);
	json_object_object_add(j, "data_percent", json_object_new_double(pct));
	json_object_object_add(j, "created", json_object_new_int64((int64_t)v->ctime));
	json_object_object_add(j, "origin", json_str_or_null(origin));
	json_object_object_add(j, "origin_id", v->has_origin ?
			       json_object_new_int64((int64_t)v->origin) : NULL);
	json_object_object_add(j, "active", json_str_or_null(dev));
	json_object_object_add(j, "suspended", json_object_new_boolean(v->suspended));
	json_object_object_add(j, "mounted", json_str_or_null(mnt));
	json_object_object_add(j, "hidden",
			       json_object_new_boolean(v->flags & COW_VOLUME_HIDDEN));
	json_object_object_add(j, "throwaway",
			       json_object_new_boolean(v->flags & COW_VOLUME_THROWAWAY));
	json_object_array_add(jvols, j);
	free(dev);
}

/* A size, or "-" for a counter the pool does not maintain. */
static void counter_cell(bool known, uint64_t bytes, char *cell)
{
	if (known)
		human_size(bytes, cell, CELL_LEN);
	else
		snprintf(cell, CELL_LEN, "-");
}

static void add_volume(struct list_ctx *lc, struct cow_pool *p,
		       struct cow_volume *v, const char *branch, json_object *jvols)
{
	uint64_t chunk = (uint64_t)p->chunk_sectors << 9;
	double pct = v->size ? 100.0 * (double)(v->mapped * chunk) / (double)(v->size << 9) : 0;
	struct cow_volume *o = v->has_origin ? pool_find_id(p, v->origin) : NULL;
	const char *origin = o ? o->name : "";
	char (*row)[CELL_LEN], *mnt = NULL;
	time_t t = (time_t)v->ctime;
	struct tm tm;

	if (v->nr_devs)
		mnt = devno_mount_point(v->major, v->minor);
	if (jvols) {
		volume_json(p, v, origin, mnt, pct, jvols);
		goto out;
	}
	row = new_row(&lc->tab);
	if (!row)
		goto out;
	snprintf(row[C_NAME], CELL_LEN, "%s%s%s", lc->indent, branch, v->name);
	snprintf(row[C_ID], CELL_LEN, "%" PRIu64, v->id);
	human_size(v->size << 9, row[C_SIZE], CELL_LEN);
	human_size(v->mapped * chunk, row[C_MAPPED], CELL_LEN);
	snprintf(row[C_DATA], CELL_LEN, "%.1f", pct);
	counter_cell(v->exclusive_known, v->exclusive * chunk, row[C_EXCL]);
	counter_cell(v->exclusive_known, (v->mapped - v->exclusive) * chunk,
		     row[C_SHARED]);
	counter_cell(v->written_known, v->written * chunk, row[C_WRITTEN]);
	strftime(row[C_CREATED], CELL_LEN, "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
	snprintf(row[C_ORIGIN], CELL_LEN, "%s", *origin ? origin : "-");
	snprintf(row[C_ACTIVE], CELL_LEN, "%s", v->nr_devs ? v->dev : "-");
	snprintf(row[C_MOUNTED], CELL_LEN, "%s", mnt ? mnt : "-");
	snprintf(row[C_FLAGS], CELL_LEN, "%s", flags_word(v));
out:
	free(mnt);
}

static bool is_child(const struct list_ctx *lc, const struct cow_volume *c,
		     const struct cow_volume *v)
{
	return c->has_origin && c->origin == v->id && listed(lc, c);
}

/* Depth-first: "|-" for a child with siblings after it, "`-" for the last. */
static void add_subtree(struct list_ctx *lc, struct cow_pool *p, struct cow_volume *v,
			bool last, json_object *jvols, int depth)
{
	size_t i, nr = 0, seen = 0, len = strlen(lc->indent);

	add_volume(lc, p, v, last ? "`-" : "|-", jvols);
	/* A cycle would be corrupt metadata; the indent bounds the depth too. */
	if (depth > 64 || len + 3 > sizeof(lc->indent))
		return;
	for (i = 0; i < p->nr_vols; i++)
		if (is_child(lc, &p->vols[i], v))
			nr++;
	strcat(lc->indent, last ? "  " : "| ");
	for (i = 0; i < p->nr_vols; i++) {
		if (!is_child(lc, &p->vols[i], v))
			continue;
		seen++;
		add_subtree(lc, p, &p->vols[i], seen == nr, jvols, depth + 1);
	}
	lc->indent[len] = '\0';
}

static int list_pool(struct list_ctx *lc, const char *name)
{
	struct pool_status st;
	struct cow_pool *p;
	json_object *jp = NULL, *jvols = NULL;
	char (*row)[CELL_LEN];
	size_t i, nr = 0, seen = 0;
	uint64_t chunk;
	int r;

	r = pool_open(name, &p);
	if (r)
		return r;
	r = pool_status_read(name, &st);
	if (r)
		goto out;
	chunk = (uint64_t)p->chunk_sectors << 9;
	qsort(p->vols, p->nr_vols, sizeof(*p->vols), cmp_id);
	if (lc->pools) {
		jp = json_object_new_object();
		json_object_object_add(jp, "name", json_object_new_string(name));
		json_object_object_add(jp, "chunk_sectors", json_object_new_int64(p->chunk_sectors));
		json_object_object_add(jp, "used_chunks", json_object_new_int64((int64_t)st.data_used));
		json_object_object_add(jp, "total_chunks", json_object_new_int64((int64_t)st.data_total));
		json_object_object_add(jp, "mode", json_object_new_string(st.mode));
		jvols = json_object_new_array();
		json_object_object_add(jp, "volumes", jvols);
		json_object_array_add(lc->pools, jp);
	} else if ((row = new_row(&lc->tab))) {
		/* The pool itself is the root row: its size and usage. */
		snprintf(row[C_NAME], CELL_LEN, "%s", name);
		snprintf(row[C_ID], CELL_LEN, "-");
		human_size(st.data_total * chunk, row[C_SIZE], CELL_LEN);
		human_size(st.data_used * chunk, row[C_MAPPED], CELL_LEN);
		snprintf(row[C_DATA], CELL_LEN, "%.1f", st.data_total ?
			 100.0 * (double)st.data_used / (double)st.data_total : 0.0);
		for (i = C_EXCL; i < NR_COLS; i++)
			snprintf(row[i], CELL_LEN, "-");
		snprintf(row[C_ACTIVE], CELL_LEN, "%s", name);
	}
	for (i = 0; i < p->nr_vols; i++)
		if (listed(lc, &p->vols[i]) && is_root(lc, p, &p->vols[i]))
			nr++;
	for (i = 0; i < p->nr_vols; i++) {
		if (!listed(lc, &p->vols[i]) || !is_root(lc, p, &p->vols[i]))
			continue;
		seen++;
		lc->indent[0] = '\0';
		add_subtree(lc, p, &p->vols[i], seen == nr, jvols, 0);
	}
out:
	pool_close(p);
	return r;
}

static int collect_pool(const char *name, uint32_t major, uint32_t minor, void *arg)
{
	struct list_ctx *lc = arg;
	char **n;

	(void)major;
	(void)minor;
	if (!pool_is_cowtree(name))
		return 0;
	n = realloc(lc->names, (lc->nr_names + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	lc->names = n;
	n[lc->nr_names] = strdup(name);
	if (n[lc->nr_names])
		lc->nr_names++;
	return 0;
}

static void print_table(const struct table *tab)
{
	size_t w[NR_COLS] = { 0 }, r, l;
	int i, c;

	for (i = 0; i < tab->nr_sel; i++) {
		c = tab->sel[i];
		w[c] = strlen(cols[c].head);
		for (r = 0; r < tab->rows; r++) {
			l = strlen(tab->cells[r][c]);
			if (l > w[c])
				w[c] = l;
		}
	}
	for (i = 0; i < tab->nr_sel; i++) {
		c = tab->sel[i];
		if (i + 1 == tab->nr_sel)
			printf("%s\n", cols[c].head);
		else
			printf(cols[c].right ? "%*s " : "%-*s ", (int)w[c], cols[c].head);
	}
	for (r = 0; r < tab->rows; r++) {
		for (i = 0; i < tab->nr_sel; i++) {
			c = tab->sel[i];
			if (i + 1 == tab->nr_sel)
				printf("%s\n", tab->cells[r][c]);
			else
				printf(cols[c].right ? "%*s " : "%-*s ", (int)w[c],
				       tab->cells[r][c]);
		}
	}
}

static const struct option list_longopts[] = {
	{ "all", no_argument, NULL, 'a' },
	{ "json", no_argument, NULL, 'j' },
	{ "output", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 },
};

int cmd_list(int argc, char **argv)
{
	struct list_ctx *lc;
	json_object *root = NULL;
	bool json = false, columns_given = false;
	size_t i;
	int c, r = 0;

	lc = calloc(1, sizeof(*lc));
	if (!lc)
		return DMCOWCTL_EXIT_ERR;
	/* The flags column only with --all, unless -o asks for it. */
	for (i = 0; i < C_FLAGS; i++)
		lc->tab.sel[i] = (int)i;
	lc->tab.nr_sel = C_FLAGS;
	args_begin();
	while ((c = args_next(argc, argv, "ajo:", list_longopts, SYN)) != -1) {
		if (c == 'a')
			lc->all = true;
		else if (c == 'j')
			json = true;
		else if (c == 'o') {
			r = parse_columns(optarg, &lc->tab);
			columns_given = true;
		}
		else
			r = DMCOWCTL_EXIT_USAGE;
		if (r)
			goto out;
	}
	if (ARGS_LEFT(argc) > 1) {
		r = usage_err(SYN, "list takes at most one pool");
		goto out;
	}
	if (lc->all && !columns_given)
		lc->tab.sel[lc->tab.nr_sel++] = C_FLAGS;
	if (json) {
		root = json_object_new_object();
		lc->pools = json_object_new_array();
		json_object_object_add(root, "pools", lc->pools);
	}
	if (ARGS_LEFT(argc) == 1) {
		r = list_pool(lc, ARG(argv, 0));
	} else {
		r = dmc_list(collect_pool, lc);
		if (r)
			r = dm_failed(r, "listing the device-mapper devices");
		for (i = 0; i < lc->nr_names && !r; i++)
			r = list_pool(lc, lc->names[i]);
	}
	if (!r && json)
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (!r && lc->tab.rows)
		print_table(&lc->tab);
out:
	if (root)
		json_object_put(root);
	for (i = 0; i < lc->nr_names; i++)
		free(lc->names[i]);
	free(lc->names);
	free(lc->tab.cells);
	free(lc);
	return r;
}
