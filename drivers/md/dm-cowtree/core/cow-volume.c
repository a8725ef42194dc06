// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree metadata engine: volumes, their records and their mappings.
 *
 * Each volume has its own mapping btree (vchunk -> data chunk + time),
 * whose root lives in the volume's record in the volumes btree.  Records
 * of open volumes are cached in struct cow_volume and written back before
 * anything reads the volumes btree, and at commit.
 *
 * Sharing is decided by time stamps, as in dm-thin: a mapping made at
 * time t is shared if t < the volume's snap_time (the time of its last
 * snapshot, rollback or creation as a snapshot) or t < the held root's
 * held_time.  Every event that shares a tree first moves the pool time
 * past every existing mapping.  A mapping not older than both is
 * reachable only from this volume's tree, so it may be overwritten.
 *
 * Two-level sharing: the held root shares volumes btree nodes, and through
 * their records the mapping roots.  Before a volume's mapping tree changes
 * in a sharing epoch (records_gen), its record is rewritten once, which
 * shadows its volumes btree leaf and so takes the held root's references
 * on the mapping roots first (ensure_own_record()).
 */
#include "cow-metadata-internal.h"

/*----------------------------------------------------------------*/
/* Value types */

static int inc_mappings(void *context, const void *values, unsigned int nr)
{
	struct cow_pool_metadata *pmd = context;
	const __le64 *v = values;
	unsigned int i;
	int r;

	for (i = 0; i < nr; i++) {
		r = cow_sm_inc(pmd->dsm, cow_mapping_chunk(le64_to_cpu(v[i])));
		if (r)
			return r;
	}
	return 0;
}

static int inc_records(void *context, const void *values, unsigned int nr)
{
	struct cow_pool_metadata *pmd = context;
	const struct cow_disk_volume *v = values;
	unsigned int i;
	u64 b;
	int r;

	for (i = 0; i < nr; i++) {
		b = le64_to_cpu(v[i].mapping.blocknr);
		if (!b)
			continue;
		r = cow_tm_inc(&pmd->tm, b);
		if (r)
			return r;
	}
	return 0;
}

void cow_vol_init_infos(struct cow_pool_metadata *pmd)
{
	pmd->vol_info.tm = &pmd->tm;
	pmd->vol_info.tree = COW_TREE_VOLUMES;
	pmd->vol_info.vt.context = pmd;
	pmd->vol_info.vt.size = sizeof(struct cow_disk_volume);
	pmd->vol_info.vt.inc = inc_records;

	pmd->map_info.tm = &pmd->tm;
	pmd->map_info.tree = COW_TREE_MAPPING;
	pmd->map_info.vt.context = pmd;
	pmd->map_info.vt.size = sizeof(__le64);
	pmd->map_info.vt.inc = inc_mappings;

	pmd->dead_info.tm = &pmd->tm;
	pmd->dead_info.tree = COW_TREE_DEAD;
	pmd->dead_info.vt.size = sizeof(struct cow_disk_dead);
}

/*----------------------------------------------------------------*/
/* Records */

int cow_vol_read_record(struct cow_pool_metadata *pmd, u64 id,
			struct cow_disk_volume *rec)
{
	int r;

	r = cow_btree_lookup(&pmd->vol_info, &pmd->volumes_root, id, rec);
	return r == -ENODATA ? -ENOENT : r;
}

/* A live volume's record. */
static int read_record(struct cow_pool_metadata *pmd, u64 id,
		       struct cow_disk_volume *rec)
{
	if (id > COW_MAX_VOLUME_ID)
		return -ENOENT;
	return cow_vol_read_record(pmd, id, rec);
}

/* Write @rec; an overwritten record's mapping reference is not dropped. */
int cow_vol_write_record(struct cow_pool_metadata *pmd,
			 const struct cow_disk_volume *rec)
{
	return cow_btree_insert(&pmd->vol_info, &pmd->volumes_root,
				le64_to_cpu(rec->id), rec, NULL, NULL);
}

struct cow_volume *cow_vol_find_open(struct cow_pool_metadata *pmd, u64 id)
{
	struct cow_volume *v;

	for (v = pmd->open_volumes; v; v = v->next)
		if (v->id == id && !v->gone)
			return v;
	return NULL;
}

/* @vol's current record into @rec (which may be &vol->rec). */
static void current_record(const struct cow_volume *vol,
			   struct cow_disk_volume *rec)
{
	if (rec != &vol->rec)
		*rec = vol->rec;
	cow_root_to_disk(&vol->mapping, &rec->mapping);
	rec->snap_time = cpu_to_le32(vol->snap_time);
	rec->alloc_hint = cpu_to_le64(vol->alloc_hint);
	rec->written_since_origin = cpu_to_le64(vol->written);
	rec->exclusive_chunks = cpu_to_le64(vol->exclusive);
}

static void vol_to_record(struct cow_volume *vol)
{
	current_record(vol, &vol->rec);
}

static void record_to_vol(struct cow_volume *vol)
{
	struct cow_root old = vol->mapping;

	cow_root_from_disk(&vol->rec.mapping, &vol->mapping);
	/* Another root (rollback, abort): other mappings.  Same root, same tree. */
	if (old.blocknr != vol->mapping.blocknr || old.txn != vol->mapping.txn)
		cow_xlate_clear(vol);
	vol->snap_time = le32_to_cpu(vol->rec.snap_time);
	vol->alloc_hint = le64_to_cpu(vol->rec.alloc_hint);
	vol->origin_time = le32_to_cpu(vol->rec.origin_time);
	vol->written = le64_to_cpu(vol->rec.written_since_origin);
	vol->exclusive = le64_to_cpu(vol->rec.exclusive_chunks);
	vol->family = le64_to_cpu(vol->rec.family);
}

static int flush_volume(struct cow_volume *vol)
{
	int r;

	if (!vol->dirty)
		return 0;
	vol_to_record(vol);
	r = cow_vol_write_record(vol->pmd, &vol->rec);
	if (!r)
		vol->dirty = false;
	return r;
}

int cow_vol_flush_open(struct cow_pool_metadata *pmd)
{
	struct cow_volume *v;
	int r;

	r = cow_acct_flush(pmd);
	if (r)
		return r;
	for (v = pmd->open_volumes; v; v = v->next) {
		if (v->gone)
			continue;
		r = flush_volume(v);
		if (r)
			return r;
	}
	return 0;
}

void cow_vol_reload_open(struct cow_pool_metadata *pmd)
{
	struct cow_volume *v;

	pmd->nr_acct_pending = 0;	/* gains of the transaction thrown away */
	for (v = pmd->open_volumes; v; v = v->next) {
		v->dirty = false;
		if (v->gone || read_record(pmd, v->id, &v->rec)) {
			v->gone = true;
			continue;
		}
		record_to_vol(v);
	}
}

/*
 * Make the volumes btree path to @vol's record our own in this epoch, so
 * shared volumes btree nodes have handed out their references on mapping
 * roots before @vol's mapping root changes.
 */
int cow_vol_ensure_own_record(struct cow_volume *vol)
{
	struct cow_pool_metadata *pmd = vol->pmd;
	int r;

	if (vol->synced_gen == pmd->records_gen)
		return 0;
	vol_to_record(vol);
	r = cow_vol_write_record(pmd, &vol->rec);
	if (r)
		return r;
	vol->dirty = false;
	vol->synced_gen = pmd->records_gen;
	return 0;
}

/* Which counters of the records of @pmd are maintained (COW_COUNTER_*). */
static u32 valid_counters(struct cow_pool_metadata *pmd)
{
	u64 f = le64_to_cpu(pmd->sb.compat_ro_flags);
	u32 v = COW_COUNTER_MAPPED;

	if (f & COW_FEATURE_COMPAT_RO_WRITTEN)
		v |= COW_COUNTER_WRITTEN;
	if (f & COW_FEATURE_COMPAT_RO_EXCLUSIVE)
		v |= COW_COUNTER_EXCLUSIVE;
	return v;
}

static void record_to_info(struct cow_pool_metadata *pmd,
			   const struct cow_disk_volume *rec,
			   struct cow_volume_info *info)
{
	memset(info, 0, sizeof(*info));
	info->id = le64_to_cpu(rec->id);
	memcpy(info->name, rec->name, sizeof(info->name));
	info->name[sizeof(info->name) - 1] = '\0';
	info->size_sectors = le64_to_cpu(rec->size_sectors);
	info->ctime = le64_to_cpu(rec->ctime);
	info->origin_id = le64_to_cpu(rec->origin_id);
	info->flags = le32_to_cpu(rec->flags);
	info->mapped_chunks = le64_to_cpu(rec->mapping.count);
	info->exclusive_chunks = le64_to_cpu(rec->exclusive_chunks);
	info->written_since_origin = le64_to_cpu(rec->written_since_origin);
	info->valid_counters = valid_counters(pmd);
	info->received_from = le64_to_cpu(rec->received_from);
	info->received_mark = le64_to_cpu(rec->received_mark);
}

static int check_name(const char *name)
{
	if (name && strnlen(name, COW_VOLUME_NAME_LEN) >= COW_VOLUME_NAME_LEN)
		return -EINVAL;
	return 0;
}

static void set_name(struct cow_disk_volume *rec, const char *name)
{
	memset(rec->name, 0, sizeof(rec->name));
	if (name)
		strscpy(rec->name, name, sizeof(rec->name));
}

/* Current record of live volume @id: the open handle's if it is open. */
static int get_record(struct cow_pool_metadata *pmd, u64 id,
		      struct cow_disk_volume *rec)
{
	struct cow_volume *v = cow_vol_find_open(pmd, id);
	int r;

	/* Readers may share the pool lock: touch neither handle nor batch. */
	if (v) {
		current_record(v, rec);
		return 0;
	}
	r = read_record(pmd, id, rec);
	if (!r)
		rec->exclusive_chunks = cpu_to_le64(le64_to_cpu(rec->exclusive_chunks) +
						    cow_acct_take(pmd, id, false));
	return r;
}

/* Store @rec, keeping an open handle of the volume in step. */
static int put_record(struct cow_pool_metadata *pmd,
		      const struct cow_disk_volume *rec)
{
	struct cow_volume *v = cow_vol_find_open(pmd, le64_to_cpu(rec->id));
	int r;

	r = cow_vol_write_record(pmd, rec);
	if (r || !v)
		return r;
	v->rec = *rec;
	record_to_vol(v);
	v->dirty = false;
	v->synced_gen = pmd->records_gen;
	return 0;
}

/*----------------------------------------------------------------*/
/* Creating, snapshotting, deleting, rolling back */

static int id_free(struct cow_pool_metadata *pmd, u64 id)
{
	struct cow_disk_volume *rec;
	int r;

	if (id > COW_MAX_VOLUME_ID)
		return -EINVAL;
	rec = kmalloc(sizeof(*rec), GFP_NOIO);
	if (!rec)
		return -ENOMEM;
	r = read_record(pmd, id, rec);
	kfree(rec);
	if (!r)
		return -EEXIST;
	return r == -ENOENT ? 0 : r;
}

int cow_pmd_create_volume(struct cow_pool_metadata *pmd, u64 id,
			  const char *name)
{
	struct cow_disk_volume *rec;
	int r;

	rec = kzalloc(sizeof(*rec), GFP_NOIO);
	if (!rec)
		return -ENOMEM;
	down_write(&pmd->lock);
	r = cow_pmd_check_space(pmd);
	if (!r)
		r = check_name(name);
	if (!r)
		r = cow_vol_flush_open(pmd);
	if (!r)
		r = id_free(pmd, id);
	if (r)
		goto out;
	rec->id = cpu_to_le64(id);
	set_name(rec, name);
	rec->ctime = cpu_to_le64(cow_now_seconds());
	rec->origin_id = cpu_to_le64(COW_NO_ORIGIN);
	rec->family = cpu_to_le64(id);
	r = cow_pmd_note_change(pmd, cow_vol_write_record(pmd, rec));
out:
	up_write(&pmd->lock);
	kfree(rec);
	return r;
}

/* A volume's visibility flags are one of three sane combinations. */
static bool visibility_ok(u32 flags)
{
	return flags == 0 || flags == COW_VOL_F_HIDDEN ||
	       flags == COW_VOL_F_VISIBILITY;
}

static int check_snapshot_reqs(struct cow_pool_metadata *pmd,
			       const struct cow_snapshot_request *reqs,
			       unsigned int nr, struct cow_disk_volume *rec)
{
	unsigned int i, j;
	int r;

	for (i = 0; i < nr; i++) {
		if (!visibility_ok(reqs[i].flags))
			return -EINVAL;
		r = check_name(reqs[i].name);
		if (!r)
			r = id_free(pmd, reqs[i].new_id);
		if (!r)
			r = get_record(pmd, reqs[i].origin_id, rec);
		if (r)
			return r;
		for (j = 0; j < i; j++)
			if (reqs[j].new_id == reqs[i].new_id)
				return -EEXIST;
	}
	return 0;
}

static int snapshot_one(struct cow_pool_metadata *pmd,
			const struct cow_snapshot_request *req,
			struct cow_disk_volume *rec)
{
	u64 alloc_hint, family;
	struct cow_root m;
	int r;

	r = get_record(pmd, req->origin_id, rec);
	if (r)
		return r;
	/* The origin's older mappings are shared from now on. */
	rec->snap_time = cpu_to_le32(pmd->time);
	/* ... by the new volume too: none is exclusive any more. */
	rec->exclusive_chunks = 0;
	r = put_record(pmd, rec);
	if (r)
		return r;
	cow_root_from_disk(&rec->mapping, &m);
	if (m.blocknr) {
		r = cow_tm_inc(&pmd->tm, m.blocknr);
		if (r)
			return r;
	}
	alloc_hint = le64_to_cpu(rec->alloc_hint);
	family = le64_to_cpu(rec->family);
	memset(rec, 0, sizeof(*rec));
	rec->family = cpu_to_le64(family);
	rec->id = cpu_to_le64(req->new_id);
	set_name(rec, req->name);
	rec->ctime = cpu_to_le64(cow_now_seconds());
	rec->origin_id = cpu_to_le64(req->origin_id);
	rec->snap_time = cpu_to_le32(pmd->time);
	/* Every mapping is older than the bumped time: all inherited. */
	rec->origin_time = cpu_to_le32(pmd->time);
	rec->flags = cpu_to_le32(req->flags);
	cow_root_to_disk(&m, &rec->mapping);
	rec->alloc_hint = cpu_to_le64(alloc_hint);
	return cow_vol_write_record(pmd, rec);
}

int cow_pmd_snapshot(struct cow_pool_metadata *pmd,
		     const struct cow_snapshot_request *reqs, unsigned int nr)
{
	struct cow_disk_volume *rec;
	unsigned int i;
	int r;

	rec = kmalloc(sizeof(*rec), GFP_NOIO);
	if (!rec)
		return -ENOMEM;
	down_write(&pmd->lock);
	r = cow_pmd_check_space(pmd);
	if (!r && nr > (cow_msm_nr_available(pmd->msm) -
			COW_OP_METADATA_RESERVE) / 8)
		r = -ENOSPC;
	if (!r)
		r = cow_vol_flush_open(pmd);
	if (!r)
		r = check_snapshot_reqs(pmd, reqs, nr, rec);
	if (r)
		goto out;
	r = cow_pmd_bump_time(pmd);
	for (i = 0; !r && i < nr; i++)
		r = snapshot_one(pmd, &reqs[i], rec);
	r = cow_pmd_note_change(pmd, r);
out:
	up_write(&pmd->lock);
	kfree(rec);
	return r;
}

static int delete_volume(struct cow_pool_metadata *pmd, u64 id,
			 struct cow_disk_volume *rec)
{
	struct cow_root m;
	int r;

	r = cow_btree_remove(&pmd->vol_info, &pmd->volumes_root, id, rec);
	if (r)
		return r;
	/* Its chunks' other holders are accounted before it is freed. */
	if (pmd->accounting)
		return cow_acct_retire(pmd, rec);
	cow_root_from_disk(&rec->mapping, &m);
	return cow_dead_push(pmd, &m, COW_DEAD_MAPPING, id);
}

int cow_pmd_delete_volume(struct cow_pool_metadata *pmd, u64 id)
{
	struct cow_disk_volume *rec;
	int r;

	rec = kmalloc(sizeof(*rec), GFP_NOIO);
	if (!rec)
		return -ENOMEM;
	down_write(&pmd->lock);
	r = cow_pmd_check_writable(pmd);
	if (!r && cow_vol_find_open(pmd, id))
		r = -EBUSY;
	if (!r)
		r = cow_vol_flush_open(pmd);
	if (!r)
		r = read_record(pmd, id, rec);
	if (!r)
		r = cow_pmd_note_change(pmd, delete_volume(pmd, id, rec));
	up_write(&pmd->lock);
	kfree(rec);
	return r;
}

/* @v's old tree in @old_rec goes: as a deleting record when accounting. */
static int rollback(struct cow_pool_metadata *pmd, struct cow_disk_volume *v,
		    struct cow_disk_volume *s, struct cow_disk_volume *old_rec)
{
	struct cow_root old, m;
	int r;

	r = cow_pmd_bump_time(pmd);
	if (r)
		return r;
	*old_rec = *v;
	cow_root_from_disk(&v->mapping, &old);
	cow_root_from_disk(&s->mapping, &m);
	if (m.blocknr) {
		r = cow_tm_inc(&pmd->tm, m.blocknr);
		if (r)
			return r;
	}
	v->mapping = s->mapping;
	v->snap_time = cpu_to_le32(pmd->time);
	/* A fresh copy of @s: nothing written by @v since. */
	v->origin_time = cpu_to_le32(pmd->time);
	v->written_since_origin = 0;
	/* Every chunk of @s now has two holders at least. */
	v->exclusive_chunks = 0;
	v->family = s->family;
	s->snap_time = cpu_to_le32(pmd->time);
	s->exclusive_chunks = 0;
	r = put_record(pmd, v);
	if (!r)
		r = put_record(pmd, s);
	if (r)
		return r;
	if (pmd->accounting)
		return cow_acct_retire(pmd, old_rec);
	return cow_dead_push(pmd, &old, COW_DEAD_MAPPING, le64_to_cpu(v->id));
}

int cow_pmd_rollback(struct cow_pool_metadata *pmd, u64 id, u64 snap_id)
{
	struct cow_disk_volume *rec;
	struct cow_volume *open;
	int r;

	rec = kmalloc_array(3, sizeof(*rec), GFP_NOIO);
	if (!rec)
		return -ENOMEM;
	down_write(&pmd->lock);
	r = cow_pmd_check_writable(pmd);
	open = cow_vol_find_open(pmd, id);
	if (!r && open && !open->quiesced)
		r = -EBUSY;
	if (!r && id == snap_id)
		r = -EINVAL;
	if (!r)
		r = cow_vol_flush_open(pmd);
	if (!r)
		r = read_record(pmd, id, &rec[0]);
	if (!r)
		r = read_record(pmd, snap_id, &rec[1]);
	if (!r)
		r = cow_pmd_note_change(pmd, rollback(pmd, &rec[0], &rec[1],
							       &rec[2]));
	up_write(&pmd->lock);
	kfree(rec);
	return r;
}

/*----------------------------------------------------------------*/
/* Record fields */

static int update_record(struct cow_pool_metadata *pmd, u64 id,
			 const char *name, const u64 *size,
			 const u32 *visibility)
{
	struct cow_disk_volume *rec;
	int r;

	rec = kmalloc(sizeof(*rec), GFP_NOIO);
	if (!rec)
		return -ENOMEM;
	down_write(&pmd->lock);
	r = cow_pmd_check_writable(pmd);
	if (!r && name)
		r = check_name(name);
	if (!r)
		r = cow_vol_flush_open(pmd);
	if (!r)
		r = read_record(pmd, id, rec);
	if (!r) {
		if (name)
			set_name(rec, name);
		if (size)
			rec->size_sectors = cpu_to_le64(*size);
		if (visibility)
			rec->flags = cpu_to_le32((le32_to_cpu(rec->flags) &
						  ~COW_VOL_F_VISIBILITY) |
						 *visibility);
		r = cow_pmd_note_change(pmd, put_record(pmd, rec));
	}
	up_write(&pmd->lock);
	kfree(rec);
	return r;
}

int cow_pmd_set_name(struct cow_pool_metadata *pmd, u64 id, const char *name)
{
	return update_record(pmd, id, name ? name : "", NULL, NULL);
}

int cow_pmd_set_size(struct cow_pool_metadata *pmd, u64 id, u64 size_sectors)
{
	return update_record(pmd, id, NULL, &size_sectors, NULL);
}

int cow_pmd_set_visibility(struct cow_pool_metadata *pmd, u64 id, u32 flags,
			   const char *name)
{
	if (!visibility_ok(flags))
		return -EINVAL;
	return update_record(pmd, id, name, NULL, &flags);
}

struct throwaways {
	u64 ids[16];
	unsigned int nr;
};

static int find_throwaway(void *context, const struct cow_volume_info *info)
{
	struct throwaways *t = context;

	if (!(info->flags & COW_VOL_F_THROWAWAY))
		return 0;
	t->ids[t->nr++] = info->id;
	return t->nr == ARRAY_SIZE(t->ids);	/* full: delete, then look again */
}

int cow_pmd_delete_throwaways(struct cow_pool_metadata *pmd, u64 *nr)
{
	struct throwaways *t;
	unsigned int i;
	int r;

	*nr = 0;
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	do {
		t->nr = 0;
		r = cow_pmd_walk_volumes(pmd, find_throwaway, t);
		for (i = 0; !r && i < t->nr; i++)
			r = cow_pmd_delete_volume(pmd, t->ids[i]);
		if (!r)
			*nr += t->nr;
	} while (!r && t->nr == ARRAY_SIZE(t->ids));
	kfree(t);
	return r;
}

int cow_pmd_set_received(struct cow_pool_metadata *pmd, u64 id, u64 from,
			 u64 mark)
{
	struct cow_disk_volume *rec;
	int r;

	rec = kmalloc(sizeof(*rec), GFP_NOIO);
	if (!rec)
		return -ENOMEM;
	down_write(&pmd->lock);
	r = cow_pmd_check_writable(pmd);
	if (!r)
		r = cow_vol_flush_open(pmd);
	if (!r)
		r = read_record(pmd, id, rec);
	if (!r) {
		rec->received_from = cpu_to_le64(from);
		rec->received_mark = cpu_to_le64(mark);
		r = cow_pmd_note_change(pmd, put_record(pmd, rec));
	}
	if (!r && (from || mark))
		pmd->sb.compat_flags |= cpu_to_le64(COW_FEATURE_COMPAT_RECEIVED);
	up_write(&pmd->lock);
	kfree(rec);
	return r;
}

int cow_pmd_get_volume_info(struct cow_pool_metadata *pmd, u64 id,
			    struct cow_volume_info *result)
{
	struct cow_disk_volume *rec;
	int r;

	rec = kmalloc(sizeof(*rec), GFP_NOIO);
	if (!rec)
		return -ENOMEM;
	down_read(&pmd->lock);
	r = get_record(pmd, id, rec);
	if (!r)
		record_to_info(pmd, rec, result);
	up_read(&pmd->lock);
	kfree(rec);
	return r;
}

struct vol_walk {
	struct cow_pool_metadata *pmd;
	int (*fn)(void *context, const struct cow_volume_info *info);
	void *context;
	struct cow_volume_info info;
	struct cow_disk_volume rec;
};

static int vol_walk_fn(void *context, u64 key, void *value)
{
	struct vol_walk *fe = context;
	int r;

	(void)key;
	memcpy(&fe->rec, value, sizeof(fe->rec));
	record_to_info(fe->pmd, &fe->rec, &fe->info);
	r = fe->fn(fe->context, &fe->info);
	/* A positive return stops the walk; report it as success. */
	return r > 0 ? 1 : r;
}

int cow_pmd_walk_volumes(struct cow_pool_metadata *pmd,
			    int (*fn)(void *context,
				      const struct cow_volume_info *info),
			    void *context)
{
	struct vol_walk *fe;
	int r;

	fe = kzalloc(sizeof(*fe), GFP_NOIO);
	if (!fe)
		return -ENOMEM;
	fe->pmd = pmd;
	fe->fn = fn;
	fe->context = context;
	down_write(&pmd->lock);
	r = pmd->fail ? -EIO : cow_vol_flush_open(pmd);
	if (!r)
		r = cow_btree_walk(&pmd->vol_info, &pmd->volumes_root, 0,
				   COW_MAX_VOLUME_ID + 1, vol_walk_fn, fe);
	up_write(&pmd->lock);
	kfree(fe);
	return r > 0 ? 0 : r;
}

/*----------------------------------------------------------------*/
/* Open volumes */

int cow_pmd_open_volume(struct cow_pool_metadata *pmd, u64 id,
			struct cow_volume **result)
{
	struct cow_volume *v;
	int r = 0;

	down_write(&pmd->lock);
	v = cow_vol_find_open(pmd, id);
	if (v) {
		v->open_count++;
		goto out;
	}
	v = kzalloc(sizeof(*v), GFP_KERNEL);
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	r = read_record(pmd, id, &v->rec);
	if (r) {
		kfree(v);
		goto out;
	}
	cow_xlate_init(v);
	v->pmd = pmd;
	v->id = id;
	v->open_count = 1;
	v->synced_gen = pmd->records_gen - 1;
	record_to_vol(v);
	/* The handle counts from now on what the batch held for it. */
	v->exclusive += cow_acct_take(pmd, id, true);
	v->dirty = v->exclusive != le64_to_cpu(v->rec.exclusive_chunks);
	v->next = pmd->open_volumes;
	pmd->open_volumes = v;
out:
	if (!r)
		*result = v;
	up_write(&pmd->lock);
	return r;
}

void cow_pmd_close_volume(struct cow_volume *vol)
{
	struct cow_pool_metadata *pmd = vol->pmd;
	struct cow_volume **p;
	int r;

	down_write(&pmd->lock);
	if (--vol->open_count)
		goto out;
	/* Its record must reach the btree before the handle goes. */
	if (!vol->gone && !pmd->fail) {
		r = flush_volume(vol);
		if (r)
			cow_pmd_note_change(pmd, r);
	}
	for (p = &pmd->open_volumes; *p != vol; p = &(*p)->next)
		;
	*p = vol->next;
	cow_xlate_exit(vol);
	kfree(vol);
out:
	up_write(&pmd->lock);
}

u64 cow_volume_id(struct cow_volume *vol)
{
	return vol->id;
}

void cow_volume_set_quiesced(struct cow_volume *vol, bool quiesced)
{
	down_write(&vol->pmd->lock);
	vol->quiesced = quiesced;
	up_write(&vol->pmd->lock);
}

int cow_volume_get_counters(struct cow_volume *vol,
			    struct cow_volume_counters *result)
{
	struct cow_pool_metadata *pmd = vol->pmd;
	int r = 0;

	down_read(&pmd->lock);
	if (vol->gone) {
		r = -ENODEV;
	} else {
		result->mapped_chunks = vol->mapping.count;
		result->exclusive_chunks = vol->exclusive;
		result->written_since_origin = vol->written;
		result->valid = valid_counters(pmd);
	}
	up_read(&pmd->lock);
	return r;
}
