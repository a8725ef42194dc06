// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl: the online part of 'check --live' and 'delta POOL/A POOL/B':
 * reserve a held metadata snapshot of an active pool, find its metadata
 * device, and release the snapshot again; read the live counters of every
 * volume.  Uses libdevmapper, so it must not include the core headers (see
 * offline.h).
 */
#include "dmcowctl.h"
#include "dm.h"
#include "offline.h"
#include "live-counters.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Signals that would leave the snapshot held are deferred while it is. */
static sigset_t saved_mask;

static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, &saved_mask);
}

void live_devno_path(const char *devno, char *buf, size_t len)
{
	char path[96], line[128];
	FILE *f;

	snprintf(buf, len, "/dev/block/%s", devno);
	snprintf(path, sizeof(path), "/sys/dev/block/%s/uevent", devno);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "DEVNAME=", 8)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "/dev/%s", line + 8);
			break;
		}
	}
	fclose(f);
}

int live_hold(const char *pool, struct live_hold *h)
{
	struct pool_status st;
	struct cow_pool *p;
	int r;

	memset(h, 0, sizeof(*h));
	snprintf(h->pool, sizeof(h->pool), "%s", pool);
	if (pool_open(pool, &p))
		return -ENODEV;
	live_devno_path(p->meta_dev, h->meta_path, sizeof(h->meta_path));
	r = pool_status_read(pool, &st);
	if (r)
		goto out;
	if (st.has_held_root) {
		/* Someone else's (e.g. a backup tool): use it, leave it held. */
		h->held = st.held_root;
		goto out;
	}
	block_signals();
	r = pool_message(p, "cannot reserve a metadata snapshot",
			 "reserve_metadata_snap");
	if (r) {
		sigprocmask(SIG_SETMASK, &saved_mask, NULL);
		goto out;
	}
	h->reserved = true;
	r = pool_status_read(pool, &st);
	if (!r && !st.has_held_root) {
		dmcowctl_err("pool '%s' reports no held root after reserve_metadata_snap",
			     pool);
		r = -EIO;
	}
	if (r) {
		live_release(h);
		goto out;
	}
	h->held = st.held_root;
out:
	pool_close(p);
	return r ? -EIO : 0;
}

void live_release(struct live_hold *h)
{
	struct cow_pool *p;

	if (!h->reserved)
		return;
	h->reserved = false;
	if (pool_open(h->pool, &p)) {
		dmcowctl_err("cannot release the metadata snapshot of pool '%s'; send it 'release_metadata_snap'",
			     h->pool);
	} else {
		pool_message(p, "cannot release the metadata snapshot",
			     "release_metadata_snap");
		pool_close(p);
	}
	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
}

int live_volume_id(const char *pool, const char *name, uint64_t *id)
{
	struct cow_volume *v;
	struct cow_pool *p;
	int r = 0;

	if (pool_open(pool, &p))
		return -ENODEV;
	v = pool_get(p, name);
	if (v)
		*id = v->id;
	else
		r = -ENOENT;
	pool_close(p);
	return r;
}

/* INFO status of a volume: <mapped> <exclusive|-> <written|-> <highest|-> */
static bool parse_volume_status(const char *params, struct live_counter_set *c)
{
	char excl[24], written[24], *end;
	unsigned long long mapped;

	if (sscanf(params, "%llu %23s %23s", &mapped, excl, written) != 3)
		return false;
	c->mapped = mapped;
	c->exclusive_known = strcmp(excl, "-");
	c->written_known = strcmp(written, "-");
	if (c->exclusive_known) {
		c->exclusive = strtoull(excl, &end, 10);
		if (*end)
			return false;
	}
	if (c->written_known) {
		c->written = strtoull(written, &end, 10);
		if (*end)
			return false;
	}
	return true;
}

int live_volumes_read(const char *pool, struct live_volume **vols, size_t *nr)
{
	struct live_volume *lv;
	struct dmc_target t;
	struct cow_volume *v;
	struct cow_pool *p;
	size_t i;

	*vols = NULL;
	*nr = 0;
	if (pool_open(pool, &p))
		return -ENODEV;
	lv = calloc(p->nr_vols + 1, sizeof(*lv));
	if (!lv) {
		pool_close(p);
		return -ENOMEM;
	}
	for (i = 0; i < p->nr_vols; i++) {
		v = &p->vols[i];
		lv[i].id = v->id;
		lv[i].pool = (struct live_counter_set){
			.mapped = v->mapped, .exclusive = v->exclusive,
			.written = v->written, .exclusive_known = v->exclusive_known,
			.written_known = v->written_known };
		if (!v->dev[0])
			continue;
		snprintf(lv[i].dev, sizeof(lv[i].dev), "%s", v->dev);
		/* A device that vanished or reports Fail/Error: not compared. */
		if (dmc_status(v->dev, &t))
			continue;
		lv[i].status_read = !strcmp(t.type, "cowtree") &&
				    parse_volume_status(t.params, &lv[i].status);
		dmc_target_free(&t);
	}
	*vols = lv;
	*nr = p->nr_vols;
	pool_close(p);
	return 0;
}
