// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl snapshot POOL/NAME[,POOL/NAME...] SNAPNAME
 *
 * Atomic across every listed volume: all active ones are suspended (which
 * freezes mounted filesystems), ONE snapshot message covers them all, then
 * they are resumed.  Whatever fails in between, every volume suspended here
 * is resumed and the pool is left without the new snapshots.
 */
#include "dmcowctl.h"
#include "dm.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SYN "snapshot POOL/NAME[,POOL/NAME...] SNAPNAME"

struct snap_item {
	struct vol_ref ref;
	struct cow_volume *origin;
	uint64_t new_id;
	char new_name[VOL_NAME_LEN];
	bool suspended;		/* by us */
};

struct snap_job {
	struct cow_pool *pool;
	struct snap_item *items;
	size_t nr;
	char *msg;		/* "snapshot <new> <origin> <name> ..." */
};

static const struct option snap_longopts[] = {
	{ NULL, 0, NULL, 0 },
};

static int parse_list(char *list, struct snap_job *job)
{
	char *save = NULL, *tok;
	struct snap_item *ni;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		ni = realloc(job->items, (job->nr + 1) * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		job->items = ni;
		memset(&ni[job->nr], 0, sizeof(*ni));
		if (parse_vol_ref(tok, &ni[job->nr].ref))
			return -EINVAL;
		if (job->nr && strcmp(ni[job->nr].ref.pool, ni[0].ref.pool)) {
			dmcowctl_err("volumes '%s/...' and '%s/...' are in different pools: one snapshot covers volumes of one pool",
				     ni[0].ref.pool, ni[job->nr].ref.pool);
			return -EINVAL;
		}
		job->nr++;
	}
	if (!job->nr) {
		usage_err(SYN, "no volume given");
		return -EINVAL;
	}
	return 0;
}

/* Looks the volumes up, names the snapshots and builds the message. */
static int prepare(struct snap_job *job, const char *snapname)
{
	uint64_t next = pool_next_id(job->pool);
	size_t i, j, len = 16, off;
	struct snap_item *it;
	int n;

	for (i = 0; i < job->nr; i++) {
		it = &job->items[i];
		it->origin = pool_get(job->pool, it->ref.name);
		if (!it->origin)
			return -ENOENT;
		for (j = 0; j < i; j++) {
			if (job->items[j].origin == it->origin) {
				dmcowctl_err("volume '%s' is listed twice", it->ref.name);
				return -EINVAL;
			}
		}
		if (it->origin->nr_devs > 1) {
			dmcowctl_err("volume '%s' is mapped by %u devices: deactivate all but one first",
				     it->ref.name, it->origin->nr_devs);
			return -EBUSY;
		}
		if (job->nr > 1)
			n = snprintf(it->new_name, sizeof(it->new_name), "%s@%s",
				     it->ref.name, snapname);
		else
			n = snprintf(it->new_name, sizeof(it->new_name), "%s", snapname);
		if (n < 0 || (size_t)n >= sizeof(it->new_name) || !valid_volume_name(it->new_name)) {
			dmcowctl_err("snapshot name for '%s' is too long or invalid: choose a shorter SNAPNAME",
				     it->ref.name);
			return -EINVAL;
		}
		if (pool_find(job->pool, it->new_name)) {
			dmcowctl_err("pool '%s' already has a volume '%s': choose another snapshot name",
				     job->pool->name, it->new_name);
			return -EEXIST;
		}
		it->new_id = next + i;
		len += 48 + strlen(it->new_name);
	}
	job->msg = malloc(len);
	if (!job->msg)
		return -ENOMEM;
	off = (size_t)snprintf(job->msg, len, "snapshot");
	for (i = 0; i < job->nr; i++) {
		it = &job->items[i];
		off += (size_t)snprintf(job->msg + off, len - off, " %" PRIu64 " %" PRIu64 " %s",
					it->new_id, it->origin->id, it->new_name);
	}
	return 0;
}

static int resume_all(struct snap_job *job)
{
	int r, ret = 0;
	size_t i;

	for (i = 0; i < job->nr; i++) {
		struct snap_item *it = &job->items[i];

		if (!it->suspended)
			continue;
		r = dmc_resume(it->origin->dev);
		if (r) {
			/* Keep going: the other volumes must come back too. */
			ret = dm_failed(r, "resuming %s (resume it with 'dmsetup resume %s')",
					it->origin->dev, it->origin->dev);
			continue;
		}
		it->suspended = false;
	}
	return ret;
}

/* Removes the snapshots the message made, so a failure leaves no trace. */
static void undo_snapshots(struct snap_job *job)
{
	size_t i;

	for (i = 0; i < job->nr; i++)
		pool_message(job->pool, "removing the new snapshot", "delete %" PRIu64,
			     job->items[i].new_id);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Suspend, message, resume.  Returns the time spent suspended in *us. */
static int take(struct snap_job *job, uint64_t *us)
{
	sigset_t block, old;
	uint64_t t0;
	size_t i;
	int r = 0, rr;

	/* A ^C between suspend and resume would leave filesystems frozen. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);
	t0 = now_us();
	for (i = 0; i < job->nr; i++) {
		struct snap_item *it = &job->items[i];

		if (!it->origin->nr_devs || it->origin->suspended)
			continue;
		r = dmc_suspend(it->origin->dev, true);
		if (r) {
			r = dm_failed(r, "suspending %s", it->origin->dev);
			goto resume;
		}
		it->suspended = true;
	}
	if (fail_injected("suspend")) {
		r = DMCOWCTL_EXIT_ERR;
		goto resume;
	}
	r = dmc_message(job->pool->name, job->msg, NULL);
	if (r) {
		r = dm_failed(r, "taking the snapshot (message '%s' to pool '%s')",
			      job->msg, job->pool->name);
		goto resume;
	}
	if (fail_injected("message")) {
		undo_snapshots(job);
		r = DMCOWCTL_EXIT_ERR;
	}
resume:
	rr = resume_all(job);
	*us = now_us() - t0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r ? r : rr;
}

int cmd_snapshot(int argc, char **argv)
{
	struct snap_job job = { 0 };
	uint64_t us = 0;
	size_t i;
	int c, r;

	args_begin();
	while ((c = args_next(argc, argv, "", snap_longopts, SYN)) != -1)
		return DMCOWCTL_EXIT_USAGE;
	if (ARGS_LEFT(argc) != 2)
		return usage_err(SYN, "snapshot takes a list of volumes and a snapshot name");
	if (!valid_volume_name(ARG(argv, 1)))
		return DMCOWCTL_EXIT_USAGE;
	r = parse_list(ARG(argv, 0), &job);
	if (r) {
		free(job.items);
		return r == -ENOMEM ? DMCOWCTL_EXIT_ERR : DMCOWCTL_EXIT_USAGE;
	}
	r = pool_open(job.items[0].ref.pool, &job.pool);
	if (r)
		goto out_items;
	r = DMCOWCTL_EXIT_ERR;
	if (prepare(&job, ARG(argv, 1)))
		goto out;
	r = take(&job, &us);
	if (r)
		goto out;
	for (i = 0; i < job.nr; i++) {
		struct snap_item *it = &job.items[i];

		if (pool_message(job.pool, "recording the snapshot size",
				 "set_size %" PRIu64 " %" PRIu64, it->new_id, it->origin->size)) {
			undo_snapshots(&job);
			r = DMCOWCTL_EXIT_ERR;
			goto out;
		}
	}
	for (i = 0; i < job.nr; i++)
		printf("snapshot %s/%s of %s/%s (id %" PRIu64 ")\n", job.pool->name,
		       job.items[i].new_name, job.pool->name, job.items[i].ref.name,
		       job.items[i].new_id);
	printf("volumes suspended for %" PRIu64 ".%03" PRIu64 " ms\n", us / 1000, us % 1000);
out:
	free(job.msg);
	pool_close(job.pool);
out_items:
	free(job.items);
	return r;
}
