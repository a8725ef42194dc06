// SPDX-License-Identifier: GPL-2.0-only
/*
 * cowmkimg: make a pool metadata image with every kind of block, for the
 * host metadata fuzz (tests/tools/corrupt-images.sh), through the metadata
 * core itself (no hand-made blocks):
 *
 *   cowmkimg OUT
 *
 * OUT (created, 4 MiB) holds volume 1 with a multi-level mapping tree,
 * its snapshot 2, 24 snapshots of 2 (the volumes tree gets an internal
 * node), a held root taken before volume 1 is rewritten in part, a
 * deleted volume whose tree is on the dead list (partly reclaimed), a
 * deleted volume still being accounted (a deleting record), a volume
 * mapping one chunk in each of SPARSE_RCS data refcount blocks (the data
 * space map index gets an internal node) and DEAD_SNAPS deleted snapshots
 * of a volume, each a dead entry (the dead tree gets an internal node).  Exit status 0, or 1 with a message.
 */
#include "cow-platform.h"
#include "cow-disk.h"
#include "cow-metadata.h"
#include "cow-format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define META_BLOCKS 1024u
#define DATA_CHUNKS 160000u
/* More index entries, and dead entries, than one btree leaf holds. */
#define SPARSE_RCS 140u
#define DEAD_SNAPS 160u

static const char *step = "start";

#define TRY(expr)							\
	do {								\
		int r_ = (expr);					\
		if (r_) {						\
			fprintf(stderr, "cowmkimg: %s: %s: %s\n", step,	\
				#expr, strerror(-r_));			\
			exit(1);					\
		}							\
	} while (0)

static void fill(struct cow_pool_metadata *pmd, u64 id, u64 from, u64 to, u64 stride)
{
	struct cow_volume *v;
	u64 s, d;

	TRY(cow_pmd_open_volume(pmd, id, &v));
	for (s = from; s < to; s += stride) {
		TRY(cow_volume_alloc_chunk(v, &d));
		TRY(cow_volume_insert(v, s, d));
	}
	cow_pmd_close_volume(v);
}

/* Volume @id maps one chunk in each of SPARSE_RCS refcount blocks. */
static void sparse(struct cow_pool_metadata *pmd, u64 id)
{
	struct cow_volume *v;
	u64 k = 0, d;

	TRY(cow_pmd_create_volume(pmd, id, "sparse"));
	TRY(cow_pmd_open_volume(pmd, id, &v));
	while (k < SPARSE_RCS) {
		TRY(cow_volume_alloc_chunk(v, &d));
		if (d % COW_RC_ENTRIES)
			TRY(cow_volume_free_unused_chunk(v, d));
		else
			TRY(cow_volume_insert(v, k++, d));
	}
	cow_pmd_close_volume(v);
}

/*
 * DEAD_SNAPS snapshots (ids from @first) of volume @id, which maps one
 * chunk, are deleted.  One reclaim step of DEAD_SNAPS chunks accounts
 * their deleting records, one chunk each, and each tree joins the dead
 * list; the budget is spent before any of them is freed.
 */
static void dead_snapshots(struct cow_pool_metadata *pmd, u64 id, u64 first)
{
	struct cow_snapshot_request req = { .origin_id = id };
	char name[16];
	bool more;
	u64 i;

	TRY(cow_pmd_create_volume(pmd, id, "origin"));
	fill(pmd, id, 0, 1, 1);
	for (i = 0; i < DEAD_SNAPS; i++) {
		snprintf(name, sizeof(name), "e%llu", (unsigned long long)i);
		req.new_id = first + i;
		req.name = name;
		TRY(cow_pmd_snapshot(pmd, &req, 1));
	}
	TRY(cow_pmd_commit(pmd));
	for (i = 0; i < DEAD_SNAPS; i++)
		TRY(cow_pmd_delete_volume(pmd, first + i));
	TRY(cow_pmd_reclaim_step(pmd, DEAD_SNAPS, &more));
}

static u64 dead_root(struct cow_block_manager *bm)
{
	struct cow_disk_superblock *sb;
	struct cow_block *b;
	u64 r;

	TRY(cow_bm_read_lock(bm, COW_SUPERBLOCK_LOCATION, &cow_sb_validator, &b));
	sb = cow_block_data(b);
	r = le64_to_cpu(sb->dead_root.blocknr);
	cow_bm_unlock(bm, b);
	return r;
}

int main(int argc, char **argv)
{
	struct cow_snapshot_request reqs[24];
	struct cow_pmd_open_args args = { 0 };
	struct cow_snapshot_request req = { .new_id = 2, .origin_id = 1, .name = "snap" };
	struct cow_pool_metadata *pmd;
	struct cow_block_manager *bm;
	struct cow_disk *disk;
	char names[24][16];
	unsigned int i;
	bool more;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUT\n", argv[0]);
		return 2;
	}
	cow_log_quiet = true;
	fd = open(argv[1], O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)META_BLOCKS * COW_METADATA_BLOCK_SIZE) ||
	    close(fd)) {
		fprintf(stderr, "cowmkimg: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	step = "format";
	TRY(cow_disk_file_open(argv[1], false, &disk));
	TRY(cow_cache_bm_create(disk, 256, &bm));
	TRY(cow_pmd_format(bm, 128, DATA_CHUNKS));
	TRY(cow_pmd_open(bm, &args, &pmd));

	step = "volumes";
	TRY(cow_pmd_create_volume(pmd, 1, "one"));
	fill(pmd, 1, 0, 2600, 1);
	TRY(cow_pmd_snapshot(pmd, &req, 1));
	for (i = 0; i < 24; i++) {
		snprintf(names[i], sizeof(names[i]), "s%u", 10 + i);
		reqs[i] = (struct cow_snapshot_request){
			.new_id = 10 + i, .origin_id = 2, .name = names[i] };
	}
	TRY(cow_pmd_snapshot(pmd, reqs, 24));
	fill(pmd, 2, 5, 2600, 7);
	TRY(cow_pmd_commit(pmd));

	step = "held root";
	TRY(cow_pmd_reserve_metadata_snap(pmd));
	TRY(cow_pmd_commit(pmd));
	fill(pmd, 1, 0, 2600, 3);
	/* Made after the hold: trees of their own, not shared with it. */
	TRY(cow_pmd_create_volume(pmd, 3, "doomed"));
	fill(pmd, 3, 0, 900, 1);
	TRY(cow_pmd_create_volume(pmd, 4, "deleting"));
	fill(pmd, 4, 0, 900, 1);
	TRY(cow_pmd_commit(pmd));

	/*
	 * Volume 3's deleting record is accounted first, then its tree goes
	 * to the dead list, freed a little at every later step.
	 */
	step = "dead list";
	TRY(cow_pmd_delete_volume(pmd, 3));
	do {
		TRY(cow_pmd_reclaim_step(pmd, 64, &more));
		TRY(cow_pmd_commit(pmd));
		if (!more) {
			fprintf(stderr, "cowmkimg: reclaim ended before the dead list was seen\n");
			return 1;
		}
	} while (!dead_root(bm));
	/* Before volume 4's record, which would take the budget first. */
	step = "internal nodes of the dead tree and the data space map index";
	dead_snapshots(pmd, 6, 100);
	sparse(pmd, 5);
	TRY(cow_pmd_commit(pmd));
	step = "deleting record";
	TRY(cow_pmd_delete_volume(pmd, 4));
	TRY(cow_pmd_reclaim_step(pmd, 16, &more));
	TRY(cow_pmd_commit(pmd));

	step = "close";
	cow_pmd_close(pmd);
	TRY(cow_bm_flush(bm));
	cow_bm_destroy(bm);	/* and the disk */
	return 0;
}
