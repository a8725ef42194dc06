// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree metadata engine: the independent checker.
 *
 * Deliberately shares no code with the space maps or btrees it checks:
 * only the on-disk definitions and block validators.  Every reference to
 * a metadata block counts once; a node's contents are examined at its
 * first reference only (its subtree count is remembered for the others).
 */
#include "cow-check.h"
#include "cow-format.h"
#include "cow-metadata.h"

#define MAX_DEPTH 12

struct checker {
	struct cow_block_manager *bm;
	struct cow_check_report *rep;
	struct cow_disk_superblock sb;
	u64 txn;		/* of the last commit */
	u32 time;
	u64 nr_meta, nr_data;
	u32 *meta_expected, *meta_found;
	u32 *data_expected, *data_found;
	u64 *node_count;	/* entries beneath a node seen already */
	u64 dead_mapping_sum;
	u64 data_allocated;

	/* Live accounting: see account(). */
	bool in_live;		/* walking the live volumes tree */
	u64 nr_vols, max_vols;	/* stored, the most there can be */
	u64 vols_cap;		/* room for, grown as records are found */
	u64 nr_records;		/* live records walked */
	struct acct_vol *vols;	/* live records, in id order */
	u32 *vol_count;		/* live volumes mapping each data chunk */
	u64 *vol_xor;		/* xor of their ids */
	u64 *vol_family;	/* family + 1 of the first */
	u64 nr_live;
};

struct acct_vol {
	u64 id;
	struct cow_disk_root root;
	u32 origin_time;
	bool deleting;		/* holds only keys >= cursor */
	u64 cursor, family;
	u64 written, exclusive;			/* as recorded */
	u64 found_mapped, found_written, found_exclusive;	/* recomputed */
};

struct node_ref {
	u64 blocknr, txn, count;
	u32 tree;
	u32 depth;
	u64 lo, hi;		/* keys must lie in [lo, hi] */
	bool hi_open;		/* hi is inclusive (rightmost path) */
	u32 cursor;		/* dead entries: entries before are gone */
};

/*----------------------------------------------------------------*/
/* Reporting */

__printf(6, 7)
static void problem(struct checker *c, enum cow_check_kind kind, u64 where,
		    u64 expected, u64 found, const char *fmt, ...)
{
	struct cow_check_report *rep = c->rep;
	struct cow_check_problem *p;
	va_list ap;

	rep->nr_problems++;
	rep->nr_by_kind[kind]++;
	if (rep->nr_stored >= COW_CHECK_MAX_STORED)
		return;
	p = &rep->problems[rep->nr_stored++];
	p->kind = kind;
	p->where = where;
	p->expected = expected;
	p->found = found;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
}

void cow_check_log(const struct cow_check_report *rep)
{
	unsigned int i;

	for (i = 0; i < rep->nr_stored; i++)
		cow_err("check: %s", rep->problems[i].msg);
	if (rep->nr_problems > rep->nr_stored)
		cow_err("check: ... and %llu more problems",
			(unsigned long long)(rep->nr_problems - rep->nr_stored));
}

/*----------------------------------------------------------------*/
/* Block access */

/* Count a reference to metadata block @b; true if it is the first. */
static bool ref_meta(struct checker *c, u64 b, const char *what)
{
	if (!b || b >= c->nr_meta) {
		problem(c, COW_CHECK_CORRUPT, b, 0, 0,
			"%s points to impossible metadata block %llu", what,
			(unsigned long long)b);
		return false;
	}
	return c->meta_expected[b]++ == 0;
}

/* In words: the validator's reason, read again raw, or the error. */
static const char *why_invalid(struct checker *c, u64 b,
			       const struct cow_block_validator *v, int err)
{
	struct cow_block *raw;
	const char *why = NULL;

	if (err == -EILSEQ && v && !cow_bm_read_lock(c->bm, b, NULL, &raw)) {
		raw->csum_seed = c->bm->csum_seed;
		why = cow_block_problem(v, raw);
		cow_bm_unlock(c->bm, raw);
	}
	if (why)
		return why;
	return err == -EILSEQ ? "bad checksum, type or location" : "read error";
}

static int lock(struct checker *c, u64 b, u64 txn,
		const struct cow_block_validator *v, const char *what,
		struct cow_block **result)
{
	struct cow_disk_block_header *h;
	int r;

	r = cow_bm_read_lock(c->bm, b, v, result);
	if (r) {
		problem(c, COW_CHECK_CORRUPT, b, 0, 0,
			"%s block %llu unreadable or invalid (%s)", what,
			(unsigned long long)b, why_invalid(c, b, v, r));
		return r;
	}
	h = cow_block_data(*result);
	if (le64_to_cpu(h->txn) != txn || txn > c->txn) {
		problem(c, COW_CHECK_CORRUPT, b, txn, le64_to_cpu(h->txn),
			"%s block %llu has stamp %llu, reference says %llu",
			what, (unsigned long long)b,
			(unsigned long long)le64_to_cpu(h->txn),
			(unsigned long long)txn);
		cow_bm_unlock(c->bm, *result);
		return -EILSEQ;
	}
	return 0;
}

/*----------------------------------------------------------------*/
/* Reference count blocks (both space maps) */

static void read_counts(struct checker *c, u64 blocknr, u64 txn, u64 index,
			u32 nr_free, bool data)
{
	const struct cow_block_validator *v =
		data ? &cow_dsm_rc_validator : &cow_msm_rc_validator;
	u64 nr = data ? c->nr_data : c->nr_meta, first = index * COW_RC_ENTRIES;
	u32 *found = data ? c->data_found : c->meta_found, zeros = 0, i, cnt;
	struct cow_disk_refcount *rc;
	struct cow_block *b;

	if (!ref_meta(c, blocknr, "space map index"))
		return;
	if (lock(c, blocknr, txn, v, data ? "data refcount" : "metadata refcount",
		 &b))
		return;
	rc = cow_block_data(b);
	if (le64_to_cpu(rc->first) != first)
		problem(c, COW_CHECK_CORRUPT, blocknr, first, le64_to_cpu(rc->first),
			"refcount block %llu covers %llu, expected %llu",
			(unsigned long long)blocknr,
			(unsigned long long)le64_to_cpu(rc->first),
			(unsigned long long)first);
	for (i = 0; i < COW_RC_ENTRIES; i++) {
		cnt = le32_to_cpu(rc->counts[i]);
		if (first + i >= nr) {
			if (cnt)
				problem(c, COW_CHECK_CORRUPT, first + i, 0, cnt,
					"count beyond the device end at %llu",
					(unsigned long long)(first + i));
			continue;
		}
		found[first + i] = cnt;
		zeros += !cnt;
	}
	if (zeros != nr_free)
		problem(c, COW_CHECK_COUNTER, blocknr, zeros, nr_free,
			"refcount block %llu: index says %u free, block has %u",
			(unsigned long long)blocknr, nr_free, zeros);
	cow_bm_unlock(c->bm, b);
}

static void check_msm(struct checker *c)
{
	u64 root = le64_to_cpu(c->sb.msm_root.blocknr), ix_b, nr_rc;
	struct cow_disk_msm_root *mr;
	struct cow_disk_msm_index *ix;
	struct cow_block *rb, *ib;
	u32 i, j, nr_index;

	if (!ref_meta(c, root, "superblock") ||
	    lock(c, root, le64_to_cpu(c->sb.msm_root.txn), &cow_msm_root_validator,
		 "metadata space map root", &rb))
		return;
	mr = cow_block_data(rb);
	nr_index = le32_to_cpu(mr->nr_index);
	nr_rc = DIV_ROUND_UP(c->nr_meta, COW_RC_ENTRIES);
	if (le64_to_cpu(mr->nr_blocks) != c->nr_meta ||
	    nr_index != DIV_ROUND_UP(nr_rc, COW_MSM_INDEX_ENTRIES))
		problem(c, COW_CHECK_COUNTER, root, c->nr_meta,
			le64_to_cpu(mr->nr_blocks),
			"metadata space map size disagrees with the superblock");
	for (i = 0; i < nr_index && i < COW_MSM_ROOT_ENTRIES; i++) {
		ix_b = le64_to_cpu(mr->index[i].blocknr);
		if (!ref_meta(c, ix_b, "metadata space map root") ||
		    lock(c, ix_b, le64_to_cpu(mr->index[i].txn),
			 &cow_msm_index_validator, "metadata space map index", &ib))
			continue;
		ix = cow_block_data(ib);
		for (j = 0; j < COW_MSM_INDEX_ENTRIES; j++) {
			u64 rc = (u64)i * COW_MSM_INDEX_ENTRIES + j;
			u64 valid = rc < nr_rc ? min_t(u64, COW_RC_ENTRIES,
					c->nr_meta - rc * COW_RC_ENTRIES) : 0;

			if (rc >= nr_rc)
				break;
			if (!ix->entries[j].blocknr) {
				if (le32_to_cpu(ix->entries[j].nr_free) != valid)
					problem(c, COW_CHECK_COUNTER, rc, valid,
						le32_to_cpu(ix->entries[j].nr_free),
						"empty metadata refcount block %llu not all free",
						(unsigned long long)rc);
				continue;
			}
			read_counts(c, le64_to_cpu(ix->entries[j].blocknr),
				    le64_to_cpu(ix->entries[j].txn), rc,
				    le32_to_cpu(ix->entries[j].nr_free), false);
		}
		cow_bm_unlock(c->bm, ib);
	}
	cow_bm_unlock(c->bm, rb);
}

/*----------------------------------------------------------------*/
/* Btrees */

static void check_value(struct checker *c, const struct node_ref *ref,
			u64 key, const void *value);

static u32 tree_value_size(u32 tree)
{
	switch (tree) {
	case COW_TREE_MAPPING:
		return sizeof(__le64);
	case COW_TREE_VOLUMES:
		return sizeof(struct cow_disk_volume);
	case COW_TREE_DEAD:
		return sizeof(struct cow_disk_dead);
	case COW_TREE_DSM_INDEX:
		return sizeof(struct cow_disk_index_entry);
	}
	return 0;
}

static void walk_node(struct checker *c, const struct node_ref *ref);

static bool check_node_header(struct checker *c, const struct node_ref *ref,
			      struct cow_disk_node_header *n)
{
	u32 vs = le32_to_cpu(n->flags) == COW_NODE_LEAF ?
		tree_value_size(ref->tree) : sizeof(struct cow_disk_root);

	if (le32_to_cpu(n->tree) != ref->tree || le32_to_cpu(n->value_size) != vs) {
		problem(c, COW_CHECK_CORRUPT, ref->blocknr, ref->tree,
			le32_to_cpu(n->tree),
			"node %llu belongs to tree %u, expected tree %u",
			(unsigned long long)ref->blocknr, le32_to_cpu(n->tree),
			ref->tree);
		return false;
	}
	if (!le32_to_cpu(n->nr_entries) && ref->depth) {
		problem(c, COW_CHECK_CORRUPT, ref->blocknr, 0, 0,
			"empty non-root node %llu", (unsigned long long)ref->blocknr);
		return false;
	}
	return true;
}

static bool check_keys(struct checker *c, const struct node_ref *ref,
		       struct cow_disk_node_header *n)
{
	__le64 *keys = (__le64 *)(n + 1);
	u32 i, nr = le32_to_cpu(n->nr_entries);
	u64 k;

	for (i = 0; i < nr; i++) {
		k = le64_to_cpu(keys[i]);
		if ((i && k <= le64_to_cpu(keys[i - 1])) || k < ref->lo ||
		    (ref->hi_open ? false : k >= ref->hi)) {
			problem(c, COW_CHECK_CORRUPT, ref->blocknr, i, k,
				"node %llu key %llu (entry %u) out of order or range",
				(unsigned long long)ref->blocknr,
				(unsigned long long)k, i);
			return false;
		}
	}
	return true;
}

static u64 walk_entries(struct checker *c, const struct node_ref *ref,
			struct cow_disk_node_header *n)
{
	u32 i, nr = le32_to_cpu(n->nr_entries), vs = le32_to_cpu(n->value_size);
	__le64 *keys = (__le64 *)(n + 1);
	u8 *values = (u8 *)(keys + le32_to_cpu(n->max_entries));
	struct cow_disk_root *cr;
	struct node_ref child;
	u64 sum = 0;

	for (i = ref->cursor; i < nr; i++) {
		if (le32_to_cpu(n->flags) == COW_NODE_LEAF) {
			check_value(c, ref, le64_to_cpu(keys[i]), values + i * vs);
			sum++;
			continue;
		}
		cr = (struct cow_disk_root *)(values + i * vs);
		child = *ref;
		child.blocknr = le64_to_cpu(cr->blocknr);
		child.txn = le64_to_cpu(cr->txn);
		child.count = le64_to_cpu(cr->count);
		child.depth = ref->depth + 1;
		child.cursor = 0;
		/* keys[0] is only a lower bound; the parent's range still holds. */
		child.lo = max(le64_to_cpu(keys[i]), ref->lo);
		child.hi_open = i + 1 == nr ? ref->hi_open : false;
		child.hi = i + 1 == nr ? ref->hi : le64_to_cpu(keys[i + 1]);
		walk_node(c, &child);
		sum += child.count;
	}
	return sum;
}

/*
 * A node walked already, reached again through another parent: this
 * reference must agree with it too (the count beneath, the stamp, the
 * tree), or a lookup through this parent fails where the walk found the
 * node sound.  Key ranges are only judged on the first walk: the lookups
 * do not depend on them.
 */
static void check_shared_node(struct checker *c, const struct node_ref *ref)
{
	struct cow_block *b;

	if (!ref->cursor && c->node_count[ref->blocknr] != ref->count)
		problem(c, COW_CHECK_COUNTER, ref->blocknr,
			c->node_count[ref->blocknr], ref->count,
			"shared node %llu counted %llu entries elsewhere, %llu here",
			(unsigned long long)ref->blocknr,
			(unsigned long long)c->node_count[ref->blocknr],
			(unsigned long long)ref->count);
	if (lock(c, ref->blocknr, ref->txn, &cow_node_validator, "btree node", &b))
		return;
	check_node_header(c, ref, cow_block_data(b));
	cow_bm_unlock(c->bm, b);
}

static void walk_node(struct checker *c, const struct node_ref *ref)
{
	struct cow_disk_node_header *n;
	struct cow_block *b;
	u64 sum;

	if (ref->depth >= MAX_DEPTH) {
		problem(c, COW_CHECK_CORRUPT, ref->blocknr, 0, 0,
			"btree deeper than %u at %llu", MAX_DEPTH,
			(unsigned long long)ref->blocknr);
		return;
	}
	if (!ref_meta(c, ref->blocknr, "btree node")) {
		if (ref->blocknr && ref->blocknr < c->nr_meta)
			check_shared_node(c, ref);
		return;
	}
	if (lock(c, ref->blocknr, ref->txn, &cow_node_validator, "btree node", &b))
		return;
	n = cow_block_data(b);
	if (check_node_header(c, ref, n) && check_keys(c, ref, n)) {
		sum = walk_entries(c, ref, n);
		c->node_count[ref->blocknr] = sum;
		if (sum != ref->count)
			problem(c, COW_CHECK_COUNTER, ref->blocknr, sum, ref->count,
				"node %llu has %llu entries beneath, reference says %llu",
				(unsigned long long)ref->blocknr,
				(unsigned long long)sum,
				(unsigned long long)ref->count);
	}
	cow_bm_unlock(c->bm, b);
}

static void walk_root(struct checker *c, const struct cow_disk_root *root,
		      u32 tree, u32 cursor)
{
	struct node_ref ref = {
		.blocknr = le64_to_cpu(root->blocknr),
		.txn = le64_to_cpu(root->txn),
		.count = le64_to_cpu(root->count),
		.tree = tree, .depth = 0, .lo = 0, .hi = ~0ULL, .hi_open = true,
		.cursor = cursor,
	};

	if (!ref.blocknr) {
		if (ref.count)
			problem(c, COW_CHECK_COUNTER, 0, 0, ref.count,
				"empty tree %u claims %llu entries", tree,
				(unsigned long long)ref.count);
		return;
	}
	walk_node(c, &ref);
}

/*----------------------------------------------------------------*/
/* Values of each tree */

static void check_mapping(struct checker *c, u64 key, u64 v)
{
	u64 d = v & COW_MAP_CHUNK_MASK;

	(void)key;
	if (d >= c->nr_data) {
		problem(c, COW_CHECK_CORRUPT, d, c->nr_data, d,
			"mapping of %llu to chunk %llu beyond the data device",
			(unsigned long long)key, (unsigned long long)d);
		return;
	}
	if ((u32)(v >> COW_MAP_CHUNK_BITS) > c->time)
		problem(c, COW_CHECK_CORRUPT, key, c->time,
			(u32)(v >> COW_MAP_CHUNK_BITS),
			"mapping of %llu made in the future", (unsigned long long)key);
	c->data_expected[d]++;
}

/*
 * Room for one more live record, or NULL.  The array grows with the
 * records found: the superblock's count is not trusted for its size (a
 * count of 2^64 - 1 wrapped the allocation to one entry).
 */
static struct acct_vol *more_vols(struct checker *c)
{
	struct acct_vol *vols;
	u64 cap;

	if (c->nr_vols < c->vols_cap)
		return &c->vols[c->nr_vols++];
	cap = min_t(u64, c->vols_cap * 2, c->max_vols);
	vols = kvcalloc(cap, sizeof(*vols), GFP_KERNEL);
	if (!vols)
		return NULL;	/* nr_vols stays below max_vols: not accounted */
	memcpy(vols, c->vols, c->nr_vols * sizeof(*vols));
	kvfree(c->vols);
	c->vols = vols;
	c->vols_cap = cap;
	return &c->vols[c->nr_vols++];
}

static void check_record(struct checker *c, u64 key,
			 const struct cow_disk_volume *rec)
{
	struct acct_vol *v;

	if (le64_to_cpu(rec->id) != key || !memchr(rec->name, 0, sizeof(rec->name)))
		problem(c, COW_CHECK_CORRUPT, key, key, le64_to_cpu(rec->id),
			"volume record %llu is malformed", (unsigned long long)key);
	if (le32_to_cpu(rec->snap_time) > c->time)
		problem(c, COW_CHECK_CORRUPT, key, c->time,
			le32_to_cpu(rec->snap_time),
			"volume %llu snapshot time in the future",
			(unsigned long long)key);
	walk_root(c, &rec->mapping, COW_TREE_MAPPING, 0);
	c->nr_records += c->in_live;
	v = c->in_live && c->nr_vols < c->max_vols ? more_vols(c) : NULL;
	if (v) {
		v->id = key;
		v->root = rec->mapping;
		v->origin_time = le32_to_cpu(rec->origin_time);
		v->written = le64_to_cpu(rec->written_since_origin);
		v->exclusive = le64_to_cpu(rec->exclusive_chunks);
		v->family = le64_to_cpu(rec->family);
		v->deleting = key >= COW_DELETING_ID_BASE;
		v->cursor = v->deleting ? le64_to_cpu(rec->account_cursor) : 0;
	}
	if (!c->in_live)
		return;
	if (key < COW_DELETING_ID_BASE) {
		c->nr_live++;
		return;
	}
	/* A deleted volume whose chunks are still being accounted. */
	if (!(le32_to_cpu(rec->flags) & COW_VOL_F_DELETING))
		problem(c, COW_CHECK_CORRUPT, key, COW_VOL_F_DELETING,
			le32_to_cpu(rec->flags),
			"deleting record %llu lacks the deleting flag",
			(unsigned long long)key);
	c->dead_mapping_sum += le64_to_cpu(rec->mapping.count);
}

static void check_dead(struct checker *c, u64 key, const struct cow_disk_dead *d)
{
	u32 kind = le32_to_cpu(d->kind);

	c->rep->nr_dead_entries++;
	/* The next entry would overwrite this one and leak its tree. */
	if (key >= le64_to_cpu(c->sb.dead_next_seq))
		problem(c, COW_CHECK_COUNTER, key, key + 1,
			le64_to_cpu(c->sb.dead_next_seq),
			"dead entry %llu not below the next sequence number %llu",
			(unsigned long long)key,
			(unsigned long long)le64_to_cpu(c->sb.dead_next_seq));
	if (kind != COW_DEAD_MAPPING && kind != COW_DEAD_VOLUMES) {
		problem(c, COW_CHECK_CORRUPT, key, 0, kind,
			"dead entry %llu of unknown kind %u",
			(unsigned long long)key, kind);
		return;
	}
	if (kind == COW_DEAD_MAPPING)
		c->dead_mapping_sum += le64_to_cpu(d->root.count);
	walk_root(c, &d->root, kind == COW_DEAD_MAPPING ? COW_TREE_MAPPING :
		  COW_TREE_VOLUMES, le32_to_cpu(d->cursor));
}

static void check_index_entry(struct checker *c, u64 key,
			      const struct cow_disk_index_entry *e)
{
	if (key >= DIV_ROUND_UP(c->nr_data, COW_RC_ENTRIES)) {
		problem(c, COW_CHECK_CORRUPT, key, 0, key,
			"data space map index entry %llu beyond the device",
			(unsigned long long)key);
		return;
	}
	read_counts(c, le64_to_cpu(e->blocknr), le64_to_cpu(e->txn), key,
		    le32_to_cpu(e->nr_free), true);
}

static void check_value(struct checker *c, const struct node_ref *ref,
			u64 key, const void *value)
{
	switch (ref->tree) {
	case COW_TREE_MAPPING:
		c->rep->nr_mappings++;
		check_mapping(c, key, le64_to_cpu(*(const __le64 *)value));
		break;
	case COW_TREE_VOLUMES:
		check_record(c, key, value);
		break;
	case COW_TREE_DEAD:
		check_dead(c, key, value);
		break;
	case COW_TREE_DSM_INDEX:
		check_index_entry(c, key, value);
		break;
	}
}

/*----------------------------------------------------------------*/
/* Superblock and totals */

static int read_sb(struct checker *c)
{
	struct cow_block *b;
	int r;

	r = cow_bm_read_lock(c->bm, COW_SUPERBLOCK_LOCATION, &cow_sb_validator, &b);
	if (r) {
		problem(c, COW_CHECK_CORRUPT, 0, 0, 0,
			"superblock unreadable or invalid (%d)", r);
		return r;
	}
	memcpy(&c->sb, cow_block_data(b), sizeof(c->sb));
	cow_bm_unlock(c->bm, b);
	cow_bm_set_csum_seed(c->bm, cow_sb_csum_seed(&c->sb));
	if (le64_to_cpu(c->sb.magic) != COW_SB_MAGIC ||
	    le64_to_cpu(c->sb.nr_metadata_blocks) > cow_bm_nr_blocks(c->bm) ||
	    le64_to_cpu(c->sb.nr_metadata_blocks) < COW_MIN_METADATA_BLOCKS ||
	    le64_to_cpu(c->sb.nr_metadata_blocks) > COW_MAX_METADATA_BLOCKS ||
	    le64_to_cpu(c->sb.nr_data_chunks) > COW_MAX_DATA_CHUNKS) {
		problem(c, COW_CHECK_CORRUPT, 0, 0, 0,
			"superblock has a bad magic number or impossible sizes");
		return -EILSEQ;
	}
	c->txn = le64_to_cpu(c->sb.hdr.txn);
	c->time = le32_to_cpu(c->sb.time);
	c->nr_meta = le64_to_cpu(c->sb.nr_metadata_blocks);
	c->nr_data = le64_to_cpu(c->sb.nr_data_chunks);
	return 0;
}

static void compare(struct checker *c, bool data)
{
	u32 *exp = data ? c->data_expected : c->meta_expected;
	u32 *found = data ? c->data_found : c->meta_found;
	u64 i, n = data ? c->nr_data : c->nr_meta, used = 0;
	enum cow_check_kind base = data ? COW_CHECK_DATA_LEAK : COW_CHECK_META_LEAK;
	const char *what = data ? "data chunk" : "metadata block";

	for (i = 0; i < n; i++) {
		used += !!found[i];
		if (exp[i] == found[i])
			continue;
		if (!exp[i])
			problem(c, base, i, 0, found[i],
				"%s %llu leaked: count %u, unused",
				what, (unsigned long long)i, found[i]);
		else if (found[i] > exp[i])
			problem(c, base + 1, i, exp[i], found[i],
				"%s %llu over-referenced: count %u, %u references",
				what, (unsigned long long)i, found[i], exp[i]);
		else
			problem(c, base + 2, i, exp[i], found[i],
				"%s %llu under-referenced: count %u, %u references",
				what, (unsigned long long)i, found[i], exp[i]);
	}
	if (data) {
		c->rep->data_chunks_used = used;
		if (used != le64_to_cpu(c->sb.dsm_nr_allocated))
			problem(c, COW_CHECK_COUNTER, 0, used,
				le64_to_cpu(c->sb.dsm_nr_allocated),
				"superblock says %llu data chunks allocated, %llu are",
				(unsigned long long)le64_to_cpu(c->sb.dsm_nr_allocated),
				(unsigned long long)used);
	} else {
		c->rep->metadata_blocks_used = used;
	}
}

static void check_held(struct checker *c)
{
	u64 b = le64_to_cpu(c->sb.held_root.blocknr);
	struct cow_disk_held *h;
	struct cow_block *blk;

	if (!b)
		return;
	c->rep->held_root = true;
	if (!ref_meta(c, b, "superblock held root") ||
	    lock(c, b, le64_to_cpu(c->sb.held_root.txn), &cow_held_validator,
		 "held root", &blk))
		return;
	h = cow_block_data(blk);
	walk_root(c, &h->volumes_root, COW_TREE_VOLUMES, 0);
	cow_bm_unlock(c->bm, blk);
}

/*----------------------------------------------------------------*/
/* Live accounting */

/*
 * Walk live volume @v's mapping tree in full (shared nodes once per volume
 * reaching them): attribute each data chunk to @v.  The main walk has
 * validated every node already.
 */
static bool acct_walk(struct checker *c, struct acct_vol *v, u64 b, u32 depth)
{
	struct cow_disk_node_header *n;
	struct cow_disk_root *cr;
	struct cow_block *blk;
	u32 i, nr, vs;
	__le64 *keys;
	u8 *values;
	u64 m, d;
	bool ok = true;

	if (depth >= MAX_DEPTH || !b || b >= c->nr_meta ||
	    cow_bm_read_lock(c->bm, b, &cow_node_validator, &blk)) {
		/* The main walk read it: the device failed us since. */
		problem(c, COW_CHECK_CORRUPT, b, 0, 0,
			"volume %llu: mapping block %llu unreadable while accounting",
			(unsigned long long)v->id, (unsigned long long)b);
		return false;
	}
	n = cow_block_data(blk);
	nr = le32_to_cpu(n->nr_entries);
	vs = le32_to_cpu(n->value_size);
	keys = (__le64 *)(n + 1);
	values = (u8 *)(keys + le32_to_cpu(n->max_entries));
	for (i = 0; ok && i < nr; i++) {
		if (le32_to_cpu(n->flags) != COW_NODE_LEAF) {
			cr = (struct cow_disk_root *)(values + i * vs);
			ok = acct_walk(c, v, le64_to_cpu(cr->blocknr), depth + 1);
			continue;
		}
		/* A deleting record let go of the keys below its cursor. */
		if (v->deleting && le64_to_cpu(keys[i]) < v->cursor)
			continue;
		m = le64_to_cpu(*(__le64 *)(values + i * vs));
		d = m & COW_MAP_CHUNK_MASK;
		v->found_mapped++;
		if ((u32)(m >> COW_MAP_CHUNK_BITS) >= v->origin_time)
			v->found_written++;
		if (d >= c->nr_data)
			continue;
		c->vol_count[d]++;
		c->vol_xor[d] ^= v->id;
		if (!c->vol_family[d])
			c->vol_family[d] = v->family + 1;
		else if (c->vol_family[d] != v->family + 1 &&
			 (le64_to_cpu(c->sb.compat_ro_flags) &
			  COW_FEATURE_COMPAT_RO_EXCLUSIVE))
			problem(c, COW_CHECK_CORRUPT, v->id, c->vol_family[d] - 1,
				v->family, "data chunk %llu shared across volume families",
				(unsigned long long)d);
	}
	cow_bm_unlock(c->bm, blk);
	return ok;
}

static struct acct_vol *find_vol(struct checker *c, u64 id)
{
	u64 lo = 0, hi = c->nr_vols, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (c->vols[mid].id == id)
			return &c->vols[mid];
		if (c->vols[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void compare_counter(struct checker *c, struct acct_vol *v,
			    const char *what, u64 expected, u64 found)
{
	if (expected != found)
		problem(c, COW_CHECK_COUNTER, v->id, expected, found,
			"volume %llu %s is %llu, recomputed %llu",
			(unsigned long long)v->id, what,
			(unsigned long long)found, (unsigned long long)expected);
}

/*
 * Recompute every live volume's counters from the definitions: a chunk
 * is exclusive to V if V is its only holder -- live volumes, and deleting
 * records at keys from their cursor on, are holders; held roots and dead
 * trees are not; a mapping was written since the origin if its time is
 * not older than the record's origin_time.  Sets rep->accounted when the
 * counters were checked; when they could not be, a problem says why (the
 * report is never clean without them).  -ENOMEM: the checker could not run.
 */
static int account(struct checker *c)
{
	struct cow_check_report *rep = c->rep;
	u64 f = le64_to_cpu(c->sb.compat_ro_flags), i, k = 0;
	struct acct_vol *v;

	if (rep->nr_by_kind[COW_CHECK_CORRUPT])
		return 0;	/* reported; the trees cannot be trusted */
	if (c->nr_vols != c->nr_records) {
		/* More records than the root counts (reported by the walk). */
		problem(c, COW_CHECK_COUNTER, 0, c->nr_records, c->nr_vols,
			"%llu volume records, room for %llu: counters not checked",
			(unsigned long long)c->nr_records,
			(unsigned long long)c->max_vols);
		return 0;
	}
	c->vol_count = kvcalloc(c->nr_data + 1, sizeof(u32), GFP_KERNEL);
	c->vol_xor = kvcalloc(c->nr_data + 1, sizeof(u64), GFP_KERNEL);
	c->vol_family = kvcalloc(c->nr_data + 1, sizeof(u64), GFP_KERNEL);
	if (!c->vol_count || !c->vol_xor || !c->vol_family)
		return -ENOMEM;
	for (i = 0; i < c->nr_vols; i++) {
		v = &c->vols[i];
		if (le64_to_cpu(v->root.blocknr) &&
		    !acct_walk(c, v, le64_to_cpu(v->root.blocknr), 0))
			return 0;
	}
	for (i = 0; i < c->nr_data; i++) {
		if (c->vol_count[i] != 1)
			continue;
		v = find_vol(c, c->vol_xor[i]);
		if (v)
			v->found_exclusive++;
	}
	for (i = 0; i < c->nr_vols; i++) {
		v = &c->vols[i];
		if (v->deleting)
			continue;
		if (f & COW_FEATURE_COMPAT_RO_WRITTEN)
			compare_counter(c, v, "written_since_origin",
					v->found_written, v->written);
		if (f & COW_FEATURE_COMPAT_RO_EXCLUSIVE)
			compare_counter(c, v, "exclusive_chunks",
					v->found_exclusive, v->exclusive);
		if (k >= COW_CHECK_MAX_VOLUMES)
			continue;
		rep->volume_counters[k].id = v->id;
		rep->volume_counters[k].mapped_chunks = v->found_mapped;
		rep->volume_counters[k].exclusive_chunks = v->found_exclusive;
		rep->volume_counters[k].written_since_origin = v->found_written;
		rep->nr_volume_counters = ++k;
	}
	rep->accounted = true;
	return 0;
}

/*
 * Walk the volumes tree at @root as the live one: its records are the
 * volumes whose counters account() recomputes.  -ENOMEM if it cannot.
 */
static int walk_live(struct checker *c, const struct cow_disk_root *root)
{
	u64 mappings_before = c->rep->nr_mappings;

	/*
	 * The walk checks the root's count; a corrupt one must not decide
	 * the memory used: no more records fit in the metadata device.
	 */
	c->max_vols = min_t(u64, le64_to_cpu(root->count), c->nr_meta *
			    cow_node_max_entries(sizeof(struct cow_disk_volume)));
	c->vols_cap = min_t(u64, c->max_vols, 64);
	c->vols = kvcalloc(c->vols_cap + 1, sizeof(*c->vols), GFP_KERNEL);
	if (!c->vols)
		return -ENOMEM;
	c->in_live = true;
	walk_root(c, root, COW_TREE_VOLUMES, 0);
	c->in_live = false;
	c->rep->nr_volumes = c->nr_live;
	c->rep->nr_mappings -= mappings_before;
	return 0;
}

static int run(struct checker *c)
{
	struct cow_disk_superblock *sb = &c->sb;
	int r;

	c->meta_expected[COW_SUPERBLOCK_LOCATION]++;
	check_msm(c);
	walk_root(c, &sb->dsm_root, COW_TREE_DSM_INDEX, 0);
	r = walk_live(c, &sb->volumes_root);
	if (r)
		return r;
	walk_root(c, &sb->dead_root, COW_TREE_DEAD, 0);
	check_held(c);
	if (c->dead_mapping_sum != le64_to_cpu(sb->reclaiming_chunks))
		problem(c, COW_CHECK_COUNTER, 0, c->dead_mapping_sum,
			le64_to_cpu(sb->reclaiming_chunks),
			"reclaiming counter %llu, dead mapping trees hold %llu",
			(unsigned long long)le64_to_cpu(sb->reclaiming_chunks),
			(unsigned long long)c->dead_mapping_sum);
	compare(c, false);
	compare(c, true);
	r = account(c);
	if (r)
		return r;
	if (c->rep->metadata_blocks_used != le64_to_cpu(sb->msm_nr_allocated))
		problem(c, COW_CHECK_COUNTER, 0, c->rep->metadata_blocks_used,
			le64_to_cpu(sb->msm_nr_allocated),
			"superblock says %llu metadata blocks allocated, %llu are",
			(unsigned long long)le64_to_cpu(sb->msm_nr_allocated),
			(unsigned long long)c->rep->metadata_blocks_used);
	return 0;
}

static void free_checker(struct checker *c)
{
	kvfree(c->meta_expected);
	kvfree(c->meta_found);
	kvfree(c->data_expected);
	kvfree(c->data_found);
	kvfree(c->node_count);
	kvfree(c->vols);
	kvfree(c->vol_count);
	kvfree(c->vol_xor);
	kvfree(c->vol_family);
	kfree(c);
}

static int alloc_arrays(struct checker *c)
{
	c->meta_expected = kvcalloc(c->nr_meta, sizeof(u32), GFP_KERNEL);
	c->meta_found = kvcalloc(c->nr_meta, sizeof(u32), GFP_KERNEL);
	c->node_count = kvcalloc(c->nr_meta, sizeof(u64), GFP_KERNEL);
	c->data_expected = kvcalloc(c->nr_data + 1, sizeof(u32), GFP_KERNEL);
	c->data_found = kvcalloc(c->nr_data + 1, sizeof(u32), GFP_KERNEL);
	if (!c->meta_expected || !c->meta_found || !c->node_count ||
	    !c->data_expected || !c->data_found)
		return -ENOMEM;
	return 0;
}

/* A checker with the superblock read, or NULL (-ENOMEM in *@r). */
static struct checker *new_checker(struct cow_block_manager *bm,
				   struct cow_check_report *rep, int *r)
{
	struct checker *c;

	memset(rep, 0, sizeof(*rep));
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c) {
		*r = -ENOMEM;
		return NULL;
	}
	c->bm = bm;
	c->rep = rep;
	*r = read_sb(c);
	return c;
}

int cow_check_pool(struct cow_block_manager *bm, struct cow_check_report *rep)
{
	struct checker *c;
	int r;

	c = new_checker(bm, rep, &r);
	if (!c)
		return r;
	if (r) {
		/* Reported as a problem. */
		free_checker(c);
		return 0;
	}
	rep->txn = c->txn;
	rep->nr_metadata_blocks = c->nr_meta;
	rep->nr_data_chunks = c->nr_data;
	r = alloc_arrays(c);
	if (!r)
		r = run(c);
	free_checker(c);
	return r;
}

/*
 * The held root's volumes as the live ones: the superblock on disk is
 * newer, so stamps are judged against the held commit and no reference
 * count is compared (blocks and chunks the live pool has let go of since
 * the hold are still counted in its space maps only through the hold).
 */
static int run_held(struct checker *c, u64 held)
{
	u64 held_txn = le64_to_cpu(c->sb.held_root.txn);
	struct cow_disk_held *h;
	struct cow_disk_root root;
	struct cow_block *b;
	int r;

	if (le64_to_cpu(c->sb.held_root.blocknr) != held) {
		problem(c, COW_CHECK_CORRUPT, held, held,
			le64_to_cpu(c->sb.held_root.blocknr),
			"the superblock holds root %llu, not %llu",
			(unsigned long long)le64_to_cpu(c->sb.held_root.blocknr),
			(unsigned long long)held);
		return 0;
	}
	c->rep->held_root = true;
	if (!ref_meta(c, held, "superblock held root") ||
	    lock(c, held, held_txn, &cow_held_validator, "held root", &b))
		return 0;
	h = cow_block_data(b);
	root = h->volumes_root;
	c->txn = held_txn;
	c->time = le32_to_cpu(h->time);
	if (le64_to_cpu(h->nr_data_chunks) <= c->nr_data)
		c->nr_data = le64_to_cpu(h->nr_data_chunks);
	else
		problem(c, COW_CHECK_CORRUPT, held, c->nr_data,
			le64_to_cpu(h->nr_data_chunks),
			"held root has %llu data chunks, the pool %llu",
			(unsigned long long)le64_to_cpu(h->nr_data_chunks),
			(unsigned long long)c->nr_data);
	cow_bm_unlock(c->bm, b);
	c->rep->txn = c->txn;
	c->rep->nr_data_chunks = c->nr_data;
	r = walk_live(c, &root);
	return r ? r : account(c);
}

int cow_check_held_root(struct cow_block_manager *bm, u64 held,
			struct cow_check_report *rep)
{
	struct checker *c;
	int r;

	c = new_checker(bm, rep, &r);
	if (!c)
		return r;
	if (r) {
		free_checker(c);
		return 0;
	}
	rep->nr_metadata_blocks = c->nr_meta;
	rep->nr_data_chunks = c->nr_data;
	r = alloc_arrays(c);
	if (!r)
		r = run_held(c, held);
	free_checker(c);
	return r;
}
