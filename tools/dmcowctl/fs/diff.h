/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * diff: file-level changes between two volumes from the block delta
 * (diff.c; the command is cmd-diff.c).
 */
#ifndef DMCOWCTL_FS_DIFF_H
#define DMCOWCTL_FS_DIFF_H

#include "fs.h"

struct diff_opts {
	const char *pool, *a, *b;	/* a: before, b: after */
	const char *path;		/* report only below it */
	bool json;
};

/* Runs diff; returns an exit status. */
int diff_run(const struct diff_opts *o);

#endif
