// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl dump METADATA_DEV [--json] [-o FILE] [--skip-damaged]
 *
 * Prints the last committed state of an inactive pool: superblock fields,
 * every volume record and its mappings as runs.  The format is described
 * in dmcowctl(8) and read back by 'dmcowctl restore'.
 */
#include "dmcowctl.h"
#include "offline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYN "dump METADATA_DEV [--json] [-o FILE] [--skip-damaged]"

static const struct option dump_longopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "output", required_argument, NULL, 'o' },
	{ "skip-damaged", no_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void print_losses(const char *dev, const struct md_load_result *res)
{
	size_t i;

	for (i = 0; i < res->nr_losses; i++)
		dmcowctl_err("%s: skipped: %s", dev, res->losses[i].why);
}

static int write_out(const char *out, const struct md_pool *p, bool json)
{
	FILE *f = stdout;
	int r;

	if (out && strcmp(out, "-")) {
		f = fopen(out, "w");
		if (!f) {
			dmcowctl_err("cannot create '%s': %s", out, strerror(errno));
			return DMCOWCTL_EXIT_ERR;
		}
	}
	r = md_print(f, p, json);
	if (f != stdout && fclose(f))
		r = -errno;
	if (r) {
		dmcowctl_err("cannot write the dump to '%s': %s",
			     out ? out : "standard output", strerror(-r));
		return DMCOWCTL_EXIT_ERR;
	}
	return 0;
}

int cmd_dump(int argc, char **argv)
{
	struct md_load_opts o = { .progress = true };
	struct md_load_result res;
	struct md_pool p;
	const char *out = NULL;
	bool json = false;
	int c, r;

	args_begin();
	while ((c = args_next(argc, argv, "jo:sh", dump_longopts, SYN)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'o':
			out = optarg;
			break;
		case 's':
			o.tolerant = true;
			break;
		case 'h':
			printf("usage: dmcowctl %s\n", SYN);
			return 0;
		default:
			return DMCOWCTL_EXIT_USAGE;
		}
	}
	if (ARGS_LEFT(argc) != 1)
		return usage_err(SYN, "give exactly one metadata device");
	r = md_load(ARG(argv, 0), &o, &p, &res);
	if (r)
		return r == -EILSEQ || r == -ENOMEM ? DMCOWCTL_EXIT_ERR :
			DMCOWCTL_EXIT_USAGE;
	print_losses(ARG(argv, 0), &res);
	r = write_out(out, &p, json);
	md_pool_free(&p);
	md_load_result_free(&res);
	return r;
}
