// SPDX-License-Identifier: GPL-2.0-only
/*
 * Property test: long random sequences of volume operations against a
 * simple in-memory model, checked after every operation, at every commit,
 * and after every reopen (where the independent checker also runs).
 *
 * Besides "lookups return what the model says", the model checks the two
 * safety properties the target relies on:
 *  - a lookup that says "not shared" names a chunk no other live volume
 *    and no held snapshot maps (so it may be overwritten in place);
 *  - a newly allocated chunk is mapped by nothing in the current state nor
 *    in the last committed one (so a crash never exposes a reused chunk).
 */
#include "cow-test.h"
#include "cow-test-pool.h"
#include "cow-check.h"
#include "cow-metadata-internal.h"

#define NV 12		/* volume ids 1..NV */
#define NC 1024		/* model slots per volume */
#define ND 3000		/* data chunks: small, so allocation wraps */
#define MD 4096		/* metadata blocks */
#define STRIDE 37	/* vchunk = slot * STRIDE: spread keys out */
#define NDEL 12		/* deleting records the model follows */
#define COW_COUNTER_ALL \
	(COW_COUNTER_MAPPED | COW_COUNTER_WRITTEN | COW_COUNTER_EXCLUSIVE)

/* A deleted volume's (or rolled-back volume's old) tree being accounted. */
struct deleting {
	u64 id;			/* record key in the volumes btree */
	u64 cursor;		/* slots with key >= cursor are still held */
	u32 map[NC];
};

struct model {
	bool live[NV + 1];
	u32 map[NV + 1][NC];	/* dchunk + 1, 0 = unmapped */
	/* Written by the volume itself since its creation or last copy. */
	bool own[NV + 1][NC];
	u32 nr_mapped[NV + 1], nr_own[NV + 1];
	u16 live_refs[ND];
	/* Deleting records are holders too, until accounted. */
	unsigned int nr_deleting;
	struct deleting deleting[NDEL];
	u16 deleting_refs[ND];
	bool held;
	u16 held_refs[ND];
	u64 user_txn;
};

struct prop {
	struct test_pool tp;
	struct model m, committed;
	struct cow_volume *h[NV + 1];
	u64 seed;
	unsigned long ops[32];
	unsigned long nr_ops;
};

static struct prop *P;

/*----------------------------------------------------------------*/

static void model_map(struct model *m, u64 id, u32 slot, u32 d1)
{
	u32 old = m->map[id][slot];

	if (old)
		m->live_refs[old - 1]--;
	m->map[id][slot] = d1;
	if (d1)
		m->live_refs[d1 - 1]++;
	m->nr_mapped[id] += !!d1 - !!old;
	/* Any change but a write by the volume itself is not its own. */
	m->nr_own[id] -= m->own[id][slot];
	m->own[id][slot] = false;
}

static void model_written(struct model *m, u64 id, u32 slot)
{
	m->nr_own[id] += !m->own[id][slot];
	m->own[id][slot] = true;
}

/* Chunks mapped by @id and by no other holder. */
static u64 model_exclusive(const struct model *m, u64 id)
{
	u64 n = 0;
	u32 s, d1;

	for (s = 0; s < NC; s++) {
		d1 = m->map[id][s];
		n += d1 && m->live_refs[d1 - 1] == 1 && !m->deleting_refs[d1 - 1];
	}
	return n;
}

/* The deleting record @id now holds only keys >= @cursor. */
static void model_account(struct model *m, struct deleting *dl, u64 cursor)
{
	u32 s;

	for (s = 0; s < NC; s++)
		if (dl->map[s] && (u64)s * STRIDE >= dl->cursor &&
		    (u64)s * STRIDE < cursor)
			m->deleting_refs[dl->map[s] - 1]--;
	dl->cursor = cursor;
}

/* @id's tree becomes a deleting record (called before it changes). */
static void model_retire(struct model *m, u64 id)
{
	struct deleting *dl;
	u32 s;

	CHECK(m->nr_deleting < NDEL);
	dl = &m->deleting[m->nr_deleting++];
	dl->id = 0;		/* learnt from the pool: see sync_deleting() */
	dl->cursor = 0;
	for (s = 0; s < NC; s++) {
		dl->map[s] = m->map[id][s];
		if (dl->map[s])
			m->deleting_refs[dl->map[s] - 1]++;
	}
}

static void model_drop_volume(struct model *m, u64 id)
{
	u32 s;

	model_retire(m, id);
	for (s = 0; s < NC; s++)
		model_map(m, id, s, 0);
	m->live[id] = false;
}

static void model_hold(struct model *m)
{
	memcpy(m->held_refs, m->live_refs, sizeof(m->held_refs));
	m->held = true;
}

static u64 rnd(u64 n)
{
	return n ? tp_rand(&P->seed) % n : 0;
}

static u64 pick_live(void)
{
	u64 i, start = 1 + rnd(NV);

	for (i = 0; i < NV; i++) {
		u64 id = 1 + (start + i - 1) % NV;

		if (P->m.live[id])
			return id;
	}
	return 0;
}

static u64 pick_free(void)
{
	u64 i, start = 1 + rnd(NV);

	for (i = 0; i < NV; i++) {
		u64 id = 1 + (start + i - 1) % NV;

		if (!P->m.live[id])
			return id;
	}
	return 0;
}

/*----------------------------------------------------------------
 * Verification
 *--------------------------------------------------------------*/

static void verify_slot(u64 id, u32 slot)
{
	struct cow_lookup_result lr;
	u32 d1 = P->m.map[id][slot];
	int r;

	/* The non-blocking path must agree whenever it can answer. */
	r = cow_volume_lookup(P->h[id], (u64)slot * STRIDE, false, &lr);
	if (r == -EWOULDBLOCK)
		r = cow_volume_lookup(P->h[id], (u64)slot * STRIDE, true, &lr);
	if (!d1) {
		CHECK_MSG(r == -ENODATA, "vol %llu slot %u: expected unmapped, got %d",
			  (unsigned long long)id, slot, r);
		return;
	}
	CHECK_MSG(!r, "vol %llu slot %u: lookup failed %d", (unsigned long long)id,
		  slot, r);
	CHECK_MSG(lr.dchunk == d1 - 1, "vol %llu slot %u: chunk %llu, model %u",
		  (unsigned long long)id, slot, (unsigned long long)lr.dchunk,
		  d1 - 1);
	if (!lr.shared)
		CHECK_MSG(P->m.live_refs[d1 - 1] == 1 &&
			  (!P->m.held || !P->m.held_refs[d1 - 1]),
			  "vol %llu slot %u: chunk %u said exclusive but has %u live, %u held refs",
			  (unsigned long long)id, slot, d1 - 1,
			  P->m.live_refs[d1 - 1], P->m.held_refs[d1 - 1]);
}

/* Walk the whole volume with find_mapped_range and compare. */
static void verify_volume(u64 id)
{
	u64 vb, ve, db, begin = 0, n = 0, expect = 0, k;
	bool shared;
	u32 s;
	int r;

	for (s = 0; s < NC; s++)
		expect += !!P->m.map[id][s];
	CHECK_OK(cow_volume_get_mapped_count(P->h[id], &n));
	CHECK_MSG(n == expect, "vol %llu maps %llu, model %llu",
		  (unsigned long long)id, (unsigned long long)n,
		  (unsigned long long)expect);
	n = 0;
	for (;;) {
		r = cow_volume_find_mapped_range(P->h[id], begin, (u64)NC * STRIDE,
						 &vb, &ve, &db, &shared);
		if (r == -ENODATA)
			break;
		CHECK_OK(r);
		for (k = vb; k < ve; k++) {
			CHECK_MSG(k % STRIDE == 0 && P->m.map[id][k / STRIDE] ==
				  db + (k - vb) + 1,
				  "vol %llu: %llu maps to %llu, model %u",
				  (unsigned long long)id, (unsigned long long)k,
				  (unsigned long long)(db + k - vb),
				  P->m.map[id][k / STRIDE]);
			n++;
		}
		begin = ve;
	}
	CHECK_EQ(n, expect);
}

/* The live counters of every open volume, after every operation. */
static void verify_counters(void)
{
	struct cow_volume_counters vc;
	struct cow_volume_info info;
	u64 id, pick = pick_live();

	for (id = 1; id <= NV; id++) {
		if (!P->m.live[id] || !P->h[id])
			continue;
		CHECK_OK(cow_volume_get_counters(P->h[id], &vc));
		CHECK_EQ(vc.valid, COW_COUNTER_ALL);
		CHECK_MSG(vc.exclusive_chunks == model_exclusive(&P->m, id),
			  "vol %llu: exclusive %llu, model %llu",
			  (unsigned long long)id,
			  (unsigned long long)vc.exclusive_chunks,
			  (unsigned long long)model_exclusive(&P->m, id));
		CHECK_MSG(vc.mapped_chunks == P->m.nr_mapped[id] &&
			  vc.written_since_origin == P->m.nr_own[id],
			  "vol %llu: mapped %llu written %llu, model %u %u",
			  (unsigned long long)id,
			  (unsigned long long)vc.mapped_chunks,
			  (unsigned long long)vc.written_since_origin,
			  P->m.nr_mapped[id], P->m.nr_own[id]);
	}
	if (!pick)
		return;
	CHECK_OK(cow_pmd_get_volume_info(P->tp.pmd, pick, &info));
	CHECK_EQ(info.mapped_chunks, P->m.nr_mapped[pick]);
	CHECK_EQ(info.written_since_origin, P->m.nr_own[pick]);
	CHECK_EQ(info.valid_counters, COW_COUNTER_ALL);
	CHECK_EQ(info.exclusive_chunks, model_exclusive(&P->m, pick));
}

/*
 * The checker's independent recomputation of the last commit against the
 * committed model (it also compares with the stored counters).
 */
static void verify_checker_counters(void)
{
	struct cow_check_report *rep = calloc(1, sizeof(*rep));
	const struct model *m = &P->committed;
	unsigned int i = 0;
	u64 id;

	CHECK(rep);
	tp_check_report(P->tp.bm, rep);
	CHECK_EQ(rep->nr_problems, 0);
	CHECK(rep->accounted);
	for (id = 1; id <= NV; id++) {
		if (!m->live[id])
			continue;
		CHECK(i < rep->nr_volume_counters);
		CHECK_EQ(rep->volume_counters[i].id, id);
		CHECK_EQ(rep->volume_counters[i].mapped_chunks, m->nr_mapped[id]);
		CHECK_EQ(rep->volume_counters[i].written_since_origin,
			 m->nr_own[id]);
		CHECK_MSG(rep->volume_counters[i].exclusive_chunks ==
			  model_exclusive(m, id),
			  "vol %llu: checker says %llu exclusive, model %llu",
			  (unsigned long long)id,
			  (unsigned long long)rep->volume_counters[i].exclusive_chunks,
			  (unsigned long long)model_exclusive(m, id));
		i++;
	}
	CHECK_EQ(i, rep->nr_volume_counters);
	free(rep);
}

static void verify_all(void)
{
	u64 id;

	for (id = 1; id <= NV; id++)
		if (P->m.live[id])
			verify_volume(id);
}

static int count_volumes(void *context, const struct cow_volume_info *info)
{
	u64 *n = context;

	CHECK(info->id >= 1 && info->id <= NV && P->m.live[info->id]);
	(*n)++;
	return 0;
}

static void verify_volume_list(void)
{
	u64 n = 0, expect = 0, id;

	for (id = 1; id <= NV; id++)
		expect += P->m.live[id];
	CHECK_OK(cow_pmd_walk_volumes(P->tp.pmd, count_volumes, &n));
	CHECK_EQ(n, expect);
}

/*----------------------------------------------------------------
 * Handles
 *--------------------------------------------------------------*/

static void open_handle(u64 id)
{
	CHECK_OK(cow_pmd_open_volume(P->tp.pmd, id, &P->h[id]));
}

static void close_handle(u64 id)
{
	if (P->h[id])
		cow_pmd_close_volume(P->h[id]);
	P->h[id] = NULL;
}

static void reopen_handles(void)
{
	u64 id;

	for (id = 1; id <= NV; id++) {
		close_handle(id);
		if (P->m.live[id])
			open_handle(id);
	}
}

/*----------------------------------------------------------------
 * Operations
 *--------------------------------------------------------------*/

static void check_fresh_chunk(u64 d)
{
	CHECK(d < ND);
	CHECK_MSG(!P->m.live_refs[d] && !(P->m.held && P->m.held_refs[d]),
		  "allocated chunk %llu is still mapped", (unsigned long long)d);
	CHECK_MSG(!P->committed.live_refs[d] &&
		  !(P->committed.held && P->committed.held_refs[d]),
		  "allocated chunk %llu is mapped by the last commit",
		  (unsigned long long)d);
}

static void op_commit(void);
static void op_reclaim(void);

/*----------------------------------------------------------------
 * Deleting records: the model learns the pool's accounting progress
 *--------------------------------------------------------------*/

struct core_deleting {
	unsigned int nr;
	u64 id[64], cursor[64], count[64];
};

static int collect_deleting(void *context, u64 key, void *value)
{
	struct core_deleting *cd = context;
	struct cow_disk_volume *rec = value;

	CHECK(cd->nr < 64);
	CHECK(le32_to_cpu(rec->flags) & COW_VOL_F_DELETING);
	cd->id[cd->nr] = key;
	cd->cursor[cd->nr] = le64_to_cpu(rec->account_cursor);
	cd->count[cd->nr++] = le64_to_cpu(rec->mapping.count);
	return 0;
}

static u64 deleting_count(const struct deleting *dl)
{
	u64 n = 0;
	u32 s;

	for (s = 0; s < NC; s++)
		n += !!dl->map[s];
	return n;
}

/*
 * Match the model's deleting records with the pool's (in creation order;
 * empty trees may or may not get one) and take over their cursors; a
 * record the pool removed is accounted in full.  Cursors only grow.
 */
static void sync_deleting(void)
{
	struct core_deleting *cd = calloc(1, sizeof(*cd));
	struct model *m = &P->m;
	unsigned int i, k = 0, keep = 0;
	struct deleting *dl;

	CHECK(cd);
	CHECK(cow_btree_walk(&P->tp.pmd->vol_info, &P->tp.pmd->volumes_root,
			     COW_DELETING_ID_BASE, U64_MAX, collect_deleting, cd) >= 0);
	for (i = 0; i < m->nr_deleting; i++) {
		dl = &m->deleting[i];
		if (!deleting_count(dl)) {
			continue;	/* holds nothing: forget it */
		}
		while (k < cd->nr && (!cd->count[k] || (dl->id && cd->id[k] < dl->id)))
			k++;
		if (k == cd->nr || (dl->id && cd->id[k] != dl->id)) {
			/* Gone from the pool: every chunk was accounted. */
			CHECK_MSG(dl->id, "deleting record %u not in the pool", i);
			model_account(m, dl, U64_MAX);
			continue;
		}
		if (!dl->id)
			dl->id = cd->id[k];
		CHECK_EQ(cd->count[k], deleting_count(dl));
		CHECK(cd->cursor[k] >= dl->cursor);
		model_account(m, dl, cd->cursor[k]);
		k++;
		if (keep != i)
			m->deleting[keep] = *dl;
		keep++;
	}
	m->nr_deleting = keep;
	free(cd);
}

/* Room for one more deleting record in the model: reclaim until there is. */
static void make_deleting_room(void)
{
	bool more = true;

	while (P->m.nr_deleting >= NDEL - 1 && more) {
		CHECK_OK(cow_pmd_reclaim_step(P->tp.pmd, 5000, &more));
		sync_deleting();
	}
}

/* Write one slot as the target would: allocate unless exclusive. */
static void write_slot(u64 id, u32 slot)
{
	struct cow_lookup_result lr;
	u64 d;
	int r;

	r = cow_volume_lookup(P->h[id], (u64)slot * STRIDE, true, &lr);
	if (!r && !lr.shared) {
		verify_slot(id, slot);
		return;		/* overwrite in place */
	}
	CHECK(!r || r == -ENODATA);
	r = cow_volume_alloc_chunk(P->h[id], &d);
	if (r == -ENOSPC) {
		op_commit();
		r = cow_volume_alloc_chunk(P->h[id], &d);
		if (r == -ENOSPC)
			return;
	}
	CHECK_OK(r);
	check_fresh_chunk(d);
	CHECK_OK(cow_volume_insert(P->h[id], (u64)slot * STRIDE, d));
	model_map(&P->m, id, slot, (u32)d + 1);
	model_written(&P->m, id, slot);
	verify_slot(id, slot);
}

static void op_write(void)
{
	u64 id = pick_live();

	if (id)
		write_slot(id, (u32)rnd(NC));
}

static void op_burst(void)
{
	u64 id = pick_live();
	u32 s, start = (u32)rnd(NC), n = 16 + (u32)rnd(200);

	for (s = start; id && s < start + n && s < NC; s++)
		write_slot(id, s);
}

static void freed_cb(void *context, u64 b, u64 e)
{
	u64 d;

	(void)context;
	CHECK(b < e && e <= ND);
	for (d = b; d < e; d++)
		CHECK_MSG(!P->m.live_refs[d] && !(P->m.held && P->m.held_refs[d]),
			  "chunk %llu reported freed but still mapped",
			  (unsigned long long)d);
}

static void op_remove(void)
{
	u64 id = pick_live();
	u32 b = (u32)rnd(NC), e = b + 1 + (u32)rnd(rnd(2) ? 8 : 300), s;

	if (!id)
		return;
	e = min_t(u32, e, NC);
	for (s = b; s < e; s++)
		model_map(&P->m, id, s, 0);
	CHECK_OK(cow_volume_remove_range(P->h[id], (u64)b * STRIDE,
					 (u64)(e - 1) * STRIDE + 1, freed_cb, NULL));
	verify_slot(id, b);
	verify_slot(id, e - 1);
}

/*
 * Exhaust the data device, free chunks by a removal in this transaction,
 * and check none of them comes back before the commit.
 */
static void op_fill(void)
{
	u64 id = pick_live(), *held, d, n = 0, i;
	int r;

	if (!id)
		return;
	op_commit();
	held = calloc(ND, sizeof(*held));
	CHECK(held);
	while ((r = cow_volume_alloc_chunk(P->h[id], &d)) == 0) {
		check_fresh_chunk(d);
		CHECK(n < ND);
		held[n++] = d;
	}
	CHECK_EQ(r, -ENOSPC);
	for (i = 0; i < 4; i++)
		op_remove();
	op_reclaim();
	r = cow_volume_alloc_chunk(P->h[id], &d);
	if (getenv("DBG"))
		fprintf(stderr, "fill: n=%llu r=%d d=%llu crefs=%u\n", (unsigned long long)n, r, (unsigned long long)d, r ? 0 : P->committed.live_refs[d]);
	if (!r) {
		check_fresh_chunk(d);
		held[n++] = d;
	} else {
		CHECK_EQ(r, -ENOSPC);
	}
	for (i = 0; i < n; i++)
		CHECK_OK(cow_volume_free_unused_chunk(P->h[id], held[i]));
	free(held);
}

static void op_create(void)
{
	u64 id = pick_free();

	if (!id)
		return;
	CHECK_OK(cow_pmd_create_volume(P->tp.pmd, id, "v"));
	P->m.live[id] = true;
	open_handle(id);
	CHECK_EQ(cow_pmd_create_volume(P->tp.pmd, id, "again"), -EEXIST);
}

static void op_snapshot(void)
{
	struct cow_snapshot_request req[3] = { { 0 } };
	unsigned int nr = 1 + (unsigned int)rnd(3), i, k = 0;
	u64 id, s;

	memset(req, 0, sizeof(req));	/* flags: a plain snapshot */
	for (i = 0; i < nr; i++)
		req[i].origin_id = pick_live();
	for (i = 0; i < nr; i++) {
		id = pick_free();
		if (!id || !req[i].origin_id)
			break;
		req[k].origin_id = req[i].origin_id;
		req[k].new_id = id;
		req[k].name = "snap";
		P->m.live[id] = true;	/* reserve the id for this batch */
		k++;
	}
	for (i = 0; i < k; i++)
		P->m.live[req[i].new_id] = false;
	if (!k)
		return;
	CHECK_OK(cow_pmd_snapshot(P->tp.pmd, req, k));
	for (i = 0; i < k; i++) {
		P->m.live[req[i].new_id] = true;
		for (s = 0; s < NC; s++)
			model_map(&P->m, req[i].new_id, (u32)s,
				  P->m.map[req[i].origin_id][s]);
		open_handle(req[i].new_id);
	}
	for (i = 0; i < k; i++) {
		verify_slot(req[i].new_id, (u32)rnd(NC));
		verify_slot(req[i].origin_id, (u32)rnd(NC));
	}
}

static void op_delete(void)
{
	u64 id = pick_live();

	if (!id)
		return;
	CHECK_EQ(cow_pmd_delete_volume(P->tp.pmd, id), -EBUSY);
	close_handle(id);
	make_deleting_room();
	CHECK_OK(cow_pmd_delete_volume(P->tp.pmd, id));
	model_drop_volume(&P->m, id);
	sync_deleting();
	CHECK_EQ(cow_pmd_open_volume(P->tp.pmd, id, &P->h[id]), -ENOENT);
	P->h[id] = NULL;
}

static void op_reclaim(void)
{
	bool more;
	unsigned int budget = 1 + (unsigned int)rnd(rnd(4) ? 64 : 5000);

	CHECK_OK(cow_pmd_reclaim_step(P->tp.pmd, budget, &more));
	sync_deleting();
}

static void op_rollback(void)
{
	u64 id = pick_live(), snap = pick_live(), s;

	if (!id || !snap || id == snap)
		return;
	CHECK_EQ(cow_pmd_rollback(P->tp.pmd, id, snap), -EBUSY);
	cow_volume_set_quiesced(P->h[id], true);
	make_deleting_room();
	CHECK_OK(cow_pmd_rollback(P->tp.pmd, id, snap));
	cow_volume_set_quiesced(P->h[id], false);
	model_retire(&P->m, id);
	for (s = 0; s < NC; s++)
		model_map(&P->m, id, (u32)s, P->m.map[snap][s]);
	sync_deleting();
	verify_slot(id, (u32)rnd(NC));
}

static void op_commit(void)
{
	u64 id = pick_live();

	CHECK_OK(cow_pmd_commit(P->tp.pmd));
	CHECK(!cow_pmd_changed_this_transaction(P->tp.pmd));
	memcpy(&P->committed, &P->m, sizeof(P->m));
	if (id)
		verify_volume(id);
}

static void op_abort(void)
{
	u64 id;

	CHECK_OK(cow_pmd_abort(P->tp.pmd));
	memcpy(&P->m, &P->committed, sizeof(P->m));
	/* Handles of volumes that vanished must say so. */
	for (id = 1; id <= NV; id++) {
		struct cow_lookup_result lr;

		if (P->h[id] && !P->m.live[id])
			CHECK_EQ(cow_volume_lookup(P->h[id], 0, true, &lr), -ENODEV);
	}
	reopen_handles();
	id = pick_live();
	if (id)
		verify_volume(id);
}

static void op_reopen(void)
{
	u64 id;

	for (id = 1; id <= NV; id++)
		close_handle(id);
	tp_reopen(&P->tp, 64 + (unsigned int)rnd(512));
	memcpy(&P->m, &P->committed, sizeof(P->m));
	tp_check(P->tp.bm);
	verify_checker_counters();
	reopen_handles();
	verify_all();
	verify_volume_list();
}

static void op_hold(void)
{
	u64 held;

	if (P->m.held) {
		CHECK_EQ(cow_pmd_reserve_metadata_snap(P->tp.pmd), -EBUSY);
		CHECK_OK(cow_pmd_release_metadata_snap(P->tp.pmd));
		P->m.held = false;
		CHECK_OK(cow_pmd_get_held_root(P->tp.pmd, &held));
		CHECK_EQ(held, 0);
	} else {
		CHECK_OK(cow_pmd_reserve_metadata_snap(P->tp.pmd));
		model_hold(&P->m);
		CHECK_OK(cow_pmd_get_held_root(P->tp.pmd, &held));
		CHECK(held != 0);
	}
}

struct delta_ctx {
	u64 a, b, next;
};

static int delta_cb(void *context, u64 vb, u64 ve, enum cow_delta_kind kind)
{
	struct delta_ctx *dc = context;
	u64 k;

	CHECK(vb >= dc->next && vb < ve);
	dc->next = ve;
	for (k = vb; k < ve; k++) {
		u32 x, y;

		CHECK(k % STRIDE == 0);
		x = P->m.map[dc->a][k / STRIDE];
		y = P->m.map[dc->b][k / STRIDE];
		CHECK(x != y);
		CHECK_EQ(kind, !y ? COW_DELTA_LEFT_ONLY : !x ? COW_DELTA_RIGHT_ONLY :
			 COW_DELTA_DIFFERENT);
		/* Mark as reported. */
		P->m.map[dc->a][k / STRIDE] |= 0x80000000u;
	}
	return 0;
}

static void op_delta(void)
{
	struct delta_ctx dc = { .a = pick_live(), .b = pick_live(), .next = 0 };
	u32 s, x, y;

	if (!dc.a || !dc.b)
		return;
	CHECK_OK(cow_pmd_delta(P->tp.pmd, dc.a, dc.b, delta_cb, &dc));
	for (s = 0; s < NC; s++) {
		x = P->m.map[dc.a][s];
		y = P->m.map[dc.b][s];
		if (x & 0x80000000u) {
			P->m.map[dc.a][s] = x & 0x7fffffffu;
			continue;
		}
		CHECK_MSG(x == y, "delta missed slot %u (%u vs %u)", s, x, y);
	}
}

static void op_misc(void)
{
	u64 id = pick_live(), t;
	struct cow_volume_info info;

	CHECK_OK(cow_pmd_get_transaction_id(P->tp.pmd, &t));
	CHECK_EQ(t, P->m.user_txn);
	CHECK_EQ(cow_pmd_set_transaction_id(P->tp.pmd, t + 1, t + 2), -EINVAL);
	CHECK_OK(cow_pmd_set_transaction_id(P->tp.pmd, t, t + 1));
	P->m.user_txn = t + 1;
	if (id) {
		CHECK_OK(cow_pmd_set_name(P->tp.pmd, id, "renamed"));
		CHECK_OK(cow_pmd_get_volume_info(P->tp.pmd, id, &info));
		CHECK(!strcmp(info.name, "renamed"));
		CHECK_EQ(info.id, id);
	}
}

/*----------------------------------------------------------------*/

struct op {
	unsigned int weight;
	void (*fn)(void);
	const char *name;
};

static const struct op ops[] = {
	{ 400, op_write, "write" },
	{ 8, op_burst, "burst" },
	{ 70, op_remove, "remove" },
	{ 30, op_create, "create" },
	{ 30, op_snapshot, "snapshot" },
	{ 25, op_delete, "delete" },
	{ 60, op_reclaim, "reclaim" },
	{ 10, op_rollback, "rollback" },
	{ 60, op_commit, "commit" },
	{ 10, op_abort, "abort" },
	{ 2, op_reopen, "reopen" },
	{ 8, op_hold, "hold" },
	{ 8, op_delta, "delta" },
	{ 10, op_misc, "misc" },
	{ 2, op_fill, "fill" },
};

static void run_ops(unsigned long n)
{
	unsigned int total = 0, i, x;
	unsigned long k;

	for (i = 0; i < ARRAY_SIZE(ops); i++)
		total += ops[i].weight;
	for (k = 0; k < n; k++) {
		x = (unsigned int)rnd(total);
		for (i = 0; x >= ops[i].weight; i++)
			x -= ops[i].weight;
		ops[i].fn();
		verify_counters();
		P->ops[i]++;
		P->nr_ops++;
	}
}

static void property_run(u64 seed, unsigned long n)
{
	u64 id;
	unsigned int i;

	P = calloc(1, sizeof(*P));
	CHECK(P);
	P->seed = seed | 1;
	cow_log_quiet = true;
	tp_create(&P->tp, MD, ND, 512);
	op_commit();
	run_ops(n);
	op_commit();
	op_reopen();
	for (id = 1; id <= NV; id++)
		close_handle(id);
	tp_destroy(&P->tp);
	if (cow_test_verbose)
		for (i = 0; i < ARRAY_SIZE(ops); i++)
			printf("  %-9s %lu\n", ops[i].name, P->ops[i]);
	printf("  property: %lu operations\n", P->nr_ops);
	cow_log_quiet = false;
	free(P);
	P = NULL;
}

COW_TEST(property_random_operations)
{
	unsigned long n = 200000 * cow_test_scale(), done = 0, chunk = 25000;
	u64 seed = cow_test_seed();

	/* Several pools, so early states (empty trees) get exercised too. */
	while (done < n) {
		property_run(seed + done, min_t(unsigned long, chunk, n - done));
		done += chunk;
	}
}
