// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl restore -i FILE -o METADATA_DEV
 * dmcowctl repair -i BAD_DEV -o NEW_DEV
 *
 * restore writes a fresh pool from a dump (text or JSON); repair reads
 * whatever can be read of a damaged pool, skipping unreadable or invalid
 * subtrees, and writes it the same way (md-build.c), then says what was
 * lost.  Neither writes to its input.
 */
#include "dmcowctl.h"
#include "offline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SYN_RESTORE "restore -i FILE -o METADATA_DEV [--quiet]"
#define SYN_REPAIR "repair -i BAD_METADATA_DEV -o NEW_METADATA_DEV [--quiet]"

static const struct option io_longopts[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct io_args {
	const char *in, *out;
	bool quiet;
};

static int parse_io(int argc, char **argv, const char *syn, struct io_args *a)
{
	struct stat si, so;
	int c;

	memset(a, 0, sizeof(*a));
	args_begin();
	while ((c = args_next(argc, argv, "i:o:qh", io_longopts, syn)) != -1) {
		switch (c) {
		case 'i':
			a->in = optarg;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'h':
			printf("usage: dmcowctl %s\n", syn);
			return -1;
		default:
			return DMCOWCTL_EXIT_USAGE;
		}
	}
	if (ARGS_LEFT(argc))
		return usage_err(syn, "unexpected argument '%s'", ARG(argv, 0));
	if (!a->in || !a->out)
		return usage_err(syn, "both -i and -o are needed");
	if (!stat(a->in, &si) && !stat(a->out, &so) && si.st_dev == so.st_dev &&
	    si.st_ino == so.st_ino)
		return usage_err(syn, "input and output are the same file");
	return 0;
}

static uint64_t total_mappings(const struct md_pool *p)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < p->nr_vols; i++)
		n += md_volume_mapped(&p->vols[i]);
	return n;
}

int cmd_restore(int argc, char **argv)
{
	struct io_args a;
	struct md_pool p;
	FILE *f;
	int r;

	r = parse_io(argc, argv, SYN_RESTORE, &a);
	if (r)
		return r < 0 ? 0 : r;
	f = strcmp(a.in, "-") ? fopen(a.in, "r") : stdin;
	if (!f) {
		dmcowctl_err("cannot open '%s': %s", a.in, strerror(errno));
		return DMCOWCTL_EXIT_USAGE;
	}
	r = md_parse(f, a.in, &p);
	if (f != stdin)
		fclose(f);
	if (r)
		return DMCOWCTL_EXIT_ERR;
	r = md_build(a.out, &p, true);
	if (!r && !a.quiet)
		printf("restored %zu volumes, %" PRIu64 " mappings to %s\n", p.nr_vols,
		       total_mappings(&p), a.out);
	md_pool_free(&p);
	return r ? DMCOWCTL_EXIT_ERR : 0;
}

/* What repair decided about mappings found outside their leaf's range. */
static void report_strays(const struct md_load_result *res)
{
	const struct md_stray *st;
	size_t i;

	for (i = 0; i < res->nr_strays; i++) {
		st = &res->strays[i];
		if (st->kept)
			printf("kept: volume %" PRIu64 " chunk %" PRIu64 " -> data chunk %" PRIu64 ": found outside the key range of btree leaf %" PRIu64 ", and nothing else maps it\n",
			       st->volume, st->vchunk, st->dchunk, st->block);
		else if (st->other == MD_STRAY_BEYOND)
			printf("dropped: volume %" PRIu64 " chunk %" PRIu64 " -> data chunk %" PRIu64 ": outside the key range of btree leaf %" PRIu64 ", and beyond the data device\n",
			       st->volume, st->vchunk, st->dchunk, st->block);
		else if (st->other == st->dchunk)
			printf("dropped: volume %" PRIu64 " chunk %" PRIu64 " -> data chunk %" PRIu64 ": a stale copy, outside the key range of btree leaf %" PRIu64 ", of the mapping the kernel reads\n",
			       st->volume, st->vchunk, st->dchunk, st->block);
		else
			printf("dropped: volume %" PRIu64 " chunk %" PRIu64 " -> data chunk %" PRIu64 ": outside the key range of btree leaf %" PRIu64 "; the mapping the kernel reads (-> %" PRIu64 ") is kept\n",
			       st->volume, st->vchunk, st->dchunk, st->block, st->other);
	}
}

static void report_losses(const char *dev, const struct md_load_result *res)
{
	const struct md_loss *ls;
	char hi[24];
	size_t i;

	if (res->sb_damaged)
		printf("%s: the superblock checksum is bad; its fields were used anyway\n",
		       dev);
	for (i = 0; i < res->nr_losses; i++) {
		ls = &res->losses[i];
		if (ls->hi == UINT64_MAX)
			snprintf(hi, sizeof(hi), "end");
		else
			snprintf(hi, sizeof(hi), "%" PRIu64, ls->hi - 1);
		if (ls->volume == MD_NO_ORIGIN)
			printf("lost: volume ids %" PRIu64 "-%s (%" PRIu64 " records): %s\n",
			       ls->lo, hi, ls->count, ls->why);
		else
			printf("lost: volume %" PRIu64 " chunks %" PRIu64 "-%s (%" PRIu64 " mappings): %s\n",
			       ls->volume, ls->lo, hi, ls->count, ls->why);
	}
	report_strays(res);
}

int cmd_repair(int argc, char **argv)
{
	struct md_load_opts o = { .tolerant = true, .progress = true };
	struct md_load_result res;
	struct io_args a;
	struct md_pool p;
	int r;

	r = parse_io(argc, argv, SYN_REPAIR, &a);
	if (r)
		return r < 0 ? 0 : r;
	r = md_load(a.in, &o, &p, &res);
	if (r)
		return DMCOWCTL_EXIT_ERR;
	if (!a.quiet)
		report_losses(a.in, &res);
	if (!p.nr_vols && res.nr_losses) {
		dmcowctl_err("nothing could be salvaged from '%s'", a.in);
		r = DMCOWCTL_EXIT_ERR;
		goto out;
	}
	r = md_build(a.out, &p, true);
	if (r) {
		r = DMCOWCTL_EXIT_ERR;
		goto out;
	}
	if (!a.quiet)
		printf("salvaged %zu volumes, %" PRIu64 " mappings to %s; lost %" PRIu64 " mappings and %" PRIu64 " volume records\n",
		       p.nr_vols, total_mappings(&p), a.out, res.lost_mappings,
		       res.lost_volumes);
out:
	md_pool_free(&p);
	md_load_result_free(&res);
	return r;
}
