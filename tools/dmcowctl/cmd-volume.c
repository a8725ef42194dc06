// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl create|activate|deactivate|delete|rollback|rename|resize: one
 * volume at a time.
 */
#define _GNU_SOURCE
#include "dmcowctl.h"
#include "dm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct option vol_longopts[] = {
	{ "force", no_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 },
};

/*
 * Common start of every volume command: options (--force), exactly
 * nr_args positionals of which the first is POOL/NAME, the pool opened
 * and, with need_vol, the volume looked up.
 */
struct vol_cmd {
	bool force;
	struct vol_ref ref;
	struct cow_pool *pool;
	struct cow_volume *vol;
	/* Scratch device names (kept off the small stack frames). */
	char dev[DEV_NAME_LEN];
	char dev2[DEV_NAME_LEN];
};

static void vol_cmd_end(struct vol_cmd *vc)
{
	pool_close(vc->pool);
	free(vc);
}

/*
 * Parse "[-f] POOL/NAME [ARG]" and open the pool.  @size: ARG is a size;
 * @name_arg: ARG is a volume name.  Both are checked before the pool is
 * opened, so a usage error says so whatever state the pool is in.
 */
static int vol_cmd_begin(int argc, char **argv, const char *syn, int nr_args,
			 bool need_vol, uint64_t *size, bool name_arg,
			 struct vol_cmd **vcp)
{
	struct vol_cmd *vc;
	int c, r;

	*vcp = NULL;
	vc = calloc(1, sizeof(*vc));
	if (!vc)
		return DMCOWCTL_EXIT_ERR;
	r = DMCOWCTL_EXIT_USAGE;
	args_begin();
	while ((c = args_next(argc, argv, "f", vol_longopts, syn)) != -1) {
		if (c != 'f')
			goto fail;
		vc->force = true;
	}
	if (ARGS_LEFT(argc) != nr_args) {
		r = usage_err(syn, "%s takes %d argument%s", argv[0], nr_args,
			      nr_args > 1 ? "s" : "");
		goto fail;
	}
	if (parse_vol_ref(ARG(argv, 0), &vc->ref))
		goto fail;
	/* Usage errors first: the pool need not exist to say a size is wrong. */
	if (size && (parse_size(ARG(argv, 1), size) || !*size)) {
		r = usage_err(syn, "'%s' is not a size: use e.g. 512M, 10G or 2048s",
			      ARG(argv, 1));
		goto fail;
	}
	if (name_arg && !valid_volume_name(ARG(argv, 1)))
		goto fail;
	r = pool_open(vc->ref.pool, &vc->pool);
	if (r)
		goto fail;
	if (need_vol) {
		vc->vol = pool_get(vc->pool, vc->ref.name);
		if (!vc->vol) {
			r = DMCOWCTL_EXIT_ERR;
			goto fail;
		}
	}
	*vcp = vc;
	return 0;
fail:
	vol_cmd_end(vc);
	return r;
}

/* Refuses (prints) if any device of v is mounted. */
static bool volume_mounted(struct cow_volume *v)
{
	char *mnt;

	if (!v->nr_devs)
		return false;
	mnt = devno_mount_point(v->major, v->minor);
	if (!mnt)
		return false;
	dmcowctl_err("volume '%s' is mounted at %s: unmount it first", v->name, mnt);
	free(mnt);
	return true;
}

#define SYN_CREATE "create POOL/NAME SIZE"

int cmd_create(int argc, char **argv)
{
	struct vol_cmd *vc;
	struct cow_volume *v;
	char *dev;
	uint64_t size, id;
	int r;

	r = vol_cmd_begin(argc, argv, SYN_CREATE, 2, false, &size, false, &vc);
	if (r)
		return r;
	r = DMCOWCTL_EXIT_ERR;
	if (pool_find(vc->pool, vc->ref.name)) {
		dmcowctl_err("pool '%s' already has a volume '%s': choose another name",
			     vc->ref.pool, vc->ref.name);
		goto out;
	}
	dev = vc->dev;
	volume_dev_name(vc->pool, vc->ref.name, dev, sizeof(vc->dev));
	id = pool_next_id(vc->pool);
	if (pool_message(vc->pool, "creating the volume", "create %" PRIu64 " %s",
			 id, vc->ref.name))
		goto out;
	if (pool_message(vc->pool, "recording the volume size",
			 "set_size %" PRIu64 " %" PRIu64, id, size))
		goto undo;
	if (pool_reload_volumes(vc->pool))
		goto undo;
	v = pool_find_id(vc->pool, id);
	if (!v || volume_activate(vc->pool, v, dev))
		goto undo;
	printf("volume %s/%s created (id %" PRIu64 ", %" PRIu64 " sectors): /dev/mapper/%s\n",
	       vc->ref.pool, vc->ref.name, id, size, dev);
	r = 0;
	goto out;
undo:
	/* Do not leave a half-made volume behind. */
	pool_message(vc->pool, "removing the half-created volume", "delete %" PRIu64, id);
out:
	vol_cmd_end(vc);
	return r;
}

#define SYN_ACTIVATE "activate POOL/NAME"

int cmd_activate(int argc, char **argv)
{
	struct vol_cmd *vc;
	char *dev;
	int r;

	r = vol_cmd_begin(argc, argv, SYN_ACTIVATE, 1, true, NULL, false, &vc);
	if (r)
		return r;
	if (vc->vol->nr_devs) {
		dmcowctl_err("volume '%s' is already active as /dev/mapper/%s",
			     vc->vol->name, vc->vol->dev);
		r = DMCOWCTL_EXIT_ERR;
		goto out;
	}
	dev = vc->dev;
	volume_dev_name(vc->pool, vc->vol->name, dev, sizeof(vc->dev));
	r = volume_activate(vc->pool, vc->vol, dev);
	if (!r)
		printf("/dev/mapper/%s\n", dev);
out:
	vol_cmd_end(vc);
	return r;
}

#define SYN_DEACTIVATE "deactivate POOL/NAME"

int cmd_deactivate(int argc, char **argv)
{
	struct vol_cmd *vc;
	int r;

	r = vol_cmd_begin(argc, argv, SYN_DEACTIVATE, 1, true, NULL, false, &vc);
	if (r)
		return r;
	if (!vc->vol->nr_devs) {
		dmcowctl_err("volume '%s' is not active", vc->vol->name);
		r = DMCOWCTL_EXIT_ERR;
	} else {
		r = volume_deactivate(vc->pool, vc->vol);
	}
	vol_cmd_end(vc);
	return r;
}

#define SYN_DELETE "delete POOL/NAME [--force]"

int cmd_delete(int argc, char **argv)
{
	struct vol_cmd *vc;
	int r;

	r = vol_cmd_begin(argc, argv, SYN_DELETE, 1, true, NULL, false, &vc);
	if (r)
		return r;
	r = DMCOWCTL_EXIT_ERR;
	if (volume_mounted(vc->vol))
		goto out;
	if (vc->vol->nr_devs) {
		if (!vc->force) {
			dmcowctl_err("volume '%s' is active as /dev/mapper/%s: deactivate it first or use --force",
				     vc->vol->name, vc->vol->dev);
			goto out;
		}
		if (volume_deactivate(vc->pool, vc->vol))
			goto out;
	}
	/* The kernel reclaims the chunks in the background: this returns at once. */
	if (pool_message(vc->pool, "deleting the volume", "delete %" PRIu64, vc->vol->id))
		goto out;
	printf("volume %s/%s deleted; its space is reclaimed in the background\n",
	       vc->ref.pool, vc->ref.name);
	r = 0;
out:
	vol_cmd_end(vc);
	return r;
}

#define SYN_ROLLBACK "rollback POOL/NAME SNAPNAME"

int cmd_rollback(int argc, char **argv)
{
	struct cow_volume *snap;
	struct vol_cmd *vc;
	char *alt;
	const char *sname;
	bool suspended = false;
	int r;

	r = vol_cmd_begin(argc, argv, SYN_ROLLBACK, 2, true, NULL, true, &vc);
	if (r)
		return r;
	sname = ARG(argv, 1);
	/* SNAPNAME as given, or as "snapshot" named it in a group: NAME@SNAP. */
	snap = pool_find(vc->pool, sname);
	if (!snap) {
		alt = vc->dev;
		snprintf(alt, sizeof(vc->dev), "%s@%s", vc->vol->name, sname);
		snap = pool_find(vc->pool, alt);
	}
	r = DMCOWCTL_EXIT_ERR;
	if (!snap) {
		dmcowctl_err("pool '%s' has no snapshot '%s': 'dmcowctl list %s' shows them",
			     vc->ref.pool, sname, vc->ref.pool);
		goto out;
	}
	if (snap == vc->vol) {
		dmcowctl_err("cannot roll volume '%s' back to itself", sname);
		goto out;
	}
	/* A mounted filesystem would not notice its blocks changing under it. */
	if (volume_mounted(vc->vol))
		goto out;
	if (vc->vol->nr_devs && !vc->vol->suspended) {
		r = dmc_suspend(vc->vol->dev, true);
		if (r) {
			r = dm_failed(r, "suspending %s", vc->vol->dev);
			goto out;
		}
		suspended = true;
	}
	r = pool_message(vc->pool, "rolling back", "rollback %" PRIu64 " %" PRIu64,
			 vc->vol->id, snap->id);
	if (suspended) {
		int rr = dmc_resume(vc->vol->dev);

		if (rr && !r)
			r = dm_failed(rr, "resuming %s", vc->vol->dev);
	}
	if (!r)
		printf("volume %s/%s rolled back to %s\n", vc->ref.pool, vc->vol->name,
		       snap->name);
out:
	vol_cmd_end(vc);
	return r;
}

#define SYN_RENAME "rename POOL/NAME NEWNAME"

int cmd_rename(int argc, char **argv)
{
	char *old_dev, *new_dev;
	const char *new_name;
	struct vol_cmd *vc;
	int r;

	r = vol_cmd_begin(argc, argv, SYN_RENAME, 2, true, NULL, true, &vc);
	if (r)
		return r;
	new_name = ARG(argv, 1);
	r = DMCOWCTL_EXIT_ERR;
	if (pool_find(vc->pool, new_name)) {
		dmcowctl_err("pool '%s' already has a volume '%s': choose another name",
			     vc->ref.pool, new_name);
		goto out;
	}
	old_dev = vc->dev;
	new_dev = vc->dev2;
	volume_dev_name(vc->pool, vc->vol->name, old_dev, sizeof(vc->dev));
	volume_dev_name(vc->pool, new_name, new_dev, sizeof(vc->dev2));
	if (pool_message(vc->pool, "renaming the volume", "set_name %" PRIu64 " %s",
			 vc->vol->id, new_name))
		goto out;
	/* Only the device we named POOL-NAME follows; hand-made names stay. */
	if (vc->vol->nr_devs && !strcmp(vc->vol->dev, old_dev)) {
		r = dmc_rename(old_dev, new_dev);
		if (r) {
			r = dm_failed(r, "renaming device %s to %s (the volume itself is renamed)",
				      old_dev, new_dev);
			goto out;
		}
	}
	printf("volume %s/%s renamed to %s\n", vc->ref.pool, vc->ref.name, new_name);
	r = 0;
out:
	vol_cmd_end(vc);
	return r;
}

#define SYN_RESIZE "resize POOL/NAME SIZE [--force]"

int cmd_resize(int argc, char **argv)
{
	struct dmc_target t = { 0 };
	struct vol_cmd *vc;
	uint64_t size;
	int r;

	r = vol_cmd_begin(argc, argv, SYN_RESIZE, 2, true, &size, false, &vc);
	if (r)
		return r;
	r = DMCOWCTL_EXIT_ERR;
	if (size < vc->vol->size && !vc->force) {
		dmcowctl_err("shrinking volume '%s' from %" PRIu64 " to %" PRIu64 " sectors destroys data past the end: shrink the filesystem first and use --force",
			     vc->vol->name, vc->vol->size, size);
		goto out;
	}
	if (pool_message(vc->pool, "recording the new size",
			 "set_size %" PRIu64 " %" PRIu64, vc->vol->id, size))
		goto out;
	if (vc->vol->nr_devs) {
		t.length = size;
		snprintf(t.type, sizeof(t.type), "cowtree");
		if (asprintf(&t.params, "/dev/mapper/%s %" PRIu64,
			     vc->pool->name, vc->vol->id) < 0)
			goto out;
		r = dmc_reload(vc->vol->dev, &t);
		free(t.params);
		if (!r)
			r = dmc_resume(vc->vol->dev);
		if (r) {
			r = dm_failed(r, "loading the new size into %s", vc->vol->dev);
			goto out;
		}
	}
	printf("volume %s/%s resized to %" PRIu64 " sectors\n", vc->ref.pool,
	       vc->vol->name, size);
	r = 0;
out:
	vol_cmd_end(vc);
	return r;
}
