// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl: read a whole pool (volumes and mappings) into struct md_pool.
 *
 * A walker of its own rather than cow_btree_walk(): it must report which
 * block is damaged, and for repair skip a damaged subtree (noting the key
 * range and the number of entries its parent said it held) and go on.
 * Read-only: only block locks, never a space map or a transaction.
 */
#include "mdev.h"
#include "offline.h"
#include "cow-btree.h"

struct loader {
	struct cow_block_manager *bm;
	const struct md_load_opts *o;
	const char *dev;
	struct md_pool *p;
	struct md_load_result *res;
	u64 nr_meta;
	struct md_volume *vol;		/* whose mapping tree is walked */
	struct cow_disk_root *roots;	/* mapping root of each p->vols[i] */
	size_t roots_cap;
	u64 done;
	int err;			/* strict mode: the first problem */
};

struct range {
	u64 blocknr, txn, count;
	u64 lo, hi;		/* keys in [lo, hi), hi inclusive when open */
	bool open;
	u32 tree, depth;
};

__printf(4, 5)
static void loss(struct loader *l, const struct range *rg, u64 block,
		 const char *fmt, ...)
{
	struct md_load_result *res = l->res;
	struct md_loss *ls;
	va_list ap;

	if (rg->tree == COW_TREE_MAPPING)
		res->lost_mappings += rg->count;
	else
		res->lost_volumes += rg->count;
	if (!l->o->tolerant) {
		char msg[96];

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		dmcowctl_err("%s: %s; 'dmcowctl check' reports more, 'dmcowctl repair' salvages the rest",
			     l->dev, msg);
		l->err = -EILSEQ;
		return;
	}
	ls = realloc(res->losses, (res->nr_losses + 1) * sizeof(*ls));
	if (!ls) {
		l->err = -ENOMEM;
		return;
	}
	res->losses = ls;
	ls = &ls[res->nr_losses++];
	ls->volume = rg->tree == COW_TREE_MAPPING ? l->vol->id : MD_NO_ORIGIN;
	ls->block = block;
	ls->lo = rg->lo;
	ls->hi = rg->open ? U64_MAX : rg->hi;
	ls->count = rg->count;
	va_start(ap, fmt);
	vsnprintf(ls->why, sizeof(ls->why), fmt, ap);
	va_end(ap);
}

static int add_record(struct loader *l, u64 key, const struct cow_disk_volume *rec)
{
	struct md_volume *v;
	struct cow_disk_root *roots;

	/* A deleted volume still being reclaimed: not part of the pool. */
	if (key >= COW_DELETING_ID_BASE)
		return 0;
	if (l->roots_cap <= l->p->nr_vols) {
		l->roots_cap = l->roots_cap ? l->roots_cap * 2 : 64;
		roots = realloc(l->roots, l->roots_cap * sizeof(*roots));
		if (!roots)
			return -ENOMEM;
		l->roots = roots;
	}
	v = md_add_volume(l->p);
	if (!v)
		return -ENOMEM;
	l->roots[l->p->nr_vols - 1] = rec->mapping;
	v->id = key;
	memcpy(v->name, rec->name, sizeof(v->name));
	v->name[sizeof(v->name) - 1] = '\0';
	v->size_sectors = le64_to_cpu(rec->size_sectors);
	v->ctime = le64_to_cpu(rec->ctime);
	v->origin_id = le64_to_cpu(rec->origin_id);
	v->flags = le32_to_cpu(rec->flags);
	v->snap_time = le32_to_cpu(rec->snap_time);
	v->mapped = le64_to_cpu(rec->mapping.count);
	v->exclusive = le64_to_cpu(rec->exclusive_chunks);
	v->written = le64_to_cpu(rec->written_since_origin);
	v->alloc_hint = le64_to_cpu(rec->alloc_hint);
#ifdef COW_FEATURE_COMPAT_RO_WRITTEN
	v->origin_time = le32_to_cpu(rec->origin_time);
#endif
	return 0;
}

static void leaf_value(struct loader *l, const struct range *rg, u64 key,
		       const void *value)
{
	u64 m, d;

	if (rg->tree == COW_TREE_VOLUMES) {
		const struct cow_disk_volume *rec = value;

		if (le64_to_cpu(rec->id) != key) {
			struct range one = *rg;

			one.lo = key;
			one.hi = key + 1;
			one.open = false;
			one.count = 1;
			loss(l, &one, rg->blocknr, "volume record %llu in block %llu is malformed",
			     (unsigned long long)key, (unsigned long long)rg->blocknr);
			return;
		}
		l->err = add_record(l, key, rec) ?: l->err;
		return;
	}
	m = le64_to_cpu(*(const __le64 *)value);
	d = cow_mapping_chunk(m);
	if (d >= l->p->nr_data_chunks) {
		struct range one = *rg;

		one.lo = key;
		one.hi = key + 1;
		one.open = false;
		one.count = 1;
		loss(l, &one, rg->blocknr,
		     "volume %llu maps chunk %llu to %llu, beyond the data device",
		     (unsigned long long)l->vol->id, (unsigned long long)key,
		     (unsigned long long)d);
		return;
	}
	if (md_add_mapping(l->vol, key, d, cow_mapping_time(m)))
		l->err = -ENOMEM;
	else
		progress_update(++l->done);
}

static void walk(struct loader *l, const struct range *rg);

/*
 * A mapping in a valid leaf but outside the leaf's key range: the kernel
 * never reads it (lookups follow the parent's separators), yet it may be
 * the only record of its chunk.  Set aside; resolve_strays() decides once
 * the volume's whole tree has been read.
 */
static void stray(struct loader *l, const struct range *rg, u64 key,
		  const void *value)
{
	struct md_load_result *res = l->res;
	u64 m = le64_to_cpu(*(const __le64 *)value);
	struct md_stray *st;

	st = realloc(res->strays, (res->nr_strays + 1) * sizeof(*st));
	if (!st) {
		l->err = -ENOMEM;
		return;
	}
	res->strays = st;
	st = &st[res->nr_strays++];
	memset(st, 0, sizeof(*st));
	st->volume = l->vol->id;
	st->block = rg->blocknr;
	st->vchunk = key;
	st->dchunk = cow_mapping_chunk(m);
	st->time = cow_mapping_time(m);
}

/* Keep the strays of this volume whose chunk nothing else maps. */
static void resolve_strays(struct loader *l, size_t first)
{
	struct md_load_result *res = l->res;
	struct md_stray *st;
	size_t i;
	int r;

	for (i = first; i < res->nr_strays && !l->err; i++) {
		st = &res->strays[i];
		if (st->dchunk >= l->p->nr_data_chunks) {
			st->kept = false;
			st->other = MD_STRAY_BEYOND;
			continue;
		}
		if (md_find_mapping(l->vol, st->vchunk, &st->other)) {
			st->kept = false;
			continue;
		}
		r = md_insert_mapping(l->vol, st->vchunk, st->dchunk, st->time);
		if (r)
			l->err = r;
		st->kept = true;
	}
}

static const char *why(int r)
{
	return r == -EILSEQ ? "bad checksum, type or location" : strerror(-r);
}

enum node_verdict { NODE_BAD, NODE_OK, NODE_STRAYS };

/*
 * NODE_STRAYS: a sound mapping leaf (checksum, header, stamp) whose keys
 * leave their range or order; repair reads it entry by entry.
 */
static enum node_verdict node_ok(struct loader *l, const struct range *rg,
				 struct cow_disk_node_header *n)
{
	u32 flags = le32_to_cpu(n->flags), nr = le32_to_cpu(n->nr_entries), i;
	u32 vs = flags == COW_NODE_LEAF ? (rg->tree == COW_TREE_MAPPING ?
		 sizeof(__le64) : sizeof(struct cow_disk_volume)) :
		 sizeof(struct cow_disk_root);
	__le64 *keys = cow_node_keys(n);
	u64 k;

	if (le64_to_cpu(n->hdr.txn) != rg->txn) {
		loss(l, rg, rg->blocknr, "btree node %llu has stamp %llu, its parent says %llu",
		     (unsigned long long)rg->blocknr,
		     (unsigned long long)le64_to_cpu(n->hdr.txn),
		     (unsigned long long)rg->txn);
		return NODE_BAD;
	}
	if ((flags != COW_NODE_LEAF && flags != COW_NODE_INTERNAL) ||
	    le32_to_cpu(n->tree) != rg->tree || le32_to_cpu(n->value_size) != vs ||
	    le32_to_cpu(n->max_entries) != cow_node_max_entries(vs) ||
	    nr > le32_to_cpu(n->max_entries) || (!nr && rg->depth)) {
		loss(l, rg, rg->blocknr, "btree node %llu has a bad header",
		     (unsigned long long)rg->blocknr);
		return NODE_BAD;
	}
	for (i = 0; i < nr; i++) {
		k = le64_to_cpu(keys[i]);
		if ((i && k <= le64_to_cpu(keys[i - 1])) || k < rg->lo ||
		    (!rg->open && k >= rg->hi)) {
			if (l->o->tolerant && flags == COW_NODE_LEAF &&
			    rg->tree == COW_TREE_MAPPING)
				return NODE_STRAYS;
			loss(l, rg, rg->blocknr, "btree node %llu has keys out of order or range",
			     (unsigned long long)rg->blocknr);
			return NODE_BAD;
		}
	}
	return NODE_OK;
}

/* In range and after the last entry taken from this leaf. */
static void walk_leaf_with_strays(struct loader *l, const struct range *rg,
				  struct cow_disk_node_header *n)
{
	u32 i, nr = cow_node_nr(n);
	bool any = false;
	u64 k, last = 0;

	for (i = 0; i < nr && !l->err; i++) {
		k = le64_to_cpu(cow_node_keys(n)[i]);
		if (k >= rg->lo && (rg->open || k < rg->hi) && (!any || k > last)) {
			leaf_value(l, rg, k, cow_node_value(n, i));
			any = true;
			last = k;
		} else {
			stray(l, rg, k, cow_node_value(n, i));
		}
	}
}

static void walk_children(struct loader *l, const struct range *rg,
			  struct cow_disk_node_header *n)
{
	u32 i, nr = cow_node_nr(n);
	__le64 *keys = cow_node_keys(n);
	struct cow_disk_root *cr;
	struct range child;

	for (i = 0; i < nr && !l->err; i++) {
		if (cow_node_is_leaf(n)) {
			leaf_value(l, rg, le64_to_cpu(keys[i]), cow_node_value(n, i));
			continue;
		}
		cr = cow_node_value(n, i);
		child = *rg;
		child.blocknr = le64_to_cpu(cr->blocknr);
		child.txn = le64_to_cpu(cr->txn);
		child.count = le64_to_cpu(cr->count);
		child.depth = rg->depth + 1;
		child.lo = max(le64_to_cpu(keys[i]), rg->lo);
		child.open = i + 1 == nr ? rg->open : false;
		child.hi = i + 1 == nr ? rg->hi : le64_to_cpu(keys[i + 1]);
		walk(l, &child);
	}
}

static void walk(struct loader *l, const struct range *rg)
{
	struct cow_block *b;
	int r;

	if (!rg->blocknr || rg->blocknr >= l->nr_meta) {
		loss(l, rg, rg->blocknr, "a btree points to impossible block %llu",
		     (unsigned long long)rg->blocknr);
		return;
	}
	if (rg->depth >= COW_BTREE_MAX_DEPTH) {
		loss(l, rg, rg->blocknr, "btree deeper than %u levels at block %llu",
		     COW_BTREE_MAX_DEPTH, (unsigned long long)rg->blocknr);
		return;
	}
	r = cow_bm_read_lock(l->bm, rg->blocknr, &cow_node_validator, &b);
	if (r) {
		loss(l, rg, rg->blocknr, "btree node %llu is unreadable or invalid (%s)",
		     (unsigned long long)rg->blocknr, why(r));
		return;
	}
	switch (node_ok(l, rg, cow_node(b))) {
	case NODE_OK:
		walk_children(l, rg, cow_node(b));
		break;
	case NODE_STRAYS:
		walk_leaf_with_strays(l, rg, cow_node(b));
		break;
	case NODE_BAD:
		break;
	}
	cow_bm_unlock(l->bm, b);
}

static void walk_root(struct loader *l, const struct cow_disk_root *root, u32 tree)
{
	struct range rg = {
		.blocknr = le64_to_cpu(root->blocknr),
		.txn = le64_to_cpu(root->txn),
		.count = le64_to_cpu(root->count),
		.lo = 0, .hi = U64_MAX, .open = true, .tree = tree,
	};

	if (rg.blocknr)
		walk(l, &rg);
}

/* The held root replaces the superblock's volumes root and a few fields. */
static int read_held(struct loader *l, struct cow_disk_root *volumes)
{
	struct cow_disk_held *h;
	struct cow_block *b;
	int r;

	if (l->o->held_root >= l->nr_meta)
		r = -EINVAL;
	else
		r = cow_bm_read_lock(l->bm, l->o->held_root, &cow_held_validator, &b);
	if (r) {
		dmcowctl_err("%s: held root block %llu is unreadable or invalid (%s)",
			     l->dev, (unsigned long long)l->o->held_root, why(r));
		return r;
	}
	h = cow_block_data(b);
	*volumes = h->volumes_root;
	l->p->user_txn_id = le64_to_cpu(h->user_txn_id);
	l->p->nr_data_chunks = le64_to_cpu(h->nr_data_chunks);
	l->p->time = le32_to_cpu(h->time);
	l->p->chunk_sectors = le32_to_cpu(h->chunk_sectors);
	l->p->txn = le64_to_cpu(h->hdr.txn);
	cow_bm_unlock(l->bm, b);
	return 0;
}

static int load_sb(struct loader *l, struct cow_disk_superblock *sb,
		   struct cow_disk_root *volumes)
{
	struct md_pool *p = l->p;
	bool csum_ok;
	int r;

	r = mdev_read_sb(l->bm, sb, &csum_ok);
	if (r) {
		dmcowctl_err("%s: no dm-cowtree superblock (%s)", l->dev,
			     r == -EILSEQ ? "bad magic number" : strerror(-r));
		return r;
	}
	if (!csum_ok) {
		if (!l->o->tolerant) {
			dmcowctl_err("%s: the superblock checksum is bad; 'dmcowctl repair' can try to use it anyway",
				     l->dev);
			return -EILSEQ;
		}
		l->res->sb_damaged = true;
	}
	p->version = le32_to_cpu(sb->version);
	p->flags = le32_to_cpu(sb->flags);
	p->compat_ro = le64_to_cpu(sb->compat_ro_flags);
	p->chunk_sectors = le32_to_cpu(sb->chunk_sectors);
	p->time = le32_to_cpu(sb->time);
	p->nr_data_chunks = le64_to_cpu(sb->nr_data_chunks);
	p->nr_metadata_blocks = le64_to_cpu(sb->nr_metadata_blocks);
	p->txn = le64_to_cpu(sb->hdr.txn);
	p->user_txn_id = le64_to_cpu(sb->user_txn_id);
	memcpy(p->uuid, sb->uuid, sizeof(p->uuid));
	p->held_root = le64_to_cpu(sb->held_root.blocknr);
	l->nr_meta = min_t(u64, p->nr_metadata_blocks, cow_bm_nr_blocks(l->bm));
	if (p->nr_data_chunks > COW_MAX_DATA_CHUNKS) {
		dmcowctl_err("%s: the superblock claims an impossible data size", l->dev);
		return -EILSEQ;
	}
	*volumes = sb->volumes_root;
	return l->o->held_root ? read_held(l, volumes) : 0;
}

static int load(struct loader *l)
{
	struct cow_disk_superblock *sb;
	struct cow_disk_root volumes;
	u64 total = 0;
	size_t i;
	int r;

	sb = malloc(sizeof(*sb));
	if (!sb)
		return -ENOMEM;
	r = load_sb(l, sb, &volumes);
	free(sb);
	if (r)
		return r;
	walk_root(l, &volumes, COW_TREE_VOLUMES);
	for (i = 0; i < l->p->nr_vols; i++)
		total += le64_to_cpu(l->roots[i].count);
	progress_begin("reading", total, l->o->progress);
	for (i = 0; i < l->p->nr_vols && !l->err; i++) {
		size_t strays = l->res->nr_strays;

		l->vol = &l->p->vols[i];
		walk_root(l, &l->roots[i], COW_TREE_MAPPING);
		resolve_strays(l, strays);
	}
	progress_end();
	return l->err;
}

int md_load(const char *dev, const struct md_load_opts *o, struct md_pool *p,
	    struct md_load_result *res)
{
	struct loader l = { .o = o, .dev = dev, .p = p, .res = res };
	int r;

	memset(p, 0, sizeof(*p));
	memset(res, 0, sizeof(*res));
	cow_log_quiet = true;	/* problems are reported by us, once */
	r = mdev_open_ro(dev, o->direct, &l.bm);
	if (r)
		return r;
	r = load(&l);
	if (r == -ENOMEM)
		dmcowctl_err("out of memory reading '%s'", dev);
	mdev_close(l.bm);
	free(l.roots);
	if (r) {
		md_pool_free(p);
		md_load_result_free(res);
	}
	return r;
}

void md_load_result_free(struct md_load_result *res)
{
	free(res->losses);
	free(res->strays);
	memset(res, 0, sizeof(*res));
}
