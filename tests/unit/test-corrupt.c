// SPDX-License-Identifier: GPL-2.0-only
/*
 * Corruption: every metadata block of a committed pool, of every type, is
 * in turn bit-flipped, zeroed, overwritten by another block (misdirected
 * write) or replaced by a stale but self-consistent copy.  Opening and
 * using the pool must then fail with a clear error (a negative errno and
 * a cow_err line) or give correct answers -- never wrong ones -- and the
 * checker must report the damage.  Which blocks are referenced is decided
 * by a walk of the pristine image done here (not by the checker): the
 * corruption of every referenced block must be found by the checker and
 * stop the pool with -EILSEQ; that of an unreferenced one must change
 * nothing.
 */
#include "cow-test.h"
#include "cow-test-pool.h"
#include "cow-check.h"
#include "cow-format.h"

#define NV 4
#define NC 700
#define MD 256

struct corrupt_ctx {
	struct cow_disk *image;		/* the pristine committed pool */
	u32 map[NV + 1][NC];
	bool live[NV + 1];
	bool referenced[MD];		/* by the pristine pool (walk_image) */
	unsigned long cases[8][4];	/* [type][how] detected */
	unsigned long nr_referenced[8], nr_unreferenced[8];	/* blocks */
};

enum how { FLIP, ZERO, MISDIRECT, STALE };

static const u32 types[] = {
	COW_BT_SUPERBLOCK, COW_BT_NODE, COW_BT_MSM_ROOT, COW_BT_MSM_INDEX,
	COW_BT_MSM_RC, COW_BT_DSM_RC, COW_BT_HELD,
};

static const char *const type_names[] = {
	"superblock", "btree node", "msm root", "msm index", "msm refcount",
	"dsm refcount", "held root",
};

static int type_index(u32 type)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(types); i++)
		if (types[i] == type)
			return (int)i;
	return -1;
}

static const struct cow_block_validator *validator_of(u32 type)
{
	switch (type) {
	case COW_BT_SUPERBLOCK: return &cow_sb_validator;
	case COW_BT_NODE: return &cow_node_validator;
	case COW_BT_MSM_ROOT: return &cow_msm_root_validator;
	case COW_BT_MSM_INDEX: return &cow_msm_index_validator;
	case COW_BT_MSM_RC: return &cow_msm_rc_validator;
	case COW_BT_DSM_RC: return &cow_dsm_rc_validator;
	}
	return &cow_held_validator;
}

/* A pool with volumes, snapshots, a held root and a dead tree. */
static void build(struct corrupt_ctx *cc)
{
	struct cow_snapshot_request req = { .new_id = 2, .origin_id = 1, .name = "s" };
	struct cow_disk_superblock *sb;
	struct test_pool tp;
	struct cow_volume *v[NV + 1];
	u64 d, s, id;
	bool more;

	tp_create(&tp, MD, 5000, 64);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "one"));
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 3, "three"));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v[1]));
	for (s = 0; s < NC; s++) {
		CHECK_OK(cow_volume_alloc_chunk(v[1], &d));
		CHECK_OK(cow_volume_insert(v[1], s, d));
		cc->map[1][s] = (u32)d + 1;
	}
	CHECK_OK(cow_pmd_snapshot(tp.pmd, &req, 1));
	memcpy(cc->map[2], cc->map[1], sizeof(cc->map[1]));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 3, &v[3]));
	for (s = 0; s < NC; s += 2) {
		CHECK_OK(cow_volume_alloc_chunk(v[3], &d));
		CHECK_OK(cow_volume_insert(v[3], s, d));
		cc->map[3][s] = (u32)d + 1;
	}
	cow_pmd_close_volume(v[3]);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	CHECK_OK(cow_pmd_reserve_metadata_snap(tp.pmd));
	for (s = 0; s < NC; s += 3) {
		CHECK_OK(cow_volume_alloc_chunk(v[1], &d));
		CHECK_OK(cow_volume_insert(v[1], s, d));
		cc->map[1][s] = (u32)d + 1;
	}
	cow_pmd_close_volume(v[1]);
	/* A volume made after the hold is not shared: reclaim walks it. */
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 4, "four"));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 4, &v[4]));
	for (s = 0; s < NC; s++) {
		CHECK_OK(cow_volume_alloc_chunk(v[4], &d));
		CHECK_OK(cow_volume_insert(v[4], s, d));
	}
	cow_pmd_close_volume(v[4]);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	/*
	 * Volume 3's deleting record is accounted first; then its tree joins
	 * the dead list, where the next steps free it a little at a time.
	 * Volume 4 stays a deleting record.
	 */
	CHECK_OK(cow_pmd_delete_volume(tp.pmd, 3));
	memset(cc->map[3], 0, sizeof(cc->map[3]));
	do {
		CHECK_OK(cow_pmd_reclaim_step(tp.pmd, 10, &more));
		CHECK(more);
		CHECK_OK(cow_pmd_commit(tp.pmd));
		sb = cow_disk_mem_block(cow_cache_bm_disk(tp.bm), 0, false);
	} while (!le64_to_cpu(sb->dead_root.blocknr));
	CHECK_OK(cow_pmd_delete_volume(tp.pmd, 4));
	CHECK_OK(cow_pmd_reclaim_step(tp.pmd, 10, &more));
	CHECK(more);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	sb = cow_disk_mem_block(cow_cache_bm_disk(tp.bm), 0, false);
	CHECK_MSG(sb->dead_root.blocknr && sb->held_root.blocknr,
		  "the pool has a dead list and a held root");
	for (id = 1; id <= NV; id++)
		cc->live[id] = id <= 2;
	tp_close_pmd(&tp);
	tp_check(tp.bm);
	CHECK_OK(cow_disk_mem_clone(cow_cache_bm_disk(tp.bm), &cc->image));
	tp_destroy(&tp);
}

/*----------------------------------------------------------------*/
/* Which blocks the pristine pool references: its own walk, for the test */

static void *pristine(struct corrupt_ctx *cc, u64 b)
{
	void *p;

	CHECK_MSG(b && b < MD, "reference to block %llu", (unsigned long long)b);
	p = cow_disk_mem_block(cc->image, b, false);
	CHECK_MSG(p, "reference to unwritten block %llu", (unsigned long long)b);
	return p;
}

static void walk_tree(struct corrupt_ctx *cc, u64 b, u32 first);

static void walk_leaf_value(struct corrupt_ctx *cc, u32 tree, const u8 *value)
{
	const struct cow_disk_volume *rec = (const void *)value;
	const struct cow_disk_dead *dead = (const void *)value;
	const struct cow_disk_index_entry *e = (const void *)value;

	switch (tree) {
	case COW_TREE_VOLUMES:
		walk_tree(cc, le64_to_cpu(rec->mapping.blocknr), 0);
		break;
	case COW_TREE_DEAD:
		/* Entries before the cursor were handed over already. */
		walk_tree(cc, le64_to_cpu(dead->root.blocknr),
			  le32_to_cpu(dead->cursor));
		break;
	case COW_TREE_DSM_INDEX:
		if (le64_to_cpu(e->blocknr)) {
			pristine(cc, le64_to_cpu(e->blocknr));
			cc->referenced[le64_to_cpu(e->blocknr)] = true;
		}
		break;
	}
}

/* Mark btree node @b and everything beneath it, from entry @first on. */
static void walk_tree(struct corrupt_ctx *cc, u64 b, u32 first)
{
	struct cow_disk_node_header *n;
	u32 i, nr, vs;
	__le64 *keys;
	u8 *values;

	if (!b)
		return;
	n = pristine(cc, b);
	if (cc->referenced[b])
		return;		/* shared: its subtree is marked */
	cc->referenced[b] = true;
	nr = le32_to_cpu(n->nr_entries);
	vs = le32_to_cpu(n->value_size);
	keys = (__le64 *)(n + 1);
	values = (u8 *)(keys + le32_to_cpu(n->max_entries));
	for (i = first; i < nr; i++) {
		if (le32_to_cpu(n->flags) & COW_NODE_INTERNAL)
			walk_tree(cc, le64_to_cpu(((struct cow_disk_root *)
						   (values + i * vs))->blocknr), 0);
		else
			walk_leaf_value(cc, le32_to_cpu(n->tree), values + i * vs);
	}
}

static void walk_image(struct corrupt_ctx *cc)
{
	struct cow_disk_superblock *sb = cow_disk_mem_block(cc->image, 0, false);
	struct cow_disk_msm_root *mr;
	struct cow_disk_msm_index *ix;
	struct cow_disk_held *h;
	u64 b, nr = 0;
	u32 i, j;

	CHECK(sb);
	cc->referenced[0] = true;
	b = le64_to_cpu(sb->msm_root.blocknr);
	mr = pristine(cc, b);
	cc->referenced[b] = true;
	for (i = 0; i < le32_to_cpu(mr->nr_index); i++) {
		b = le64_to_cpu(mr->index[i].blocknr);
		ix = pristine(cc, b);
		cc->referenced[b] = true;
		for (j = 0; j < COW_MSM_INDEX_ENTRIES; j++) {
			b = le64_to_cpu(ix->entries[j].blocknr);
			if (b) {
				pristine(cc, b);
				cc->referenced[b] = true;
			}
		}
	}
	walk_tree(cc, le64_to_cpu(sb->dsm_root.blocknr), 0);
	walk_tree(cc, le64_to_cpu(sb->volumes_root.blocknr), 0);
	walk_tree(cc, le64_to_cpu(sb->dead_root.blocknr), 0);
	b = le64_to_cpu(sb->held_root.blocknr);
	CHECK_MSG(b, "the pristine pool holds a root");
	h = pristine(cc, b);
	cc->referenced[b] = true;
	walk_tree(cc, le64_to_cpu(h->volumes_root.blocknr), 0);
	CHECK_MSG(le64_to_cpu(sb->dead_root.blocknr), "the pristine pool has a dead tree");
	/* The pristine pool has no leak: what it allocated is what it uses. */
	for (b = 0; b < MD; b++)
		nr += cc->referenced[b];
	CHECK_EQ(nr, le64_to_cpu(sb->msm_nr_allocated));
}

/* Use the whole pool; returns the first error (0 if all went well). */
static int exercise(struct corrupt_ctx *cc, struct cow_block_manager *bm)
{
	struct cow_pmd_open_args args = { 0 };
	struct cow_pool_metadata *pmd;
	struct cow_lookup_result lr;
	struct cow_volume *v;
	int r, first = 0;
	u64 id, s;
	bool more;

	r = cow_pmd_open(bm, &args, &pmd);
	if (r)
		return r;
	for (id = 1; id <= NV && !first; id++) {
		if (!cc->live[id])
			continue;
		r = cow_pmd_open_volume(pmd, id, &v);
		if (r) {
			first = r;
			break;
		}
		for (s = 0; s < NC; s++) {
			r = cow_volume_lookup(v, s, true, &lr);
			if (r == -ENODATA && !cc->map[id][s])
				continue;
			if (r) {
				first = r;
				break;
			}
			/* Never a wrong answer. */
			CHECK_MSG(lr.dchunk + 1 == cc->map[id][s],
				  "volume %llu chunk %llu: %llu, expected %u",
				  (unsigned long long)id, (unsigned long long)s,
				  (unsigned long long)lr.dchunk, cc->map[id][s]);
		}
		cow_pmd_close_volume(v);
	}
	if (!first) {
		r = cow_pmd_reclaim_step(pmd, 100000, &more);
		if (!r)
			r = cow_pmd_release_metadata_snap(pmd);
		if (!r)
			r = cow_pmd_reclaim_step(pmd, 100000, &more);
		if (!r)
			r = cow_pmd_commit(pmd);
		first = r;
	}
	cow_pmd_close(pmd);
	return first;
}

static void corrupt(struct cow_disk *img, u64 b, enum how how, u64 *seed)
{
	u8 *p = cow_disk_mem_block(img, b, true);
	struct cow_disk_block_header *h = (void *)p;
	struct cow_block blk = {
		.location = b, .data = p,
		.csum_seed = cow_sb_csum_seed(cow_disk_mem_block(img, 0, false)),
	};
	u64 other, n = cow_disk_nr_blocks(img);
	u8 *q;
	size_t len = le32_to_cpu(h->type) == COW_BT_SUPERBLOCK ? COW_SB_SIZE :
		COW_METADATA_BLOCK_SIZE;
	u32 type = le32_to_cpu(h->type);

	switch (how) {
	case FLIP:
		p[tp_rand(seed) % len] ^= 1u << (tp_rand(seed) % 8);
		break;
	case ZERO:
		memset(p, 0, COW_METADATA_BLOCK_SIZE);
		break;
	case MISDIRECT:
		/* Another written block of the same type lands here. */
		for (other = (b + 1) % n; other != b; other = (other + 1) % n) {
			q = cow_disk_mem_block(img, other, false);
			if (q && le32_to_cpu(((struct cow_disk_block_header *)q)->type) ==
			    type)
				break;
		}
		q = cow_disk_mem_block(img, other, false);
		if (other == b || !q)
			memset(p, 0xa5, COW_METADATA_BLOCK_SIZE);
		else
			memcpy(p, q, COW_METADATA_BLOCK_SIZE);
		break;
	case STALE:
		/* A valid block of an older transaction: a lost write. */
		h->txn = cpu_to_le64(le64_to_cpu(h->txn) - 1);
		validator_of(type)->prepare_for_write(validator_of(type), &blk,
						       COW_METADATA_BLOCK_SIZE);
		break;
	}
}

static bool checker_flags(struct cow_disk *img)
{
	struct cow_check_report *rep = calloc(1, sizeof(*rep));
	struct cow_block_manager *bm;
	struct cow_disk *copy;
	bool bad;

	CHECK(rep);
	CHECK_OK(cow_disk_mem_clone(img, &copy));
	CHECK_OK(cow_cache_bm_create(copy, 256, &bm));
	CHECK_OK(cow_check_pool(bm, rep));
	cow_bm_destroy(bm);
	bad = rep->nr_problems > 0;
	CHECK_MSG(bad || rep->accounted, "a clean report without the counters checked");
	free(rep);
	return bad;
}

static const char *const how_names[] = { "flip", "zero", "misdirect", "stale" };

/* Corrupt block @b of type index @ti in way @how: found exactly when used. */
static void corrupt_case(struct corrupt_ctx *cc, u64 b, int ti, enum how how,
			 u64 *seed)
{
	struct cow_block_manager *bm;
	struct cow_disk *img;
	unsigned long errs;
	bool flagged;
	int r;

	CHECK_OK(cow_disk_mem_clone(cc->image, &img));
	corrupt(img, b, how, seed);
	flagged = checker_flags(img);
	errs = cow_log_errors;
	CHECK_OK(cow_cache_bm_create(img, 64, &bm));
	r = exercise(cc, bm);
	cow_bm_destroy(bm);
	if (!cc->referenced[b]) {
		/* Nothing uses it: nothing may notice. */
		CHECK_MSG(!flagged, "checker flags unreferenced %s block %llu (%s)",
			  type_names[ti], (unsigned long long)b, how_names[how]);
		CHECK_MSG(!r, "unreferenced %s block %llu (%s): error %d",
			  type_names[ti], (unsigned long long)b, how_names[how], r);
		return;
	}
	CHECK_MSG(flagged, "checker misses corrupt %s block %llu (%s)",
		  type_names[ti], (unsigned long long)b, how_names[how]);
	CHECK_MSG(r < 0, "corrupt %s block %llu (%s) went unnoticed by the pool",
		  type_names[ti], (unsigned long long)b, how_names[how]);
	/* Detected as corruption, not as some other failure. */
	CHECK_MSG(r == -EILSEQ, "corrupt %s block %llu (%s): error %d",
		  type_names[ti], (unsigned long long)b, how_names[how], r);
	CHECK_MSG(cow_log_errors > errs, "no error logged for block %llu",
		  (unsigned long long)b);
	cc->cases[ti][how]++;
}

COW_TEST(corruption_every_block_every_way)
{
	struct corrupt_ctx *cc = calloc(1, sizeof(*cc));
	u64 b, seed = cow_test_seed() | 1, total = 0;
	enum how how;
	int ti;
	u8 *p;

	CHECK(cc);
	cow_log_quiet = true;
	build(cc);
	walk_image(cc);
	for (b = 0; b < MD; b++) {
		p = cow_disk_mem_block(cc->image, b, false);
		if (!p) {
			CHECK_MSG(!cc->referenced[b], "referenced block %llu unwritten",
				  (unsigned long long)b);
			continue;
		}
		ti = type_index(le32_to_cpu(((struct cow_disk_block_header *)p)->type));
		CHECK_MSG(ti >= 0 || !cc->referenced[b],
			  "referenced block %llu of unknown type", (unsigned long long)b);
		if (ti < 0)
			continue;
		if (cc->referenced[b])
			cc->nr_referenced[ti]++;
		else
			cc->nr_unreferenced[ti]++;
		for (how = FLIP; how <= STALE; how++)
			corrupt_case(cc, b, ti, how, &seed);
	}
	for (ti = 0; ti < (int)ARRAY_SIZE(types); ti++) {
		printf("  %-13s %3lu referenced blocks: detected %lu/%lu/%lu/%lu (flip/zero/misdirect/stale); %lu unreferenced, untouched\n",
		       type_names[ti], cc->nr_referenced[ti], cc->cases[ti][FLIP],
		       cc->cases[ti][ZERO], cc->cases[ti][MISDIRECT], cc->cases[ti][STALE],
		       cc->nr_unreferenced[ti]);
		CHECK_MSG(cc->nr_referenced[ti], "no referenced %s block", type_names[ti]);
		for (how = FLIP; how <= STALE; how++) {
			CHECK_EQ(cc->cases[ti][how], cc->nr_referenced[ti]);
			total += cc->cases[ti][how];
		}
	}
	printf("  %llu corruption cases of referenced blocks, all detected\n",
	       (unsigned long long)total);
	cow_disk_destroy(cc->image);
	free(cc);
	cow_log_quiet = false;
}
