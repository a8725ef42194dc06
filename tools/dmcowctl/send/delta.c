// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl send/receive: what the metadata says, read through the core
 * under a held metadata snapshot of an active pool (like 'dmcowctl delta'):
 * the volumes and their mapping roots, and the chunks to send.
 *
 * An incremental send diffs the base's and the volume's mapping trees with
 * cow_btree_diff(), which skips every subtree the two share without reading
 * it: the metadata read follows the size of the change, not of the volume.
 * A full send diffs against the empty tree.  No data is read here.
 *
 * Built on the core headers: must not include dmcowctl.h (see offline.h).
 */
#include "mdev.h"
#include "offline.h"
#include "cow-btree.h"
#include "cow-metadata.h"
#include "send/send.h"

struct send_md {
	struct cow_block_manager *bm;
	struct cow_tm tm;
	struct cow_btree_info vol_info, map_info;
	struct cow_root volumes;
	u32 chunk_sectors;
	u8 pool_uuid[16];
	struct cow_disk_superblock sb;
	struct cow_disk_volume rec;
};

static int read_held(struct send_md *md, u64 held)
{
	struct cow_disk_held *d;
	struct cow_block *b;
	int r;

	r = cow_bm_read_lock(md->bm, held, &cow_held_validator, &b);
	if (r)
		return r;
	d = cow_block_data(b);
	cow_root_from_disk(&d->volumes_root, &md->volumes);
	md->chunk_sectors = le32_to_cpu(d->chunk_sectors);
	cow_bm_unlock(md->bm, b);
	return 0;
}

int send_md_open(const char *meta_path, uint64_t held, struct send_md **result)
{
	struct send_md *md;
	bool csum_ok;
	int r;

	*result = NULL;
	cow_log_quiet = true;	/* failures are reported here, once */
	md = calloc(1, sizeof(*md));
	if (!md)
		return -ENOMEM;
	r = mdev_open_ro(meta_path, true, &md->bm);
	if (r) {
		free(md);
		return r;
	}
	/* The superblock gives the pool uuid and the checksum seed. */
	r = mdev_read_sb(md->bm, &md->sb, &csum_ok);
	if (!r && !csum_ok)
		r = -EILSEQ;
	if (!r)
		r = read_held(md, held);
	if (r) {
		dmcowctl_err("cannot read the held metadata snapshot (block %llu) of '%s': %s",
			     (unsigned long long)held, meta_path, strerror(-r));
		send_md_close(md);
		return r;
	}
	memcpy(md->pool_uuid, md->sb.uuid, sizeof(md->pool_uuid));
	md->tm.bm = md->bm;
	md->vol_info.tm = &md->tm;
	md->vol_info.tree = COW_TREE_VOLUMES;
	md->vol_info.vt.size = sizeof(struct cow_disk_volume);
	md->map_info.tm = &md->tm;
	md->map_info.tree = COW_TREE_MAPPING;
	md->map_info.vt.size = sizeof(__le64);
	*result = md;
	return 0;
}

void send_md_close(struct send_md *md)
{
	if (!md)
		return;
	mdev_close(md->bm);
	free(md);
}

const uint8_t *send_md_pool_uuid(const struct send_md *md)
{
	return md->pool_uuid;
}

uint32_t send_md_chunk_sectors(const struct send_md *md)
{
	return md->chunk_sectors;
}

uint64_t send_md_blocks_read(void)
{
	return mdev_blocks_read;
}

/*----------------------------------------------------------------*/
/* Volumes */

static void rec_to_vol(const struct cow_disk_volume *rec, struct send_vol *v)
{
	struct cow_root root;

	memset(v, 0, sizeof(*v));
	v->id = le64_to_cpu(rec->id);
	memcpy(v->name, rec->name, sizeof(v->name));
	v->name[sizeof(v->name) - 1] = '\0';
	v->size_sectors = le64_to_cpu(rec->size_sectors);
	v->ctime = le64_to_cpu(rec->ctime);
	v->origin_id = le64_to_cpu(rec->origin_id);
	v->flags = le32_to_cpu(rec->flags);
	v->snap_time = le32_to_cpu(rec->snap_time);
	v->family = le64_to_cpu(rec->family);
	cow_root_from_disk(&rec->mapping, &root);
	v->root.blocknr = root.blocknr;
	v->root.txn = root.txn;
	v->root.count = root.count;
	v->received_from = le64_to_cpu(rec->received_from);
	v->received_mark = le64_to_cpu(rec->received_mark);
}

int send_md_volume(struct send_md *md, uint64_t id, struct send_vol *v)
{
	int r;

	if (id >= COW_DELETING_ID_BASE)
		return -ENOENT;
	r = cow_btree_lookup(&md->vol_info, &md->volumes, id, &md->rec);
	if (r == -ENODATA)
		return -ENOENT;
	if (r)
		return r;
	rec_to_vol(&md->rec, v);
	return (v->flags & COW_VOL_F_DELETING) ? -ENOENT : 0;
}

struct collect {
	struct send_vol *vols;
	size_t nr, cap;
};

static int collect_fn(void *context, u64 key, void *value)
{
	struct collect *c = context;
	struct send_vol *nv;

	(void)key;
	if (le32_to_cpu(((struct cow_disk_volume *)value)->flags) & COW_VOL_F_DELETING)
		return 0;
	if (c->nr == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		nv = realloc(c->vols, c->cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		c->vols = nv;
	}
	rec_to_vol(value, &c->vols[c->nr++]);
	return 0;
}

int send_md_volumes(struct send_md *md, struct send_vol **vols, size_t *nr)
{
	struct collect c = { 0 };
	int r;

	r = cow_btree_walk(&md->vol_info, &md->volumes, 0, COW_DELETING_ID_BASE,
			   collect_fn, &c);
	if (r) {
		free(c.vols);
		return r;
	}
	*vols = c.vols;
	*nr = c.nr;
	return 0;
}

/*----------------------------------------------------------------*/
/* Diffing two mapping trees */

struct differ {
	send_md_diff_fn fn;
	void *ctx;
};

static void map_of(const void *value, struct send_map *m)
{
	u64 v = le64_to_cpu(*(const __le64 *)value);

	m->dchunk = cow_mapping_chunk(v);
	m->time = cow_mapping_time(v);
}

static int differ_fn(void *context, u64 key, const void *va, const void *vb)
{
	struct differ *d = context;
	struct send_map ma, mb;

	if (va)
		map_of(va, &ma);
	if (vb)
		map_of(vb, &mb);
	return d->fn(d->ctx, key, va ? &ma : NULL, vb ? &mb : NULL);
}

static void root_of(const struct send_vol *v, struct cow_root *root)
{
	memset(root, 0, sizeof(*root));
	if (!v)
		return;		/* the empty tree */
	root->blocknr = v->root.blocknr;
	root->txn = v->root.txn;
	root->count = v->root.count;
}

int send_md_diff(struct send_md *md, const struct send_vol *a,
		 const struct send_vol *b, send_md_diff_fn fn, void *ctx)
{
	struct differ d = { .fn = fn, .ctx = ctx };
	struct cow_root ra, rb;
	int r;

	root_of(a, &ra);
	root_of(b, &rb);
	r = cow_btree_diff(&md->map_info, &ra, &rb, differ_fn, &d);
	return r == 1 ? 0 : r;
}

/*----------------------------------------------------------------*/
/* The plan */

struct planner {
	struct send_plan *plan;
	u64 nr_chunks;
	bool full;
	u64 next;	/* full: chunks below are planned */
};

static int plan_key(struct planner *pl, u64 key, bool hole)
{
	int r;

	if (pl->full && key > pl->next) {
		r = send_plan_add(pl->plan, pl->next, key - pl->next, true);
		if (r)
			return r;
	}
	pl->next = key + 1;
	return send_plan_add(pl->plan, key, 1, hole);
}

/* As 'dmcowctl delta': the same data chunk at another time is no change. */
static int plan_fn(void *context, uint64_t key, const struct send_map *a,
		   const struct send_map *b)
{
	struct planner *pl = context;
	int r;

	if (key >= pl->nr_chunks)
		return 1;	/* keys come in order: nothing more to send */
	if (a && b && a->dchunk == b->dchunk)
		return 0;
	r = plan_key(pl, key, !b);
	if (!r && b)
		r = send_plan_add_run(pl->plan, key, b->dchunk);
	return r;
}

int send_md_plan(struct send_md *md, const struct send_vol *base,
		 const struct send_vol *snap, uint64_t nr_chunks,
		 struct send_plan *plan)
{
	struct planner pl = { .plan = plan, .nr_chunks = nr_chunks, .full = !base };
	int r;

	memset(plan, 0, sizeof(*plan));
	plan->chunk_sectors = md->chunk_sectors;
	r = send_md_diff(md, base, snap, plan_fn, &pl);
	if (!r && pl.full && pl.next < nr_chunks)
		r = send_plan_add(plan, pl.next, nr_chunks - pl.next, true);
	if (r) {
		dmcowctl_err("cannot compare the mappings of volumes '%s' and '%s': %s",
			     base ? base->name : "(none)", snap->name, strerror(-r));
		send_plan_free(plan);
	}
	return r;
}
