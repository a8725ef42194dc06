// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl reshare POOL/A POOL/B [--dry-run] [--json]
 *
 * Makes the chunks that A and B hold with equal data shared again
 * (reshare/reshare.h): the candidates come from a held metadata snapshot,
 * both sides are read from the pool's data device and compared, and the
 * equal ones go to the pool in share messages, which compare them again
 * under the I/O path's locks.  --dry-run compares and reports what would
 * be shared without asking the pool.
 */
#include "dmcowctl.h"
#include "offline.h"
#include "reshare/reshare.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYN "reshare POOL/A POOL/B [--dry-run] [--json]"
/* Candidates compared, then sent, at a time: the pool sees fresh data. */
#define WINDOW RESHARE_MAX_BATCH

struct reshare_job {
	struct vol_ref ref[2];
	bool dry_run, json;
	struct cow_pool *pool;
	uint64_t id[2];
	char data_path[160];
	struct reshare_plan plan;
	struct reshare_reader rd;
	struct reshare_totals t;
};

static int find_volumes(struct reshare_job *job)
{
	struct pool_status st;
	struct cow_volume *v;
	unsigned int i;

	if (pool_open(job->ref[0].pool, &job->pool))
		return DMCOWCTL_EXIT_ERR;
	for (i = 0; i < 2; i++) {
		v = pool_get(job->pool, job->ref[i].name);
		if (!v)
			return DMCOWCTL_EXIT_ERR;
		job->id[i] = v->id;
	}
	if (job->dry_run)
		return 0;
	if (pool_status_read(job->pool->name, &st))
		return DMCOWCTL_EXIT_ERR;
	if (strcmp(st.mode, "rw")) {
		dmcowctl_err("pool '%s' is in %s mode: only a writable pool can share chunks (--dry-run compares)",
			     job->pool->name, st.mode);
		return DMCOWCTL_EXIT_ERR;
	}
	return 0;
}

/* The hold lasts while the mappings are read, not while data is. */
static int build_plan(struct reshare_job *job)
{
	struct live_hold hold;
	int r;

	r = send_hold(job->pool->name, &hold);
	if (r)
		return r;
	r = reshare_plan_build(hold.meta_path, hold.held, job->id[0], job->id[1],
			       &job->plan);
	live_release(&hold);
	job->t.delta_chunks = job->plan.delta_chunks;
	job->t.candidates = job->plan.nr;
	return r;
}

static int run_windows(struct reshare_job *job)
{
	struct reshare_plan *p = &job->plan;
	size_t i, n;
	int r = 0;

	progress_begin("reshare", p->nr, !job->json);
	for (i = 0; !r && i < p->nr; i += n) {
		n = p->nr - i < WINDOW ? p->nr - i : WINDOW;
		r = reshare_compare(&job->rd, &p->c[i], n);
		if (r)
			break;
		job->t.compared += n;
		if (job->dry_run)
			reshare_dry_run(p, &p->c[i], n);
		else
			r = reshare_send(job->pool->name, p, &p->c[i], n, &job->t);
		progress_update(i + n);
	}
	progress_end();
	job->t.bytes_read = job->rd.bytes_read;
	reshare_count(p->c, p->nr, &job->t);
	return r;
}

static int reshare_run(struct reshare_job *job)
{
	int r;

	r = find_volumes(job);
	if (r)
		return r;
	if (build_plan(job))
		return DMCOWCTL_EXIT_ERR;
	live_devno_path(job->pool->data_dev, job->data_path, sizeof(job->data_path));
	if (reshare_reader_open(&job->rd, job->data_path, job->plan.chunk_sectors))
		return DMCOWCTL_EXIT_ERR;
	r = run_windows(job);
	reshare_reader_close(&job->rd);
	if (r)
		return DMCOWCTL_EXIT_ERR;
	reshare_report(job->pool->name, &job->plan, &job->t, job->dry_run, job->json);
	return 0;
}

static const struct option reshare_longopts[] = {
	{ "dry-run", no_argument, NULL, 'n' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_reshare(int argc, char **argv)
{
	struct reshare_job *job = calloc(1, sizeof(*job));
	int c, r = DMCOWCTL_EXIT_ERR;

	if (!job)
		return r;
	args_begin();
	while ((c = args_next(argc, argv, "njh", reshare_longopts, SYN)) != -1) {
		switch (c) {
		case 'n':
			job->dry_run = true;
			break;
		case 'j':
			job->json = true;
			break;
		case 'h':
			printf("usage: dmcowctl %s\n", SYN);
			r = 0;
			goto out;
		default:
			r = DMCOWCTL_EXIT_USAGE;
			goto out;
		}
	}
	if (ARGS_LEFT(argc) != 2)
		r = usage_err(SYN, "reshare takes two volumes");
	else
		r = parse_vol_pair(SYN, ARG(argv, 0), ARG(argv, 1), job->ref);
	if (!r)
		r = reshare_run(job);
	reshare_plan_free(&job->plan);
	pool_close(job->pool);
out:
	free(job);
	return r;
}
