// SPDX-License-Identifier: GPL-2.0-only
/*
 * Crash injection: a scripted workload is cut at every metadata write --
 * dropping the rest, tearing the write, or landing a random subset of the
 * unflushed writes in random order -- and the recovered pool must be
 * exactly at the last committed transaction (compared with the model
 * saved at each commit) and pass the independent checker.
 */
#include "cow-test.h"
#include "cow-test-pool.h"
#include "cow-check.h"

#define NV 4
#define NC 600
#define ND 4000
#define MD 160
#define MAX_COMMITS 64

struct cmodel {
	bool live[NV + 1];
	u32 map[NV + 1][NC];
};

struct crash_run {
	struct cow_disk *disk;		/* the crash disk under the cache */
	struct cow_block_manager *bm;
	struct cow_pool_metadata *pmd;
	struct cow_volume *h[NV + 1];
	struct cmodel m;
	struct cmodel *models;		/* [commit number] */
	u64 commits;			/* completed */
	bool in_commit_crash;		/* crashed inside commit number commits+1 */
	u64 seed;
};

static struct cow_disk *base_image;

/* Stop the workload as soon as the disk has lost power. */
#define STEP(cr, expr)							\
	do {								\
		int st_ = (expr);					\
		if (cow_crash_disk_crashed((cr)->disk))			\
			return 1;					\
		CHECK_OK(st_);						\
	} while (0)

static int do_commit(struct crash_run *cr)
{
	u64 t;

	STEP(cr, cow_pmd_get_transaction_id(cr->pmd, &t));
	STEP(cr, cow_pmd_set_transaction_id(cr->pmd, t, cr->commits + 1));
	cr->in_commit_crash = true;
	STEP(cr, cow_pmd_commit(cr->pmd));
	cr->in_commit_crash = false;
	cr->commits++;
	CHECK(cr->commits < MAX_COMMITS);
	cr->models[cr->commits] = cr->m;
	return 0;
}

static int do_write(struct crash_run *cr, u64 id, u32 slot)
{
	struct cow_lookup_result lr;
	u64 d;
	int r;

	r = cow_volume_lookup(cr->h[id], slot, true, &lr);
	if (cow_crash_disk_crashed(cr->disk))
		return 1;
	if (!r && !lr.shared)
		return 0;
	STEP(cr, cow_volume_alloc_chunk(cr->h[id], &d));
	STEP(cr, cow_volume_insert(cr->h[id], slot, d));
	cr->m.map[id][slot] = (u32)d + 1;
	return 0;
}

static int do_create(struct crash_run *cr, u64 id)
{
	STEP(cr, cow_pmd_create_volume(cr->pmd, id, "c"));
	STEP(cr, cow_pmd_open_volume(cr->pmd, id, &cr->h[id]));
	cr->m.live[id] = true;
	return 0;
}

static int do_snapshot(struct crash_run *cr, u64 origin, u64 a, u64 b)
{
	struct cow_snapshot_request req[2] = {
		{ .new_id = a, .origin_id = origin, .name = "s1" },
		{ .new_id = b, .origin_id = origin, .name = "s2" },
	};

	STEP(cr, cow_pmd_snapshot(cr->pmd, req, 2));
	STEP(cr, cow_pmd_open_volume(cr->pmd, a, &cr->h[a]));
	STEP(cr, cow_pmd_open_volume(cr->pmd, b, &cr->h[b]));
	cr->m.live[a] = cr->m.live[b] = true;
	memcpy(cr->m.map[a], cr->m.map[origin], sizeof(cr->m.map[a]));
	memcpy(cr->m.map[b], cr->m.map[origin], sizeof(cr->m.map[b]));
	return 0;
}

static int do_delete(struct crash_run *cr, u64 id)
{
	cow_pmd_close_volume(cr->h[id]);
	cr->h[id] = NULL;
	if (cow_crash_disk_crashed(cr->disk))
		return 1;
	STEP(cr, cow_pmd_delete_volume(cr->pmd, id));
	cr->m.live[id] = false;
	memset(cr->m.map[id], 0, sizeof(cr->m.map[id]));
	return 0;
}

static int do_remove(struct crash_run *cr, u64 id, u32 b, u32 e)
{
	STEP(cr, cow_volume_remove_range(cr->h[id], b, e, NULL, NULL));
	memset(&cr->m.map[id][b], 0, (e - b) * sizeof(u32));
	return 0;
}

static int do_writes(struct crash_run *cr, u64 id, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (do_write(cr, id, (u32)(tp_rand(&cr->seed) % NC)))
			return 1;
	return 0;
}

static int workload(struct crash_run *cr)
{
	bool more;

	if (do_create(cr, 1) || do_writes(cr, 1, 500) || do_commit(cr))
		return 1;
	if (do_snapshot(cr, 1, 2, 3) || do_writes(cr, 1, 150) ||
	    do_writes(cr, 2, 100) || do_commit(cr))
		return 1;
	if (do_remove(cr, 1, 10, 390) || do_writes(cr, 3, 20) || do_commit(cr))
		return 1;
	STEP(cr, cow_pmd_reserve_metadata_snap(cr->pmd));
	if (do_writes(cr, 2, 120) || do_delete(cr, 3) || do_commit(cr))
		return 1;
	STEP(cr, cow_pmd_reclaim_step(cr->pmd, 30, &more));
	if (do_commit(cr))
		return 1;
	STEP(cr, cow_pmd_release_metadata_snap(cr->pmd));
	if (do_create(cr, 4) || do_writes(cr, 4, 300) || do_commit(cr))
		return 1;
	cow_volume_set_quiesced(cr->h[2], true);
	STEP(cr, cow_pmd_rollback(cr->pmd, 2, 1));
	cow_volume_set_quiesced(cr->h[2], false);
	memcpy(cr->m.map[2], cr->m.map[1], sizeof(cr->m.map[2]));
	if (do_commit(cr))
		return 1;
	do {
		STEP(cr, cow_pmd_reclaim_step(cr->pmd, 50, &more));
		if (do_commit(cr))
			return 1;
	} while (more);
	if (do_writes(cr, 1, 30) || do_commit(cr))
		return 1;
	return 0;
}

/*----------------------------------------------------------------*/

static void start_run(struct crash_run *cr, u64 cut, enum cow_crash_mode mode,
		      unsigned int torn)
{
	struct cow_pmd_open_args args = { 0 };

	memset(&cr->m, 0, sizeof(cr->m));
	cr->commits = 0;
	cr->in_commit_crash = false;
	cr->seed = 0x1234567;
	memset(cr->h, 0, sizeof(cr->h));
	memset(&cr->models[0], 0, sizeof(cr->models[0]));
	CHECK_OK(cow_crash_disk_create(base_image, &cr->disk));
	cow_crash_disk_arm(cr->disk, cut, mode, torn);
	/* A small cache: dirty blocks get written back mid-transaction. */
	CHECK_OK(cow_cache_bm_create(cr->disk, 16, &cr->bm));
	CHECK_OK(cow_pmd_open(cr->bm, &args, &cr->pmd));
}

static void end_run(struct crash_run *cr)
{
	u64 id;

	for (id = 1; id <= NV; id++)
		if (cr->h[id])
			cow_pmd_close_volume(cr->h[id]);
	cow_pmd_close(cr->pmd);
	cow_bm_invalidate(cr->bm);
	cow_bm_destroy(cr->bm);
}

static void verify_recovered(struct cow_block_manager *bm, struct crash_run *cr)
{
	struct cow_pool_metadata *pmd = tp_open(bm);
	struct cow_lookup_result lr;
	struct cow_volume *v;
	struct cmodel *m;
	u64 t, id, d;
	u32 s;
	int r;

	CHECK_OK(cow_pmd_get_transaction_id(pmd, &t));
	CHECK_MSG(t == cr->commits || (t == cr->commits + 1 && cr->in_commit_crash),
		  "recovered at commit %llu, last completed %llu",
		  (unsigned long long)t, (unsigned long long)cr->commits);
	m = &cr->models[t];
	for (id = 1; id <= NV; id++) {
		r = cow_pmd_open_volume(pmd, id, &v);
		if (!m->live[id]) {
			CHECK_EQ(r, -ENOENT);
			continue;
		}
		CHECK_OK(r);
		for (s = 0; s < NC; s++) {
			r = cow_volume_lookup(v, s, true, &lr);
			if (!m->map[id][s]) {
				CHECK_EQ(r, -ENODATA);
			} else {
				CHECK_OK(r);
				CHECK_EQ(lr.dchunk, m->map[id][s] - 1);
			}
		}
		cow_pmd_close_volume(v);
	}
	tp_check(bm);
	/* And it must be usable again. */
	CHECK_OK(cow_pmd_create_volume(pmd, 99, "after"));
	CHECK_OK(cow_pmd_open_volume(pmd, 99, &v));
	CHECK_OK(cow_volume_alloc_chunk(v, &d));
	CHECK_OK(cow_volume_insert(v, 7, d));
	cow_pmd_close_volume(v);
	CHECK_OK(cow_pmd_commit(pmd));
	cow_pmd_close(pmd);
	tp_check(bm);
}

/* Run the workload cut at write @cut; returns false if it never got there. */
static bool crash_at(struct crash_run *cr, u64 cut, enum cow_crash_mode mode,
		     unsigned int torn, bool reorder)
{
	struct cow_block_manager *bm;
	struct cow_disk *img;
	bool crashed;

	start_run(cr, cut, mode, torn);
	workload(cr);
	crashed = cow_crash_disk_crashed(cr->disk);
	if (crashed)
		CHECK_OK(cow_crash_disk_power_cut(cr->disk, reorder, cut * 7919 + torn,
						  &img));
	end_run(cr);
	if (!crashed)
		return false;
	CHECK_OK(cow_cache_bm_create(img, 64, &bm));
	verify_recovered(bm, cr);
	cow_bm_destroy(bm);
	return true;
}

static u64 count_writes(struct crash_run *cr)
{
	u64 n;

	start_run(cr, 0, COW_CRASH_DROP, 0);
	CHECK_EQ(workload(cr), 0);
	n = cow_crash_disk_nr_writes(cr->disk);
	end_run(cr);
	return n;
}

static void setup(struct crash_run *cr)
{
	struct cow_block_manager *bm;
	struct cow_disk *d, *copy;

	cow_log_quiet = true;
	cr->models = calloc(MAX_COMMITS + 1, sizeof(*cr->models));
	CHECK(cr->models);
	CHECK_OK(cow_disk_mem_create(MD, &d));
	CHECK_OK(cow_cache_bm_create(d, 64, &bm));
	CHECK_OK(cow_pmd_format(bm, 8, ND));
	CHECK_OK(cow_disk_mem_clone(d, &copy));
	cow_bm_destroy(bm);
	base_image = copy;
}

static void teardown(struct crash_run *cr)
{
	cow_disk_destroy(base_image);
	base_image = NULL;
	free(cr->models);
	cow_log_quiet = false;
}

static void crash_every_write(enum cow_crash_mode mode, bool reorder)
{
	struct crash_run cr;
	u64 n, k, done = 0;
	unsigned int torn;

	setup(&cr);
	n = count_writes(&cr);
	CHECK(n > 100);
	for (k = 1; k <= n; k++) {
		torn = mode == COW_CRASH_TEAR ? 1 + (unsigned int)(k % 7) : 0;
		if (crash_at(&cr, k, mode, torn, reorder))
			done++;
	}
	CHECK_EQ(done, n);
	printf("  %llu crash points (%s%s), %llu commits each run\n",
	       (unsigned long long)done,
	       mode == COW_CRASH_TEAR ? "torn" : "drop",
	       reorder ? ", reordered" : "", (unsigned long long)cr.commits);
	teardown(&cr);
}

COW_TEST(crash_drop_at_every_write)
{
	crash_every_write(COW_CRASH_DROP, false);
}

COW_TEST(crash_tear_at_every_write)
{
	crash_every_write(COW_CRASH_TEAR, false);
}

COW_TEST(crash_reorder_unflushed_at_every_write)
{
	crash_every_write(COW_CRASH_DROP, true);
}

COW_TEST(crash_tear_and_reorder_at_every_write)
{
	crash_every_write(COW_CRASH_TEAR, true);
}
