// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl check METADATA_DEV [--json] [--quiet] [--strict-leaks]
 *                             [--clear-needs-check]
 * dmcowctl check --live POOL [--json] [--quiet]
 *
 * Offline: runs the core's independent checker (cow-check.h) on the last
 * commit.  Exit status as thin_check: 0 clean, 1 errors, 2 usage or the
 * device cannot be opened.  Leaks (allocated but unreferenced blocks or
 * chunks, which a crash in the middle of a write can leave) are warnings
 * unless --strict-leaks.
 *
 * Live: the pool keeps running; a held metadata snapshot is reserved (the
 * pool commits), the core's checker walks the held volumes and mapping
 * trees and recomputes every volume's counters, comparing them with the
 * counters the held records store -- the pool's in-core counters at the
 * hold.  Reference counts change under us, so they are not compared.  The
 * counters the live pool reports (its volumes message, each active
 * device's status) are read before the hold and after the check; for a
 * volume where they did not move they must equal the recomputed ones,
 * otherwise the volume is reported as not compared, and why
 * (live-counters.h).  The snapshot is released again.
 */
#include "mdev.h"
#include "offline.h"
#include "cow-check.h"
#include "cow-metadata.h"
#include "live-counters.h"

#include <json-c/json.h>

#define SYN "check METADATA_DEV | --live POOL [--json] [--quiet] [--strict-leaks] [--clear-needs-check]"

struct check_opts {
	const char *dev;	/* the metadata device (--live: found from POOL) */
	bool json, quiet, strict_leaks, clear_needs_check, live;
	uint64_t held;		/* --live: the held root checked */
	/* --live: the pool, its counters before the hold, after the check */
	const char *pool;
	bool held_by_us;
	struct live_volume *before, *after;
	size_t nr_before, nr_after;
	bool after_unread;	/* the live counters could not be read again */
	/* --live: per recomputed volume, what was compared (live_compare_counters) */
	struct live_verdict *verdicts;
	unsigned int nr_verdicts, live_mismatches, live_compared;
};

static const struct option check_longopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "strict-leaks", no_argument, NULL, 'L' },
	{ "clear-needs-check", no_argument, NULL, 'C' },
	{ "clear-needs-check-flag", no_argument, NULL, 'C' },
	{ "live", no_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *const kind_names[COW_CHECK_NR_KINDS] = {
	[COW_CHECK_CORRUPT] = "corrupt",
	[COW_CHECK_META_LEAK] = "metadata_leak",
	[COW_CHECK_META_OVERREF] = "metadata_over_reference",
	[COW_CHECK_META_UNDERREF] = "metadata_under_reference",
	[COW_CHECK_DATA_LEAK] = "data_leak",
	[COW_CHECK_DATA_OVERREF] = "data_over_reference",
	[COW_CHECK_DATA_UNDERREF] = "data_under_reference",
	[COW_CHECK_COUNTER] = "counter",
};

static bool is_leak(enum cow_check_kind k)
{
	return k == COW_CHECK_META_LEAK || k == COW_CHECK_DATA_LEAK;
}

/* A problem is a warning only if it is a leak and leaks are allowed. */
static bool is_error(const struct check_opts *o, enum cow_check_kind k)
{
	return !is_leak(k) || o->strict_leaks;
}

struct summary {
	u64 errors, warnings;
	bool needs_check;
};

/*
 * --live: the pool's counters read again now that the check is done,
 * compared with the recomputed ones where they did not move.
 */
static void compare_live(struct check_opts *o, const struct cow_check_report *rep)
{
	struct live_counter_set *sets;
	uint64_t *ids;
	unsigned int i, n = rep->accounted ? rep->nr_volume_counters : 0;

	o->verdicts = calloc(n + 1, sizeof(*o->verdicts));
	sets = calloc(n + 1, sizeof(*sets));
	ids = calloc(n + 1, sizeof(*ids));
	if (!o->verdicts || !sets || !ids) {
		free(sets);
		free(ids);
		free(o->verdicts);
		o->verdicts = NULL;
		return;	/* nr_verdicts 0: the summary says none was compared */
	}
	for (i = 0; i < n; i++) {
		const struct cow_check_volume *c = &rep->volume_counters[i];

		ids[i] = c->id;
		sets[i] = (struct live_counter_set){
			.mapped = c->mapped_chunks, .exclusive = c->exclusive_chunks,
			.written = c->written_since_origin,
			.exclusive_known = true, .written_known = true };
	}
	o->after_unread = live_volumes_read(o->pool, &o->after, &o->nr_after) != 0;
	if (o->after_unread) {
		for (i = 0; i < n; i++)
			o->verdicts[i] = (struct live_verdict){ .id = ids[i],
				.skipped = "the live counters could not be read after the check" };
	} else {
		o->live_mismatches = live_compare_counters(ids, sets, n, o->before,
							   o->nr_before, o->after, o->nr_after,
							   o->held_by_us, o->verdicts);
		for (i = 0; i < n; i++)
			o->live_compared += o->verdicts[i].compared;
	}
	o->nr_verdicts = n;
	free(sets);
	free(ids);
}

static void summarise(const struct check_opts *o, const struct cow_check_report *rep,
		      struct summary *s)
{
	unsigned int k;

	for (k = 0; k < COW_CHECK_NR_KINDS; k++) {
		if (is_error(o, k))
			s->errors += rep->nr_by_kind[k];
		else
			s->warnings += rep->nr_by_kind[k];
	}
	/*
	 * The checker always says why the counters went unchecked; should
	 * it not, a check that could not check them is still not clean.
	 */
	if (!rep->accounted && !s->errors)
		s->errors = 1;
	s->errors += o->live_mismatches;
}

static json_object *problem_json(const struct cow_check_problem *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "kind", json_object_new_string(kind_names[p->kind]));
	json_object_object_add(o, "where", json_object_new_int64((int64_t)p->where));
	json_object_object_add(o, "message", json_object_new_string(p->msg));
	return o;
}

static json_object *usage_json(u64 used, u64 total)
{
	json_object *o = json_object_new_object();

	/* ~0: not known (live check: the space maps are not read). */
	json_object_object_add(o, "used", used == ~0ULL ? NULL :
			       json_object_new_int64((int64_t)used));
	json_object_object_add(o, "total", json_object_new_int64((int64_t)total));
	return o;
}

/* --live: was the volume's live counters compared, and if not why not. */
static void verdict_json(json_object *v, const struct live_verdict *lv)
{
	json_object_object_add(v, "live_counters_compared",
			       json_object_new_boolean(lv->compared));
	json_object_object_add(v, "live_device_compared",
			       json_object_new_boolean(lv->device_compared));
	if (!lv->compared)
		json_object_object_add(v, "live_skipped",
				       json_object_new_string(lv->skipped));
}

/* Per volume, the counters as the checker recomputed them. */
static json_object *counters_json(const struct check_opts *o,
				  const struct cow_check_report *rep)
{
	json_object *a = json_object_new_array(), *v;
	unsigned int i;

	for (i = 0; i < rep->nr_volume_counters; i++) {
		v = json_object_new_object();
		json_object_object_add(v, "id", json_object_new_int64(
			(int64_t)rep->volume_counters[i].id));
		json_object_object_add(v, "mapped_chunks", json_object_new_int64(
			(int64_t)rep->volume_counters[i].mapped_chunks));
		json_object_object_add(v, "exclusive_chunks", json_object_new_int64(
			(int64_t)rep->volume_counters[i].exclusive_chunks));
		json_object_object_add(v, "written_chunks", json_object_new_int64(
			(int64_t)rep->volume_counters[i].written_since_origin));
		if (o->live && i < o->nr_verdicts)
			verdict_json(v, &o->verdicts[i]);
		json_object_array_add(a, v);
	}
	return a;
}

/* The live counters that differ from the recomputed ones: errors. */
static void live_errors_json(const struct check_opts *o, json_object *errs)
{
	json_object *m;
	unsigned int i;

	for (i = 0; i < o->nr_verdicts; i++) {
		if (!o->verdicts[i].mismatch[0])
			continue;
		m = json_object_new_object();
		json_object_object_add(m, "kind", json_object_new_string("live_counter"));
		json_object_object_add(m, "where", json_object_new_int64(
			(int64_t)o->verdicts[i].id));
		json_object_object_add(m, "message", json_object_new_string(
			o->verdicts[i].mismatch));
		json_object_array_add(errs, m);
	}
}

static void print_json(const struct check_opts *o, const struct cow_check_report *rep,
		       const struct summary *s)
{
	json_object *j = json_object_new_object(), *errs, *warns, *m;
	unsigned int i;

	errs = json_object_new_array();
	warns = json_object_new_array();
	for (i = 0; i < rep->nr_stored; i++)
		json_object_array_add(is_error(o, rep->problems[i].kind) ? errs : warns,
				      problem_json(&rep->problems[i]));
	live_errors_json(o, errs);
	if (rep->nr_problems > rep->nr_stored) {
		m = json_object_new_object();
		json_object_object_add(m, "kind", json_object_new_string("more"));
		json_object_object_add(m, "message", json_object_new_string(
			"more problems were found than are listed"));
		json_object_array_add(s->errors ? errs : warns, m);
	}
	if (s->needs_check) {
		m = json_object_new_object();
		json_object_object_add(m, "kind", json_object_new_string("needs_check"));
		json_object_object_add(m, "message", json_object_new_string(
			"the needs_check flag is set"));
		json_object_array_add(warns, m);
	}
	json_object_object_add(j, "device", json_object_new_string(o->dev));
	json_object_object_add(j, "clean", json_object_new_boolean(!s->errors));
	json_object_object_add(j, "errors", errs);
	json_object_object_add(j, "warnings", warns);
	/* Live: the space maps are not read (the pool changes them). */
	json_object_object_add(j, "metadata_blocks",
			       usage_json(o->live ? ~0ULL : rep->metadata_blocks_used,
					  rep->nr_metadata_blocks));
	json_object_object_add(j, "data_chunks",
			       usage_json(o->live ? ~0ULL : rep->data_chunks_used,
					  rep->nr_data_chunks));
	json_object_object_add(j, "volumes", json_object_new_int64((int64_t)rep->nr_volumes));
	json_object_object_add(j, "mappings", json_object_new_int64((int64_t)rep->nr_mappings));
	json_object_object_add(j, "transaction", json_object_new_int64((int64_t)rep->txn));
	if (o->live) {
		json_object_object_add(j, "held_root", json_object_new_int64((int64_t)o->held));
		json_object_object_add(j, "live_counters_compared",
				       json_object_new_int64(o->live_compared));
	} else
		json_object_object_add(j, "held_root", json_object_new_boolean(rep->held_root));
	json_object_object_add(j, "counters_checked", json_object_new_boolean(rep->accounted));
	if (rep->accounted)
		json_object_object_add(j, "volume_counters", counters_json(o, rep));
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_SPACED));
	json_object_put(j);
}

static void print_text(const struct check_opts *o, const struct cow_check_report *rep,
		       const struct summary *s)
{
	unsigned int i;

	for (i = 0; i < rep->nr_stored; i++)
		printf("%s: %s\n", is_error(o, rep->problems[i].kind) ? "error" : "warning",
		       rep->problems[i].msg);
	if (rep->nr_problems > rep->nr_stored)
		printf("... and %llu more problems\n",
		       (unsigned long long)(rep->nr_problems - rep->nr_stored));
	if (s->needs_check)
		printf("warning: the needs_check flag is set\n");
	if (!rep->accounted)
		printf("error: the volume counters could not be checked\n");
	if (o->live) {
		for (i = 0; i < o->nr_verdicts; i++)
			if (o->verdicts[i].mismatch[0])
				printf("error: %s\n", o->verdicts[i].mismatch);
		/*
		 * What the held records' counters were compared with, and
		 * whether the live ones were compared too.
		 */
		for (i = 0; i < rep->nr_volume_counters; i++)
			printf("volume %llu: mapped %llu exclusive %llu written %llu; live %s\n",
			       (unsigned long long)rep->volume_counters[i].id,
			       (unsigned long long)rep->volume_counters[i].mapped_chunks,
			       (unsigned long long)rep->volume_counters[i].exclusive_chunks,
			       (unsigned long long)rep->volume_counters[i].written_since_origin,
			       i >= o->nr_verdicts ? "not compared" :
			       !o->verdicts[i].compared ? o->verdicts[i].skipped :
			       o->verdicts[i].mismatch[0] ? "DIFFERENT" :
			       o->verdicts[i].device_compared ? "pool and device status equal" :
			       "pool equal (no active device)");
		printf("%s (held root %llu, transaction %llu): %s; %llu volumes, %llu mappings, counters %s, live counters compared for %u of %u; %llu errors\n",
		       o->dev, (unsigned long long)o->held, (unsigned long long)rep->txn,
		       s->errors ? "ERRORS FOUND" : "clean",
		       (unsigned long long)rep->nr_volumes,
		       (unsigned long long)rep->nr_mappings,
		       rep->accounted ? "recomputed and equal to the held records" : "NOT checked",
		       o->live_compared, rep->accounted ? rep->nr_volume_counters : 0,
		       (unsigned long long)s->errors);
		return;
	}
	printf("%s: %s; %llu volumes, %llu mappings; metadata %llu/%llu blocks, data %llu/%llu chunks; %llu errors, %llu warnings\n",
	       o->dev, s->errors ? "ERRORS FOUND" : "clean",
	       (unsigned long long)rep->nr_volumes, (unsigned long long)rep->nr_mappings,
	       (unsigned long long)rep->metadata_blocks_used,
	       (unsigned long long)rep->nr_metadata_blocks,
	       (unsigned long long)rep->data_chunks_used,
	       (unsigned long long)rep->nr_data_chunks,
	       (unsigned long long)s->errors, (unsigned long long)s->warnings);
}

static int clear_needs_check(const char *dev)
{
	struct cow_pmd_open_args args = { .read_only = false };
	struct cow_pool_metadata *pmd;
	struct cow_block_manager *bm;
	int r;

	r = mdev_open_rw(dev, 0, &bm);
	if (r)
		return r;
	r = cow_pmd_open(bm, &args, &pmd);
	if (!r) {
		r = cow_pmd_clear_needs_check(pmd);
		cow_pmd_close(pmd);
	}
	mdev_close(bm);
	if (r)
		dmcowctl_err("cannot clear the needs_check flag of '%s': %s", dev,
			     strerror(-r));
	return r;
}

/* The offline check, or with @held the check of that held root. */
static int run_check(struct cow_block_manager *bm, uint64_t held,
		     struct cow_check_report *rep, struct summary *s)
{
	struct cow_disk_superblock *sb = malloc(sizeof(*sb));
	bool csum_ok = false;
	int r;

	if (!sb)
		return -ENOMEM;
	/* The checker reads about every allocated block once. */
	if (!mdev_read_sb(bm, sb, &csum_ok) && csum_ok) {
		s->needs_check = le32_to_cpu(sb->flags) & COW_SB_F_NEEDS_CHECK;
		progress_begin("checking", le64_to_cpu(sb->msm_nr_allocated), true);
	}
	free(sb);
	mdev_progress_reads = true;
	r = held ? cow_check_held_root(bm, held, rep) : cow_check_pool(bm, rep);
	mdev_progress_reads = false;
	progress_end();
	return r;
}

/* Check o->dev (o->held: its held root), report, and give the exit status. */
static int check_dev(struct check_opts *o)
{
	struct cow_block_manager *bm;
	struct cow_check_report *rep;
	struct summary s = { 0 };
	int r;

	/* Live: O_DIRECT, the page cache may hold stale blocks. */
	r = mdev_open_ro(o->dev, o->live, &bm);
	if (r)
		return DMCOWCTL_EXIT_USAGE;
	rep = calloc(1, sizeof(*rep));
	r = rep ? run_check(bm, o->held, rep, &s) : -ENOMEM;
	mdev_close(bm);
	if (!r && o->live)
		compare_live(o, rep);
	if (r) {
		dmcowctl_err("cannot check '%s': %s", o->dev, strerror(-r));
		free(rep);
		return DMCOWCTL_EXIT_USAGE;
	}
	if (o->live)
		s.needs_check = false;	/* the live pool's business */
	summarise(o, rep, &s);
	if (o->json)
		print_json(o, rep, &s);
	else if (!o->quiet)
		print_text(o, rep, &s);
	free(rep);
	if (s.errors)
		return DMCOWCTL_EXIT_ERR;
	if (o->clear_needs_check && s.needs_check && clear_needs_check(o->dev))
		return DMCOWCTL_EXIT_ERR;
	return 0;
}

/*----------------------------------------------------------------*/
/* A held metadata snapshot of a live pool */

static int check_live(struct check_opts *o)
{
	struct live_hold *h;	/* large: not on cmd_check's stack */
	int r;

	if (o->clear_needs_check || o->strict_leaks)
		return usage_err(SYN, "--live does not compare reference counts: --clear-needs-check and --strict-leaks need an inactive pool");
	h = malloc(sizeof(*h));
	if (!h)
		return DMCOWCTL_EXIT_USAGE;
	o->pool = o->dev;
	r = DMCOWCTL_EXIT_USAGE;
	if (live_volumes_read(o->pool, &o->before, &o->nr_before))
		goto out;
	if (live_hold(o->pool, h))
		goto out;
	o->dev = h->meta_path;
	o->held = h->held;
	o->held_by_us = h->reserved;
	r = check_dev(o);
	live_release(h);
out:
	free(h);
	free(o->before);
	free(o->after);
	free(o->verdicts);
	return r;
}

int cmd_check(int argc, char **argv)
{
	struct check_opts o = { 0 };
	int c;

	args_begin();
	while ((c = args_next(argc, argv, "jqlh", check_longopts, SYN)) != -1) {
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'L':
			o.strict_leaks = true;
			break;
		case 'C':
			o.clear_needs_check = true;
			break;
		case 'l':
			o.live = true;
			break;
		case 'h':
			printf("usage: dmcowctl %s\n", SYN);
			return 0;
		default:
			return DMCOWCTL_EXIT_USAGE;
		}
	}
	if (ARGS_LEFT(argc) != 1)
		return usage_err(SYN, o.live ? "give exactly one pool" :
				 "give exactly one metadata device");
	o.dev = ARG(argv, 0);
	cow_log_quiet = true;	/* problems are reported by us, once */
	return o.live ? check_live(&o) : check_dev(&o);
}
