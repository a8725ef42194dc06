// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl: write a pool described by struct md_pool (restore, repair).
 *
 * The public volume API cannot map a chosen data chunk or keep a mapping's
 * time, so this builds on the core's own lower layers (read-only use of
 * cow-metadata-internal.h): format with cow_pmd_format(), open the pool,
 * then for every mapping take a data space map reference on exactly the
 * dumped chunk (cow_sm_new_block() at that chunk for the first reference,
 * cow_sm_inc() for the next ones) and insert the packed mapping into a new
 * mapping btree; records go into the volumes btree; one commit.  Chunks
 * shared in the dump end with one reference per mapping, as the checker
 * expects.  Each volume gets a mapping tree of its own (btree nodes are
 * not shared again, so the pool may need more metadata than the original).
 *
 * Sharing safety: a chunk referenced more than once must look shared to
 * every volume mapping it (mapping time < the volume's snap_time), or a
 * write would overwrite it in place.  A volume breaking that rule (a
 * hand-written dump, salvaged metadata) gets snap_time = the pool time,
 * which is raised above every mapping's time.
 *
 * Live accounting: as no btree node is shared, a chunk's reference count
 * is its number of holders, so exclusive_chunks counts the volume's chunks
 * with count 1; volumes sharing any chunk get one family (union-find).
 * Deleting records are not loaded: their chunks are simply free here.
 */
#include "offline.h"
#include "mdev.h"
#include "cow-metadata-internal.h"

struct builder {
	struct cow_pool_metadata *pmd;
	struct md_pool *p;
	struct cow_root *roots;
	u64 done;
	u32 time;		/* pool time: above every mapping's */
};

static int validate(struct md_pool *p, u32 *time)
{
	size_t i, j;
	u32 t = max_t(u32, p->time, 1);

	for (i = 0; i < p->nr_vols; i++) {
		struct md_volume *v = &p->vols[i];

		if (v->id > COW_MAX_VOLUME_ID) {
			dmcowctl_err("volume id %llu is too large", (unsigned long long)v->id);
			return -EINVAL;
		}
		if (i && v->id <= p->vols[i - 1].id) {
			dmcowctl_err("volume %llu appears twice or out of id order",
				     (unsigned long long)v->id);
			return -EINVAL;
		}
		for (j = 0; j < v->nr_runs; j++) {
			struct md_run *r = &v->runs[j];

			if (r->dbegin + r->len > p->nr_data_chunks ||
			    r->dbegin + r->len < r->dbegin ||
			    r->vbegin + r->len < r->vbegin) {
				dmcowctl_err("volume %llu maps chunks %llu-%llu beyond the data device (%llu chunks)",
					     (unsigned long long)v->id,
					     (unsigned long long)r->dbegin,
					     (unsigned long long)(r->dbegin + r->len - 1),
					     (unsigned long long)p->nr_data_chunks);
				return -EINVAL;
			}
			if (r->time > COW_MAX_TIME - 1) {
				dmcowctl_err("volume %llu has a mapping time above %u",
					     (unsigned long long)v->id, COW_MAX_TIME - 1);
				return -EINVAL;
			}
			t = max(t, r->time);
		}
		t = max(t, v->snap_time);
	}
	*time = t;
	return 0;
}

static int take_chunk(struct cow_space_map *dsm, u64 d)
{
	u64 got;
	u32 count;
	int r;

	r = cow_sm_get_count(dsm, d, &count);
	if (r)
		return r;
	if (count)
		return cow_sm_inc(dsm, d);
	r = cow_sm_new_block(dsm, d, &got);
	if (!r && got != d)
		r = -EILSEQ;	/* cannot happen: d was free */
	return r;
}

static int build_mappings(struct builder *b, struct md_volume *v,
			  struct cow_root *root)
{
	struct cow_pool_metadata *pmd = b->pmd;
	size_t j;
	u64 k;
	__le64 val, old;
	bool existed;
	int r;

	for (j = 0; j < v->nr_runs; j++) {
		struct md_run *run = &v->runs[j];

		for (k = 0; k < run->len; k++) {
			r = take_chunk(pmd->dsm, run->dbegin + k);
			if (r)
				return r;
			val = cpu_to_le64(cow_pack_mapping(run->dbegin + k, run->time));
			r = cow_btree_insert(&pmd->map_info, root, run->vbegin + k,
					     &val, &old, &existed);
			if (r)
				return r;
			if (existed)
				return -EEXIST;
			progress_update(++b->done);
		}
	}
	return 0;
}

/* Must @v look at its older mappings as shared?  See the file comment. */
static int needs_snap_time(struct builder *b, struct md_volume *v, bool *unsafe)
{
	size_t j;
	u64 k;
	u32 count;
	int r;

	*unsafe = false;
	for (j = 0; j < v->nr_runs; j++) {
		struct md_run *run = &v->runs[j];

		if (run->time < v->snap_time)
			continue;
		for (k = 0; k < run->len; k++) {
			r = cow_sm_get_count(b->pmd->dsm, run->dbegin + k, &count);
			if (r)
				return r;
			if (count > 1) {
				*unsafe = true;
				return 0;
			}
		}
	}
	return 0;
}

static size_t family_root(size_t *parent, size_t i)
{
	while (parent[i] != i)
		i = parent[i] = parent[parent[i]];
	return i;
}

/* Volumes are in id order: the lower index becomes the root. */
static void family_join(size_t *parent, size_t a, size_t b)
{
	a = family_root(parent, a);
	b = family_root(parent, b);
	if (a < b)
		parent[b] = a;
	else
		parent[a] = b;
}

/* The data chunks [dbegin, dend) of one run of volume vol. */
struct chunk_span {
	u64 dbegin, dend;
	size_t vol;
};

static int cmp_span(const void *a, const void *b)
{
	const struct chunk_span *x = a, *y = b;

	return x->dbegin < y->dbegin ? -1 : x->dbegin > y->dbegin;
}

/*
 * Volumes that share a chunk get one family: the lowest id among them.
 * The runs, sorted by first data chunk, are swept once: a run starting
 * below the furthest end seen so far shares its first chunk with the run
 * reaching that end.  Memory follows the dump, not the data device (an
 * array per data chunk made a restore of a large pool fail for want of
 * memory, whatever it mapped).
 */
static int assign_families(struct md_pool *p)
{
	size_t i, j, n = 0, *parent, reach_vol = 0;
	struct chunk_span *spans;
	u64 reach = 0;

	for (i = 0; i < p->nr_vols; i++)
		n += p->vols[i].nr_runs;
	parent = kcalloc(p->nr_vols + 1, sizeof(*parent), GFP_KERNEL);
	spans = kvcalloc(n + 1, sizeof(*spans), GFP_KERNEL);
	if (!parent || !spans) {
		kfree(parent);
		kvfree(spans);
		return -ENOMEM;
	}
	for (i = 0, n = 0; i < p->nr_vols; i++) {
		parent[i] = i;
		for (j = 0; j < p->vols[i].nr_runs; j++, n++) {
			spans[n].dbegin = p->vols[i].runs[j].dbegin;
			spans[n].dend = spans[n].dbegin + p->vols[i].runs[j].len;
			spans[n].vol = i;
		}
	}
	sort(spans, n, sizeof(*spans), cmp_span, NULL);
	for (i = 0; i < n; i++) {
		if (i && spans[i].dbegin < reach)
			family_join(parent, spans[i].vol, reach_vol);
		if (!i || spans[i].dend > reach) {
			reach = spans[i].dend;
			reach_vol = spans[i].vol;
		}
	}
	for (i = 0; i < p->nr_vols; i++)
		p->vols[i].family = p->vols[family_root(parent, i)].id;
	kfree(parent);
	kvfree(spans);
	return 0;
}

static int count_exclusive(struct builder *b, struct md_volume *v)
{
	size_t j;
	u64 k;
	u32 count;
	int r;

	v->exclusive = 0;
	for (j = 0; j < v->nr_runs; j++) {
		for (k = 0; k < v->runs[j].len; k++) {
			r = cow_sm_get_count(b->pmd->dsm, v->runs[j].dbegin + k,
					     &count);
			if (r)
				return r;
			v->exclusive += count == 1;
		}
	}
	return 0;
}

static u64 written_since(const struct md_volume *v)
{
	u64 n = 0;
	size_t j;

	for (j = 0; j < v->nr_runs; j++)
		if (v->runs[j].time >= v->origin_time)
			n += v->runs[j].len;
	return n;
}

static int write_record(struct builder *b, struct md_volume *v,
			const struct cow_root *root)
{
	struct cow_disk_volume *rec;
	bool unsafe;
	int r;

	r = needs_snap_time(b, v, &unsafe);
	if (r)
		return r;
	if (unsafe) {
		fprintf(stderr, "dmcowctl: volume %llu shares chunks its snap_time does not cover; treating all its mappings as shared\n",
			(unsigned long long)v->id);
		v->snap_time = b->time;
	}
	rec = kzalloc(sizeof(*rec), GFP_KERNEL);
	if (!rec)
		return -ENOMEM;
	rec->id = cpu_to_le64(v->id);
	strscpy(rec->name, v->name, sizeof(rec->name));
	rec->size_sectors = cpu_to_le64(v->size_sectors);
	rec->ctime = cpu_to_le64(v->ctime);
	rec->origin_id = cpu_to_le64(v->origin_id);
	rec->flags = cpu_to_le32(v->flags);
	rec->snap_time = cpu_to_le32(v->snap_time);
	cow_root_to_disk(root, &rec->mapping);
	rec->exclusive_chunks = cpu_to_le64(v->exclusive);
	rec->family = cpu_to_le64(v->family);
	rec->written_since_origin = cpu_to_le64(v->written);
#ifdef COW_FEATURE_COMPAT_RO_WRITTEN
	rec->origin_time = cpu_to_le32(v->origin_time);
	/* The new pool maintains the counter: recompute it (format doc). */
	if (le64_to_cpu(b->pmd->sb.compat_ro_flags) & COW_FEATURE_COMPAT_RO_WRITTEN)
		rec->written_since_origin = cpu_to_le64(written_since(v));
#endif
	rec->alloc_hint = cpu_to_le64(v->alloc_hint);
	r = cow_btree_insert(&b->pmd->vol_info, &b->pmd->volumes_root, v->id, rec,
			     NULL, NULL);
	kfree(rec);
	return r;
}

/* Dumps made without a uuid get a fresh one at format. */
static bool has_uuid(const struct md_pool *p)
{
	size_t i;

	for (i = 0; i < sizeof(p->uuid); i++)
		if (p->uuid[i])
			return true;
	return false;
}

static int build(struct builder *b)
{
	struct cow_pool_metadata *pmd = b->pmd;
	struct md_pool *p = b->p;
	u64 total = 0;
	size_t i;
	int r = 0;

	for (i = 0; i < p->nr_vols; i++)
		total += md_volume_mapped(&p->vols[i]);
	progress_begin("writing", total, true);
	for (i = 0; !r && i < p->nr_vols; i++)
		r = build_mappings(b, &p->vols[i], &b->roots[i]);
	progress_end();
	if (!r)
		r = assign_families(p);
	for (i = 0; !r && i < p->nr_vols; i++)
		r = count_exclusive(b, &p->vols[i]);
	for (i = 0; !r && i < p->nr_vols; i++)
		r = write_record(b, &p->vols[i], &b->roots[i]);
	if (r)
		return r;
	pmd->time = b->time;
	pmd->time_used = true;
	pmd->user_txn_id = p->user_txn_id;
	pmd->flags = 0;		/* a rebuilt pool does not need a check */
	pmd->changed = true;
	return cow_pmd_commit(pmd);
}

static const char *build_error(int r)
{
	switch (r) {
	case -ENOSPC:
		return "the metadata device is too small";
	case -EEXIST:
		return "a volume maps one chunk twice";
	default:
		return strerror(-r);
	}
}

int md_build(const char *dev, struct md_pool *p, bool progress)
{
	struct cow_pmd_open_args args = { .read_only = false };
	struct builder b = { .p = p };
	struct cow_block_manager *bm;
	int r;

	(void)progress;
	cow_log_quiet = true;	/* failures are reported by us, once */
	r = validate(p, &b.time);
	if (r)
		return r;
	if (p->chunk_sectors < COW_MIN_CHUNK_SECTORS ||
	    p->chunk_sectors > COW_MAX_CHUNK_SECTORS ||
	    (p->chunk_sectors & (p->chunk_sectors - 1)) ||
	    p->nr_data_chunks > COW_MAX_DATA_CHUNKS) {
		dmcowctl_err("chunk size %u sectors or %llu data chunks is not possible",
			     p->chunk_sectors, (unsigned long long)p->nr_data_chunks);
		return -EINVAL;
	}
	b.roots = kcalloc(p->nr_vols + 1, sizeof(*b.roots), GFP_KERNEL);
	if (!b.roots)
		return -ENOMEM;
	r = mdev_open_rw(dev, max_t(u64, p->nr_metadata_blocks, COW_MIN_METADATA_BLOCKS),
			 &bm);
	if (r)
		goto out;
	r = cow_pmd_format_uuid(bm, p->chunk_sectors, p->nr_data_chunks,
				has_uuid(p) ? p->uuid : NULL);
	if (!r)
		r = cow_pmd_open(bm, &args, &b.pmd);
	if (r) {
		dmcowctl_err("cannot format '%s': %s", dev, build_error(r));
	} else {
		r = build(&b);
		if (r) {
			dmcowctl_err("cannot write the pool to '%s': %s", dev,
				     build_error(r));
			cow_pmd_abort(b.pmd);
		}
		cow_pmd_close(b.pmd);
	}
	mdev_close(bm);
out:
	kfree(b.roots);
	return r;
}
