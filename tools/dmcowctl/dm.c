// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl: libdevmapper wrappers.
 *
 * Devices are created, removed, renamed and resumed with a udev cookie so
 * /dev/mapper nodes exist when the call returns.  libdevmapper falls back to
 * creating the nodes itself when udev does not run or DM_DISABLE_UDEV is set
 * (the test guest), so the same code works with and without udev.
 */
#include "dm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <libdevmapper.h>

/*
 * libdevmapper's log levels (its log.h is private): the level may carry
 * flags above the low bits.
 */
#define DMC_LOG_ERR 3
#define DMC_LOG_STDERR 0x80
#define DMC_LOG_ONCE 0x100

static char last_error[256];
static bool debug;
static struct timespec debug_last;

static void dmc_log(int level, const char *file, int line, int dm_errno,
		    const char *fmt, ...)
{
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno;
	level &= ~(DMC_LOG_STDERR | DMC_LOG_ONCE);
	if (level > DMC_LOG_ERR && !debug)
		return;
	if (level <= DMC_LOG_ERR) {
		va_start(ap, fmt);
		vsnprintf(last_error, sizeof(last_error), fmt, ap);
		va_end(ap);
	}
	if (debug) {
		fputs("libdevmapper: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
}

void dmc_setup(void)
{
	const char *d = getenv("DMCOWCTL_DEBUG");

	debug = d && *d && strcmp(d, "0");
	dm_log_with_errno_init(dmc_log);
	clock_gettime(CLOCK_MONOTONIC, &debug_last);
}

void dmc_debug_step(const char *step)
{
	struct timespec now;

	if (!debug)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "dmcowctl: %s: %.3f ms\n", step,
		(now.tv_sec - debug_last.tv_sec) * 1e3 +
		(now.tv_nsec - debug_last.tv_nsec) / 1e6);
	debug_last = now;
}

const char *dmc_last_error(void)
{
	return last_error[0] ? last_error : "device-mapper request failed";
}

static struct dm_task *task_for(int type, const char *name)
{
	struct dm_task *dmt = dm_task_create(type);

	if (!dmt)
		return NULL;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	last_error[0] = '\0';
	return dmt;
}

/* Runs a task; returns 0 or a negative errno. */
static int run(struct dm_task *dmt)
{
	int e;

	if (dm_task_run(dmt))
		return 0;
	e = dm_task_get_errno(dmt);
	return e > 0 ? -e : -EIO;
}

/* Runs a task that creates, removes, renames or resumes a device node. */
static int run_with_cookie(struct dm_task *dmt)
{
	uint32_t cookie = 0;
	int r;

	if (!dm_task_set_cookie(dmt, &cookie, 0))
		return -EIO;
	r = run(dmt);
	/* Always: the cookie must be released even if the ioctl failed. */
	dm_udev_wait(cookie);
	return r;
}

static void fill_info(struct dm_task *dmt, struct dmc_info *info)
{
	struct dm_info di;

	memset(info, 0, sizeof(*info));
	if (!dm_task_get_info(dmt, &di) || !di.exists)
		return;
	info->exists = true;
	info->suspended = di.suspended;
	info->read_only = di.read_only;
	info->live_table = di.live_table;
	info->major = di.major;
	info->minor = di.minor;
	info->event_nr = di.event_nr;
	info->open_count = di.open_count;
	info->target_count = di.target_count;
}

int dmc_info(const char *name, struct dmc_info *info)
{
	struct dm_task *dmt = task_for(DM_DEVICE_INFO, name);
	int r;

	memset(info, 0, sizeof(*info));
	if (!dmt)
		return -ENOMEM;
	r = run(dmt);
	if (!r)
		fill_info(dmt, info);
	dm_task_destroy(dmt);
	return r;
}

static void copy_str(char *dst, size_t len, const char *src)
{
	if (dst && len)
		snprintf(dst, len, "%s", src ? src : "");
}

int dmc_info_devno(uint32_t major, uint32_t minor, struct dmc_info *info,
		   char *name, size_t name_len, char *uuid, size_t uuid_len)
{
	struct dm_task *dmt = task_for(DM_DEVICE_INFO, NULL);
	int r = -ENOMEM;

	memset(info, 0, sizeof(*info));
	if (!dmt)
		return r;
	if (!dm_task_set_major(dmt, major) || !dm_task_set_minor(dmt, minor))
		goto out;
	r = run(dmt);
	if (r)
		goto out;
	fill_info(dmt, info);
	if (info->exists) {
		copy_str(name, name_len, dm_task_get_name(dmt));
		copy_str(uuid, uuid_len, dm_task_get_uuid(dmt));
	}
out:
	dm_task_destroy(dmt);
	return r;
}

static int load(int type, const char *name, const struct dmc_target *t)
{
	struct dm_task *dmt = task_for(type, name);
	int r = -ENOMEM;

	if (!dmt)
		return r;
	if (!dm_task_add_target(dmt, t->start, t->length, t->type, t->params))
		goto out;
	r = type == DM_DEVICE_CREATE ? run_with_cookie(dmt) : run(dmt);
out:
	dm_task_destroy(dmt);
	return r;
}

int dmc_create(const char *name, const struct dmc_target *t)
{
	return load(DM_DEVICE_CREATE, name, t);
}

int dmc_reload(const char *name, const struct dmc_target *t)
{
	return load(DM_DEVICE_RELOAD, name, t);
}

int dmc_suspend(const char *name, bool lockfs)
{
	struct dm_task *dmt = task_for(DM_DEVICE_SUSPEND, name);
	int r = -ENOMEM;

	if (!dmt)
		return r;
	/* libdevmapper freezes the filesystem unless told to skip it. */
	if (!lockfs && !dm_task_skip_lockfs(dmt))
		goto out;
	r = run(dmt);
out:
	dm_task_destroy(dmt);
	return r;
}

static int simple_cookie(int type, const char *name, const char *new_name)
{
	struct dm_task *dmt = task_for(type, name);
	int r = -ENOMEM;

	if (!dmt)
		return r;
	if (new_name && !dm_task_set_newname(dmt, new_name))
		goto out;
	if (type == DM_DEVICE_REMOVE)
		dm_task_retry_remove(dmt);	/* udev may hold it briefly */
	r = run_with_cookie(dmt);
out:
	dm_task_destroy(dmt);
	return r;
}

int dmc_resume(const char *name)
{
	return simple_cookie(DM_DEVICE_RESUME, name, NULL);
}

int dmc_remove(const char *name)
{
	return simple_cookie(DM_DEVICE_REMOVE, name, NULL);
}

int dmc_rename(const char *name, const char *new_name)
{
	return simple_cookie(DM_DEVICE_RENAME, name, new_name);
}

int dmc_message(const char *name, const char *msg, char **response)
{
	struct dm_task *dmt = task_for(DM_DEVICE_TARGET_MSG, name);
	const char *resp;
	int r = -ENOMEM;

	if (response)
		*response = NULL;
	if (!dmt)
		return r;
	if (!dm_task_set_sector(dmt, 0) || !dm_task_set_message(dmt, msg))
		goto out;
	r = run(dmt);
	if (r || !response)
		goto out;
	resp = dm_task_get_message_response(dmt);
	*response = strdup(resp ? resp : "");
	if (!*response)
		r = -ENOMEM;
out:
	dm_task_destroy(dmt);
	return r;
}

static int get_target(int type, const char *name, struct dmc_target *t)
{
	struct dm_task *dmt = task_for(type, name);
	char *ttype = NULL, *params = NULL;
	uint64_t start = 0, length = 0;
	int r = -ENOMEM;

	memset(t, 0, sizeof(*t));
	if (!dmt)
		return r;
	r = run(dmt);
	if (r)
		goto out;
	dm_get_next_target(dmt, NULL, &start, &length, &ttype, &params);
	if (!ttype) {
		r = -ENODATA;	/* no table loaded */
		goto out;
	}
	t->start = start;
	t->length = length;
	snprintf(t->type, sizeof(t->type), "%s", ttype);
	t->params = strdup(params ? params : "");
	r = t->params ? 0 : -ENOMEM;
out:
	dm_task_destroy(dmt);
	return r;
}

int dmc_status(const char *name, struct dmc_target *t)
{
	return get_target(DM_DEVICE_STATUS, name, t);
}

int dmc_table(const char *name, struct dmc_target *t)
{
	return get_target(DM_DEVICE_TABLE, name, t);
}

void dmc_target_free(struct dmc_target *t)
{
	free(t->params);
	t->params = NULL;
}

int dmc_wait_event(const char *name, uint32_t event_nr, uint32_t *new_nr)
{
	struct dm_task *dmt = task_for(DM_DEVICE_WAITEVENT, name);
	struct dmc_info info;
	int r = -ENOMEM;

	if (!dmt)
		return r;
	if (!dm_task_set_event_nr(dmt, event_nr))
		goto out;
	r = run(dmt);
	if (r)
		goto out;
	fill_info(dmt, &info);
	*new_nr = info.event_nr;
out:
	dm_task_destroy(dmt);
	return r;
}

int dmc_list(dmc_list_fn fn, void *ctx)
{
	struct dm_task *dmt = task_for(DM_DEVICE_LIST, NULL);
	struct dm_names *names;
	unsigned int next = 0;
	int r;

	if (!dmt)
		return -ENOMEM;
	r = run(dmt);
	if (r)
		goto out;
	names = dm_task_get_names(dmt);
	if (!names || !names->dev)
		goto out;	/* no devices */
	do {
		names = (struct dm_names *)((char *)names + next);
		r = fn(names->name, major(names->dev), minor(names->dev), ctx);
		next = names->next;
	} while (!r && next);
out:
	dm_task_destroy(dmt);
	return r;
}
