// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl delta POOL/A POOL/B [--json]
 * dmcowctl delta --metadata METADATA_DEV A B [--json]
 *
 * Prints the chunk ranges where two volumes differ: mapped in A only, in
 * B only, or to different data chunks.  Offline it opens the pool
 * read-only and uses cow_pmd_delta(); online it reserves a held metadata
 * snapshot and diffs the two mapping trees under it with the core's
 * cow_btree_diff() on a read-only transaction manager (no space map:
 * lookups and diffs never touch one).
 */
#include "mdev.h"
#include "offline.h"
#include "cow-btree.h"
#include "cow-metadata.h"

#include <ctype.h>
#include <json-c/json.h>

#define SYN "delta POOL/A POOL/B | --metadata METADATA_DEV A B [--json]"

static const char *const kind_names[] = {
	[COW_DELTA_LEFT_ONLY] = "left_only",
	[COW_DELTA_RIGHT_ONLY] = "right_only",
	[COW_DELTA_DIFFERENT] = "different",
};

struct out {
	bool json;
	json_object *ranges;
	u64 nr;
};

static int out_range(void *context, u64 vbegin, u64 vend, enum cow_delta_kind kind)
{
	struct out *o = context;
	json_object *r;

	o->nr++;
	if (!o->json) {
		printf("%s %llu %llu\n", kind_names[kind], (unsigned long long)vbegin,
		       (unsigned long long)(vend - vbegin));
		return 0;
	}
	r = json_object_new_object();
	json_object_object_add(r, "kind", json_object_new_string(kind_names[kind]));
	json_object_object_add(r, "begin", json_object_new_int64((int64_t)vbegin));
	json_object_object_add(r, "length", json_object_new_int64((int64_t)(vend - vbegin)));
	json_object_array_add(o->ranges, r);
	return 0;
}

static void out_begin(struct out *o, u64 a, u64 b, u32 chunk_sectors)
{
	if (o->json) {
		o->ranges = json_object_new_array();
		return;
	}
	printf("# delta of volume %llu (left) and %llu (right); chunk ranges BEGIN LENGTH of %u sectors\n",
	       (unsigned long long)a, (unsigned long long)b, chunk_sectors);
}

static void out_end(struct out *o, u64 a, u64 b, u32 chunk_sectors)
{
	json_object *j;

	if (!o->json)
		return;
	j = json_object_new_object();
	json_object_object_add(j, "left", json_object_new_int64((int64_t)a));
	json_object_object_add(j, "right", json_object_new_int64((int64_t)b));
	json_object_object_add(j, "chunk_sectors", json_object_new_int64(chunk_sectors));
	json_object_object_add(j, "ranges", o->ranges);
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_SPACED));
	json_object_put(j);
}

/*----------------------------------------------------------------*/
/* Offline */

struct find_name {
	const char *name;
	u64 id;
	unsigned int found;
};

static int find_name_fn(void *context, const struct cow_volume_info *info)
{
	struct find_name *f = context;

	if (!strcmp(info->name, f->name)) {
		f->id = info->id;
		f->found++;
	}
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* A name, or a volume id when no volume has that name. */
static int resolve(struct cow_pool_metadata *pmd, const char *s, u64 *id)
{
	struct find_name f = { .name = s };
	struct cow_volume_info *info;
	int r;

	r = cow_pmd_walk_volumes(pmd, find_name_fn, &f);
	if (r)
		return r;
	if (f.found == 1) {
		*id = f.id;
		return 0;
	}
	if (f.found > 1) {
		dmcowctl_err("several volumes are named '%s'; give its id", s);
		return -EINVAL;
	}
	info = malloc(sizeof(*info));
	if (!info)
		return -ENOMEM;
	r = all_digits(s) ? cow_pmd_get_volume_info(pmd, strtoull(s, NULL, 10), info) :
		-ENOENT;
	if (!r)
		*id = info->id;
	free(info);
	if (r == -ENOENT)
		dmcowctl_err("the pool has no volume named or numbered '%s'", s);
	return r;
}

static int delta_offline(const char *dev, const char *sa, const char *sb, bool json)
{
	struct cow_pmd_open_args args = { .read_only = true };
	struct cow_pool_metadata *pmd;
	struct cow_block_manager *bm;
	struct out o = { .json = json };
	u64 a, b;
	int r;

	if (mdev_open_ro(dev, false, &bm))
		return DMCOWCTL_EXIT_USAGE;
	r = cow_pmd_open(bm, &args, &pmd);
	if (r) {
		dmcowctl_err("cannot open the pool on '%s': %s", dev, strerror(-r));
		mdev_close(bm);
		return DMCOWCTL_EXIT_ERR;
	}
	r = resolve(pmd, sa, &a);
	if (!r)
		r = resolve(pmd, sb, &b);
	if (!r) {
		out_begin(&o, a, b, cow_pmd_chunk_sectors(pmd));
		r = cow_pmd_delta(pmd, a, b, out_range, &o);
		if (r)
			dmcowctl_err("cannot compare volumes %llu and %llu: %s",
				     (unsigned long long)a, (unsigned long long)b,
				     strerror(-r));
		else
			out_end(&o, a, b, cow_pmd_chunk_sectors(pmd));
		if (r && o.ranges)
			json_object_put(o.ranges);
	}
	cow_pmd_close(pmd);
	mdev_close(bm);
	return r ? DMCOWCTL_EXIT_ERR : 0;
}

/*----------------------------------------------------------------*/
/* Under a held root (online) */

struct merge {
	struct out *o;
	bool have;
	enum cow_delta_kind kind;
	u64 vbegin, vend;
};

static void merge_flush(struct merge *m)
{
	if (m->have)
		out_range(m->o, m->vbegin, m->vend, m->kind);
	m->have = false;
}

/* As the core's delta: same data chunk at another time is no change. */
static int merge_fn(void *context, u64 key, const void *va, const void *vb)
{
	struct merge *m = context;
	enum cow_delta_kind kind;

	if (va && vb) {
		if (cow_mapping_chunk(le64_to_cpu(*(const __le64 *)va)) ==
		    cow_mapping_chunk(le64_to_cpu(*(const __le64 *)vb)))
			return 0;
		kind = COW_DELTA_DIFFERENT;
	} else {
		kind = va ? COW_DELTA_LEFT_ONLY : COW_DELTA_RIGHT_ONLY;
	}
	if (m->have && m->kind == kind && m->vend == key) {
		m->vend++;
		return 0;
	}
	merge_flush(m);
	m->have = true;
	m->kind = kind;
	m->vbegin = key;
	m->vend = key + 1;
	return 0;
}

struct held_ctx {
	struct cow_tm tm;
	struct cow_btree_info vol_info, map_info;
	struct cow_root volumes;
	struct cow_disk_volume rec;
	u32 chunk_sectors;
};

static int held_open(struct cow_block_manager *bm, u64 held, struct held_ctx *h)
{
	struct cow_disk_superblock *sb = malloc(sizeof(*sb));
	struct cow_disk_held *d;
	struct cow_block *b;
	bool csum_ok;
	int r;

	/* The superblock gives the checksum seed of the other blocks. */
	r = sb ? mdev_read_sb(bm, sb, &csum_ok) : -ENOMEM;
	free(sb);
	if (r)
		return r;
	r = cow_bm_read_lock(bm, held, &cow_held_validator, &b);
	if (r)
		return r;
	d = cow_block_data(b);
	cow_root_from_disk(&d->volumes_root, &h->volumes);
	h->chunk_sectors = le32_to_cpu(d->chunk_sectors);
	cow_bm_unlock(bm, b);
	h->tm.bm = bm;
	h->vol_info.tm = &h->tm;
	h->vol_info.tree = COW_TREE_VOLUMES;
	h->vol_info.vt.size = sizeof(struct cow_disk_volume);
	h->map_info.tm = &h->tm;
	h->map_info.tree = COW_TREE_MAPPING;
	h->map_info.vt.size = sizeof(__le64);
	return 0;
}

static int held_root_of(struct held_ctx *h, u64 id, struct cow_root *root)
{
	int r = cow_btree_lookup(&h->vol_info, &h->volumes, id, &h->rec);

	if (r == -ENODATA) {
		dmcowctl_err("volume %llu is not in the held metadata snapshot",
			     (unsigned long long)id);
		return -ENOENT;
	}
	if (!r)
		cow_root_from_disk(&h->rec.mapping, root);
	return r;
}

int delta_held_root(const char *dev, uint64_t held, uint64_t a, uint64_t b,
		    bool json)
{
	struct cow_block_manager *bm;
	struct out o = { .json = json };
	struct merge m = { .o = &o };
	struct cow_root ra, rb;
	struct held_ctx *h;
	int r;

	if (mdev_open_ro(dev, true, &bm))
		return DMCOWCTL_EXIT_ERR;
	h = calloc(1, sizeof(*h));
	r = h ? held_open(bm, held, h) : -ENOMEM;
	if (!r)
		r = held_root_of(h, a, &ra);
	if (!r)
		r = held_root_of(h, b, &rb);
	if (!r) {
		out_begin(&o, a, b, h->chunk_sectors);
		r = cow_btree_diff(&h->map_info, &ra, &rb, merge_fn, &m);
		merge_flush(&m);
		if (!r)
			out_end(&o, a, b, h->chunk_sectors);
		else if (o.ranges)
			json_object_put(o.ranges);
	}
	if (r && r != -ENOENT)
		dmcowctl_err("cannot compare volumes %llu and %llu under held root %llu of '%s': %s",
			     (unsigned long long)a, (unsigned long long)b,
			     (unsigned long long)held, dev, strerror(-r));
	free(h);
	mdev_close(bm);
	return r ? DMCOWCTL_EXIT_ERR : 0;
}

static int delta_online(const char *sa, const char *sb, bool json)
{
	struct vol_ref *ref = calloc(2, sizeof(*ref));
	struct live_hold hold;
	uint64_t a, b;
	int r = DMCOWCTL_EXIT_USAGE;

	if (!ref || parse_vol_ref(sa, &ref[0]) || parse_vol_ref(sb, &ref[1]))
		goto out;
	if (strcmp(ref[0].pool, ref[1].pool)) {
		r = usage_err(SYN, "'%s' and '%s' are in different pools", sa, sb);
		goto out;
	}
	r = DMCOWCTL_EXIT_ERR;
	if (live_volume_id(ref[0].pool, ref[0].name, &a) ||
	    live_volume_id(ref[1].pool, ref[1].name, &b) ||
	    live_hold(ref[0].pool, &hold))
		goto out;
	r = delta_held_root(hold.meta_path, hold.held, a, b, json);
	live_release(&hold);
out:
	free(ref);
	return r;
}

static const struct option delta_longopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "metadata", required_argument, NULL, 'm' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_delta(int argc, char **argv)
{
	const char *meta = NULL;
	bool json = false;
	int c;

	args_begin();
	while ((c = args_next(argc, argv, "jm:h", delta_longopts, SYN)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'm':
			meta = optarg;
			break;
		case 'h':
			printf("usage: dmcowctl %s\n", SYN);
			return 0;
		default:
			return DMCOWCTL_EXIT_USAGE;
		}
	}
	if (ARGS_LEFT(argc) != 2)
		return usage_err(SYN, "give two volumes");
	cow_log_quiet = true;
	if (meta)
		return delta_offline(meta, ARG(argv, 0), ARG(argv, 1), json);
	return delta_online(ARG(argv, 0), ARG(argv, 1), json);
}
