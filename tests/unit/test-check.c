// SPDX-License-Identifier: GPL-2.0-only
/*
 * The independent checker's own contracts: a report without problems has
 * the counters checked (a check that could not check them says so), and
 * the check of a held root recomputes every volume's counters and compares
 * them with those the held records store.
 */
#include "cow-test.h"
#include "cow-test-pool.h"
#include "cow-check.h"
#include "cow-format.h"

#define NC 600

/*----------------------------------------------------------------*/
/* A block manager whose reads of one block fail after the first few */

struct failing_bm {
	struct cow_block_manager bm;
	struct cow_block_manager *inner;
	u64 block;
	unsigned int reads_left;	/* then -EIO */
};

static struct failing_bm *to_fbm(struct cow_block_manager *bm)
{
	return container_of(bm, struct failing_bm, bm);
}

static void fbm_destroy(struct cow_block_manager *bm)
{
	cow_bm_destroy(to_fbm(bm)->inner);
	free(to_fbm(bm));
}

static cow_block_t fbm_nr_blocks(struct cow_block_manager *bm)
{
	return cow_bm_nr_blocks(to_fbm(bm)->inner);
}

static int fbm_lock_read(struct cow_block_manager *bm, cow_block_t b,
			 const struct cow_block_validator *v, struct cow_block **result)
{
	struct failing_bm *f = to_fbm(bm);

	if (b == f->block) {
		if (!f->reads_left)
			return -EIO;
		f->reads_left--;
	}
	/* The checker seeds us; the inner block manager validates. */
	cow_bm_set_csum_seed(f->inner, bm->csum_seed);
	return cow_bm_read_lock(f->inner, b, v, result);
}

static int fbm_try_lock_read(struct cow_block_manager *bm, cow_block_t b,
			     const struct cow_block_validator *v,
			     struct cow_block **result)
{
	return fbm_lock_read(bm, b, v, result);
}

static int fbm_lock_write(struct cow_block_manager *bm, cow_block_t b,
			  const struct cow_block_validator *v, struct cow_block **result)
{
	(void)bm, (void)b, (void)v, (void)result;
	return -EROFS;
}

static void fbm_unlock(struct cow_block_manager *bm, struct cow_block *b)
{
	cow_bm_unlock(to_fbm(bm)->inner, b);
}

static int fbm_flush(struct cow_block_manager *bm)
{
	(void)bm;
	return 0;
}

static void fbm_prefetch(struct cow_block_manager *bm, cow_block_t b)
{
	(void)bm, (void)b;
}

static void fbm_invalidate(struct cow_block_manager *bm)
{
	(void)bm;
}

static bool fbm_is_read_only(struct cow_block_manager *bm)
{
	(void)bm;
	return true;
}

static void fbm_set_read_only(struct cow_block_manager *bm, bool ro)
{
	(void)bm, (void)ro;
}

static const struct cow_bm_ops fbm_ops = {
	.destroy = fbm_destroy,
	.nr_blocks = fbm_nr_blocks,
	.lock_read = fbm_lock_read,
	.lock_write = fbm_lock_write,
	.lock_write_zero = fbm_lock_write,
	.try_lock_read = fbm_try_lock_read,
	.unlock = fbm_unlock,
	.flush = fbm_flush,
	.prefetch = fbm_prefetch,
	.invalidate = fbm_invalidate,
	.is_read_only = fbm_is_read_only,
	.set_read_only = fbm_set_read_only,
};

/* A read-only view of a copy of @disk; reads of @block fail after @reads. */
static struct cow_block_manager *failing_bm(struct cow_disk *disk, u64 block,
					    unsigned int reads)
{
	struct failing_bm *f = calloc(1, sizeof(*f));
	struct cow_disk *copy;

	CHECK(f);
	CHECK_OK(cow_disk_mem_clone(disk, &copy));
	CHECK_OK(cow_cache_bm_create(copy, 4096, &f->inner));
	f->bm.ops = &fbm_ops;
	f->bm.csum_seed = COW_CSUM_SEED_LEGACY;
	f->block = block;
	f->reads_left = reads;
	return &f->bm;
}

/*----------------------------------------------------------------*/

static void fill(struct cow_pool_metadata *pmd, u64 id, u64 from, u64 to, u64 step)
{
	struct cow_volume *v;
	u64 s, d;

	CHECK_OK(cow_pmd_open_volume(pmd, id, &v));
	for (s = from; s < to; s += step) {
		CHECK_OK(cow_volume_alloc_chunk(v, &d));
		CHECK_OK(cow_volume_insert(v, s, d));
	}
	cow_pmd_close_volume(v);
}

/* Volume 1 and its snapshot 2, each with chunks of its own; committed. */
static void build(struct test_pool *tp)
{
	struct cow_snapshot_request req = { .new_id = 2, .origin_id = 1, .name = "s" };

	tp_create(tp, 256, 4000, 64);
	CHECK_OK(cow_pmd_create_volume(tp->pmd, 1, "one"));
	fill(tp->pmd, 1, 0, NC, 1);
	CHECK_OK(cow_pmd_snapshot(tp->pmd, &req, 1));
	fill(tp->pmd, 1, 0, NC, 3);
	fill(tp->pmd, 2, 1, NC, 5);
	CHECK_OK(cow_pmd_commit(tp->pmd));
}

/* The first record of the (one-leaf) volumes tree at @root_block. */
static struct cow_disk_volume *first_record(struct cow_disk *d, u64 root_block,
					    u64 *leaf)
{
	struct cow_disk_node_header *n = cow_disk_mem_block(d, root_block, false);

	CHECK(n && le32_to_cpu(n->flags) == COW_NODE_LEAF);
	*leaf = root_block;
	return (void *)((u8 *)(n + 1) + le32_to_cpu(n->max_entries) * sizeof(__le64));
}

/* Rewrite the checksum of block @b of @d after an edit of its contents. */
static void reseal(struct cow_disk *d, u64 b, const struct cow_block_validator *v)
{
	struct cow_block blk = {
		.location = b,
		.data = cow_disk_mem_block(d, b, false),
		.csum_seed = cow_sb_csum_seed(cow_disk_mem_block(d, 0, false)),
	};

	v->prepare_for_write(v, &blk, COW_METADATA_BLOCK_SIZE);
}

static void check_held(struct cow_disk *d, u64 held, struct cow_check_report *rep)
{
	struct cow_block_manager *bm = failing_bm(d, 0, ~0u);

	CHECK_OK(cow_check_held_root(bm, held, rep));
	cow_bm_destroy(bm);
}

COW_TEST(check_that_cannot_account_is_not_clean)
{
	struct cow_check_report *rep = calloc(1, sizeof(*rep));
	struct cow_disk_superblock *sb;
	struct cow_disk_volume *rec;
	struct cow_block_manager *bm;
	struct test_pool tp;
	struct cow_disk *d;
	u64 leaf, vleaf;

	CHECK(rep);
	build(&tp);
	tp_check(tp.bm);
	d = cow_cache_bm_disk(tp.bm);
	/* Volume 1's mapping root: read once by the walk, again by account(). */
	sb = cow_disk_mem_block(d, 0, false);
	rec = first_record(d, le64_to_cpu(sb->volumes_root.blocknr), &vleaf);
	CHECK_EQ(le64_to_cpu(rec->id), 1);
	leaf = le64_to_cpu(rec->mapping.blocknr);
	CHECK(leaf);

	cow_log_quiet = true;
	bm = failing_bm(d, leaf, 1);
	CHECK_OK(cow_check_pool(bm, rep));
	cow_bm_destroy(bm);
	cow_log_quiet = false;
	CHECK(!rep->accounted);
	CHECK_MSG(rep->nr_problems > 0, "an unchecked report is clean");
	CHECK(rep->nr_stored > 0);
	CHECK_MSG(strstr(rep->problems[0].msg, "unreadable while accounting"),
		  "problem: %s", rep->problems[0].msg);

	/* Unfailing, the same image is clean and accounted. */
	bm = failing_bm(d, leaf, ~0u);
	CHECK_OK(cow_check_pool(bm, rep));
	cow_bm_destroy(bm);
	CHECK_EQ(rep->nr_problems, 0);
	CHECK(rep->accounted);
	tp_destroy(&tp);
	free(rep);
}

COW_TEST(check_held_root_recomputes_counters)
{
	struct cow_check_report *rep = calloc(1, sizeof(*rep));
	struct cow_snapshot_request req = { .new_id = 3, .origin_id = 1, .name = "t" };
	struct cow_volume_info info[3];
	struct cow_disk_held *h;
	struct cow_disk_volume *rec;
	struct test_pool tp;
	struct cow_disk *d, *bad;
	u64 held, leaf;
	unsigned int i;

	CHECK(rep);
	build(&tp);
	CHECK_OK(cow_pmd_reserve_metadata_snap(tp.pmd));
	CHECK_OK(cow_pmd_commit(tp.pmd));
	CHECK_OK(cow_pmd_get_held_root(tp.pmd, &held));
	CHECK(held);
	for (i = 1; i <= 2; i++)
		CHECK_OK(cow_pmd_get_volume_info(tp.pmd, i, &info[i]));
	/* The live pool moves on: the held counters stay those of the hold. */
	fill(tp.pmd, 1, 1, NC, 4);
	CHECK_OK(cow_pmd_snapshot(tp.pmd, &req, 1));
	fill(tp.pmd, 3, 0, NC, 2);
	CHECK_OK(cow_pmd_delete_volume(tp.pmd, 2));
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);
	d = cow_cache_bm_disk(tp.bm);

	check_held(d, held, rep);
	CHECK_EQ(rep->nr_problems, 0);
	CHECK(rep->accounted);
	CHECK(rep->held_root);
	CHECK_EQ(rep->nr_volumes, 2);
	CHECK_EQ(rep->nr_volume_counters, 2);
	for (i = 1; i <= 2; i++) {
		struct cow_check_volume *vc = &rep->volume_counters[i - 1];

		CHECK_EQ(vc->id, i);
		CHECK_EQ(vc->mapped_chunks, info[i].mapped_chunks);
		CHECK_EQ(vc->exclusive_chunks, info[i].exclusive_chunks);
		CHECK_EQ(vc->written_since_origin, info[i].written_since_origin);
	}
	CHECK(info[1].exclusive_chunks && info[2].exclusive_chunks);

	/* A held record whose stored counter is off by one is an error. */
	CHECK_OK(cow_disk_mem_clone(d, &bad));
	h = cow_disk_mem_block(bad, held, false);
	rec = first_record(bad, le64_to_cpu(h->volumes_root.blocknr), &leaf);
	CHECK_EQ(le64_to_cpu(rec->id), 1);
	rec->exclusive_chunks = cpu_to_le64(le64_to_cpu(rec->exclusive_chunks) + 1);
	reseal(bad, leaf, &cow_node_validator);
	cow_log_quiet = true;
	check_held(bad, held, rep);
	CHECK_EQ(rep->nr_problems, 1);
	CHECK_EQ(rep->nr_by_kind[COW_CHECK_COUNTER], 1);
	CHECK_MSG(strstr(rep->problems[0].msg, "volume 1 exclusive_chunks"),
		  "problem: %s", rep->problems[0].msg);

	/* Not the superblock's held root: refused, not checked. */
	check_held(d, held + 1, rep);
	cow_log_quiet = false;
	CHECK(rep->nr_problems > 0);
	CHECK(!rep->accounted);
	cow_disk_destroy(bad);
	tp_destroy(&tp);
	free(rep);
}

/*
 * A dead entry at or above the superblock's next sequence number would be
 * overwritten by the next one pushed, and its tree leaked: the checker
 * reports it, and the core refuses to overwrite (found by fuzzing: a
 * lowered dead_next_seq passed the check, then a delete leaked 309 blocks).
 */
COW_TEST(check_dead_entry_below_next_sequence)
{
	struct cow_check_report *rep = calloc(1, sizeof(*rep));
	struct cow_disk_superblock *sb;
	struct cow_pool_metadata *pmd;
	struct cow_block_manager *bm;
	struct test_pool tp;
	struct cow_disk *bad;
	u64 next;

	CHECK(rep);
	build(&tp);
	/* Released, the held root's volumes tree becomes a dead entry. */
	CHECK_OK(cow_pmd_reserve_metadata_snap(tp.pmd));
	CHECK_OK(cow_pmd_commit(tp.pmd));
	CHECK_OK(cow_pmd_release_metadata_snap(tp.pmd));
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);

	CHECK_OK(cow_disk_mem_clone(cow_cache_bm_disk(tp.bm), &bad));
	sb = cow_disk_mem_block(bad, 0, false);
	CHECK_EQ(le64_to_cpu(sb->dead_root.count), 1);
	next = le64_to_cpu(sb->dead_next_seq);
	CHECK(next > 0);
	sb->dead_next_seq = cpu_to_le64(next - 1);
	reseal(bad, 0, &cow_sb_validator);
	CHECK_OK(cow_cache_bm_create(bad, 64, &bm));
	cow_log_quiet = true;
	tp_check_report(bm, rep);
	CHECK_EQ(rep->nr_problems, 1);
	CHECK_EQ(rep->nr_by_kind[COW_CHECK_COUNTER], 1);
	CHECK_MSG(strstr(rep->problems[0].msg, "not below the next sequence number"),
		  "problem: %s", rep->problems[0].msg);

	/* The next push would land on that entry: refused as corruption. */
	pmd = tp_open(bm);
	CHECK_OK(cow_pmd_reserve_metadata_snap(pmd));
	CHECK_OK(cow_pmd_commit(pmd));
	CHECK_EQ(cow_pmd_release_metadata_snap(pmd), -EILSEQ);
	cow_log_quiet = false;
	cow_pmd_close(pmd);
	cow_bm_destroy(bm);
	tp_destroy(&tp);
	free(rep);
}

/*
 * A node shared by two trees is walked once; the second parent's
 * reference must still agree with it.  Here the snapshot's root names a
 * shared leaf with a wrong stamp: the kernel's lookup through it fails
 * ("stale or lost"), so the checker must not call the pool clean (found by
 * metadata-fuzz-kernel: check exited 0 on such an image).
 */
COW_TEST(check_second_reference_to_shared_node)
{
	struct cow_snapshot_request req = { .new_id = 2, .origin_id = 1, .name = "s" };
	struct cow_check_report *rep = calloc(1, sizeof(*rep));
	struct cow_disk_superblock *sb;
	struct cow_disk_node_header *root;
	struct cow_disk_volume *rec;
	struct cow_disk_root *child;
	struct cow_block_manager *bm;
	struct test_pool tp;
	struct cow_disk *bad;
	u64 leaf, root_block;

	CHECK(rep);
	tp_create(&tp, 256, 4000, 64);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "one"));
	fill(tp.pmd, 1, 0, NC, 1);
	CHECK_OK(cow_pmd_snapshot(tp.pmd, &req, 1));
	/* The origin's root and first leaf are its own now; the rest is shared. */
	fill(tp.pmd, 1, 0, 1, 1);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);

	CHECK_OK(cow_disk_mem_clone(cow_cache_bm_disk(tp.bm), &bad));
	sb = cow_disk_mem_block(bad, 0, false);
	rec = first_record(bad, le64_to_cpu(sb->volumes_root.blocknr), &leaf);
	CHECK_EQ(le64_to_cpu(rec[1].id), 2);
	root_block = le64_to_cpu(rec[1].mapping.blocknr);
	root = cow_disk_mem_block(bad, root_block, false);
	CHECK(root && le32_to_cpu(root->flags) == COW_NODE_INTERNAL);
	CHECK(le32_to_cpu(root->nr_entries) >= 2);
	child = (struct cow_disk_root *)((u8 *)(root + 1) +
					 le32_to_cpu(root->max_entries) * sizeof(__le64)) + 1;
	child->txn = cpu_to_le64(le64_to_cpu(child->txn) + 1);
	reseal(bad, root_block, &cow_node_validator);
	CHECK_OK(cow_cache_bm_create(bad, 64, &bm));
	cow_log_quiet = true;
	tp_check_report(bm, rep);
	cow_log_quiet = false;
	CHECK_EQ(rep->nr_problems, 1);
	CHECK_EQ(rep->nr_by_kind[COW_CHECK_CORRUPT], 1);
	CHECK_MSG(strstr(rep->problems[0].msg, "reference says"),
		  "problem: %s", rep->problems[0].msg);
	cow_bm_destroy(bm);
	tp_destroy(&tp);
	free(rep);
}
