// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl restore-files POOL/SNAP:PATH DEST [-n] [--delete]
 *
 * Restores a subtree of a snapshot into a mounted volume of the same pool
 * in one copy context (fs/restore.c).  Not 'restore': that is the metadata
 * restore.
 */
#define _GNU_SOURCE
#include "dmcowctl.h"
#include "fs/restore.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYN "restore-files POOL/SNAP:PATH DEST [-n] [--delete]"

static const struct option rf_longopts[] = {
	{ "dry-run", no_argument, NULL, 'n' },
	{ "delete", no_argument, NULL, 'd' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* DEST made absolute: resolved if it exists, else its directory is. */
static char *resolve_dest(const char *dest)
{
	char *copy, *dir, *base, *real, *out = NULL;

	real = realpath(dest, NULL);
	if (real)
		return real;
	copy = strdup(dest);
	if (!copy)
		return NULL;
	base = strdup(basename(copy));
	strcpy(copy, dest);
	dir = realpath(dirname(copy), NULL);
	if (dir && base && strcmp(base, "/") && strcmp(base, ".") && strcmp(base, "..") &&
	    asprintf(&out, "%s/%s", strcmp(dir, "/") ? dir : "", base) < 0)
		out = NULL;
	free(dir);
	free(base);
	free(copy);
	return out;
}

int cmd_restore_files(int argc, char **argv)
{
	struct restore_opts o = { 0 };
	struct vol_ref *ref;
	char *src, *colon, *dest;
	int c, r;

	args_begin();
	while ((c = args_next(argc, argv, "ndqh", rf_longopts, SYN)) != -1) {
		switch (c) {
		case 'n':
			o.dry_run = true;
			break;
		case 'd':
			o.delete = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			printf("usage: dmcowctl %s\n", SYN);
			return 0;
		default:
			return DMCOWCTL_EXIT_USAGE;
		}
	}
	if (ARGS_LEFT(argc) != 2)
		return usage_err(SYN, "restore-files takes POOL/SNAP:PATH and DEST");
	src = strdup(ARG(argv, 0));
	ref = calloc(1, sizeof(*ref));
	if (!src || !ref) {
		free(src);
		free(ref);
		return DMCOWCTL_EXIT_ERR;
	}
	r = DMCOWCTL_EXIT_USAGE;
	colon = strchr(src, ':');
	if (!colon || !colon[1]) {
		r = usage_err(SYN, "'%s' is not POOL/SNAP:PATH", ARG(argv, 0));
		goto out;
	}
	*colon = '\0';
	if (parse_vol_ref(src, ref))
		goto out;
	dest = resolve_dest(ARG(argv, 1));
	if (!dest) {
		dmcowctl_err("cannot use '%s' as the destination: its directory does not exist",
			     ARG(argv, 1));
		r = DMCOWCTL_EXIT_ERR;
		goto out;
	}
	o.pool = ref->pool;
	o.snap = ref->name;
	o.path = colon + 1;
	o.dest = dest;
	r = restore_run(&o);
	free(dest);
out:
	free(src);
	free(ref);
	return r;
}
