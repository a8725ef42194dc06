// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pools made over the blocks of an earlier pool (issue #20).
 *
 * The other tests start from zeroed memory disks.  A real device often
 * holds an earlier pool: two pools put through the same first operations
 * write blocks of the same type, at the same places, with the same
 * transaction stamps.  Only the pool uuid in the checksum seed
 * (INCOMPAT_UUID_CSUM) keeps an old block from passing for a new one.
 */
#include "cow-test.h"
#include "cow-test-pool.h"
#include "cow-check.h"
#include "cow-format.h"
#include "cow-metadata-internal.h"

#define NR_CHUNKS 3000u		/* a few levels of mapping btree */
#define NR_SNAPS 62u

/*
 * The shape of the reproducer: a fill of volume 1, then snapshots,
 * each followed by an overwrite of 4 chunks.  @parity picks odd or even
 * virtual chunks, so two pools get trees of the same shape at the same
 * block numbers with other keys in them.
 */
static void populate(struct cow_pool_metadata *pmd, u64 parity)
{
	struct cow_snapshot_request req = { .origin_id = 1 };
	struct cow_volume *v;
	char name[16];
	u64 d, i, k;

	CHECK_OK(cow_pmd_create_volume(pmd, 1, "origin"));
	CHECK_OK(cow_pmd_open_volume(pmd, 1, &v));
	for (i = 0; i < NR_CHUNKS; i++) {
		CHECK_OK(cow_volume_alloc_chunk(v, &d));
		CHECK_OK(cow_volume_insert(v, 2 * i + parity, d));
		if (i % 500 == 499)
			CHECK_OK(cow_pmd_commit(pmd));
	}
	for (i = 1; i <= NR_SNAPS; i++) {
		snprintf(name, sizeof(name), "s%llu", (unsigned long long)i);
		req.new_id = i + 1;
		req.name = name;
		cow_volume_set_quiesced(v, true);
		CHECK_OK(cow_pmd_snapshot(pmd, &req, 1));
		cow_volume_set_quiesced(v, false);
		for (k = 0; k < 4; k++) {
			CHECK_OK(cow_volume_alloc_chunk(v, &d));
			CHECK_OK(cow_volume_insert(v, 2 * ((i * 13 + k) % NR_CHUNKS) +
						   parity, d));
		}
		CHECK_OK(cow_pmd_commit(pmd));
	}
	cow_pmd_close_volume(v);
	CHECK_OK(cow_pmd_commit(pmd));
}

/* Every volume maps exactly the chunks of its own parity. */
static void verify(struct cow_pool_metadata *pmd, u64 parity)
{
	struct cow_lookup_result lr;
	struct cow_volume *v;
	u64 id, i;

	for (id = 1; id <= NR_SNAPS + 1; id += 20) {
		CHECK_OK(cow_pmd_open_volume(pmd, id, &v));
		for (i = 0; i < 2 * NR_CHUNKS; i++) {
			int r = cow_volume_lookup(v, i, true, &lr);

			CHECK_MSG(r == ((i & 1) == parity ? 0 : -ENODATA),
				  "volume %llu chunk %llu: lookup %d",
				  (unsigned long long)id, (unsigned long long)i, r);
		}
		cow_pmd_close_volume(v);
	}
}

static struct cow_block_manager *fresh_bm(void)
{
	struct cow_block_manager *bm;
	struct cow_disk *d;

	CHECK_OK(cow_disk_mem_create(1024, &d));
	CHECK_OK(cow_cache_bm_create(d, 64, &bm));
	return bm;
}

/* The same device (a copy of it) under a new block manager: a cold cache. */
static struct cow_block_manager *reopen_device(struct cow_block_manager *bm)
{
	struct cow_disk *copy;

	CHECK_OK(cow_disk_mem_clone(cow_cache_bm_disk(bm), &copy));
	cow_bm_invalidate(bm);
	cow_bm_destroy(bm);
	CHECK_OK(cow_cache_bm_create(copy, 64, &bm));
	return bm;
}

static void make_pool(struct cow_block_manager *bm, u64 parity)
{
	struct cow_pool_metadata *pmd;

	CHECK_OK(cow_pmd_format(bm, 128, 8 * NR_CHUNKS));
	pmd = tp_open(bm);
	populate(pmd, parity);
	cow_pmd_close(pmd);
	CHECK_OK(cow_bm_flush(bm));
}

/* Three pools in a row on one device, nothing zeroed in between. */
COW_TEST(reuse_pools_made_one_after_another_on_one_device)
{
	struct cow_pool_metadata *pmd;
	struct cow_block_manager *bm = fresh_bm();
	u64 round;

	for (round = 0; round < 3; round++) {
		make_pool(bm, round & 1);
		tp_check(bm);
		bm = reopen_device(bm);
		pmd = tp_open(bm);
		verify(pmd, round & 1);
		cow_pmd_close(pmd);
		bm = reopen_device(bm);
	}
	cow_bm_invalidate(bm);
	cow_bm_destroy(bm);
}

static const struct cow_block_validator *validator_for(u32 type)
{
	switch (type) {
	case COW_BT_NODE: return &cow_node_validator;
	case COW_BT_MSM_ROOT: return &cow_msm_root_validator;
	case COW_BT_MSM_INDEX: return &cow_msm_index_validator;
	case COW_BT_MSM_RC: return &cow_msm_rc_validator;
	case COW_BT_DSM_RC: return &cow_dsm_rc_validator;
	case COW_BT_HELD: return &cow_held_validator;
	default: return NULL;
	}
}

/*
 * The blocks of pool A that pool B wrote again at the same place, with the
 * same type and stamp, but other contents: each, put back into B's image
 * (a lost write, or a read of the device before B's write), must fail
 * validation in B, and the checker must say so.
 */
COW_TEST(reuse_block_of_an_earlier_pool_never_validates)
{
	struct cow_block_manager *bm = fresh_bm(), *cbm;
	struct cow_pool_metadata *pmd;
	struct cow_disk *a, *b, *img;
	struct cow_check_report *rep = calloc(1, sizeof(*rep));
	unsigned int twins = 0, checked = 0;
	u32 seed_b;
	u64 n;

	CHECK(rep);
	cow_log_quiet = true;
	make_pool(bm, 0);
	CHECK_OK(cow_disk_mem_clone(cow_cache_bm_disk(bm), &a));
	bm = reopen_device(bm);
	make_pool(bm, 1);
	b = cow_cache_bm_disk(bm);
	seed_b = bm->csum_seed;
	CHECK(seed_b != COW_CSUM_SEED_LEGACY);
	/* Which blocks B's last commit uses: from its space map, not a check. */
	pmd = tp_open(bm);

	for (n = 1; n < cow_disk_nr_blocks(b); n++) {
		struct cow_disk_block_header *ha = cow_disk_mem_block(a, n, false);
		struct cow_disk_block_header *hb = cow_disk_mem_block(b, n, false);
		const struct cow_block_validator *v;
		struct cow_block blk;

		u32 count;

		CHECK_OK(cow_sm_get_count(pmd->msm, n, &count));
		if (!count || !ha || !hb || ha->type != hb->type ||
		    ha->txn != hb->txn || !memcmp(ha, hb, COW_METADATA_BLOCK_SIZE))
			continue;
		v = validator_for(le32_to_cpu(ha->type));
		if (!v)
			continue;
		twins++;
		/* Valid in A (so only the pool identity can reject it)... */
		blk = (struct cow_block){
			.location = n, .data = ha,
			.csum_seed = cow_sb_csum_seed(cow_disk_mem_block(a, 0, false)),
		};
		CHECK_OK(v->check(v, &blk, COW_METADATA_BLOCK_SIZE));
		/* ...and never in B. */
		blk.csum_seed = seed_b;
		CHECK_MSG(v->check(v, &blk, COW_METADATA_BLOCK_SIZE) == -EILSEQ,
			  "block %llu of the earlier pool validates in the new one",
			  (unsigned long long)n);
		if (twins % 16 != 1)
			continue;
		/* The whole-pool checker reports the block put back in B. */
		CHECK_OK(cow_disk_mem_clone(b, &img));
		memcpy(cow_disk_mem_block(img, n, true), ha, COW_METADATA_BLOCK_SIZE);
		CHECK_OK(cow_cache_bm_create(img, 4096, &cbm));
		memset(rep, 0, sizeof(*rep));
		CHECK_OK(cow_check_pool(cbm, rep));
		cow_bm_destroy(cbm);
		checked++;
		CHECK_MSG(rep->nr_problems > 0,
			  "checker took block %llu of the earlier pool for the new pool's",
			  (unsigned long long)n);
	}
	printf("  %u blocks of the earlier pool at the same place and stamp, all rejected; %u put back and caught by the checker\n",
	       twins, checked);
	/* The shape must have produced twins, or this test proves nothing. */
	CHECK(twins >= 20);
	cow_pmd_close(pmd);
	cow_log_quiet = false;
	cow_disk_destroy(a);
	cow_bm_invalidate(bm);
	cow_bm_destroy(bm);
	free(rep);
}
