/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree metadata engine: every on-disk structure.
 *
 * All fields are little-endian and fixed-width; all padding is explicit.
 * Documentation/admin-guide/device-mapper/cowtree-format.rst describes the
 * format in prose.  Nothing here may change without bumping a feature bit.
 */
#ifndef COW_FORMAT_H
#define COW_FORMAT_H

#include "cow-platform.h"
#include "cow-block-manager.h"

#define COW_SUPERBLOCK_LOCATION 0
#define COW_SB_MAGIC 0x3165657274776f63ULL	/* "cowtree1" */
#define COW_FORMAT_VERSION 1u
/* Only the first sector of the superblock block is used and checksummed. */
#define COW_SB_SIZE 512u

/* Limits following from the formats below. */
#define COW_MAX_DATA_CHUNKS (1ULL << 40)	/* 40-bit chunk in a mapping */
#define COW_MAX_TIME ((1u << 24) - 1)		/* 24-bit time in a mapping */
#define COW_MIN_METADATA_BLOCKS 64ULL
#define COW_MAX_METADATA_BLOCKS (1ULL << 22)	/* 16 GiB */

/* Block types (the "type" field of every block header). */
#define COW_BT_SUPERBLOCK 0x42535743u	/* "CWSB" */
#define COW_BT_NODE 0x444e5743u		/* "CWND" */
#define COW_BT_MSM_ROOT 0x524d5743u	/* "CWMR" */
#define COW_BT_MSM_INDEX 0x494d5743u	/* "CWMI" */
#define COW_BT_MSM_RC 0x434d5743u	/* "CWMC" */
#define COW_BT_DSM_RC 0x43445743u	/* "CWDC" */
#define COW_BT_HELD 0x44485743u		/* "CWHD" */

/* Checksum salts, one per block type (xor-ed into the crc32c). */
#define COW_SALT_SUPERBLOCK 0x5a3c9e01u
#define COW_SALT_NODE 0x6b4d0f12u
#define COW_SALT_MSM_ROOT 0x7c5e1023u
#define COW_SALT_MSM_INDEX 0x8d6f2134u
#define COW_SALT_MSM_RC 0x9e703245u
#define COW_SALT_DSM_RC 0xaf814356u
#define COW_SALT_HELD 0xb0925467u

/*----------------------------------------------------------------*/
/* Common pieces */

/*
 * Starts every metadata block.  csum covers the rest of the block (of the
 * first COW_SB_SIZE bytes for the superblock); blocknr is the block's own
 * location (catches misdirected writes); txn is the commit sequence number
 * of the transaction that wrote it, which every reference to the block
 * repeats (catches lost and stale writes).
 */
struct cow_disk_block_header {
	__le32 csum;
	__le32 type;
	__le64 blocknr;
	__le64 txn;
} __packed;

/* A reference to a block: where, and which transaction wrote it. */
struct cow_disk_ptr {
	__le64 blocknr;
	__le64 txn;
} __packed;

/*
 * A reference to a btree (sub)tree: its root block, the stamp of that block
 * and the number of leaf entries beneath it.  blocknr 0 is the empty tree.
 */
struct cow_disk_root {
	__le64 blocknr;
	__le64 txn;
	__le64 count;
} __packed;

/*----------------------------------------------------------------*/
/* Superblock (block 0, first 512-byte sector only) */

#define COW_SB_F_NEEDS_CHECK (1u << 0)

/*
 * Feature bits; unknown incompat bits refuse the pool, unknown compat_ro
 * bits allow only read-only access.
 *
 * COMPAT_RO_WRITTEN: every volume record's written_since_origin and
 * origin_time are maintained (set at format).  Code that does not know the
 * bit would write without maintaining them, hence compat_ro.
 * COMPAT_RO_EXCLUSIVE: exclusive_chunks and family are maintained, and
 * deleted volumes stay in the volumes btree as "deleting" records (keys
 * from COW_DELETING_ID_BASE) until their chunks' holders are accounted.
 */
#define COW_FEATURE_COMPAT_RO_WRITTEN (1ULL << 0)
#define COW_FEATURE_COMPAT_RO_EXCLUSIVE (1ULL << 1)

/*
 * INCOMPAT_UUID_CSUM: every block checksum but the superblock's is seeded
 * with crc32c(~0, uuid) instead of ~0 (cow_sb_csum_seed()), so a block an
 * earlier pool left at the same place, with the same type, block number
 * and stamp, fails validation in this one.  The superblock seeds its own
 * checksum the same way from the uuid it holds.  Set at format.
 */
#define COW_FEATURE_INCOMPAT_UUID_CSUM (1ULL << 0)

/*
 * COMPAT_RECEIVED: volume records may carry received_from/received_mark
 * (set by the set_received message).  Code that does not know the bit
 * leaves them alone or loses them: a receive then finds no base and
 * refuses, which is safe.
 */
#define COW_FEATURE_COMPAT_RECEIVED (1ULL << 0)

#define COW_FEATURE_COMPAT_SUPP COW_FEATURE_COMPAT_RECEIVED
#define COW_FEATURE_COMPAT_RO_SUPP \
	(COW_FEATURE_COMPAT_RO_WRITTEN | COW_FEATURE_COMPAT_RO_EXCLUSIVE)
#define COW_FEATURE_INCOMPAT_SUPP COW_FEATURE_INCOMPAT_UUID_CSUM

struct cow_disk_superblock {
	struct cow_disk_block_header hdr;
	__le64 magic;
	__le32 version;
	__le32 flags;
	__le64 compat_flags;
	__le64 compat_ro_flags;
	__le64 incompat_flags;
	u8 uuid[16];
	__le32 metadata_block_size;	/* bytes */
	__le32 chunk_sectors;
	__le64 nr_data_chunks;
	__le64 nr_metadata_blocks;
	__le64 user_txn_id;
	__le32 time;			/* current sharing time (24 bits) */
	__le32 held_time;		/* time of the held root, 0 if none */
	struct cow_disk_ptr msm_root;	/* metadata space map */
	struct cow_disk_root dsm_root;	/* data space map index btree */
	__le64 dsm_nr_allocated;
	struct cow_disk_root volumes_root;
	struct cow_disk_root dead_root;
	__le64 dead_next_seq;
	__le64 reclaiming_chunks;
	struct cow_disk_ptr held_root;
	__le64 msm_nr_allocated;
	u8 reserved[256];
} __packed;

/*----------------------------------------------------------------*/
/* Btree nodes */

#define COW_NODE_INTERNAL (1u << 0)
#define COW_NODE_LEAF (1u << 1)

/* Which tree a node belongs to; a node found in the wrong tree is corrupt. */
#define COW_TREE_MAPPING 1u
#define COW_TREE_VOLUMES 2u
#define COW_TREE_DEAD 3u
#define COW_TREE_DSM_INDEX 4u
#define COW_TREE_TEST 5u

struct cow_disk_node_header {
	struct cow_disk_block_header hdr;
	__le32 flags;
	__le32 nr_entries;
	__le32 max_entries;
	__le32 value_size;
	__le32 tree;
	__le32 padding;
} __packed;

/*
 * Followed by __le64 keys[max_entries] and then max_entries values of
 * value_size bytes.  Internal nodes have struct cow_disk_root values;
 * keys[i] is a lower bound of child i's keys and above every key of child
 * i - 1.
 */
#define COW_NODE_SPACE (COW_METADATA_BLOCK_SIZE - \
			sizeof(struct cow_disk_node_header))

static inline u32 cow_node_max_entries(u32 value_size)
{
	return COW_NODE_SPACE / (sizeof(__le64) + value_size);
}

/*
 * Mapping tree leaf value: bits 0-39 data chunk, bits 40-63 the time at
 * which the mapping was made (shared if older than the volume's snap_time
 * or the held root's held_time).
 */
#define COW_MAP_CHUNK_BITS 40
#define COW_MAP_CHUNK_MASK ((1ULL << COW_MAP_CHUNK_BITS) - 1)

static inline u64 cow_pack_mapping(u64 dchunk, u32 time)
{
	return (dchunk & COW_MAP_CHUNK_MASK) | ((u64)time << COW_MAP_CHUNK_BITS);
}

static inline u64 cow_mapping_chunk(u64 v)
{
	return v & COW_MAP_CHUNK_MASK;
}

static inline u32 cow_mapping_time(u64 v)
{
	return (u32)(v >> COW_MAP_CHUNK_BITS);
}

/* Volume record: value of the volumes btree, keyed by volume id. */
struct cow_disk_volume {
	__le64 id;
	char name[64];
	__le64 size_sectors;
	__le64 ctime;
	__le64 origin_id;
	__le32 flags;
	__le32 snap_time;		/* mappings older than this are shared */
	struct cow_disk_root mapping;	/* count == mapped chunks */
	__le64 exclusive_chunks;	/* live accounting, see format doc */
	/* mappings with time >= origin_time (COMPAT_RO_WRITTEN) */
	__le64 written_since_origin;
	__le64 alloc_hint;
	/* Time the volume was made a copy of another (snapshot, rollback). */
	__le32 origin_time;
	__le32 padding;
	/* Volumes that may share chunks have the same family (EXCLUSIVE). */
	__le64 family;
	/* Deleting records: keys below this are no longer held. */
	__le64 account_cursor;
	/*
	 * dmcowctl receive (COMPAT_RECEIVED, cowtree-send-stream.rst): the
	 * identity token of the volume this one is a copy of (0: none), and
	 * its own fingerprint when the copy completed or, bit 63 set, the
	 * next record of a receive in progress.
	 */
	__le64 received_from;
	__le64 received_mark;
} __packed;

/*
 * Volumes btree keys from here on are deleting records (COMPAT_RO_EXCLUSIVE):
 * a deleted volume's tree, still counted as a holder of its chunks at keys
 * >= account_cursor until reclamation has accounted them.
 */
#define COW_DELETING_ID_BASE (1ULL << 62)

/* Dead tree value, keyed by a sequence number: a subtree to reclaim. */
#define COW_DEAD_MAPPING 1u	/* a mapping (sub)tree: values are chunks */
#define COW_DEAD_VOLUMES 2u	/* a volumes (sub)tree: values are records */

struct cow_disk_dead {
	struct cow_disk_root root;	/* count: references still to drop */
	__le32 kind;
	__le32 cursor;	/* entries before this are already handed over */
	__le64 owner_id;	/* volume it came from, or COW_NO_ORIGIN */
} __packed;

/*----------------------------------------------------------------*/
/* Space maps */

/* Reference count block: 32-bit counts for COW_RC_ENTRIES blocks. */
#define COW_RC_ENTRIES 1016u

struct cow_disk_refcount {
	struct cow_disk_block_header hdr;
	__le64 first;		/* block/chunk number of counts[0] */
	__le32 counts[COW_RC_ENTRIES];
} __packed;

/* Where a reference count block lives and how many zero counts it has. */
struct cow_disk_index_entry {
	__le64 blocknr;		/* 0: not allocated, every count is zero */
	__le64 txn;
	__le32 nr_free;
	__le32 padding;
} __packed;

#define COW_MSM_INDEX_ENTRIES 169u

struct cow_disk_msm_index {
	struct cow_disk_block_header hdr;
	__le64 first;		/* number of the first reference count block */
	struct cow_disk_index_entry entries[COW_MSM_INDEX_ENTRIES];
} __packed;

#define COW_MSM_ROOT_ENTRIES 252u

struct cow_disk_msm_root {
	struct cow_disk_block_header hdr;
	__le64 nr_blocks;
	__le32 nr_index;
	__le32 padding;
	struct cow_disk_ptr index[COW_MSM_ROOT_ENTRIES];
} __packed;

/* The held (userspace-readable) metadata snapshot. */
struct cow_disk_held {
	struct cow_disk_block_header hdr;
	struct cow_disk_root volumes_root;
	__le64 user_txn_id;
	__le64 nr_data_chunks;
	__le32 time;
	__le32 chunk_sectors;
	u8 reserved[4096 - 24 - 24 - 24];
} __packed;

/*----------------------------------------------------------------*/
/* Validators and helpers (cow-format.c) */

extern const struct cow_block_validator cow_sb_validator;
extern const struct cow_block_validator cow_node_validator;
extern const struct cow_block_validator cow_msm_root_validator;
extern const struct cow_block_validator cow_msm_index_validator;
extern const struct cow_block_validator cow_msm_rc_validator;
extern const struct cow_block_validator cow_dsm_rc_validator;
extern const struct cow_block_validator cow_held_validator;

/* Sets type, blocknr and txn of a block about to be written. */
void cow_init_block_header(struct cow_block *b, u32 type, u64 txn);

/*
 * Checks that block @b carries the stamp a reference to it recorded;
 * -EILSEQ (and one cow_err line naming @what) if not.
 */
int cow_check_stamp(struct cow_block *b, u64 txn, const char *what);

/*
 * Checksum of one block type, as stored in the header: crc32c of the
 * block after the csum field, from @seed, xor @salt.
 */
u32 cow_block_csum(const void *data, size_t len, u32 seed, u32 salt);

/*
 * Why @b (read raw, with b->csum_seed set) does not pass validator @v, in
 * words for a report ("checksum mismatch: damaged, or a block of another
 * pool ..."), or NULL if it does.  Logs nothing.
 */
const char *cow_block_problem(const struct cow_block_validator *v,
			      struct cow_block *b);

/* Checksum seed of the pool whose superblock is @sb (see UUID_CSUM). */
u32 cow_sb_csum_seed(const struct cow_disk_superblock *sb);

/* Compile-time layout checks; called from the format code. */
void cow_format_build_checks(void);

#endif
