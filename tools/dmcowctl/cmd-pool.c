// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl pool create|activate|deactivate|extend|status.
 */
#define _GNU_SOURCE
#include "dmcowctl.h"
#include "dm.h"
#include "sb.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/fs.h>

#include <blkid.h>
#include <json-c/json.h>

#define DEFAULT_CHUNK_SECTORS 128	/* 64 KiB */
#define MIN_CHUNK_SECTORS 8
#define MAX_CHUNK_SECTORS 2048

#define SYN_CREATE "pool create POOL METADATA_DEV DATA_DEV [--chunk-size SIZE] [--low-water SIZE] [--error-if-no-space] [--skip-zeroing] [--no-discard-passdown] [--force]"
#define SYN_ACTIVATE "pool activate POOL METADATA_DEV DATA_DEV [--low-water SIZE] [--error-if-no-space] [--skip-zeroing] [--no-discard-passdown] [--read-only]"
#define SYN_DEACTIVATE "pool deactivate POOL [--force]"
#define SYN_EXTEND "pool extend POOL"
#define SYN_STATUS "pool status POOL [--json]"

struct pool_opts {
	uint64_t chunk;		/* sectors */
	uint64_t low_water;	/* sectors; 0: default */
	bool error_if_no_space, skip_zeroing, no_discard_passdown, read_only;
	bool force, json;
};

enum { OPT_CHUNK = 256, OPT_LOW, OPT_ENOSPC, OPT_SKIPZ, OPT_NODP, OPT_RO };

static const struct option pool_longopts[] = {
	{ "chunk-size", required_argument, NULL, OPT_CHUNK },
	{ "low-water", required_argument, NULL, OPT_LOW },
	{ "error-if-no-space", no_argument, NULL, OPT_ENOSPC },
	{ "skip-zeroing", no_argument, NULL, OPT_SKIPZ },
	{ "no-discard-passdown", no_argument, NULL, OPT_NODP },
	{ "read-only", no_argument, NULL, OPT_RO },
	{ "force", no_argument, NULL, 'f' },
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 },
};

/* Parses the options; the caller checks which ones make sense. */
static int parse_pool_opts(int argc, char **argv, const char *syn,
			   struct pool_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->chunk = DEFAULT_CHUNK_SECTORS;
	args_begin();
	while ((c = args_next(argc, argv, "fj", pool_longopts, syn)) != -1) {
		switch (c) {
		case OPT_CHUNK:
			if (parse_size(optarg, &o->chunk) || o->chunk < MIN_CHUNK_SECTORS ||
			    o->chunk > MAX_CHUNK_SECTORS || (o->chunk & (o->chunk - 1)))
				return usage_err(syn, "chunk size '%s' is not a power of two from 4k to 1M",
						 optarg);
			break;
		case OPT_LOW:
			if (parse_size(optarg, &o->low_water))
				return usage_err(syn, "low water mark '%s' is not a size (e.g. 64M)",
						 optarg);
			break;
		case OPT_ENOSPC:
			o->error_if_no_space = true;
			break;
		case OPT_SKIPZ:
			o->skip_zeroing = true;
			break;
		case OPT_NODP:
			o->no_discard_passdown = true;
			break;
		case OPT_RO:
			o->read_only = true;
			break;
		case 'f':
			o->force = true;
			break;
		case 'j':
			o->json = true;
			break;
		default:
			return DMCOWCTL_EXIT_USAGE;
		}
	}
	return 0;
}

/* Opens a block device exclusively: fails with EBUSY if anyone uses it. */
static int open_bdev(const char *path, uint64_t *sectors)
{
	uint64_t bytes;
	struct stat st;
	int fd;

	fd = open(path, O_RDWR | O_EXCL | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EBUSY)
			dmcowctl_err("%s is in use (mounted, or held by another device): free it first",
				     path);
		else
			dmcowctl_err("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISBLK(st.st_mode) ||
	    ioctl(fd, BLKGETSIZE64, &bytes)) {
		dmcowctl_err("%s is not a block device: give a disk, partition or logical volume",
			     path);
		close(fd);
		return -1;
	}
	*sectors = bytes >> 9;
	return fd;
}

/*
 * Refuses a device that carries anything recognisable: one of our pools,
 * or any filesystem/RAID/partition-table signature blkid knows.
 */
static int check_signatures(const char *path, int fd)
{
	struct sb_summary sb;
	blkid_probe pr;
	const char *type = NULL;
	int r;

	if (!sb_read(fd, &sb) && sb.is_cowtree) {
		dmcowctl_err("%s holds a dm-cowtree pool: use 'dmcowctl pool activate', or --force to overwrite it",
			     path);
		return -1;
	}
	pr = blkid_new_probe();
	if (!pr || blkid_probe_set_device(pr, fd, 0, 0)) {
		if (pr)
			blkid_free_probe(pr);
		dmcowctl_err("cannot probe %s for signatures", path);
		return -1;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, 1);
	r = blkid_do_safeprobe(pr);
	if (r == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL))
		blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL);
	if (r == 0 || r == -2)
		dmcowctl_err("%s contains a %s signature: use --force to overwrite it",
			     path, type ? type : "(ambiguous)");
	blkid_free_probe(pr);
	return (r == 0 || r == -2) ? -1 : 0;
}

static int zero_first_block(const char *path, int fd)
{
	static const char zero[4096];

	/* The kernel formats a metadata device whose first block is zero. */
	if (pwrite(fd, zero, sizeof(zero), 0) != (ssize_t)sizeof(zero) ||
	    fsync(fd)) {
		dmcowctl_err("cannot zero the first block of %s: %s", path,
			     strerror(errno));
		return -1;
	}
	return 0;
}

static int load_pool(const char *pool, bool create, const char *meta,
		     const char *data, uint64_t data_sectors, uint64_t chunk,
		     const struct pool_opts *o)
{
	struct dmc_target t = { .length = data_sectors };
	const char *feat[4];
	char fl[96];
	uint64_t low;
	int n = 0, r;

	low = o->low_water ? o->low_water / chunk : (data_sectors / chunk) / 20;
	if (!low)
		low = 1;
	if (o->skip_zeroing)
		feat[n++] = "skip_zeroing";
	if (o->no_discard_passdown)
		feat[n++] = "no_discard_passdown";
	if (o->read_only)
		feat[n++] = "read_only";
	if (o->error_if_no_space)
		feat[n++] = "error_if_no_space";
	/* Feature arguments: "<count> <word>..." (at most 4 short words). */
	fl[0] = '\0';
	if (n)
		snprintf(fl, sizeof(fl), " %d%s%s%s%s%s%s%s%s", n,
			 n > 0 ? " " : "", n > 0 ? feat[0] : "",
			 n > 1 ? " " : "", n > 1 ? feat[1] : "",
			 n > 2 ? " " : "", n > 2 ? feat[2] : "",
			 n > 3 ? " " : "", n > 3 ? feat[3] : "");
	if (asprintf(&t.params, "%s %s %" PRIu64 " %" PRIu64 "%s", meta, data,
		     chunk, low, fl) < 0)
		return DMCOWCTL_EXIT_ERR;
	snprintf(t.type, sizeof(t.type), "cowtree-pool");
	r = dmc_create(pool, &t);
	if (r)
		r = dm_failed(r, "%s pool '%s' (table '%s')",
			      create ? "creating" : "activating", pool, t.params);
	free(t.params);
	return r;
}

static bool pool_exists(const char *pool)
{
	struct dmc_info info;

	if (!dmc_info(pool, &info) && info.exists) {
		dmcowctl_err("a device named '%s' already exists: choose another pool name",
			     pool);
		return true;
	}
	return false;
}

static int pool_create(int argc, char **argv)
{
	const char *pool, *meta, *data;
	uint64_t meta_sz, data_sz;
	struct pool_opts o;
	int mfd = -1, dfd = -1, r;

	r = parse_pool_opts(argc, argv, SYN_CREATE, &o);
	if (r)
		return r;
	if (ARGS_LEFT(argc) != 3)
		return usage_err(SYN_CREATE, "pool create takes POOL METADATA_DEV DATA_DEV");
	pool = ARG(argv, 0);
	meta = ARG(argv, 1);
	data = ARG(argv, 2);
	if (!valid_pool_name(pool))
		return DMCOWCTL_EXIT_USAGE;
	if (pool_exists(pool))
		return DMCOWCTL_EXIT_ERR;
	r = DMCOWCTL_EXIT_ERR;
	mfd = open_bdev(meta, &meta_sz);
	if (mfd < 0)
		goto out;
	dfd = open_bdev(data, &data_sz);
	if (dfd < 0)
		goto out;
	if (!o.force && (check_signatures(meta, mfd) || check_signatures(data, dfd)))
		goto out;
	if (data_sz < o.chunk) {
		dmcowctl_err("%s is smaller than one chunk: use a bigger data device", data);
		goto out;
	}
	if (zero_first_block(meta, mfd))
		goto out;
	/* Let go of our exclusive opens: the kernel claims the devices now. */
	close(mfd);
	close(dfd);
	mfd = dfd = -1;
	r = load_pool(pool, true, meta, data, data_sz, o.chunk, &o);
	if (!r)
		printf("pool %s created: %s of data in %" PRIu64 " chunks of %" PRIu64 " KiB\n",
		       pool, human_size(data_sz << 9, (char[16]){0}, 16),
		       data_sz / o.chunk, o.chunk / 2);
out:
	if (mfd >= 0)
		close(mfd);
	if (dfd >= 0)
		close(dfd);
	return r;
}

static int pool_activate(int argc, char **argv)
{
	const char *pool, *meta, *data;
	struct sb_summary sb;
	uint64_t meta_sz, data_sz;
	struct pool_opts o;
	int mfd, dfd, r;

	r = parse_pool_opts(argc, argv, SYN_ACTIVATE, &o);
	if (r)
		return r;
	if (ARGS_LEFT(argc) != 3)
		return usage_err(SYN_ACTIVATE, "pool activate takes POOL METADATA_DEV DATA_DEV");
	pool = ARG(argv, 0);
	meta = ARG(argv, 1);
	data = ARG(argv, 2);
	if (!valid_pool_name(pool))
		return DMCOWCTL_EXIT_USAGE;
	if (pool_exists(pool))
		return DMCOWCTL_EXIT_ERR;
	mfd = open_bdev(meta, &meta_sz);
	if (mfd < 0)
		return DMCOWCTL_EXIT_ERR;
	r = sb_read(mfd, &sb);
	close(mfd);
	if (r || !sb.is_cowtree) {
		dmcowctl_err("%s holds no dm-cowtree pool: create one with 'dmcowctl pool create'",
			     meta);
		return DMCOWCTL_EXIT_ERR;
	}
	dfd = open_bdev(data, &data_sz);
	if (dfd < 0)
		return DMCOWCTL_EXIT_ERR;
	close(dfd);
	return load_pool(pool, false, meta, data, data_sz, sb.chunk_sectors, &o);
}

static int pool_deactivate(int argc, char **argv)
{
	struct pool_opts o;
	struct cow_pool *p;
	size_t i;
	int r;

	r = parse_pool_opts(argc, argv, SYN_DEACTIVATE, &o);
	if (r)
		return r;
	if (ARGS_LEFT(argc) != 1)
		return usage_err(SYN_DEACTIVATE, "pool deactivate takes POOL");
	r = pool_open(ARG(argv, 0), &p);
	if (r)
		return r;
	for (i = 0; i < p->nr_vols && !r; i++) {
		struct cow_volume *v = &p->vols[i];

		if (!v->nr_devs)
			continue;
		if (!o.force) {
			dmcowctl_err("volume '%s' of pool '%s' is active as %s: deactivate it first or use --force",
				     v->name, p->name, v->dev);
			r = DMCOWCTL_EXIT_ERR;
			break;
		}
		r = volume_deactivate(p, v);
	}
	if (!r) {
		r = dmc_remove(p->name);
		if (r)
			r = dm_failed(r, "removing pool '%s'", p->name);
	}
	pool_close(p);
	return r;
}

static int sysfs_size(const char *devno, uint64_t *sectors)
{
	char path[64];
	FILE *f;
	int ok;
	unsigned long long v;

	snprintf(path, sizeof(path), "/sys/dev/block/%s/size", devno);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fscanf(f, "%llu", &v) == 1;
	fclose(f);
	if (!ok)
		return -EINVAL;
	*sectors = v;
	return 0;
}

int pool_extend(const char *pool, bool quiet)
{
	struct dmc_target t = { 0 };
	struct cow_pool *p;
	uint64_t size = 0;
	int r;

	r = pool_open(pool, &p);
	if (r)
		return r;
	r = sysfs_size(p->data_dev, &size);
	if (r) {
		dmcowctl_err("cannot read the size of data device %s: %s", p->data_dev,
			     strerror(-r));
		r = DMCOWCTL_EXIT_ERR;
		goto out;
	}
	if (size <= p->length) {
		if (!quiet)
			printf("pool %s: data device did not grow (%" PRIu64 " sectors)\n",
			       pool, size);
		goto out;
	}
	r = DMCOWCTL_EXIT_ERR;
	if (asprintf(&t.params, "%s %s %u %" PRIu64 "%s%s", p->meta_dev, p->data_dev,
		     p->chunk_sectors, p->low_water, *p->features ? " " : "",
		     p->features) < 0)
		goto out;
	t.length = size;
	snprintf(t.type, sizeof(t.type), "cowtree-pool");
	r = dmc_reload(pool, &t);
	free(t.params);
	if (r) {
		r = dm_failed(r, "loading the grown table of pool '%s'", pool);
		goto out;
	}
	/* Resume swaps the tables (suspending the pool around it). */
	r = dmc_resume(pool);
	if (r) {
		r = dm_failed(r, "resuming pool '%s' with its grown table", pool);
		goto out;
	}
	if (!quiet)
		printf("pool %s: data grown from %" PRIu64 " to %" PRIu64 " sectors\n",
		       pool, p->length, size);
out:
	pool_close(p);
	return r;
}

static int cmd_pool_extend(int argc, char **argv)
{
	struct pool_opts o;
	int r;

	r = parse_pool_opts(argc, argv, SYN_EXTEND, &o);
	if (r)
		return r;
	if (ARGS_LEFT(argc) != 1)
		return usage_err(SYN_EXTEND, "pool extend takes POOL");
	if (!valid_pool_name(ARG(argv, 0)))
		return DMCOWCTL_EXIT_USAGE;
	return pool_extend(ARG(argv, 0), false);
}

static int parse_status(const char *s, struct pool_status *st)
{
	char held[24], mode[24], dp[32], nospace[32], nc[24];
	unsigned long long txn, mu, mt, du, dt, recl;

	if (sscanf(s, "%llu %llu/%llu %llu/%llu %23s %23s %31s %31s %23s %llu",
		   &txn, &mu, &mt, &du, &dt, held, mode, dp, nospace, nc, &recl) != 11)
		return -EINVAL;
	st->txn = txn;
	st->meta_used = mu;
	st->meta_total = mt;
	st->data_used = du;
	st->data_total = dt;
	st->has_held_root = strcmp(held, "-");
	st->held_root = st->has_held_root ? strtoull(held, NULL, 10) : 0;
	snprintf(st->mode, sizeof(st->mode), "%s", mode);
	st->discard_passdown = !strcmp(dp, "discard_passdown");
	st->error_if_no_space = !strcmp(nospace, "error_if_no_space");
	st->needs_check = !strcmp(nc, "needs_check");
	st->reclaiming = recl;
	return 0;
}

int pool_status_read(const char *pool, struct pool_status *st)
{
	struct dmc_target t;
	struct dmc_info info;
	unsigned int chunk;
	unsigned long long low;
	int r;

	memset(st, 0, sizeof(*st));
	if (dmc_info(pool, &info) || !info.exists) {
		dmcowctl_err("pool '%s' is not active: activate it with 'dmcowctl pool activate'",
			     pool);
		return DMCOWCTL_EXIT_ERR;
	}
	st->event_nr = info.event_nr;
	r = dmc_table(pool, &t);
	if (r || strcmp(t.type, "cowtree-pool") ||
	    sscanf(t.params, "%*s %*s %u %llu", &chunk, &low) != 2) {
		if (!r)
			dmc_target_free(&t);
		dmcowctl_err("device '%s' is not a dm-cowtree pool", pool);
		return DMCOWCTL_EXIT_ERR;
	}
	dmc_target_free(&t);
	st->chunk_sectors = chunk;
	st->low_water = low;
	r = dmc_status(pool, &t);
	if (r)
		return dm_failed(r, "reading the status of pool '%s'", pool);
	if (parse_status(t.params, st)) {
		dmcowctl_err("pool '%s' reports status '%s': the pool has failed, see dmesg",
			     pool, t.params);
		dmc_target_free(&t);
		return DMCOWCTL_EXIT_ERR;
	}
	dmc_target_free(&t);
	return 0;
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

static void status_json(const char *pool, const struct pool_status *st)
{
	json_object *o = json_object_new_object(), *m, *d;

	json_object_object_add(o, "pool", json_object_new_string(pool));
	json_object_object_add(o, "transaction_id", json_object_new_int64((int64_t)st->txn));
	m = json_object_new_object();
	json_object_object_add(m, "used_blocks", json_object_new_int64((int64_t)st->meta_used));
	json_object_object_add(m, "total_blocks", json_object_new_int64((int64_t)st->meta_total));
	json_object_object_add(o, "metadata", m);
	d = json_object_new_object();
	json_object_object_add(d, "chunk_sectors", json_object_new_int64(st->chunk_sectors));
	json_object_object_add(d, "used_chunks", json_object_new_int64((int64_t)st->data_used));
	json_object_object_add(d, "total_chunks", json_object_new_int64((int64_t)st->data_total));
	json_object_object_add(d, "used_percent",
			       json_object_new_double(pct(st->data_used, st->data_total)));
	json_object_object_add(d, "low_water_chunks", json_object_new_int64((int64_t)st->low_water));
	json_object_object_add(o, "data", d);
	json_object_object_add(o, "held_root", st->has_held_root ?
			       json_object_new_int64((int64_t)st->held_root) : NULL);
	json_object_object_add(o, "mode", json_object_new_string(st->mode));
	json_object_object_add(o, "discard_passdown", json_object_new_boolean(st->discard_passdown));
	json_object_object_add(o, "error_if_no_space", json_object_new_boolean(st->error_if_no_space));
	json_object_object_add(o, "needs_check", json_object_new_boolean(st->needs_check));
	json_object_object_add(o, "reclaiming_chunks", json_object_new_int64((int64_t)st->reclaiming));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

void pool_status_print(const char *pool, const struct pool_status *st, bool json)
{
	uint64_t chunk = (uint64_t)st->chunk_sectors << 9;
	char a[16], b[16], c[16];

	if (json) {
		status_json(pool, st);
		return;
	}
	printf("pool:              %s\n", pool);
	printf("mode:              %s%s\n", st->mode, st->needs_check ? " (needs check)" : "");
	printf("transaction id:    %" PRIu64 "\n", st->txn);
	printf("metadata:          %" PRIu64 "/%" PRIu64 " blocks used (%.1f%%)\n",
	       st->meta_used, st->meta_total, pct(st->meta_used, st->meta_total));
	printf("data:              %s/%s used (%.1f%%), %" PRIu64 "/%" PRIu64 " chunks of %s\n",
	       human_size(st->data_used * chunk, a, sizeof(a)),
	       human_size(st->data_total * chunk, b, sizeof(b)),
	       pct(st->data_used, st->data_total), st->data_used, st->data_total,
	       human_size(chunk, c, sizeof(c)));
	printf("low water:         %" PRIu64 " chunks\n", st->low_water);
	printf("held metadata:     %s\n", st->has_held_root ? "yes" : "no");
	printf("discard passdown:  %s\n", st->discard_passdown ? "yes" : "no");
	printf("when full:         %s\n", st->error_if_no_space ? "error" : "queue");
	printf("reclaiming:        %" PRIu64 " chunks\n", st->reclaiming);
}

static int pool_status(int argc, char **argv)
{
	struct pool_status st;
	struct pool_opts o;
	int r;

	r = parse_pool_opts(argc, argv, SYN_STATUS, &o);
	if (r)
		return r;
	if (ARGS_LEFT(argc) != 1)
		return usage_err(SYN_STATUS, "pool status takes POOL");
	if (!valid_pool_name(ARG(argv, 0)))
		return DMCOWCTL_EXIT_USAGE;
	r = pool_status_read(ARG(argv, 0), &st);
	if (!r)
		pool_status_print(ARG(argv, 0), &st, o.json);
	return r;
}

static const struct dmcowctl_command pool_commands[] = {
	{ "create", SYN_CREATE, "Format and activate a new pool.", pool_create },
	{ "activate", SYN_ACTIVATE, "Activate an existing pool.", pool_activate },
	{ "deactivate", SYN_DEACTIVATE, "Remove the pool device.", pool_deactivate },
	{ "extend", SYN_EXTEND, "Grow the pool to its data device's size.", cmd_pool_extend },
	{ "status", SYN_STATUS, "Show the pool's usage and mode.", pool_status },
};

int cmd_pool(int argc, char **argv)
{
	size_t i;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		for (i = 0; i < sizeof(pool_commands) / sizeof(pool_commands[0]); i++)
			printf("usage: dmcowctl %s\n  %s\n", pool_commands[i].args,
			       pool_commands[i].help);
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "dmcowctl: pool needs a subcommand\n");
		for (i = 0; i < sizeof(pool_commands) / sizeof(pool_commands[0]); i++)
			fprintf(stderr, "usage: dmcowctl %s\n", pool_commands[i].args);
		return DMCOWCTL_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(pool_commands) / sizeof(pool_commands[0]); i++) {
		const struct dmcowctl_command *c = &pool_commands[i];

		if (strcmp(c->name, argv[1]))
			continue;
		if (argc > 2 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
			printf("usage: dmcowctl %s\n%s\n", c->args, c->help);
			return 0;
		}
		return c->run(argc - 1, argv + 1);
	}
	dmcowctl_err("unknown pool subcommand '%s': use create, activate, deactivate, extend or status",
		     argv[1]);
	return DMCOWCTL_EXIT_USAGE;
}
