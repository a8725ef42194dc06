// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl: the model of an active pool shared by the commands: its table,
 * its volumes (from the "volumes" message) and which dm devices map them.
 *
 * A volume's device is recognised by its table ("cowtree <pool major:minor>
 * <id>"), not by its name, so devices created by hand or renamed are found
 * too.
 */
#define _GNU_SOURCE
#include "dmcowctl.h"
#include "dm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <libmount.h>

int dm_failed(int r, const char *fmt, ...)
{
	va_list ap;

	fputs("dmcowctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " failed: %s (%s); the kernel log (dmesg) may say more\n",
		strerror(r < 0 ? -r : EIO), dmc_last_error());
	return DMCOWCTL_EXIT_ERR;
}

bool fail_injected(const char *step)
{
	const char *f = getenv("DMCOWCTL_FAIL_AFTER");

	if (!f || strcmp(f, step))
		return false;
	dmcowctl_err("failure injected after '%s' (DMCOWCTL_FAIL_AFTER)", step);
	return true;
}

const char *human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	unsigned int u = 0;
	double v = (double)bytes;

	while (v >= 1024 && u < sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 "B", bytes);
	else if (v < 10 && v != (uint64_t)v)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
	return buf;
}

char *devno_mount_point(uint32_t major, uint32_t minor)
{
	struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_fs *fs;
	char *target = NULL;

	if (!tb)
		return NULL;
	/* mountinfo carries major:minor, so dm-N and /dev/mapper/X both match. */
	fs = mnt_table_find_devno(tb, makedev(major, minor), MNT_ITER_FORWARD);
	if (fs && mnt_fs_get_target(fs))
		target = strdup(mnt_fs_get_target(fs));
	mnt_unref_table(tb);
	return target;
}

/*----------------------------------------------------------------*/

static int parse_pool_table(struct cow_pool *p, const char *params)
{
	unsigned int chunk;
	unsigned long long low;
	int n = 0;

	if (sscanf(params, "%31s %31s %u %llu %n", p->meta_dev, p->data_dev,
		   &chunk, &low, &n) < 4)
		return -EINVAL;
	p->chunk_sectors = chunk;
	p->low_water = low;
	free(p->features);
	p->features = strdup(params + n);
	return p->features ? 0 : -ENOMEM;
}

static bool parse_counter(const char *s, uint64_t *value)
{
	char *end;

	if (!strcmp(s, "-"))
		return false;
	*value = strtoull(s, &end, 10);
	return !*end;
}

static int parse_volume_line(const char *line, struct cow_volume *v)
{
	char origin[24], excl[24], written[24];
	unsigned long long id, size, ctime, mapped;
	unsigned int flags;

	memset(v, 0, sizeof(*v));
	if (sscanf(line, "%llu %63s %llu %llu %23s %u %llu %23s %23s", &id,
		   v->name, &size, &ctime, origin, &flags, &mapped, excl,
		   written) != 9)
		return -EINVAL;
	v->id = id;
	v->size = size;
	v->ctime = ctime;
	v->flags = flags;
	v->mapped = mapped;
	/* "-": the pool does not maintain the counter. */
	v->exclusive_known = parse_counter(excl, &v->exclusive);
	v->written_known = parse_counter(written, &v->written);
	if (strcmp(origin, "-")) {
		v->has_origin = true;
		v->origin = strtoull(origin, NULL, 10);
	}
	return 0;
}

struct scan_ctx {
	struct cow_pool *p;
	uint64_t only_id;	/* with only: stop at the first device of it */
	bool only;
	char found[DEV_NAME_LEN];
};

static int scan_one(const char *name, uint32_t major, uint32_t minor, void *arg)
{
	struct scan_ctx *sc = arg;
	struct dmc_target t;
	struct dmc_info info;
	struct cow_volume *v;
	unsigned int pmaj, pmin;
	unsigned long long id;

	if (dmc_table(name, &t))
		return 0;	/* vanished or no table: not ours */
	if (strcmp(t.type, "cowtree") ||
	    sscanf(t.params, "%u:%u %llu", &pmaj, &pmin, &id) != 3 ||
	    pmaj != sc->p->major || pmin != sc->p->minor) {
		dmc_target_free(&t);
		return 0;
	}
	dmc_target_free(&t);
	if (sc->only) {
		if (id != sc->only_id)
			return 0;
		snprintf(sc->found, sizeof(sc->found), "%s", name);
		return 1;
	}
	v = pool_find_id(sc->p, id);
	if (!v)
		return 0;
	if (!v->nr_devs++) {
		snprintf(v->dev, sizeof(v->dev), "%s", name);
		v->major = major;
		v->minor = minor;
		if (!dmc_info(name, &info))
			v->suspended = info.suspended;
	}
	return 0;
}

int pool_reload_volumes(struct cow_pool *p)
{
	struct scan_ctx sc = { .p = p };
	char *resp = NULL, *line, *save = NULL;
	struct cow_volume *vols = NULL, *nv;
	size_t nr = 0;
	int r;

	r = dmc_message(p->name, "volumes", &resp);
	if (r)
		return dm_failed(r, "listing the volumes of pool '%s'", p->name);
	for (line = strtok_r(resp, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		nv = realloc(vols, (nr + 1) * sizeof(*vols));
		if (!nv) {
			r = -ENOMEM;
			break;
		}
		vols = nv;
		if (parse_volume_line(line, &vols[nr])) {
			dmcowctl_err("pool '%s' returned a volume line I do not understand: '%s'",
				     p->name, line);
			r = -EINVAL;
			break;
		}
		nr++;
	}
	free(resp);
	if (r) {
		free(vols);
		return DMCOWCTL_EXIT_ERR;
	}
	free(p->vols);
	p->vols = vols;
	p->nr_vols = nr;
	dmc_list(scan_one, &sc);
	return 0;
}

bool pool_is_cowtree(const char *name)
{
	struct dmc_target t;
	bool yes;

	if (dmc_table(name, &t))
		return false;
	yes = !strcmp(t.type, "cowtree-pool");
	dmc_target_free(&t);
	return yes;
}

int pool_open(const char *name, struct cow_pool **pp)
{
	struct dmc_info info;
	struct dmc_target t;
	struct cow_pool *p;
	int r;

	*pp = NULL;
	if (!valid_pool_name(name))
		return DMCOWCTL_EXIT_USAGE;
	p = calloc(1, sizeof(*p));
	if (!p) {
		dmcowctl_err("out of memory");
		return DMCOWCTL_EXIT_ERR;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (dmc_info(name, &info) || !info.exists) {
		dmcowctl_err("pool '%s' is not active: activate it with 'dmcowctl pool activate %s METADATA_DEV DATA_DEV'",
			     name, name);
		pool_close(p);
		return DMCOWCTL_EXIT_ERR;
	}
	p->major = info.major;
	p->minor = info.minor;
	r = dmc_table(name, &t);
	if (r || strcmp(t.type, "cowtree-pool") || parse_pool_table(p, t.params)) {
		if (!r)
			dmc_target_free(&t);
		dmcowctl_err("device '%s' is not a dm-cowtree pool: check the name with 'dmcowctl list'",
			     name);
		pool_close(p);
		return DMCOWCTL_EXIT_ERR;
	}
	p->length = t.length;
	dmc_target_free(&t);
	r = pool_reload_volumes(p);
	if (r) {
		pool_close(p);
		return r;
	}
	*pp = p;
	return 0;
}

void pool_close(struct cow_pool *p)
{
	if (!p)
		return;
	free(p->vols);
	free(p->features);
	free(p);
}

struct cow_volume *pool_find(struct cow_pool *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nr_vols; i++)
		if (!(p->vols[i].flags & COW_VOLUME_DELETING) &&
		    !strcmp(p->vols[i].name, name))
			return &p->vols[i];
	return NULL;
}

struct cow_volume *pool_find_id(struct cow_pool *p, uint64_t id)
{
	size_t i;

	for (i = 0; i < p->nr_vols; i++)
		if (p->vols[i].id == id)
			return &p->vols[i];
	return NULL;
}

struct cow_volume *pool_get(struct cow_pool *p, const char *name)
{
	struct cow_volume *v = pool_find(p, name);

	if (!v)
		dmcowctl_err("pool '%s' has no volume '%s': 'dmcowctl list %s' shows its volumes",
			     p->name, name, p->name);
	return v;
}

uint64_t pool_next_id(const struct cow_pool *p)
{
	uint64_t next = 1;
	size_t i;

	for (i = 0; i < p->nr_vols; i++)
		if (p->vols[i].id >= next)
			next = p->vols[i].id + 1;
	return next;
}

int pool_message(struct cow_pool *p, const char *what, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	int r, n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		dmcowctl_err("%s: out of memory", what);
		return DMCOWCTL_EXIT_ERR;
	}
	r = dmc_message(p->name, msg, NULL);
	if (r)
		r = dm_failed(r, "%s (message '%s' to pool '%s')", what, msg, p->name);
	free(msg);
	return r;
}

void volume_dev_name(const struct cow_pool *p, const char *vol, char *buf,
		     size_t len)
{
	snprintf(buf, len, "%s-%s", p->name, vol);
}

int volume_activate(struct cow_pool *p, struct cow_volume *v, const char *dev)
{
	struct dmc_target t = { .length = v->size };
	struct dmc_info info;
	int r;

	if (!v->size) {
		dmcowctl_err("volume '%s' has no recorded size: set one with 'dmcowctl resize %s/%s SIZE --force'",
			     v->name, p->name, v->name);
		return DMCOWCTL_EXIT_ERR;
	}
	if (!dmc_info(dev, &info) && info.exists) {
		dmcowctl_err("a device named '%s' already exists: deactivate or rename it first",
			     dev);
		return DMCOWCTL_EXIT_ERR;
	}
	snprintf(t.type, sizeof(t.type), "cowtree");
	if (asprintf(&t.params, "/dev/mapper/%s %" PRIu64, p->name, v->id) < 0)
		return DMCOWCTL_EXIT_ERR;
	r = dmc_create(dev, &t);
	free(t.params);
	if (r)
		return dm_failed(r, "activating volume '%s' as /dev/mapper/%s",
				 v->name, dev);
	if (!dmc_info(dev, &info)) {
		snprintf(v->dev, sizeof(v->dev), "%s", dev);
		v->major = info.major;
		v->minor = info.minor;
		v->nr_devs++;
	}
	return 0;
}

int volume_deactivate(struct cow_pool *p, struct cow_volume *v)
{
	struct scan_ctx sc = { .p = p, .only = true, .only_id = v->id };
	struct dmc_info info;
	char *mnt;
	int r, guard;

	/* A volume may be mapped by several devices: remove each of them. */
	for (guard = 0; guard < 64; guard++) {
		sc.found[0] = '\0';
		dmc_list(scan_one, &sc);
		if (!sc.found[0])
			break;
		if (dmc_info(sc.found, &info) || !info.exists)
			continue;	/* went away meanwhile */
		mnt = devno_mount_point(info.major, info.minor);
		if (mnt) {
			dmcowctl_err("volume '%s' is mounted at %s: unmount it first",
				     v->name, mnt);
			free(mnt);
			return DMCOWCTL_EXIT_ERR;
		}
		if (info.suspended)
			dmc_resume(sc.found);	/* a suspended device cannot be removed cleanly */
		r = dmc_remove(sc.found);
		if (r)
			return dm_failed(r, "removing device '%s' of volume '%s'",
					 sc.found, v->name);
	}
	v->dev[0] = '\0';
	v->nr_devs = 0;
	return 0;
}
