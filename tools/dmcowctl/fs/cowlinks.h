/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cowlinks: per-file block-level reconciliation of two volumes
 * (cowlinks.c; the command is cmd-cowlinks.c).
 */
#ifndef DMCOWCTL_FS_COWLINKS_H
#define DMCOWCTL_FS_COWLINKS_H

#include "fs.h"

struct cowlinks_opts {
	const char *pool, *a, *b;	/* a: left (the snapshot), b: right */
	const char *path;		/* inside both filesystems */
	bool json;
};

/* Runs cowlinks; returns an exit status. */
int cowlinks_run(const struct cowlinks_opts *o);

#endif
