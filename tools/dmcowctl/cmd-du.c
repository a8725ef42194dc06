// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl du POOL/NAME [PATH...] [--json] [--with]
 *
 * Space per file and directory of a volume's filesystem: logical size,
 * allocated bytes, bytes shared with other volumes and bytes exclusive to
 * this one (fs/du.c), from FIEMAP and the pool's block reference counts.
 */
#include "dmcowctl.h"
#include "fs/du.h"

#include <stdio.h>

#define SYN "du POOL/NAME [PATH...] [--json] [--with]"

static const struct option du_longopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "with", no_argument, NULL, 'w' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_du(int argc, char **argv)
{
	static const char *const root[] = { "/" };
	struct du_opts o = { 0 };
	struct vol_ref ref;
	int c;

	args_begin();
	while ((c = args_next(argc, argv, "jwh", du_longopts, SYN)) != -1) {
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'w':
			o.with = true;
			break;
		case 'h':
			printf("usage: dmcowctl %s\n", SYN);
			return 0;
		default:
			return DMCOWCTL_EXIT_USAGE;
		}
	}
	if (ARGS_LEFT(argc) < 1)
		return usage_err(SYN, "du takes a volume and optional paths inside it");
	if (parse_vol_ref(ARG(argv, 0), &ref))
		return DMCOWCTL_EXIT_USAGE;
	o.pool = ref.pool;
	o.name = ref.name;
	o.nr_paths = (size_t)ARGS_LEFT(argc) - 1;
	o.paths = (const char *const *)&ARG(argv, 1);
	if (!o.nr_paths) {
		o.paths = root;
		o.nr_paths = 1;
		o.whole = true;
	}
	return du_run(&o);
}
