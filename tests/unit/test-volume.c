// SPDX-License-Identifier: GPL-2.0-only
/*
 * Volume API tests: the contract of cow-metadata.h, case by case.
 */
#include "cow-test.h"
#include "cow-test-pool.h"
#include "cow-format.h"

static u64 map_new(struct cow_volume *v, u64 vchunk)
{
	u64 d;

	CHECK_OK(cow_volume_alloc_chunk(v, &d));
	CHECK_OK(cow_volume_insert(v, vchunk, d));
	return d;
}

COW_TEST(volume_basic_map_commit_reopen)
{
	struct test_pool tp;
	struct cow_volume *v;
	struct cow_lookup_result lr;
	u64 d[100], i, n;

	tp_create(&tp, 1024, 10000, 256);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "one"));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	for (i = 0; i < 100; i++)
		d[i] = map_new(v, i * 3);
	for (i = 0; i < 100; i++) {
		CHECK_OK(cow_volume_lookup(v, i * 3, true, &lr));
		CHECK_EQ(lr.dchunk, d[i]);
		CHECK(!lr.shared);
		CHECK_EQ(cow_volume_lookup(v, i * 3 + 1, true, &lr), -ENODATA);
	}
	CHECK_OK(cow_volume_get_mapped_count(v, &n));
	CHECK_EQ(n, 100);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	cow_pmd_close_volume(v);
	tp_check(tp.bm);
	tp_reopen(&tp, 256);
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	/* Cold cache: the non-blocking lookup would need I/O. */
	CHECK_EQ(cow_volume_lookup(v, 0, false, &lr), -EWOULDBLOCK);
	for (i = 0; i < 100; i++) {
		CHECK_OK(cow_volume_lookup(v, i * 3, true, &lr));
		CHECK_OK(cow_volume_lookup(v, i * 3, false, &lr));
		CHECK_EQ(lr.dchunk, d[i]);
	}
	cow_pmd_close_volume(v);
	tp_destroy(&tp);
}

COW_TEST(volume_open_checks_and_read_only)
{
	struct cow_pmd_open_args args = { .chunk_sectors = 64 };
	struct cow_pool_metadata *pmd;
	struct test_pool tp;
	struct cow_block_manager *bm;
	struct cow_disk *d;
	bool unformatted;
	u64 n;

	CHECK_OK(cow_disk_mem_create(256, &d));
	CHECK_OK(cow_cache_bm_create(d, 64, &bm));
	CHECK_OK(cow_pmd_is_unformatted(bm, &unformatted));
	CHECK(unformatted);
	cow_log_quiet = true;
	CHECK_EQ(cow_pmd_format(bm, 7, 100), -EINVAL);
	CHECK_EQ(cow_pmd_open(bm, &args, &pmd), -EILSEQ);
	CHECK_OK(cow_pmd_format(bm, 128, 100));
	CHECK_OK(cow_pmd_is_unformatted(bm, &unformatted));
	CHECK(!unformatted);
	/* Chunk size mismatch and a shrunken data device are refused. */
	CHECK_EQ(cow_pmd_open(bm, &args, &pmd), -EINVAL);
	args.chunk_sectors = 128;
	args.nr_data_chunks = 50;
	CHECK_EQ(cow_pmd_open(bm, &args, &pmd), -EINVAL);
	/* A bigger data device grows the pool. */
	args.nr_data_chunks = 300;
	CHECK_OK(cow_pmd_open(bm, &args, &pmd));
	CHECK_OK(cow_pmd_get_nr_data_chunks(pmd, &n));
	CHECK_EQ(n, 300);
	CHECK_EQ(cow_pmd_chunk_sectors(pmd), 128);
	cow_pmd_close(pmd);
	/* Read-only: everything that writes says -EPERM. */
	args.read_only = true;
	CHECK_OK(cow_pmd_open(bm, &args, &pmd));
	CHECK_EQ(cow_pmd_create_volume(pmd, 1, "x"), -EPERM);
	CHECK_EQ(cow_pmd_set_transaction_id(pmd, 0, 1), -EPERM);
	cow_pmd_close(pmd);
	cow_log_quiet = false;
	cow_bm_destroy(bm);
	(void)tp;
}

COW_TEST(volume_contract_errors)
{
	struct cow_snapshot_request req[2] = {
		{ .new_id = 2, .origin_id = 1, .name = "a" },
		{ .new_id = 1, .origin_id = 1, .name = "b" },
	};
	struct cow_volume_info info;
	struct test_pool tp;
	struct cow_volume *v;
	char longname[80];

	cow_log_quiet = true;
	tp_create(&tp, 512, 1000, 64);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CHECK_EQ(cow_pmd_create_volume(tp.pmd, 1, longname), -EINVAL);
	CHECK_EQ(cow_pmd_create_volume(tp.pmd, COW_MAX_VOLUME_ID + 1, "x"), -EINVAL);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "one"));
	CHECK_EQ(cow_pmd_create_volume(tp.pmd, 1, "one"), -EEXIST);
	/* A snapshot batch with one bad request creates nothing. */
	CHECK_EQ(cow_pmd_snapshot(tp.pmd, req, 2), -EEXIST);
	CHECK_EQ(cow_pmd_get_volume_info(tp.pmd, 2, &info), -ENOENT);
	req[1].new_id = 3;
	req[1].origin_id = 9;
	CHECK_EQ(cow_pmd_snapshot(tp.pmd, req, 2), -ENOENT);
	CHECK_EQ(cow_pmd_get_volume_info(tp.pmd, 2, &info), -ENOENT);
	req[1].origin_id = 1;
	CHECK_OK(cow_pmd_snapshot(tp.pmd, req, 2));
	CHECK_OK(cow_pmd_get_volume_info(tp.pmd, 3, &info));
	CHECK_EQ(info.origin_id, 1);
	CHECK(!strcmp(info.name, "b"));
	CHECK_OK(cow_pmd_get_volume_info(tp.pmd, 1, &info));
	CHECK_EQ(info.origin_id, COW_NO_ORIGIN);
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	CHECK_EQ(cow_pmd_delete_volume(tp.pmd, 1), -EBUSY);
	CHECK_EQ(cow_pmd_rollback(tp.pmd, 1, 2), -EBUSY);
	CHECK_EQ(cow_pmd_delete_volume(tp.pmd, 77), -ENOENT);
	CHECK_EQ(cow_pmd_rollback(tp.pmd, 2, 77), -ENOENT);
	CHECK_OK(cow_pmd_set_size(tp.pmd, 1, 12345));
	CHECK_OK(cow_pmd_get_volume_info(tp.pmd, 1, &info));
	CHECK_EQ(info.size_sectors, 12345);
	CHECK_EQ(cow_volume_get_highest_mapped(v, &info.id), -ENODATA);
	CHECK_EQ(cow_pmd_release_metadata_snap(tp.pmd), -EINVAL);
	CHECK_EQ(cow_pmd_resize_data(tp.pmd, 10), -EINVAL);
	CHECK_EQ(cow_pmd_resize_metadata(tp.pmd, 100000), -EINVAL);
	CHECK_OK(cow_pmd_resize_data(tp.pmd, 2000));
	cow_pmd_close_volume(v);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);
	tp_destroy(&tp);
	cow_log_quiet = false;
}

COW_TEST(volume_needs_check_is_immediate)
{
	struct test_pool tp;

	tp_create(&tp, 256, 100, 64);
	CHECK(!cow_pmd_needs_check(tp.pmd));
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "uncommitted"));
	CHECK_OK(cow_pmd_set_needs_check(tp.pmd));
	CHECK(cow_pmd_needs_check(tp.pmd));
	/* Reopen without commit: the flag is there, the volume is not. */
	tp_reopen(&tp, 64);
	CHECK(cow_pmd_needs_check(tp.pmd));
	{
		struct cow_volume_info info;

		CHECK_EQ(cow_pmd_get_volume_info(tp.pmd, 1, &info), -ENOENT);
	}
	CHECK_OK(cow_pmd_clear_needs_check(tp.pmd));
	tp_reopen(&tp, 64);
	CHECK(!cow_pmd_needs_check(tp.pmd));
	tp_check(tp.bm);
	tp_destroy(&tp);
}

COW_TEST(volume_metadata_enospc_then_abort)
{
	struct test_pool tp;
	struct cow_volume *v;
	u64 d, i, free_blocks;
	int r = 0;

	cow_log_quiet = true;
	tp_create(&tp, 96, 100000, 64);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "one"));
	CHECK_OK(cow_pmd_commit(tp.pmd));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	CHECK(!cow_pmd_metadata_exhausted(tp.pmd));
	for (i = 0; i < 100000 && !r; i++) {
		r = cow_volume_alloc_chunk(v, &d);
		if (!r)
			r = cow_volume_insert(v, i * 1000, d);
	}
	CHECK_EQ(r, -ENOSPC);
	/* The metadata's -ENOSPC, not the data device's (the target's mode). */
	CHECK(cow_pmd_metadata_exhausted(tp.pmd));
	CHECK_EQ(cow_volume_alloc_chunk(v, &d), -ENOSPC);
	CHECK_OK(cow_pmd_get_free_data_chunks(tp.pmd, &free_blocks));
	CHECK(free_blocks > 0);
	/* Refused before starting: the transaction is intact. */
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);
	CHECK_OK(cow_pmd_abort(tp.pmd));
	CHECK_OK(cow_volume_remove_range(v, 0, 500000000, NULL, NULL));
	CHECK_OK(cow_pmd_commit(tp.pmd));
	CHECK_OK(cow_pmd_get_free_metadata_blocks(tp.pmd, &free_blocks));
	CHECK(free_blocks > 0);
	CHECK(!cow_pmd_metadata_exhausted(tp.pmd));
	CHECK_OK(cow_volume_alloc_chunk(v, &d));
	CHECK_OK(cow_volume_insert(v, 1, d));
	cow_pmd_close_volume(v);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);
	/* Growing the metadata device makes room again. */
	tp_destroy(&tp);
	cow_log_quiet = false;
}

struct freed_log {
	u64 n;
};

static void count_freed(void *context, u64 b, u64 e)
{
	((struct freed_log *)context)->n += e - b;
}

COW_TEST(volume_sharing_delete_reclaim_rollback)
{
	struct cow_snapshot_request req = { .new_id = 2, .origin_id = 1, .name = "s" };
	struct test_pool tp;
	struct cow_volume *v, *s;
	struct cow_lookup_result lr;
	struct freed_log fl = { 0 };
	u64 i, d, n, free1, free2;
	bool more;

	tp_create(&tp, 1024, 20000, 256);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "one"));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	for (i = 0; i < 3000; i++)
		map_new(v, i);
	CHECK_OK(cow_pmd_snapshot(tp.pmd, &req, 1));
	for (i = 0; i < 3000; i += 500) {
		CHECK_OK(cow_volume_lookup(v, i, true, &lr));
		CHECK(lr.shared);
	}
	/* Break sharing of one chunk; the snapshot keeps the old one. */
	d = map_new(v, 10);
	CHECK_OK(cow_volume_lookup(v, 10, true, &lr));
	CHECK(!lr.shared);
	CHECK_EQ(lr.dchunk, d);
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 2, &s));
	CHECK_OK(cow_volume_lookup(s, 10, true, &lr));
	CHECK(lr.dchunk != d);
	/* Removing shared mappings frees nothing. */
	CHECK_OK(cow_volume_remove_range(v, 100, 200, count_freed, &fl));
	CHECK_EQ(fl.n, 0);
	CHECK_OK(cow_volume_get_mapped_count(v, &n));
	CHECK_EQ(n, 2900);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);
	/* Delete the snapshot: its exclusive chunks come back via reclaim. */
	cow_pmd_close_volume(s);
	CHECK_OK(cow_pmd_get_free_data_chunks(tp.pmd, &free1));
	CHECK_OK(cow_pmd_delete_volume(tp.pmd, 2));
	CHECK_OK(cow_pmd_get_reclaiming_chunks(tp.pmd, &n));
	CHECK_EQ(n, 3000);
	CHECK(cow_pmd_reclaim_pending(tp.pmd));
	do {
		CHECK_OK(cow_pmd_reclaim_step(tp.pmd, 7, &more));
		CHECK_OK(cow_pmd_commit(tp.pmd));
	} while (more);
	/* The worker asks this on every pass: it must end with the work. */
	CHECK(!cow_pmd_reclaim_pending(tp.pmd));
	CHECK_OK(cow_pmd_get_reclaiming_chunks(tp.pmd, &n));
	CHECK_EQ(n, 0);
	/* A released metadata snapshot is work too, with no chunk counted. */
	CHECK_OK(cow_pmd_reserve_metadata_snap(tp.pmd));
	CHECK_OK(cow_pmd_release_metadata_snap(tp.pmd));
	CHECK(cow_pmd_reclaim_pending(tp.pmd));
	CHECK_OK(cow_pmd_get_reclaiming_chunks(tp.pmd, &n));
	CHECK_EQ(n, 0);
	do {
		CHECK_OK(cow_pmd_reclaim_step(tp.pmd, 7, &more));
		CHECK_OK(cow_pmd_commit(tp.pmd));
	} while (more);
	CHECK(!cow_pmd_reclaim_pending(tp.pmd));
	CHECK_OK(cow_pmd_get_free_data_chunks(tp.pmd, &free2));
	CHECK_EQ(free2, free1 + 101);	/* 100..199 and the old chunk 10 */
	tp_check(tp.bm);
	/* Rollback to a fresh snapshot, then check contents. */
	req.new_id = 3;
	CHECK_OK(cow_pmd_snapshot(tp.pmd, &req, 1));
	map_new(v, 5000);
	cow_volume_set_quiesced(v, true);
	CHECK_OK(cow_pmd_rollback(tp.pmd, 1, 3));
	cow_volume_set_quiesced(v, false);
	CHECK_EQ(cow_volume_lookup(v, 5000, true, &lr), -ENODATA);
	CHECK_OK(cow_volume_lookup(v, 10, true, &lr));
	CHECK(lr.shared);
	cow_pmd_close_volume(v);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);
	tp_destroy(&tp);
}

struct dl {
	u64 n, kinds[3];
};

static int delta_count(void *context, u64 b, u64 e, enum cow_delta_kind kind)
{
	struct dl *dl = context;

	dl->n++;
	dl->kinds[kind] += e - b;
	return 0;
}

COW_TEST(volume_delta_and_ranges)
{
	struct cow_snapshot_request req = { .new_id = 2, .origin_id = 1, .name = "s" };
	struct test_pool tp;
	struct cow_volume *v;
	struct dl dl = { 0 };
	u64 i, vb, ve, db, reads;
	bool shared;

	tp_create(&tp, 1024, 50000, 256);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "one"));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	for (i = 0; i < 20000; i++)
		map_new(v, i);
	/* Sequential writes got sequential chunks: one run. */
	CHECK_OK(cow_volume_find_mapped_range(v, 0, 30000, &vb, &ve, &db, &shared));
	CHECK_EQ(vb, 0);
	CHECK_EQ(ve, 20000);
	CHECK(!shared);
	CHECK_OK(cow_volume_get_highest_mapped(v, &i));
	CHECK_EQ(i, 19999);
	CHECK_OK(cow_pmd_snapshot(tp.pmd, &req, 1));
	CHECK_OK(cow_pmd_commit(tp.pmd));
	reads = cow_cache_bm_disk(tp.bm)->nr_reads;
	CHECK_OK(cow_pmd_delta(tp.pmd, 1, 2, delta_count, &dl));
	CHECK_EQ(dl.n, 0);
	for (i = 1000; i < 1100; i++)
		map_new(v, i);
	map_new(v, 25000);
	CHECK_OK(cow_volume_remove_range(v, 5000, 5010, NULL, NULL));
	CHECK_OK(cow_pmd_delta(tp.pmd, 1, 2, delta_count, &dl));
	CHECK_EQ(dl.n, 3);
	CHECK_EQ(dl.kinds[COW_DELTA_DIFFERENT], 100);
	CHECK_EQ(dl.kinds[COW_DELTA_LEFT_ONLY], 1);
	CHECK_EQ(dl.kinds[COW_DELTA_RIGHT_ONLY], 10);
	(void)reads;
	cow_pmd_close_volume(v);
	tp_destroy(&tp);
}

/*
 * cow_volume_lookup_run(): runs of consecutive chunks end at a gap, a data
 * chunk out of sequence or a change of sharing; translations of a working
 * set are answered without reading the btree (even when it left the cache).
 */
COW_TEST(volume_lookup_runs_and_translation_cache)
{
	struct cow_snapshot_request req = { .new_id = 2, .origin_id = 1, .name = "s" };
	struct cow_lookup_result lr;
	struct test_pool tp;
	struct cow_volume *v, *s;
	unsigned int nr;
	u64 i, d0, reads;

	tp_create(&tp, 1024, 10000, 256);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "one"));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	d0 = map_new(v, 0);
	for (i = 1; i < 64; i++)
		CHECK_EQ(map_new(v, i), d0 + i);
	CHECK_OK(cow_volume_lookup_run(v, 10, 100, true, &lr, &nr));
	CHECK_EQ(lr.dchunk, d0 + 10);
	CHECK_EQ(nr, 54);		/* vchunk 64 is not mapped */
	CHECK_OK(cow_volume_lookup_run(v, 10, 5, true, &lr, &nr));
	CHECK_EQ(nr, 5);
	CHECK_EQ(cow_volume_lookup_run(v, 64, 4, true, &lr, &nr), -ENODATA);
	/* A chunk written again elsewhere breaks the run. */
	CHECK_OK(cow_volume_remove_range(v, 20, 21, NULL, NULL));
	CHECK_OK(cow_volume_lookup_run(v, 10, 100, true, &lr, &nr));
	CHECK_EQ(nr, 10);
	map_new(v, 20);
	CHECK_OK(cow_volume_lookup_run(v, 10, 100, true, &lr, &nr));
	CHECK_EQ(nr, 10);
	CHECK_OK(cow_volume_lookup_run(v, 21, 100, true, &lr, &nr));
	CHECK_EQ(lr.dchunk, d0 + 21);
	CHECK_EQ(nr, 43);
	/* After a snapshot every chunk is shared; a new one is not. */
	CHECK_OK(cow_pmd_snapshot(tp.pmd, &req, 1));
	CHECK_OK(cow_volume_lookup_run(v, 0, 10, true, &lr, &nr));
	CHECK(lr.shared);
	CHECK_EQ(nr, 10);
	CHECK_OK(cow_volume_alloc_chunk(v, &i));
	CHECK_OK(cow_volume_insert(v, 5, i));
	CHECK_OK(cow_volume_lookup_run(v, 0, 10, true, &lr, &nr));
	CHECK_EQ(nr, 5);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	cow_pmd_close_volume(v);
	/*
	 * Translations of the working set need no block: not even when the
	 * btree's blocks left the block cache (16 blocks here), where a
	 * non-blocking btree lookup would give up.
	 */
	tp_reopen(&tp, 16);
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	CHECK_OK(cow_volume_lookup_run(v, 21, 43, true, &lr, &nr));
	CHECK_EQ(nr, 43);
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 2, &s));
	for (i = 1000; i < 4000; i++)
		map_new(s, i);
	reads = cow_cache_bm_disk(tp.bm)->nr_reads;
	CHECK_OK(cow_volume_lookup_run(v, 21, 43, false, &lr, &nr));
	CHECK_EQ(lr.dchunk, d0 + 21);
	CHECK_EQ(nr, 43);
	CHECK_EQ(cow_cache_bm_disk(tp.bm)->nr_reads, reads);
	cow_pmd_close_volume(s);
	cow_pmd_close_volume(v);
	tp_destroy(&tp);
}

COW_TEST(volume_metadata_bytes_per_chunk)
{
	struct test_pool tp;
	struct cow_volume *v;
	u64 i, nr, fr, seed = cow_test_seed() | 1, n = 100000, d;
	double per, lo, hi;

	tp_create(&tp, 16384, 4000000, 1024);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "one"));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	for (i = 0; i < n; i++) {
		CHECK_OK(cow_volume_alloc_chunk(v, &d));
		CHECK_OK(cow_volume_insert(v, tp_rand(&seed) % (1ULL << 32), d));
	}
	cow_pmd_close_volume(v);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	CHECK_OK(cow_pmd_get_nr_metadata_blocks(tp.pmd, &nr));
	CHECK_OK(cow_pmd_get_free_metadata_blocks(tp.pmd, &fr));
	per = (double)(nr - fr) * COW_METADATA_BLOCK_SIZE / n;
	/*
	 * Random inserts split leaves in half, so a leaf is at least half
	 * full: at most twice a mapping's share of a leaf, plus one data
	 * refcount entry per chunk, plus internal nodes, the metadata space
	 * map and the superblock (under 1 byte a chunk here).  At least the
	 * mapping (key and value) and its refcount.
	 */
	hi = 2.0 * COW_METADATA_BLOCK_SIZE / cow_node_max_entries(sizeof(__le64)) +
		(double)COW_METADATA_BLOCK_SIZE / COW_RC_ENTRIES + 1.0;
	lo = 2 * sizeof(__le64) + sizeof(__le32);
	printf("  %llu random chunks: %llu metadata blocks, %.1f bytes per mapped chunk (bounds %.1f..%.1f)\n",
	       (unsigned long long)n, (unsigned long long)(nr - fr), per, lo, hi);
	CHECK_MSG(per >= lo && per <= hi, "%.1f bytes per mapped chunk", per);
	tp_check(tp.bm);
	tp_destroy(&tp);
}

COW_TEST(volume_resize_metadata_and_data)
{
	struct cow_block_manager *bm;
	struct cow_pool_metadata *pmd;
	struct cow_disk *small, *big;
	struct cow_volume *v;
	u64 i, d, n, before;
	u8 *p, *q;
	int r = 0;

	cow_log_quiet = true;
	CHECK_OK(cow_disk_mem_create(96, &small));
	CHECK_OK(cow_cache_bm_create(small, 64, &bm));
	CHECK_OK(cow_pmd_format(bm, 8, 100000));
	/* The same metadata on a device four times as big. */
	CHECK_OK(cow_disk_mem_create(384, &big));
	for (i = 0; i < 96; i++) {
		p = cow_disk_mem_block(small, i, false);
		q = cow_disk_mem_block(big, i, true);
		if (p)
			memcpy(q, p, COW_METADATA_BLOCK_SIZE);
	}
	cow_bm_destroy(bm);
	CHECK_OK(cow_cache_bm_create(big, 64, &bm));
	pmd = tp_open(bm);
	CHECK_OK(cow_pmd_create_volume(pmd, 1, "one"));
	CHECK_OK(cow_pmd_open_volume(pmd, 1, &v));
	for (i = 0; !r; i++) {
		r = cow_volume_alloc_chunk(v, &d);
		if (!r)
			r = cow_volume_insert(v, i * 300, d);
	}
	CHECK_EQ(r, -ENOSPC);
	n = i - 1;
	CHECK(n > 1000 && n < 100000);
	CHECK_OK(cow_pmd_get_free_data_chunks(pmd, &before));
	/* Both spaces grow; allocation goes on. */
	CHECK_OK(cow_pmd_resize_metadata(pmd, 384));
	CHECK_OK(cow_pmd_resize_data(pmd, 200000));
	CHECK_OK(cow_pmd_get_nr_metadata_blocks(pmd, &d));
	CHECK_EQ(d, 384);
	CHECK_OK(cow_pmd_commit(pmd));
	for (i = n; i < n + 20000; i++) {
		CHECK_OK(cow_volume_alloc_chunk(v, &d));
		CHECK_OK(cow_volume_insert(v, i * 300, d));
	}
	cow_pmd_close_volume(v);
	CHECK_OK(cow_pmd_commit(pmd));
	cow_pmd_close(pmd);
	tp_check(bm);
	pmd = tp_open(bm);
	CHECK_OK(cow_pmd_open_volume(pmd, 1, &v));
	CHECK_OK(cow_volume_get_mapped_count(v, &d));
	CHECK_EQ(d, n + 20000);
	cow_pmd_close_volume(v);
	cow_pmd_close(pmd);
	cow_bm_destroy(bm);
	cow_log_quiet = false;
	(void)before;
}

static void expect_counters(struct cow_volume *v, u64 mapped, u64 written,
			    u64 exclusive)
{
	struct cow_volume_counters c;

	CHECK_OK(cow_volume_get_counters(v, &c));
	CHECK_EQ(c.valid, COW_COUNTER_MAPPED | COW_COUNTER_WRITTEN |
		 COW_COUNTER_EXCLUSIVE);
	CHECK_EQ(c.mapped_chunks, mapped);
	CHECK_EQ(c.written_since_origin, written);
	CHECK_EQ(c.exclusive_chunks, exclusive);
}

static void reclaim_all(struct cow_pool_metadata *pmd)
{
	bool more = true;

	while (more)
		CHECK_OK(cow_pmd_reclaim_step(pmd, 7, &more));
}

/*
 * written_since_origin and exclusive_chunks through create, snapshot,
 * break-sharing writes, removal, rollback and the accounting of the
 * rolled-back tree (each step's expected values worked out by hand).
 */
COW_TEST(volume_counters_through_sharing_events)
{
	struct cow_snapshot_request req = { .new_id = 2, .origin_id = 1 };
	struct cow_volume_info info;
	struct test_pool tp;
	struct cow_volume *v, *s;
	u64 i, reclaiming;

	tp_create(&tp, 1024, 10000, 256);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "origin"));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	for (i = 0; i < 50; i++)
		map_new(v, i);
	/* Made by create: everything it maps it wrote, and holds alone. */
	expect_counters(v, 50, 50, 50);
	map_new(v, 0);		/* overwrite own: no change */
	expect_counters(v, 50, 50, 50);
	CHECK_OK(cow_pmd_snapshot(tp.pmd, &req, 1));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 2, &s));
	expect_counters(s, 50, 0, 0);
	expect_counters(v, 50, 50, 0);	/* the origin keeps its writes */
	for (i = 0; i < 10; i++)
		map_new(s, i);		/* replace inherited mappings */
	map_new(s, 5);			/* again: already its own */
	map_new(s, 1000);		/* a new one */
	expect_counters(s, 51, 11, 11);
	expect_counters(v, 50, 50, 10);	/* 0..9 are the origin's alone now */
	CHECK_OK(cow_volume_remove_range(s, 5, 15, NULL, NULL));
	expect_counters(s, 41, 6, 6);	/* 5..9 own, 10..14 inherited */
	expect_counters(v, 50, 50, 15);
	CHECK_OK(cow_pmd_get_volume_info(tp.pmd, 2, &info));
	CHECK_EQ(info.written_since_origin, 6);
	CHECK_EQ(info.exclusive_chunks, 6);
	CHECK_EQ(info.valid_counters, COW_COUNTER_MAPPED | COW_COUNTER_WRITTEN |
		 COW_COUNTER_EXCLUSIVE);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);
	/* Rollback makes the origin a fresh copy of the snapshot. */
	cow_volume_set_quiesced(v, true);
	CHECK_OK(cow_pmd_rollback(tp.pmd, 1, 2));
	cow_volume_set_quiesced(v, false);
	expect_counters(v, 41, 0, 0);
	expect_counters(s, 41, 6, 0);
	/* Key 20 is also held by the old tree, not accounted yet. */
	map_new(v, 20);
	expect_counters(v, 41, 1, 1);
	expect_counters(s, 41, 6, 0);
	CHECK_OK(cow_pmd_get_reclaiming_chunks(tp.pmd, &reclaiming));
	CHECK_EQ(reclaiming, 50);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);
	/* Accounting the old tree leaves key 20's old chunk to s alone. */
	reclaim_all(tp.pmd);
	expect_counters(s, 41, 6, 1);
	expect_counters(v, 41, 1, 1);
	CHECK_OK(cow_pmd_get_reclaiming_chunks(tp.pmd, &reclaiming));
	CHECK_EQ(reclaiming, 0);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	cow_pmd_close_volume(s);
	/* Deleting s gives v the chunks they shared, as reclamation goes. */
	CHECK_OK(cow_pmd_delete_volume(tp.pmd, 2));
	expect_counters(v, 41, 1, 1);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);
	reclaim_all(tp.pmd);
	expect_counters(v, 41, 1, 41);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	cow_pmd_close_volume(v);
	tp_check(tp.bm);
	tp_reopen(&tp, 256);
	CHECK_OK(cow_pmd_get_volume_info(tp.pmd, 1, &info));
	CHECK_EQ(info.written_since_origin, 1);
	CHECK_EQ(info.exclusive_chunks, 41);
	CHECK_EQ(cow_pmd_get_volume_info(tp.pmd, 2, &info), -ENOENT);
	tp_destroy(&tp);
}

/* set_received: kept across commits and reopen, not inherited, sets the feature. */
COW_TEST(volume_set_received)
{
	struct cow_snapshot_request req = { .new_id = 2, .origin_id = 1, .name = "s" };
	struct cow_volume_info info;
	struct test_pool tp;
	struct cow_volume *v;
	struct cow_block *b;

	tp_create(&tp, 1024, 1000, 256);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "r"));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	map_new(v, 5);
	CHECK_OK(cow_pmd_set_received(tp.pmd, 1, 0x1122334455667788ULL, 1ULL << 63 | 7));
	CHECK_OK(cow_pmd_get_volume_info(tp.pmd, 1, &info));
	CHECK_EQ(info.received_from, 0x1122334455667788ULL);
	CHECK_EQ(info.received_mark, 1ULL << 63 | 7);
	/* The open handle's record follows: a later flush keeps the fields. */
	map_new(v, 6);
	cow_pmd_close_volume(v);
	CHECK_OK(cow_pmd_snapshot(tp.pmd, &req, 1));
	CHECK_OK(cow_pmd_get_volume_info(tp.pmd, 2, &info));
	CHECK_EQ(info.received_from, 0);
	CHECK_EQ(info.received_mark, 0);
	CHECK_EQ(cow_pmd_set_received(tp.pmd, 9, 1, 1), -ENOENT);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);
	tp_reopen(&tp, 256);
	CHECK_OK(cow_pmd_get_volume_info(tp.pmd, 1, &info));
	CHECK_EQ(info.received_from, 0x1122334455667788ULL);
	CHECK_EQ(info.received_mark, 1ULL << 63 | 7);
	CHECK_EQ(info.mapped_chunks, 2);
	CHECK_OK(cow_bm_read_lock(tp.bm, COW_SUPERBLOCK_LOCATION, NULL, &b));
	CHECK(le64_to_cpu(((struct cow_disk_superblock *)cow_block_data(b))->compat_flags) &
	      COW_FEATURE_COMPAT_RECEIVED);
	cow_bm_unlock(tp.bm, b);
	tp_destroy(&tp);
}

/*
 * An abort that cannot reload the pool (its superblock unreadable) leaves
 * no space maps: every call, counts included, fails with -EIO instead of
 * dereferencing them (found by fuzzing: the pool's status after a failed
 * abort read a freed data space map).
 */
COW_TEST(volume_calls_after_failed_abort)
{
	struct cow_lookup_result lr;
	struct test_pool tp;
	struct cow_volume *v;
	u8 *sb;
	u64 x, d;

	tp_create(&tp, 256, 1000, 64);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "one"));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	CHECK_OK(cow_volume_alloc_chunk(v, &d));
	CHECK_OK(cow_volume_insert(v, 0, d));
	CHECK_OK(cow_pmd_commit(tp.pmd));

	sb = cow_disk_mem_block(cow_cache_bm_disk(tp.bm), 0, true);
	sb[100] ^= 0xff;
	cow_log_quiet = true;
	CHECK(cow_pmd_abort(tp.pmd) < 0);
	cow_log_quiet = false;
	CHECK_EQ(cow_pmd_get_nr_data_chunks(tp.pmd, &x), -EIO);
	CHECK_EQ(cow_pmd_get_free_data_chunks(tp.pmd, &x), -EIO);
	CHECK_EQ(cow_pmd_get_nr_metadata_blocks(tp.pmd, &x), -EIO);
	CHECK_EQ(cow_pmd_get_free_metadata_blocks(tp.pmd, &x), -EIO);
	CHECK(!cow_pmd_metadata_exhausted(tp.pmd));
	CHECK_EQ(cow_volume_lookup(v, 0, true, &lr), -EIO);
	CHECK_EQ(cow_volume_alloc_chunk(v, &d), -EIO);
	CHECK_EQ(cow_pmd_commit(tp.pmd), -EIO);
	cow_pmd_close_volume(v);
	sb[100] ^= 0xff;
	tp_destroy(&tp);
}

/*
 * A mapping that names a chunk beyond the data device (a leaf damaged
 * before its checksum was computed) is -EIO every time it is looked up,
 * never taken into the translation cache by a neighbour's lookup (a hit
 * is not bounds-checked), and ends a run: the kernel issued the I/O past the
 * device's end and failed it with no word of why (metadata-fuzz-kernel,
 * FUZZ_SEED=4242 case 2).
 */
COW_TEST(volume_lookup_beyond_data_device)
{
	struct cow_lookup_result lr;
	struct test_pool tp;
	struct cow_volume *v;
	struct cow_disk *d;
	unsigned int nr, found = 0;
	u64 b, d6;

	tp_create(&tp, 256, 100, 64);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "one"));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	d6 = map_new(v, 6);
	CHECK_EQ(map_new(v, 7), d6 + 1);
	CHECK_EQ(map_new(v, 8), d6 + 2);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	cow_pmd_close_volume(v);
	/* Volume 1's leaf: chunk 7 -> data chunk 105 of 100, resealed. */
	d = cow_cache_bm_disk(tp.bm);
	for (b = 1; b < cow_disk_nr_blocks(d); b++) {
		u8 *p = cow_disk_mem_block(d, b, false);
		struct cow_disk_node_header *n = (void *)p;
		struct cow_block blk = { .location = b, .data = p };
		__le64 *keys, *vals;
		u32 i;

		if (!p || le32_to_cpu(n->hdr.type) != COW_BT_NODE ||
		    le32_to_cpu(n->tree) != COW_TREE_MAPPING ||
		    !(le32_to_cpu(n->flags) & COW_NODE_LEAF))
			continue;
		keys = (__le64 *)(n + 1);
		vals = keys + le32_to_cpu(n->max_entries);
		for (i = 0; i < le32_to_cpu(n->nr_entries); i++) {
			u64 m = le64_to_cpu(vals[i]);

			if (le64_to_cpu(keys[i]) != 7)
				continue;
			vals[i] = cpu_to_le64(cow_pack_mapping(105, cow_mapping_time(m)));
			found++;
		}
		blk.csum_seed = cow_sb_csum_seed(cow_disk_mem_block(d, 0, false));
		cow_node_validator.prepare_for_write(&cow_node_validator, &blk,
						     COW_METADATA_BLOCK_SIZE);
	}
	CHECK_EQ(found, 1);
	tp_reopen(&tp, 64);
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	CHECK_EQ(cow_volume_lookup(v, 7, true, &lr), -EIO);
	CHECK_OK(cow_volume_lookup_run(v, 6, 3, true, &lr, &nr));
	CHECK_EQ(lr.dchunk, d6);
	CHECK_EQ(nr, 1);
	CHECK_EQ(cow_volume_lookup(v, 7, true, &lr), -EIO);	/* not cached by the run */
	CHECK_EQ(cow_volume_lookup(v, 7, false, &lr), -EIO);
	CHECK_OK(cow_volume_lookup(v, 8, true, &lr));
	CHECK_EQ(lr.dchunk, d6 + 2);
	cow_pmd_close_volume(v);
	tp_destroy(&tp);
}

/*
 * cow_volume_lookup_run() against single lookups, chunk by chunk: random
 * mappings in short consecutive stretches, snapshots in between (sharing
 * changes), random runs both cached and not.
 */
COW_TEST(volume_lookup_run_matches_single_lookups)
{
	struct cow_snapshot_request req = { .origin_id = 1, .name = "s" };
	struct cow_lookup_result lr, one;
	u64 seed = cow_test_seed() | 1, vc, d, start, len, pair[16];
	unsigned int round, i, nr, limit, want, longest = 0;
	struct test_pool tp;
	struct cow_volume *v;
	int r;

	tp_create(&tp, 1024, 100000, 256);
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 1, "one"));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
	for (round = 0; round < 8; round++) {
		for (i = 0; i < 20; i++) {
			vc = tp_rand(&seed) % 2048;
			for (len = 1 + tp_rand(&seed) % 40; len--; vc++) {
				CHECK_OK(cow_volume_alloc_chunk(v, &d));
				CHECK_OK(cow_volume_insert(v, vc, d));
			}
		}
		/*
		 * Consecutive data chunks on both sides of a snapshot: mapped
		 * before it they are shared, after it not, and a run ends there.
		 */
		vc = tp_rand(&seed) % 2048;
		for (i = 0; i < ARRAY_SIZE(pair); i++)
			CHECK_OK(cow_volume_alloc_chunk(v, &pair[i]));
		for (i = 0; i < ARRAY_SIZE(pair) / 2; i++)
			CHECK_OK(cow_volume_insert(v, vc + i, pair[i]));
		if (round & 1) {
			req.new_id = 2 + round;
			CHECK_OK(cow_pmd_snapshot(tp.pmd, &req, 1));
		}
		for (; i < ARRAY_SIZE(pair); i++)
			CHECK_OK(cow_volume_insert(v, vc + i, pair[i]));
		CHECK_OK(cow_volume_lookup_run(v, vc, ARRAY_SIZE(pair), true, &lr, &nr));
		CHECK_EQ(nr, round & 1 ? ARRAY_SIZE(pair) / 2 : ARRAY_SIZE(pair));
		if (round == 4) {	/* a cold translation cache */
			CHECK_OK(cow_pmd_commit(tp.pmd));
			cow_pmd_close_volume(v);
			CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &v));
		}
		for (i = 0; i < 300; i++) {
			start = tp_rand(&seed) % 2100;
			limit = 1 + tp_rand(&seed) % 300;
			r = cow_volume_lookup_run(v, start, limit, true, &lr, &nr);
			CHECK_EQ(r, cow_volume_lookup(v, start, true, &one));
			if (r)
				continue;
			for (want = 1; want < limit; want++)
				if (cow_volume_lookup(v, start + want, true, &one) ||
				    one.dchunk != lr.dchunk + want ||
				    one.shared != lr.shared)
					break;
			CHECK_EQ(nr, want);
			longest = max(longest, nr);
		}
	}
	CHECK(longest > 20);	/* the runs were long, not single chunks */
	cow_pmd_close_volume(v);
	tp_destroy(&tp);
}
