// SPDX-License-Identifier: GPL-2.0-only
/*
 * Block-level fuzzing of the metadata core: see fuzz-block.h.
 */
#include "fuzz-block.h"
#include "fuzz-common.h"

#include "cow-platform.h"
#include "cow-disk.h"
#include "cow-check.h"
#include "cow-metadata-internal.h"
#include "offline.h"
#include "mdev.h"

#include <fcntl.h>
#include <unistd.h>

#define BS COW_METADATA_BLOCK_SIZE
#define BASE_META_BLOCKS 512u
#define BASE_DATA_CHUNKS 8192u
#define BASE_CHUNK_SECTORS 128u
#define BASE_MAPPED 300u	/* volume 1: two mapping leaves and a root */
#define BASE_SMALL_VOLS 30u	/* ids 10..39: two levels of volume records */
#define CACHE_BLOCKS 1024u
#define MAX_INSTANCES 64u
#define MAX_VOLS 8u
#define REPAIR_META_BLOCKS 1024u
/* The checker's memory is linear in the data device: bigger pools go unchecked. */
#define MAX_CHECK_CHUNKS (1u << 20)

struct instance {
	u64 block;
	u64 txn;		/* the stamp its reference records */
	const struct cow_block_validator *v;
};

/*
 * The base pool is the same in every run, so an input (a raw block, with
 * its checksum) means the same thing to every process that replays it:
 * a fixed uuid (it seeds the checksums) and a fixed clock (volume ctimes).
 */
static const u8 base_uuid[16] = "cowtree-fuzzing";
#define BASE_TIME 1700000000ull

u64 cow_now_seconds(void)
{
	return BASE_TIME;
}

static struct base {
	struct cow_disk *image;
	u32 csum_seed;
	struct instance inst[FUZZ_NR_KINDS][MAX_INSTANCES];
	unsigned int nr_inst[FUZZ_NR_KINDS];
} base;

static struct cow_check_report report;
/* The image as a file, and repair's output, for the dmcowctl code. */
static char image_path[64], repaired_path[64];
static int image_fd = -1, repaired_fd = -1;
/* The base pool as repair salvages it: built and checked once. */
static struct md_pool base_salvage;

static void dump_and_repair(struct cow_disk *d);

/*
 * Set when the core or dmcowctl's reader reports corruption (-EILSEQ), or
 * the block manager refuses to lock a block its writer holds (-EDEADLK:
 * a live block counted free and handed out again): the checker must not
 * have found that pool clean.
 */
static bool corrupt_seen;

static int seen(int r)
{
	if (r == -EILSEQ || r == -EDEADLK)
		corrupt_seen = true;
	return r;
}

/* The harness itself is broken: not a finding about the input. */
static void __attribute__((noreturn)) harness_bug(const char *what, int r)
{
	fuzz_fail("harness: %s failed: %d", what, r);
}

#define MUST(call) do { int r_ = (call); if (r_) harness_bug(#call, r_); } while (0)

/*----------------------------------------------------------------*/
/* The base pool */

static void write_chunks(struct cow_pool_metadata *pmd, u64 id, u64 begin,
			 u64 end, u64 step)
{
	struct cow_volume *v;
	u64 s, d;

	MUST(cow_pmd_open_volume(pmd, id, &v));
	for (s = begin; s < end; s += step) {
		MUST(cow_volume_alloc_chunk(v, &d));
		MUST(cow_volume_insert(v, s, d));
	}
	cow_pmd_close_volume(v);
}

static void build_pool(struct cow_block_manager *bm)
{
	struct cow_snapshot_request snap = { .new_id = 2, .origin_id = 1, .name = "snap" };
	struct cow_pmd_open_args args = { 0 };
	struct cow_pool_metadata *pmd;
	char name[16];
	bool more;
	u64 id;

	MUST(cow_pmd_format_uuid(bm, BASE_CHUNK_SECTORS, BASE_DATA_CHUNKS,
				 base_uuid));
	MUST(cow_pmd_open(bm, &args, &pmd));
	MUST(cow_pmd_create_volume(pmd, 1, "base"));
	write_chunks(pmd, 1, 0, BASE_MAPPED, 1);
	MUST(cow_pmd_set_size(pmd, 1, 1u << 20));
	MUST(cow_pmd_snapshot(pmd, &snap, 1));
	for (id = 10; id < 10 + BASE_SMALL_VOLS; id++) {
		snprintf(name, sizeof(name), "v%llu", (unsigned long long)id);
		MUST(cow_pmd_create_volume(pmd, id, name));
		write_chunks(pmd, id, id, id + 3, 1);
	}
	MUST(cow_pmd_commit(pmd));
	/* The held root shares the trees of this commit. */
	MUST(cow_pmd_reserve_metadata_snap(pmd));
	write_chunks(pmd, 1, 0, BASE_MAPPED, 3);
	MUST(cow_pmd_create_volume(pmd, 3, "three"));
	write_chunks(pmd, 3, 0, 300, 1);
	MUST(cow_pmd_create_volume(pmd, 4, "four"));
	write_chunks(pmd, 4, 0, 300, 2);
	MUST(cow_pmd_commit(pmd));
	/* Deleting records, then dead trees half reclaimed. */
	MUST(cow_pmd_delete_volume(pmd, 3));
	MUST(cow_pmd_delete_volume(pmd, 4));
	MUST(cow_pmd_delete_volume(pmd, 11));
	MUST(cow_pmd_reclaim_step(pmd, 400, &more));
	MUST(cow_pmd_commit(pmd));
	MUST(cow_pmd_reclaim_step(pmd, 200, &more));
	MUST(cow_pmd_delete_volume(pmd, 12));
	MUST(cow_pmd_commit(pmd));
	cow_pmd_close(pmd);
}

static const struct cow_block_validator *validator_of(u32 type)
{
	switch (type) {
	case COW_BT_SUPERBLOCK: return &cow_sb_validator;
	case COW_BT_NODE: return &cow_node_validator;
	case COW_BT_MSM_ROOT: return &cow_msm_root_validator;
	case COW_BT_MSM_INDEX: return &cow_msm_index_validator;
	case COW_BT_MSM_RC: return &cow_msm_rc_validator;
	case COW_BT_DSM_RC: return &cow_dsm_rc_validator;
	case COW_BT_HELD: return &cow_held_validator;
	}
	return NULL;
}

static int kind_of(const void *p)
{
	const struct cow_disk_node_header *n = p;

	switch (le32_to_cpu(n->hdr.type)) {
	case COW_BT_SUPERBLOCK: return FUZZ_SB;
	case COW_BT_MSM_ROOT: return FUZZ_MSM_ROOT;
	case COW_BT_MSM_INDEX: return FUZZ_MSM_INDEX;
	case COW_BT_MSM_RC: return FUZZ_MSM_RC;
	case COW_BT_DSM_RC: return FUZZ_DSM_RC;
	case COW_BT_HELD: return FUZZ_HELD;
	case COW_BT_NODE:
		switch (le32_to_cpu(n->tree)) {
		case COW_TREE_MAPPING: return FUZZ_NODE_MAP;
		case COW_TREE_VOLUMES: return FUZZ_NODE_VOL;
		case COW_TREE_DEAD: return FUZZ_NODE_DEAD;
		case COW_TREE_DSM_INDEX: return FUZZ_NODE_DSM;
		}
	}
	return -1;
}

/* Every block the metadata space map counts, by kind, in block order. */
static void classify(struct cow_block_manager *bm)
{
	struct cow_pmd_open_args args = { .read_only = true };
	struct cow_pool_metadata *pmd;
	struct instance *in;
	u32 count;
	u64 b;
	void *p;
	int k;

	MUST(cow_pmd_open(bm, &args, &pmd));
	for (b = 0; b < BASE_META_BLOCKS; b++) {
		MUST(cow_sm_get_count(pmd->msm, b, &count));
		p = cow_disk_mem_block(base.image, b, false);
		if (!count || !p)
			continue;
		k = kind_of(p);
		if (k < 0)
			harness_bug("classify: a live block of no known kind", (int)b);
		if (base.nr_inst[k] == MAX_INSTANCES)
			continue;
		in = &base.inst[k][base.nr_inst[k]++];
		in->block = b;
		in->txn = le64_to_cpu(((struct cow_disk_block_header *)p)->txn);
		in->v = validator_of(le32_to_cpu(((struct cow_disk_block_header *)p)->type));
	}
	cow_pmd_close(pmd);
	for (k = 0; k < FUZZ_NR_KINDS; k++)
		if (!base.nr_inst[k])
			harness_bug("classify: the base pool lacks a block kind", k);
}

/* FUZZ_SAVE_BASE=FILE: write the base image there (seeds.sh). */
static void save_base(const char *path)
{
	u8 zero[BS] = { 0 };
	u64 b;
	void *p;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		harness_bug("open FUZZ_SAVE_BASE", -errno);
	for (b = 0; b < BASE_META_BLOCKS; b++) {
		p = cow_disk_mem_block(base.image, b, false);
		if (pwrite(fd, p ? p : zero, BS, (off_t)(b * BS)) != BS)
			harness_bug("write FUZZ_SAVE_BASE", -errno);
	}
	close(fd);
}

static void remove_files(void)
{
	unlink(image_path);
	unlink(repaired_path);
}

static int make_file(char *path, size_t len, const char *what)
{
	int fd;

	snprintf(path, len, "/dev/shm/cowtree-fuzz-%s.%d", what, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		harness_bug("create a file in /dev/shm", -errno);
	return fd;
}

static void build_base(void)
{
	struct cow_block_manager *bm;
	struct cow_disk *d;
	const char *save;

	fuzz_quiet();
	image_fd = make_file(image_path, sizeof(image_path), "image");
	repaired_fd = make_file(repaired_path, sizeof(repaired_path), "repaired");
	atexit(remove_files);
	MUST(cow_disk_mem_create(BASE_META_BLOCKS, &d));
	MUST(cow_cache_bm_create(d, CACHE_BLOCKS, &bm));
	build_pool(bm);
	MUST(cow_disk_mem_clone(d, &base.image));
	cow_bm_destroy(bm);

	MUST(cow_disk_mem_clone(base.image, &d));
	MUST(cow_cache_bm_create(d, CACHE_BLOCKS, &bm));
	MUST(cow_check_pool(bm, &report));
	if (report.nr_problems) {
		cow_log_quiet = false;
		cow_check_log(&report);
		harness_bug("the base pool is not clean", (int)report.nr_problems);
	}
	classify(bm);
	cow_bm_destroy(bm);
	base.csum_seed = cow_sb_csum_seed(cow_disk_mem_block(base.image, 0, false));
	dump_and_repair(base.image);
	if (!base_salvage.nr_vols)
		harness_bug("repair of the base pool", -EIO);
	/* From now on the block cache refuses relocks as the kernel does. */
	cow_cache_bm_refuse_relock = true;
	save = getenv("FUZZ_SAVE_BASE");
	if (save)
		save_base(save);
}

/*----------------------------------------------------------------*/
/* Placing the input */

/*
 * Make block @in pass the format's checks: the validator's
 * prepare_for_write sets type, location and checksum when the block
 * manager writes it back.
 */
static void fix_block(struct cow_block_manager *bm, const struct instance *in,
		      const void *data)
{
	struct cow_block *b;

	MUST(cow_bm_write_lock_zero(bm, in->block, in->v, &b));
	memcpy(cow_block_data(b), data, BS);
	cow_bm_unlock(bm, b);
	MUST(cow_bm_flush(bm));
	cow_bm_invalidate(bm);
}

static void place(struct cow_block_manager *bm, struct cow_disk *d,
		  const struct instance *in, u8 ctl, const u8 *data, size_t size)
{
	u8 *p = cow_disk_mem_block(d, in->block, true);
	struct cow_disk_block_header *h = (void *)p;

	if (!p)
		harness_bug("place", -ENOMEM);
	memcpy(p, data, min_t(size_t, size, BS));
	if (ctl & FUZZ_RAW)
		return;
	if (!(ctl & FUZZ_KEEP_STAMP))
		h->txn = cpu_to_le64(in->txn);
	fix_block(bm, in, p);
}

/*----------------------------------------------------------------*/
/* 1 and 2: the checker and the reads */

struct vol_list {
	u64 ids[MAX_VOLS];
	unsigned int nr;
};

static int list_volume(void *context, const struct cow_volume_info *info)
{
	struct vol_list *l = context;

	if (l->nr < MAX_VOLS)
		l->ids[l->nr++] = info->id;
	return 0;
}

static int count_delta(void *context, u64 vbegin, u64 vend,
		       enum cow_delta_kind kind)
{
	unsigned int *n = context;

	(void)vbegin;
	(void)vend;
	(void)kind;
	return ++*n > 10000;	/* a stop, not an error */
}

static void read_volume(struct cow_pool_metadata *pmd, u64 id)
{
	static const u64 probes[] = { 0, 1, 2, 253, 254, 299, 300, 100000, U64_MAX };
	struct cow_volume_counters counters;
	struct cow_volume_info info;
	struct cow_lookup_result lr;
	u64 n, vb, ve, db, begin, highest;
	struct cow_volume *v;
	unsigned int i;
	bool shared;

	seen(cow_pmd_get_volume_info(pmd, id, &info));
	if (seen(cow_pmd_open_volume(pmd, id, &v)))
		return;
	seen(cow_volume_get_counters(v, &counters));
	seen(cow_volume_get_mapped_count(v, &n));
	if (!seen(cow_volume_get_highest_mapped(v, &highest)))
		seen(cow_volume_lookup(v, highest, true, &lr));
	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		seen(cow_volume_lookup(v, probes[i], false, &lr));
		seen(cow_volume_lookup(v, probes[i], true, &lr));
	}
	/* Every mapped run, as the I/O path and the status walk see them. */
	for (begin = 0, i = 0; i < 64; i++) {
		if (seen(cow_volume_find_mapped_range(v, begin, U64_MAX, &vb, &ve,
						      &db, &shared)))
			break;
		FUZZ_ASSERT(vb >= begin && ve > vb,
			    "find_mapped_range(%llu) returned [%llu, %llu)",
			    (unsigned long long)begin, (unsigned long long)vb,
			    (unsigned long long)ve);
		begin = ve;
	}
	cow_pmd_close_volume(v);
}

static void read_pool(struct cow_block_manager *bm)
{
	struct cow_pmd_open_args args = { .read_only = true };
	struct cow_pool_metadata *pmd;
	struct vol_list vols = { .nr = 0 };
	unsigned int i, n = 0;
	u64 x;

	if (seen(cow_pmd_open(bm, &args, &pmd)))
		return;
	cow_pmd_get_transaction_id(pmd, &x);
	cow_pmd_get_nr_data_chunks(pmd, &x);
	cow_pmd_get_free_data_chunks(pmd, &x);
	cow_pmd_get_nr_metadata_blocks(pmd, &x);
	cow_pmd_get_free_metadata_blocks(pmd, &x);
	cow_pmd_get_held_root(pmd, &x);
	cow_pmd_get_reclaiming_chunks(pmd, &x);
	cow_pmd_needs_check(pmd);
	seen(cow_pmd_walk_volumes(pmd, list_volume, &vols));
	for (i = 0; i < vols.nr; i++)
		read_volume(pmd, vols.ids[i]);
	seen(cow_pmd_delta(pmd, 1, 2, count_delta, &n));
	if (vols.nr >= 2)
		seen(cow_pmd_delta(pmd, vols.ids[vols.nr - 1], vols.ids[0],
				   count_delta, &n));
	cow_pmd_close(pmd);
}

/*----------------------------------------------------------------*/
/* 3: the kernel's writes */

struct writer {
	struct cow_pool_metadata *pmd;
	int failed;		/* first error; reads only from then on */
};

/* As cow_pool_metadata_failed(): abort, needs_check, read-only. */
static bool step(struct writer *w, int r)
{
	seen(r);
	if (w->failed)
		return false;
	if (!r)
		return true;
	w->failed = r;
	if (!cow_pmd_abort(w->pmd))
		cow_pmd_set_needs_check(w->pmd);
	return false;
}

static bool commit(struct writer *w)
{
	return !w->failed && step(w, cow_pmd_commit(w->pmd));
}

/* The I/O path: provision, overwrite shared chunks, discard. */
static void write_volume(struct writer *w, u64 id)
{
	static const u64 vchunks[] = { 5, 254, 300 };
	struct cow_lookup_result lr;
	struct cow_volume *v;
	unsigned int i;
	u64 d;
	int r;

	if (w->failed || !step(w, cow_pmd_open_volume(w->pmd, id, &v)))
		return;
	for (i = 0; i < ARRAY_SIZE(vchunks) && !w->failed; i++) {
		r = cow_volume_lookup(v, vchunks[i], true, &lr);
		if (!r && !lr.shared)
			continue;	/* written in place */
		if (r && r != -ENODATA) {
			step(w, r);
			break;
		}
		if (!step(w, cow_volume_alloc_chunk(v, &d)))
			break;
		r = cow_volume_insert(v, vchunks[i], d);
		if (r)
			cow_volume_free_unused_chunk(v, d);
		step(w, r);
	}
	if (!w->failed)
		step(w, cow_volume_remove_range(v, 250, 320, NULL, NULL));
	cow_pmd_close_volume(v);
}

static void reclaim(struct writer *w)
{
	unsigned int i;
	bool more = true;

	for (i = 0; i < 2 && more && !w->failed; i++)
		step(w, cow_pmd_reclaim_step(w->pmd, 16, &more));
}

static void write_pool(struct cow_block_manager *bm, bool clean)
{
	struct cow_pmd_open_args args = {
		.chunk_sectors = BASE_CHUNK_SECTORS,
		.nr_data_chunks = BASE_DATA_CHUNKS,
	};
	struct cow_snapshot_request snaps[] = {
		{ .new_id = 60, .origin_id = 1, .name = "s60" },
		{ .new_id = 61, .origin_id = 10, .name = "s61" },
	};
	struct writer w = { .failed = 0 };
	bool blank;
	u64 x;

	cow_bm_set_read_only(bm, false);
	cow_bm_invalidate(bm);
	/* The pool constructor: a blank device is formatted. */
	if (cow_pmd_is_unformatted(bm, &blank))
		return;
	if (blank && cow_pmd_format(bm, BASE_CHUNK_SECTORS, BASE_DATA_CHUNKS))
		return;
	if (seen(cow_pmd_open(bm, &args, &w.pmd)))
		return;
	if (cow_pmd_needs_check(w.pmd))
		w.failed = -EROFS;	/* activated read-only */

	write_volume(&w, 1);
	write_volume(&w, 10);
	commit(&w);
	if (!w.failed)
		step(&w, cow_pmd_create_volume(w.pmd, 50, "fifty"));
	if (!w.failed)
		step(&w, cow_pmd_snapshot(w.pmd, snaps, ARRAY_SIZE(snaps)));
	commit(&w);
	write_volume(&w, 60);
	if (!w.failed)
		step(&w, cow_pmd_set_name(w.pmd, 2, "renamed"));
	if (!w.failed)
		step(&w, cow_pmd_set_size(w.pmd, 2, 4096));
	if (!w.failed)
		step(&w, cow_pmd_rollback(w.pmd, 10, 61));
	commit(&w);
	if (!w.failed)
		step(&w, cow_pmd_delete_volume(w.pmd, 13));
	if (!w.failed)
		step(&w, cow_pmd_delete_volume(w.pmd, 2));
	reclaim(&w);
	commit(&w);
	if (!w.failed)
		step(&w, cow_pmd_release_metadata_snap(w.pmd));
	reclaim(&w);
	if (!w.failed)
		step(&w, cow_pmd_reserve_metadata_snap(w.pmd));
	if (!w.failed && !cow_pmd_get_transaction_id(w.pmd, &x))
		step(&w, cow_pmd_set_transaction_id(w.pmd, x, x + 1));
	commit(&w);
	if (!w.failed)
		step(&w, cow_pmd_resize_data(w.pmd, BASE_DATA_CHUNKS + 3000));
	commit(&w);
	/* Reads go on after a failure, as on a read-only pool. */
	cow_pmd_get_free_data_chunks(w.pmd, &x);
	cow_pmd_close(w.pmd);

	if (!clean || w.failed)
		return;
	cow_bm_invalidate(bm);
	MUST(cow_check_pool(bm, &report));
	if (report.nr_problems) {
		cow_log_quiet = false;
		cow_check_log(&report);
		fuzz_fail("a pool the checker found clean is not clean after operations that all succeeded (%llu problems)",
			  (unsigned long long)report.nr_problems);
	}
}

/*----------------------------------------------------------------*/
/* 4: dmcowctl dump and repair read the image from a file */

static void write_image(struct cow_disk *d)
{
	u64 b;
	void *p;

	if (ftruncate(image_fd, 0) ||
	    ftruncate(image_fd, (off_t)BASE_META_BLOCKS * BS))
		harness_bug("size the image file", -errno);
	for (b = 0; b < BASE_META_BLOCKS; b++) {
		p = cow_disk_mem_block(d, b, false);
		if (p && pwrite(image_fd, p, BS, (off_t)(b * BS)) != BS)
			harness_bug("write the image file", -errno);
	}
}

static void check_repaired(void)
{
	struct cow_block_manager *bm;

	if (mdev_open_ro(repaired_path, false, &bm))
		harness_bug("reopen the repaired pool", -EIO);
	MUST(cow_check_pool(bm, &report));
	mdev_close(bm);
	if (report.nr_problems) {
		cow_log_quiet = false;
		cow_check_log(&report);
		fuzz_fail("repair wrote a pool the checker finds damaged (%llu problems)",
			  (unsigned long long)report.nr_problems);
	}
}

static bool same_pool(const struct md_pool *a, const struct md_pool *b)
{
	size_t i, j;

	if (a->chunk_sectors != b->chunk_sectors || a->time != b->time ||
	    a->nr_data_chunks != b->nr_data_chunks || a->nr_vols != b->nr_vols ||
	    a->user_txn_id != b->user_txn_id || a->compat_ro != b->compat_ro ||
	    memcmp(a->uuid, b->uuid, sizeof(a->uuid)))
		return false;
	for (i = 0; i < a->nr_vols; i++) {
		const struct md_volume *v = &a->vols[i], *w = &b->vols[i];

		if (v->id != w->id || strcmp(v->name, w->name) ||
		    v->size_sectors != w->size_sectors || v->ctime != w->ctime ||
		    v->origin_id != w->origin_id || v->flags != w->flags ||
		    v->snap_time != w->snap_time || v->origin_time != w->origin_time ||
		    v->exclusive != w->exclusive || v->written != w->written ||
		    v->alloc_hint != w->alloc_hint || v->nr_runs != w->nr_runs)
			return false;
		for (j = 0; j < v->nr_runs; j++)
			if (v->runs[j].vbegin != w->runs[j].vbegin ||
			    v->runs[j].dbegin != w->runs[j].dbegin ||
			    v->runs[j].len != w->runs[j].len ||
			    v->runs[j].time != w->runs[j].time)
				return false;
	}
	return true;
}

/*
 * dump and repair read the image; repair writes what it salvaged into a
 * new pool, which must be clean (unless that is the base pool's salvage,
 * built and checked once).
 */
static void dump_and_repair(struct cow_disk *d)
{
	struct md_load_opts strict = { .tolerant = false };
	struct md_load_opts tolerant = { .tolerant = true };
	struct md_load_result res;
	struct md_pool p;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	write_image(d);
	/* dump: the first problem fails; what loads is printed. */
	if (!seen(md_load(image_path, &strict, &p, &res))) {
		f = open_memstream(&text, &len);
		if (!f)
			harness_bug("open_memstream", -ENOMEM);
		md_print(f, &p, false);
		fclose(f);
		free(text);
		md_pool_free(&p);
		md_load_result_free(&res);
	}
	/* repair: salvage, then write a new pool, which must be clean. */
	if (md_load(image_path, &tolerant, &p, &res))
		return;
	/* What the base pool salvages to was built and checked already. */
	if (p.nr_vols && (!base_salvage.nr_vols || !same_pool(&p, &base_salvage))) {
		if (ftruncate(repaired_fd, 0) ||
		    ftruncate(repaired_fd, (off_t)REPAIR_META_BLOCKS * BS))
			harness_bug("size the repair file", -errno);
		if (!md_build(repaired_path, &p, false) &&
		    p.nr_data_chunks <= MAX_CHECK_CHUNKS)
			check_repaired();
	}
	if (!base_salvage.nr_vols)
		base_salvage = p;	/* the first call: the base pool itself */
	else
		md_pool_free(&p);
	md_load_result_free(&res);
}

/*----------------------------------------------------------------*/

/*
 * The checker's memory is linear in the data device's size (arrays of
 * counts per chunk, by design): a superblock claiming more than
 * MAX_CHECK_CHUNKS is not checked here.  It is still opened, read,
 * dumped and repaired.
 */
static bool checkable(struct cow_disk *d)
{
	const struct cow_disk_superblock *sb = cow_disk_mem_block(d, 0, false);

	return !sb || le64_to_cpu(sb->nr_data_chunks) <= MAX_CHECK_CHUNKS;
}

int fuzz_block(enum fuzz_block_kind kind, enum fuzz_block_readers readers,
	       const uint8_t *data, size_t size)
{
	struct cow_block_manager *bm;
	const struct instance *in;
	struct cow_disk *d;
	bool clean;
	u8 ctl;

	if (!base.image)
		build_base();
	if (size < FUZZ_HEADER)
		return 0;
	ctl = data[0];
	in = &base.inst[kind][data[1] % base.nr_inst[kind]];
	MUST(cow_disk_mem_clone(base.image, &d));
	MUST(cow_cache_bm_create(d, CACHE_BLOCKS, &bm));
	/* The pool's checksum seed, as the core sets it when it opens it. */
	cow_bm_set_csum_seed(bm, base.csum_seed);
	place(bm, d, in, ctl, data + FUZZ_HEADER, size - FUZZ_HEADER);

	clean = checkable(d) && !cow_check_pool(bm, &report) &&
		!report.nr_problems;
	cow_bm_invalidate(bm);
	corrupt_seen = false;
	if (readers == FUZZ_DMCOWCTL) {
		dump_and_repair(d);
	} else {
		read_pool(bm);
		write_pool(bm, clean);
	}
	cow_bm_destroy(bm);
	FUZZ_ASSERT(!clean || !corrupt_seen,
		    "the checker found the pool clean, the core or dmcowctl's reader found it corrupt");
	return 0;
}
