/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmcowctl: thin wrappers around libdevmapper.  Every device-mapper ioctl
 * of the tool goes through here; libdevmapper's own log output is kept
 * quiet (set DMCOWCTL_DEBUG=1 to see it) so that each failure is reported
 * once, by the caller, in one sentence.
 */
#ifndef DMCOWCTL_DM_H
#define DMCOWCTL_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dmc_info {
	bool exists;
	bool suspended;
	bool read_only;		/* created with the read-only flag */
	bool live_table;
	uint32_t major;
	uint32_t minor;
	uint32_t event_nr;
	int32_t open_count;
	int32_t target_count;
};

/* The single target of a table (dm-cowtree devices have exactly one). */
struct dmc_target {
	uint64_t start;
	uint64_t length;
	char type[32];
	char *params;		/* malloc'ed; free with dmc_target_free() */
};

/* Called once at startup: udev synchronisation and logging. */
void dmc_setup(void);
/* The last error libdevmapper reported, or a generic sentence. */
const char *dmc_last_error(void);
/*
 * With DMCOWCTL_DEBUG: "dmcowctl: STEP: N.NNN ms" on stderr, the time since
 * the previous call (or dmc_setup()), to see where a command spends it.
 */
void dmc_debug_step(const char *step);

int dmc_info(const char *name, struct dmc_info *info);
int dmc_info_devno(uint32_t major, uint32_t minor, struct dmc_info *info,
		   char *name, size_t name_len, char *uuid, size_t uuid_len);
int dmc_create(const char *name, const struct dmc_target *t);
int dmc_reload(const char *name, const struct dmc_target *t);
/* lockfs: freeze a mounted filesystem on top (the normal suspend). */
int dmc_suspend(const char *name, bool lockfs);
int dmc_resume(const char *name);
int dmc_remove(const char *name);
int dmc_rename(const char *name, const char *new_name);
/* Sends a message to sector 0; *response (malloc'ed) may be NULL. */
int dmc_message(const char *name, const char *msg, char **response);
int dmc_status(const char *name, struct dmc_target *t);
int dmc_table(const char *name, struct dmc_target *t);
void dmc_target_free(struct dmc_target *t);
/*
 * Waits until the device's event counter moves past event_nr; returns the
 * new counter in *new_nr.
 */
int dmc_wait_event(const char *name, uint32_t event_nr, uint32_t *new_nr);

/* Calls fn for every dm device; stops early when fn returns non-zero. */
typedef int (*dmc_list_fn)(const char *name, uint32_t major, uint32_t minor,
			   void *ctx);
int dmc_list(dmc_list_fn fn, void *ctx);

#endif
