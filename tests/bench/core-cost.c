// SPDX-License-Identifier: GPL-2.0-only
/*
 * core-cost: instruction counts of the metadata core's write path, with
 * exclusive-chunk accounting on and off (run under callgrind by
 * core-cost.sh; only measured_phase() is counted, so the numbers are
 * repeatable to the instruction).
 *
 *   core-cost on|off fresh|break|discard SNAPSHOTS N
 *
 * fresh:   N first writes (insert of a new chunk at an unmapped key);
 * break:   N first writes after SNAPSHOTS snapshots of the volume (each
 *          replaces a shared mapping: the break-sharing path);
 * discard: removal of N mappings shared with SNAPSHOTS snapshots.
 * The 4k overwrite of a chunk the volume holds alone never calls the core
 * beyond a lookup, so accounting cannot cost it anything.
 */
#include "cow-platform.h"
#include "cow-disk.h"
#include "cow-metadata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, int r)
{
	fprintf(stderr, "core-cost: %s failed: %d\n", what, r);
	exit(1);
}

static void ok(const char *what, int r)
{
	if (r)
		die(what, r);
}

static void write_new(struct cow_volume *v, u64 key)
{
	u64 d;

	ok("alloc", cow_volume_alloc_chunk(v, &d));
	ok("insert", cow_volume_insert(v, key, d));
}

/* Everything callgrind counts (--toggle-collect=measured_phase). */
static __attribute__((noinline)) void measured_phase(struct cow_volume *v,
						     const char *workload, u64 n)
{
	u64 k;

	if (!strcmp(workload, "discard")) {
		for (k = 0; k < n; k++)
			ok("remove", cow_volume_remove_range(v, k, k + 1, NULL, NULL));
		return;
	}
	for (k = 0; k < n; k++)
		write_new(v, k);
}

int main(int argc, char **argv)
{
	struct cow_pmd_open_args args = { 0 };
	struct cow_snapshot_request req = { .origin_id = 1, .name = "s" };
	struct cow_pool_metadata *pmd;
	struct cow_block_manager *bm;
	struct cow_volume *v;
	struct cow_disk *disk;
	unsigned int snaps, i;
	const char *workload;
	u64 n, k;

	if (argc != 5 || (strcmp(argv[1], "on") && strcmp(argv[1], "off"))) {
		fprintf(stderr, "usage: core-cost on|off fresh|break|discard SNAPSHOTS N\n");
		return 2;
	}
	args.drop_exclusive = !strcmp(argv[1], "off");
	workload = argv[2];
	snaps = (unsigned int)strtoul(argv[3], NULL, 10);
	n = strtoull(argv[4], NULL, 10);
	cow_log_quiet = true;
	ok("disk", cow_disk_mem_create(16384, &disk));
	ok("bm", cow_cache_bm_create(disk, 16384, &bm));
	ok("format", cow_pmd_format(bm, 128, 4 * n + 1024));
	ok("open", cow_pmd_open(bm, &args, &pmd));
	ok("create", cow_pmd_create_volume(pmd, 1, "v"));
	ok("open volume", cow_pmd_open_volume(pmd, 1, &v));
	if (strcmp(workload, "fresh")) {
		for (k = 0; k < n; k++)
			write_new(v, k);
		ok("commit", cow_pmd_commit(pmd));
		for (i = 0; i < snaps; i++) {
			req.new_id = 2 + i;
			ok("snapshot", cow_pmd_snapshot(pmd, &req, 1));
		}
	}
	ok("commit", cow_pmd_commit(pmd));
	measured_phase(v, workload, n);
	ok("commit", cow_pmd_commit(pmd));
	cow_pmd_close_volume(v);
	cow_pmd_close(pmd);
	cow_bm_destroy(bm);
	return 0;
}
