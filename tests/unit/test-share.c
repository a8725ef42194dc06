// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sharing chunks of two volumes again (the share message's core half):
 * which chunks may be shared, the compare-and-swap against changed
 * mappings, the counters (checked by the checker, which recomputes them
 * from every tree), sharing as both volumes see it afterwards, and the
 * result surviving a reopen.  Writes racing with it: tests/vm share.sh.
 */
#include "cow-test.h"
#include "cow-test-pool.h"

#define NR 10		/* chunks the origin maps */
#define REWRITTEN 5	/* of which the origin rewrote 0..4 after the snapshot */

static u64 map_new(struct cow_volume *v, u64 vchunk)
{
	u64 d;

	CHECK_OK(cow_volume_alloc_chunk(v, &d));
	CHECK_OK(cow_volume_insert(v, vchunk, d));
	return d;
}

static struct cow_volume_counters counters(struct cow_volume *v)
{
	struct cow_volume_counters c;

	CHECK_OK(cow_volume_get_counters(v, &c));
	return c;
}

/* Origin 1 maps 0..NR-1; snapshot 2; the origin rewrites 0..REWRITTEN-1. */
static void setup(struct test_pool *tp, struct cow_volume **o,
		  struct cow_volume **s)
{
	struct cow_snapshot_request req = { .new_id = 2, .origin_id = 1, .name = "s" };
	u64 i;

	tp_create(tp, 1024, 1000, 256);
	CHECK_OK(cow_pmd_create_volume(tp->pmd, 1, "origin"));
	CHECK_OK(cow_pmd_open_volume(tp->pmd, 1, o));
	for (i = 0; i < NR; i++)
		map_new(*o, i);
	CHECK_OK(cow_pmd_snapshot(tp->pmd, &req, 1));
	CHECK_OK(cow_pmd_open_volume(tp->pmd, 2, s));
	for (i = 0; i < REWRITTEN; i++)
		map_new(*o, i);
	CHECK_OK(cow_pmd_commit(tp->pmd));
	CHECK_EQ(counters(*o).exclusive_chunks, REWRITTEN);
	CHECK_EQ(counters(*s).exclusive_chunks, REWRITTEN);
	tp_check(tp->bm);
}

COW_TEST(share_rewritten_chunks_come_back)
{
	struct cow_volume *o, *s;
	struct cow_share_probe p;
	struct cow_lookup_result lo, ls;
	struct test_pool tp;
	u64 i, free0, free1, written0;

	setup(&tp, &o, &s);
	CHECK_OK(cow_pmd_get_free_data_chunks(tp.pmd, &free0));
	written0 = counters(o).written_since_origin;
	for (i = 0; i < REWRITTEN; i++) {
		CHECK_OK(cow_volume_share_probe(o, s, i, &p));
		CHECK(p.dst_dchunk != p.src_dchunk);
		CHECK_OK(cow_volume_share(o, s, i, &p));
		CHECK_OK(cow_volume_lookup(o, i, true, &lo));
		CHECK_OK(cow_volume_lookup(s, i, true, &ls));
		CHECK_EQ(lo.dchunk, ls.dchunk);
		/* Both must break sharing before writing to it. */
		CHECK(lo.shared && ls.shared);
		CHECK_EQ(cow_volume_share_probe(o, s, i, &p), -ENODATA);
	}
	CHECK_EQ(counters(o).exclusive_chunks, 0);
	CHECK_EQ(counters(s).exclusive_chunks, 0);
	CHECK_EQ(counters(o).mapped_chunks, NR);
	CHECK_EQ(counters(o).written_since_origin, written0);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	CHECK_OK(cow_pmd_get_free_data_chunks(tp.pmd, &free1));
	CHECK_EQ(free1, free0 + REWRITTEN);
	tp_check(tp.bm);

	/* A write to a re-shared chunk breaks sharing again, as after a snapshot. */
	map_new(o, 0);
	CHECK_EQ(counters(o).exclusive_chunks, 1);
	CHECK_EQ(counters(s).exclusive_chunks, 1);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);

	cow_pmd_close_volume(o);
	cow_pmd_close_volume(s);
	tp_reopen(&tp, 256);
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 1, &o));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 2, &s));
	for (i = 1; i < NR; i++) {
		CHECK_OK(cow_volume_lookup(o, i, true, &lo));
		CHECK_OK(cow_volume_lookup(s, i, true, &ls));
		CHECK_EQ(lo.dchunk, ls.dchunk);
	}
	cow_pmd_close_volume(o);
	cow_pmd_close_volume(s);
	tp_check(tp.bm);
	tp_destroy(&tp);
}

COW_TEST(share_refuses_what_it_must)
{
	struct cow_volume *o, *s, *other;
	struct cow_share_probe p;
	struct test_pool tp;
	u64 d;

	setup(&tp, &o, &s);
	/* Already the same chunk; unmapped in both; unmapped in one. */
	CHECK_EQ(cow_volume_share_probe(o, s, NR - 1, &p), -ENODATA);
	CHECK_EQ(cow_volume_share_probe(o, s, NR + 5, &p), -ENODATA);
	map_new(o, NR + 1);
	CHECK_EQ(cow_volume_share_probe(o, s, NR + 1, &p), -ENODATA);
	/*
	 * The other direction: the origin's chunk is younger than its last
	 * snapshot, so the origin would overwrite it in place.
	 */
	CHECK_EQ(cow_volume_share_probe(s, o, 0, &p), -ENODATA);
	/* Another family. */
	CHECK_OK(cow_pmd_create_volume(tp.pmd, 3, "other"));
	CHECK_OK(cow_pmd_open_volume(tp.pmd, 3, &other));
	map_new(other, 0);
	CHECK_EQ(cow_volume_share_probe(other, s, 0, &p), -EXDEV);

	/* The mapping changed after the probe: nothing is shared. */
	CHECK_OK(cow_volume_share_probe(o, s, 1, &p));
	d = map_new(o, 1);
	CHECK_EQ(cow_volume_share(o, s, 1, &p), -EAGAIN);
	CHECK_OK(cow_volume_share_probe(o, s, 1, &p));
	CHECK_EQ(p.dst_dchunk, d);
	CHECK_OK(cow_volume_share(o, s, 1, &p));
	/* The source changed (it broke sharing): nothing is shared. */
	CHECK_OK(cow_volume_share_probe(o, s, 2, &p));
	map_new(s, 2);
	CHECK_EQ(cow_volume_share(o, s, 2, &p), -EAGAIN);
	CHECK_OK(cow_pmd_commit(tp.pmd));
	tp_check(tp.bm);
	cow_pmd_close_volume(other);
	cow_pmd_close_volume(o);
	cow_pmd_close_volume(s);
	tp_destroy(&tp);
}
