// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree metadata engine: block validators for every on-disk type.
 *
 * A validator proves that a block read from disk is the block the reader
 * asked for: right type (by magic and by salted checksum), right location
 * (catches misdirected writes) and internally sane.  Whether it is the
 * right *version* is checked by the reader against the stamp recorded in
 * the reference (cow_check_stamp()).
 */
#include "cow-format.h"

/*----------------------------------------------------------------*/

void cow_format_build_checks(void)
{
	BUILD_BUG_ON(sizeof(struct cow_disk_block_header) != 24);
	BUILD_BUG_ON(sizeof(struct cow_disk_ptr) != 16);
	BUILD_BUG_ON(sizeof(struct cow_disk_root) != 24);
	BUILD_BUG_ON(sizeof(struct cow_disk_superblock) != COW_SB_SIZE);
	BUILD_BUG_ON(sizeof(struct cow_disk_node_header) != 48);
	BUILD_BUG_ON(sizeof(struct cow_disk_volume) != 192);
	BUILD_BUG_ON(sizeof(struct cow_disk_dead) != 40);
	BUILD_BUG_ON(sizeof(struct cow_disk_refcount) != COW_METADATA_BLOCK_SIZE);
	BUILD_BUG_ON(sizeof(struct cow_disk_index_entry) != 24);
	BUILD_BUG_ON(sizeof(struct cow_disk_msm_index) > COW_METADATA_BLOCK_SIZE);
	BUILD_BUG_ON(sizeof(struct cow_disk_msm_root) > COW_METADATA_BLOCK_SIZE);
	BUILD_BUG_ON(sizeof(struct cow_disk_held) != COW_METADATA_BLOCK_SIZE);
}

u32 cow_block_csum(const void *data, size_t len, u32 seed, u32 salt)
{
	const u8 *p = data;

	return crc32c(seed, p + sizeof(__le32),
		      (unsigned int)(len - sizeof(__le32))) ^ salt;
}

u32 cow_sb_csum_seed(const struct cow_disk_superblock *sb)
{
	if (!(le64_to_cpu(sb->incompat_flags) & COW_FEATURE_INCOMPAT_UUID_CSUM))
		return COW_CSUM_SEED_LEGACY;
	return crc32c(~(u32)0, sb->uuid, sizeof(sb->uuid));
}

void cow_init_block_header(struct cow_block *b, u32 type, u64 txn)
{
	struct cow_disk_block_header *h = cow_block_data(b);

	h->type = cpu_to_le32(type);
	h->blocknr = cpu_to_le64(cow_block_location(b));
	h->txn = cpu_to_le64(txn);
}

int cow_check_stamp(struct cow_block *b, u64 txn, const char *what)
{
	struct cow_disk_block_header *h = cow_block_data(b);

	if (le64_to_cpu(h->txn) == txn)
		return 0;
	cow_err_ratelimited("%s block %llu is stale or lost: stamp %llu, expected %llu",
		what, (unsigned long long)cow_block_location(b),
		(unsigned long long)le64_to_cpu(h->txn),
		(unsigned long long)txn);
	return -EILSEQ;
}

/*----------------------------------------------------------------*/
/* Common header checks */

struct cow_type_desc {
	u32 type;
	u32 salt;
	size_t len;	/* bytes covered by the checksum */
};

/* The superblock carries its own seed; every other block has the pool's. */
static u32 csum_seed(const struct cow_type_desc *d, struct cow_block *b)
{
	if (d->type == COW_BT_SUPERBLOCK)
		return cow_sb_csum_seed(cow_block_data(b));
	return b->csum_seed;
}

static void prepare_common(const struct cow_type_desc *d, struct cow_block *b)
{
	struct cow_disk_block_header *h = cow_block_data(b);

	h->type = cpu_to_le32(d->type);
	h->blocknr = cpu_to_le64(cow_block_location(b));
	h->csum = cpu_to_le32(cow_block_csum(h, d->len, csum_seed(d, b), d->salt));
}

/*
 * A block whose checksum is wrong under this pool's seed: say whether it
 * is a block of an older-format pool (valid under the legacy seed), that
 * is, left on the device by another pool, rather than just damaged.  A
 * block of another pool with uuid checksums cannot be told from damage.
 */
static void report_bad_csum(const struct cow_type_desc *d, const char *name,
			    struct cow_block *b, u32 csum)
{
	struct cow_disk_block_header *h = cow_block_data(b);
	u32 seed = csum_seed(d, b);

	if (seed != COW_CSUM_SEED_LEGACY &&
	    le32_to_cpu(h->csum) == cow_block_csum(h, d->len,
						   COW_CSUM_SEED_LEGACY, d->salt)) {
		cow_err_ratelimited("%s block %llu belongs to another pool (an older-format pool's block left on the device), not to this one",
			name, (unsigned long long)cow_block_location(b));
		return;
	}
	cow_err_ratelimited("%s block %llu checksum mismatch: 0x%08x != 0x%08x%s",
		name, (unsigned long long)cow_block_location(b),
		le32_to_cpu(h->csum), csum,
		seed == COW_CSUM_SEED_LEGACY || d->type == COW_BT_SUPERBLOCK ? "" :
		" (damaged, or a block of another pool: checksums include this pool's uuid)");
}

/* Why a block fails check_common(), or NULL if it passes. */
static const char *common_problem(const struct cow_type_desc *d,
				  struct cow_block *b)
{
	struct cow_disk_block_header *h = cow_block_data(b);
	u32 seed = csum_seed(d, b);

	if (le32_to_cpu(h->type) != d->type)
		return "wrong block type";
	if (le32_to_cpu(h->csum) == cow_block_csum(h, d->len, seed, d->salt)) {
		if (le64_to_cpu(h->blocknr) != cow_block_location(b))
			return "misdirected write: it claims another block number";
		return NULL;
	}
	if (seed == COW_CSUM_SEED_LEGACY || d->type == COW_BT_SUPERBLOCK)
		return "checksum mismatch";
	if (le32_to_cpu(h->csum) == cow_block_csum(h, d->len,
						   COW_CSUM_SEED_LEGACY, d->salt))
		return "belongs to another pool (an older-format pool's block left on the device)";
	return "checksum mismatch: damaged, or a block of another pool (checksums include this pool's uuid)";
}

static int check_common(const struct cow_type_desc *d, const char *name,
			struct cow_block *b)
{
	struct cow_disk_block_header *h = cow_block_data(b);
	u32 csum;

	if (le32_to_cpu(h->type) != d->type) {
		cow_err_ratelimited("%s block %llu has wrong type 0x%08x",
			name, (unsigned long long)cow_block_location(b),
			le32_to_cpu(h->type));
		return -EILSEQ;
	}
	csum = cow_block_csum(h, d->len, csum_seed(d, b), d->salt);
	if (le32_to_cpu(h->csum) != csum) {
		report_bad_csum(d, name, b, csum);
		return -EILSEQ;
	}
	if (le64_to_cpu(h->blocknr) != cow_block_location(b)) {
		cow_err_ratelimited("%s block %llu claims to be block %llu (misdirected write)",
			name, (unsigned long long)cow_block_location(b),
			(unsigned long long)le64_to_cpu(h->blocknr));
		return -EILSEQ;
	}
	return 0;
}

#define COW_DEFINE_VALIDATOR(vname, vtype, vsalt, vlen, extra)		\
static const struct cow_type_desc vname##_desc = {			\
	.type = (vtype), .salt = (vsalt), .len = (vlen),		\
};									\
static void vname##_prepare(const struct cow_block_validator *v,	\
			    struct cow_block *b, size_t block_size)	\
{									\
	(void)v;							\
	(void)block_size;						\
	prepare_common(&vname##_desc, b);				\
}									\
static int vname##_check(const struct cow_block_validator *v,		\
			 struct cow_block *b, size_t block_size)	\
{									\
	int r;								\
									\
	if (block_size != COW_METADATA_BLOCK_SIZE)			\
		return -EINVAL;						\
	r = check_common(&vname##_desc, v->name, b);			\
	if (r)								\
		return r;						\
	return extra(b);						\
}									\
const struct cow_block_validator cow_##vname##_validator = {		\
	.name = #vname,							\
	.prepare_for_write = vname##_prepare,				\
	.check = vname##_check,						\
}

/*----------------------------------------------------------------*/
/* Type-specific sanity checks */

static int no_extra(struct cow_block *b)
{
	(void)b;
	return 0;
}

static int node_extra(struct cow_block *b)
{
	struct cow_disk_node_header *n = cow_block_data(b);
	u32 flags = le32_to_cpu(n->flags);
	u32 nr = le32_to_cpu(n->nr_entries);
	u32 max = le32_to_cpu(n->max_entries);
	u32 vs = le32_to_cpu(n->value_size);

	if (flags != COW_NODE_INTERNAL && flags != COW_NODE_LEAF)
		goto bad;
	if (!vs || vs > COW_NODE_SPACE / 4 || max != cow_node_max_entries(vs))
		goto bad;
	if (nr > max)
		goto bad;
	if (flags == COW_NODE_INTERNAL && vs != sizeof(struct cow_disk_root))
		goto bad;
	return 0;
bad:
	cow_err_ratelimited("btree node %llu has an impossible header (flags %u, %u of %u entries, value size %u)",
		(unsigned long long)cow_block_location(b), flags, nr, max, vs);
	return -EILSEQ;
}

static int index_extra(struct cow_block *b)
{
	struct cow_disk_msm_index *ix = cow_block_data(b);
	unsigned int i;

	for (i = 0; i < COW_MSM_INDEX_ENTRIES; i++)
		if (le32_to_cpu(ix->entries[i].nr_free) > COW_RC_ENTRIES)
			goto bad;
	return 0;
bad:
	cow_err_ratelimited("space map index block %llu has an impossible free count",
		(unsigned long long)cow_block_location(b));
	return -EILSEQ;
}

static int msm_root_extra(struct cow_block *b)
{
	struct cow_disk_msm_root *mr = cow_block_data(b);

	if (le32_to_cpu(mr->nr_index) > COW_MSM_ROOT_ENTRIES) {
		cow_err_ratelimited("space map root block %llu has %u index blocks",
			(unsigned long long)cow_block_location(b),
			le32_to_cpu(mr->nr_index));
		return -EILSEQ;
	}
	return 0;
}

static int rc_extra(struct cow_block *b)
{
	struct cow_disk_refcount *rc = cow_block_data(b);

	if (le64_to_cpu(rc->first) % COW_RC_ENTRIES) {
		cow_err_ratelimited("reference count block %llu starts at unaligned %llu",
			(unsigned long long)cow_block_location(b),
			(unsigned long long)le64_to_cpu(rc->first));
		return -EILSEQ;
	}
	return 0;
}

COW_DEFINE_VALIDATOR(sb, COW_BT_SUPERBLOCK, COW_SALT_SUPERBLOCK, COW_SB_SIZE,
		     no_extra);
COW_DEFINE_VALIDATOR(node, COW_BT_NODE, COW_SALT_NODE,
		     COW_METADATA_BLOCK_SIZE, node_extra);
COW_DEFINE_VALIDATOR(msm_root, COW_BT_MSM_ROOT, COW_SALT_MSM_ROOT,
		     COW_METADATA_BLOCK_SIZE, msm_root_extra);
COW_DEFINE_VALIDATOR(msm_index, COW_BT_MSM_INDEX, COW_SALT_MSM_INDEX,
		     COW_METADATA_BLOCK_SIZE, index_extra);
COW_DEFINE_VALIDATOR(msm_rc, COW_BT_MSM_RC, COW_SALT_MSM_RC,
		     COW_METADATA_BLOCK_SIZE, rc_extra);
COW_DEFINE_VALIDATOR(dsm_rc, COW_BT_DSM_RC, COW_SALT_DSM_RC,
		     COW_METADATA_BLOCK_SIZE, rc_extra);
COW_DEFINE_VALIDATOR(held, COW_BT_HELD, COW_SALT_HELD,
		     COW_METADATA_BLOCK_SIZE, no_extra);

static const struct {
	const struct cow_block_validator *v;
	const struct cow_type_desc *d;
	int (*extra)(struct cow_block *b);
} descs[] = {
	{ &cow_sb_validator, &sb_desc, no_extra },
	{ &cow_node_validator, &node_desc, node_extra },
	{ &cow_msm_root_validator, &msm_root_desc, msm_root_extra },
	{ &cow_msm_index_validator, &msm_index_desc, index_extra },
	{ &cow_msm_rc_validator, &msm_rc_desc, rc_extra },
	{ &cow_dsm_rc_validator, &dsm_rc_desc, rc_extra },
	{ &cow_held_validator, &held_desc, no_extra },
};

const char *cow_block_problem(const struct cow_block_validator *v,
			      struct cow_block *b)
{
	const char *why;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(descs); i++) {
		if (descs[i].v != v)
			continue;
		why = common_problem(descs[i].d, b);
		if (why)
			return why;
		/* (logs the details as the validator would) */
		return descs[i].extra(b) ? "impossible contents for its type" : NULL;
	}
	return "unknown block type";
}
