/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * restore-files: a snapshot's subtree into a mounted volume of the pool
 * (restore.c; the command is cmd-restore-files.c).
 */
#ifndef DMCOWCTL_FS_RESTORE_H
#define DMCOWCTL_FS_RESTORE_H

#include "fs.h"

struct restore_opts {
	const char *pool, *snap;
	const char *path;	/* inside the snapshot's filesystem */
	const char *dest;	/* absolute, resolved: where PATH goes */
	bool dry_run, delete, quiet;
};

struct restore_stats {
	uint64_t created, updated, linked, deleted, unchanged;
	uint64_t bytes_written, ranges_written;
};

/* Runs restore-files; returns an exit status. */
int restore_run(const struct restore_opts *o);

#endif
