// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl diff POOL/A POOL/B [PATH] [--json]
 *
 * Added, removed, modified (with changed byte ranges and what changed),
 * renamed files and hard-link changes, zfs diff style, found from the block
 * delta (fs/diff.c).
 */
#include "dmcowctl.h"
#include "fs/diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYN "diff POOL/A POOL/B [PATH] [--json]"

static const struct option diff_longopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_diff(int argc, char **argv)
{
	struct diff_opts o = { .path = "/" };
	struct vol_ref *ref;
	int c, r;

	args_begin();
	while ((c = args_next(argc, argv, "jh", diff_longopts, SYN)) != -1) {
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'h':
			printf("usage: dmcowctl %s\n", SYN);
			return 0;
		default:
			return DMCOWCTL_EXIT_USAGE;
		}
	}
	if (ARGS_LEFT(argc) < 2 || ARGS_LEFT(argc) > 3)
		return usage_err(SYN, "diff takes two volumes and an optional path");
	ref = calloc(2, sizeof(*ref));
	if (!ref)
		return DMCOWCTL_EXIT_ERR;
	r = parse_vol_pair(SYN, ARG(argv, 0), ARG(argv, 1), ref);
	if (r)
		goto out;
	if (ARGS_LEFT(argc) == 3)
		o.path = ARG(argv, 2);
	o.pool = ref[0].pool;
	o.a = ref[0].name;
	o.b = ref[1].name;
	r = diff_run(&o);
out:
	free(ref);
	return r;
}
