// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the btree: random inserts and removals against a model
 * (deep enough for three levels), shared subtrees with value reference
 * counting, diff, walks and the non-blocking lookup.
 */
#include "cow-test.h"
#include "cow-test-pool.h"
#include "cow-space-map.h"
#include "cow-transaction-manager.h"
#include "cow-btree.h"

#define NK 60000u

struct bt_env {
	struct cow_block_manager *bm;
	struct cow_space_map *msm;
	struct cow_tm tm;
	struct cow_btree_info info;
	u32 *refs;		/* value -> references held by trees */
};

static int inc_values(void *context, const void *values, unsigned int nr)
{
	struct bt_env *e = context;
	const __le64 *v = values;
	unsigned int i;

	for (i = 0; i < nr; i++)
		e->refs[le64_to_cpu(v[i])]++;
	return 0;
}

static int drop_value(void *context, u64 key, void *value)
{
	struct bt_env *e = context;

	(void)key;
	CHECK(e->refs[le64_to_cpu(*(__le64 *)value)] > 0);
	e->refs[le64_to_cpu(*(__le64 *)value)]--;
	return 0;
}

static void env_create(struct bt_env *e)
{
	struct cow_disk *d;
	u64 b;

	memset(e, 0, sizeof(*e));
	CHECK_OK(cow_disk_mem_create(8192, &d));
	CHECK_OK(cow_cache_bm_create(d, 1024, &e->bm));
	CHECK_OK(cow_msm_create(e->bm, 8192, &e->msm));
	CHECK_OK(cow_sm_new_block(e->msm, 0, &b));
	cow_tm_init(&e->tm, e->bm, e->msm, 1);
	e->info.tm = &e->tm;
	e->info.tree = COW_TREE_TEST;
	e->info.vt.size = sizeof(__le64);
	e->info.vt.context = e;
	e->info.vt.inc = inc_values;
	e->refs = calloc(NK * 4, sizeof(u32));
	CHECK(e->refs);
}

static void env_destroy(struct bt_env *e)
{
	cow_sm_destroy(e->msm);
	cow_bm_invalidate(e->bm);
	cow_bm_destroy(e->bm);
	free(e->refs);
}

/* Insert @key -> @val, dropping the overwritten value's reference. */
static void put(struct bt_env *e, struct cow_root *root, u64 key, u64 val)
{
	__le64 v = cpu_to_le64(val), old;
	bool existed;

	CHECK_OK(cow_btree_insert(&e->info, root, key, &v, &old, &existed));
	e->refs[val]++;
	if (existed)
		drop_value(e, key, &old);
}

static int count_fn(void *context, u64 key, void *value)
{
	u64 *c = context;

	(void)key;
	(void)value;
	c[0]++;
	CHECK(c[1] == ~0ULL || key > c[1]);
	c[1] = key;
	return 0;
}

static u64 count_walk(struct bt_env *e, struct cow_root *root, u64 b, u64 end)
{
	u64 c[2] = { 0, ~0ULL };

	CHECK_OK(cow_btree_walk(&e->info, root, b, end, count_fn, c));
	return c[0];
}

COW_TEST(btree_random_against_model)
{
	struct bt_env e;
	struct cow_root root = { 0, 0, 0 };
	u64 *model = calloc(NK, sizeof(u64)), seed = cow_test_seed() | 1;
	u64 i, k, n = 0, found, removed, b, end;
	__le64 v;

	CHECK(model);
	env_create(&e);
	for (i = 0; i < 4 * NK; i++) {
		k = tp_rand(&seed) % NK;
		if (tp_rand(&seed) % 8) {
			n += !model[k];
			model[k] = 1 + tp_rand(&seed) % (NK * 3);
			put(&e, &root, k * 3, model[k]);
		} else {
			b = k;
			end = min_t(u64, NK, b + tp_rand(&seed) % 64);
			CHECK_OK(cow_btree_remove_range(&e.info, &root, b * 3,
							end * 3, drop_value, &e,
							&removed));
			for (k = b; k < end; k++) {
				removed -= !!model[k];
				n -= !!model[k];
				model[k] = 0;
			}
			CHECK_EQ(removed, 0);
		}
		CHECK_EQ(root.count, n);
		if (i % 50000 == 0)
			CHECK_EQ(count_walk(&e, &root, 0, U64_MAX), n);
	}
	for (k = 0; k < NK; k++) {
		int r = cow_btree_lookup(&e.info, &root, k * 3, &v);

		if (!model[k]) {
			CHECK_EQ(r, -ENODATA);
			continue;
		}
		CHECK_OK(r);
		CHECK_EQ(le64_to_cpu(v), model[k]);
		CHECK_EQ(cow_btree_lookup(&e.info, &root, k * 3 + 1, &v), -ENODATA);
		CHECK_OK(cow_btree_lookup_ge(&e.info, &root, k * 3 - (k ? 2 : 0),
					     &found, &v));
		CHECK_EQ(found, k * 3);
	}
	CHECK_OK(cow_btree_find_highest(&e.info, &root, &found, &v));
	for (k = NK; k-- > 0;)
		if (model[k])
			break;
	CHECK_EQ(found, k * 3);
	CHECK_EQ(count_walk(&e, &root, 300, 900), ({
		u64 c = 0, j;

		for (j = 100; j < 300; j++)
			c += !!model[j];
		c;
	}));
	/* Everything out: the tree collapses to nothing. */
	CHECK_OK(cow_btree_remove_range(&e.info, &root, 0, U64_MAX, drop_value,
					&e, &removed));
	CHECK_EQ(removed, n);
	CHECK_EQ(root.blocknr, 0);
	CHECK_EQ(root.count, 0);
	for (k = 0; k < NK * 3; k++)
		CHECK_EQ(e.refs[k], 0);
	/* Only the "superblock" is still allocated. */
	CHECK_EQ(cow_sm_nr_free(e.msm), 8191);
	free(model);
	env_destroy(&e);
}

/*
 * Keys inserted in ascending order (a volume filled front to back) leave
 * nodes 15/16 full behind, not halves; descending ones still split in half.
 * Either way every key is found and the walk is in order.
 */
COW_TEST(btree_ascending_inserts_fill_nodes)
{
	u32 leaf_fill = cow_node_max_entries(sizeof(__le64)) * 15 / 16;
	u64 free0, used, leaves = (NK + leaf_fill - 1) / leaf_fill, k;
	struct cow_root up = { 0, 0, 0 }, down = { 0, 0, 0 };
	struct bt_env e;
	__le64 v;

	env_create(&e);
	free0 = cow_sm_nr_free(e.msm);
	for (k = 0; k < NK; k++)
		put(&e, &up, k, k + 1);
	used = free0 - cow_sm_nr_free(e.msm);
	printf("  %u ascending keys: %llu nodes (%llu leaves 15/16 full hold them)\n", NK,
	       (unsigned long long)used, (unsigned long long)leaves);
	/* The leaves and a few internal nodes (one per ~150 leaves, a root). */
	CHECK_MSG(used <= leaves + leaves / 64 + 3, "%llu nodes for %llu leaves' worth",
		  (unsigned long long)used, (unsigned long long)leaves);
	CHECK_EQ(count_walk(&e, &up, 0, U64_MAX), NK);
	for (k = 0; k < NK; k += 97) {
		CHECK_OK(cow_btree_lookup(&e.info, &up, k, &v));
		CHECK_EQ(le64_to_cpu(v), k + 1);
	}
	free0 = cow_sm_nr_free(e.msm);
	for (k = NK; k-- > 0;)
		put(&e, &down, k, k + 1);
	used = free0 - cow_sm_nr_free(e.msm);
	CHECK_MSG(used >= 2 * (NK / cow_node_max_entries(sizeof(__le64))) - 2,
		  "descending: %llu nodes (halves expected)", (unsigned long long)used);
	CHECK_EQ(count_walk(&e, &down, 0, U64_MAX), NK);
	env_destroy(&e);
}

static int diff_fn(void *context, u64 key, const void *va, const void *vb)
{
	u64 *c = context;

	CHECK(key > c[1] || c[1] == ~0ULL);
	c[1] = key;
	c[0]++;
	CHECK(!va || !vb || memcmp(va, vb, 8));
	return 0;
}

COW_TEST(btree_shared_subtrees_and_diff)
{
	struct bt_env e;
	struct cow_root a = { 0, 0, 0 }, b;
	u64 i, c[2], reads;
	u32 cnt;

	env_create(&e);
	for (i = 0; i < 40000; i++)
		put(&e, &a, i, i + 1);
	/* Snapshot: O(1), share the root. */
	b = a;
	CHECK_OK(cow_tm_inc(&e.tm, b.blocknr));
	c[0] = 0;
	c[1] = ~0ULL;
	reads = cow_cache_bm_disk(e.bm)->nr_reads;
	CHECK_OK(cow_btree_diff(&e.info, &a, &b, diff_fn, c));
	CHECK_EQ(c[0], 0);
	CHECK_EQ(cow_cache_bm_disk(e.bm)->nr_reads, reads);
	/* Change a few keys of b: a is untouched, the diff finds just those. */
	put(&e, &b, 5, 100001);
	put(&e, &b, 20000, 100002);
	put(&e, &b, 50000, 100003);
	CHECK_OK(cow_btree_remove_range(&e.info, &b, 30000, 30010, drop_value,
					&e, NULL));
	c[0] = 0;
	c[1] = ~0ULL;
	CHECK_OK(cow_btree_diff(&e.info, &a, &b, diff_fn, c));
	CHECK_EQ(c[0], 3 + 10);
	{
		__le64 v;

		CHECK_OK(cow_btree_lookup(&e.info, &a, 5, &v));
		CHECK_EQ(le64_to_cpu(v), 6);
		CHECK_OK(cow_btree_lookup(&e.info, &b, 5, &v));
		CHECK_EQ(le64_to_cpu(v), 100001);
		CHECK_EQ(cow_btree_lookup(&e.info, &a, 50000, &v), -ENODATA);
	}
	/* Values reachable from both trees were referenced by both. */
	CHECK_EQ(e.refs[101], 2);	/* in a leaf b copied */
	CHECK_EQ(e.refs[1000], 1);	/* in a leaf still shared */
	CHECK_EQ(e.refs[6], 1);
	CHECK_EQ(e.refs[30001], 1);
	/* Drop b entirely: back to a's references only. */
	CHECK_OK(cow_btree_remove_range(&e.info, &b, 0, U64_MAX, drop_value, &e,
					NULL));
	CHECK_EQ(b.blocknr, 0);
	for (i = 0; i < 40000; i++)
		CHECK_EQ(e.refs[i + 1], 1);
	CHECK_OK(cow_tm_get_count(&e.tm, a.blocknr, &cnt));
	CHECK_EQ(cnt, 1);
	env_destroy(&e);
}

COW_TEST(btree_nonblocking_lookup)
{
	struct bt_env e;
	struct cow_root a = { 0, 0, 0 };
	__le64 v;
	u64 i, root, txn;

	env_create(&e);
	for (i = 0; i < 2000; i++)
		put(&e, &a, i, i + 1);
	CHECK_OK(cow_btree_lookup_nonblocking(&e.info, &a, 77, &v));
	CHECK_EQ(le64_to_cpu(v), 78);
	CHECK_OK(cow_msm_pre_commit(e.msm, e.tm.txn, &root, &txn));
	CHECK_OK(cow_bm_flush(e.bm));
	cow_sm_commit_done(e.msm);
	cow_bm_invalidate(e.bm);
	CHECK_EQ(cow_btree_lookup_nonblocking(&e.info, &a, 77, &v), -EWOULDBLOCK);
	CHECK_OK(cow_btree_lookup(&e.info, &a, 77, &v));
	CHECK_OK(cow_btree_lookup_nonblocking(&e.info, &a, 77, &v));
	CHECK_EQ(le64_to_cpu(v), 78);
	env_destroy(&e);
}
