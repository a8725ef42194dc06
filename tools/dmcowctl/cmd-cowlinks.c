// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl cowlinks POOL/A POOL/B [PATH] [--json]
 *
 * Per file: shared (a cowlink intact at block level), diverged (bytes and
 * ranges) or rewritten; new and removed files; hard-link groups compared
 * (fs/cowlinks.c).
 */
#include "dmcowctl.h"
#include "fs/cowlinks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYN "cowlinks POOL/A POOL/B [PATH] [--json]"

static const struct option cowlinks_longopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_cowlinks(int argc, char **argv)
{
	struct cowlinks_opts o = { .path = "/" };
	struct vol_ref *ref;
	int c, r;

	args_begin();
	while ((c = args_next(argc, argv, "jh", cowlinks_longopts, SYN)) != -1) {
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
		return usage_err(SYN, "cowlinks takes two volumes and an optional path");
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
	r = cowlinks_run(&o);
out:
	free(ref);
	return r;
}
