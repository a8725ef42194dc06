/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree: parsing of the targets' table lines and of the pool's
 * messages.
 *
 * Plain C on top of cow-platform.h, like core/: compiled unchanged into
 * the module and into user space, where tests/fuzz feeds it arbitrary
 * argument vectors.  It only parses and validates: what the arguments
 * mean for a pool (devices, volumes, modes) is the targets' business.
 * Errors are reported exactly as the targets report them: a sentence for
 * ti->error (*error) for table lines, a DMERR line (cow_err(), which the
 * kernel prints with the same "device-mapper: cowtree: " prefix) for
 * messages.
 */
#ifndef COW_PARSE_H
#define COW_PARSE_H

#include "cow-platform.h"
#include "cow-metadata.h"

enum cow_pool_mode {
	COW_MODE_WRITE,		/* metadata may be changed */
	COW_MODE_OUT_OF_DATA_SPACE, /* writes needing a chunk wait or fail */
	COW_MODE_READ_ONLY,	/* metadata frozen; provisioning fails */
	COW_MODE_FAIL,		/* every I/O fails */
};

struct cow_pool_features {
	enum cow_pool_mode mode;	/* requested: WRITE or READ_ONLY */
	bool zero_new_chunks;
	bool discard_enabled;
	bool discard_passdown;
	bool error_if_no_space;
};

/*----------------------------------------------------------------*/
/* Table lines */

/*
 * cowtree-pool <metadata dev> <data dev> <chunk sectors> <low water chunks>
 *              [<#feature args> <arg>*]
 */
struct cow_pool_table {
	const char *metadata_dev;	/* argv strings, not copied */
	const char *data_dev;
	u32 chunk_sectors;
	u64 low_water_chunks;
	struct cow_pool_features pf;
};

/*
 * Parse a pool table line's arguments for a target of @len sectors.
 * Returns 0, or -EINVAL with *error set to the sentence for ti->error.
 */
int cow_parse_pool_table(unsigned int argc, char **argv, u64 len,
			 struct cow_pool_table *pt, char **error);

/* cowtree <pool dev> <volume id> */
struct cow_volume_table {
	const char *pool_dev;
	u64 id;
};

int cow_parse_volume_table(unsigned int argc, char **argv,
			   struct cow_volume_table *vt, char **error);

/*----------------------------------------------------------------*/
/* Pool messages */

enum cow_msg_type {
	COW_MSG_CREATE,
	COW_MSG_SNAPSHOT,
	COW_MSG_DELETE,
	COW_MSG_ROLLBACK,
	COW_MSG_SET_TRANSACTION_ID,
	COW_MSG_RESERVE_METADATA_SNAP,
	COW_MSG_RELEASE_METADATA_SNAP,
	COW_MSG_SET_NAME,
	COW_MSG_SET_SIZE,
	COW_MSG_SET_VISIBILITY,
	COW_MSG_SET_RECEIVED,
	COW_MSG_VOLUMES,
	COW_MSG_SHARE,
};

/* Chunks one share message may compare (it holds their cells meanwhile). */
#define COW_SHARE_MAX_CHUNKS 1024u

struct cow_msg_desc {
	const char *name;
	enum cow_msg_type type;
	unsigned int min_args;	/* including the name */
	unsigned int max_args;	/* 0: unbounded */
	bool read_only;		/* allowed in any mode; no commit */
};

/*
 * The message @argv[0], if it is one with an acceptable number of
 * arguments; otherwise NULL after a DMERR naming the pool @pool_name
 * ("unknown message", "wrong number of arguments").
 */
const struct cow_msg_desc *cow_parse_msg_lookup(unsigned int argc, char **argv,
						const char *pool_name);

/* A parsed message; strings point into the argument vector. */
struct cow_msg {
	const struct cow_msg_desc *desc;
	u64 id;			/* every message naming one volume */
	u64 snap_id;		/* rollback */
	u64 sectors;		/* set_size */
	u64 old_txn, new_txn;	/* set_transaction_id */
	u64 received_from, received_mark;	/* set_received */
	/* share <dst id> <dst vchunk> <src id> <src vchunk> [<count>] */
	u64 src_id;		/* dst id is id */
	u64 vchunk;		/* the same in both: chunks share at one offset */
	u64 count;
	/* create, set_name; set_visibility's new name (NULL: unchanged) */
	const char *name;
	u32 flags;		/* COW_VOL_F_VISIBILITY bits: create, set_visibility */
	struct cow_snapshot_request *snaps;	/* snapshot (each has the flags) */
	unsigned int nr_snaps;
};

/*
 * Parse the arguments of message @desc into @msg.  Returns 0, -EINVAL
 * after a DMERR saying what is wrong, or -ENOMEM.  For each snapshot
 * request, once its own arguments are valid and before the next one is
 * parsed, @check_origin (if not NULL) may refuse its origin with an
 * error of its own (the pool refuses an active origin).  cow_msg_free()
 * releases @msg whatever the result.
 */
int cow_parse_msg_args(const struct cow_msg_desc *desc, unsigned int argc,
		       char **argv, struct cow_msg *msg,
		       int (*check_origin)(void *context, u64 origin_id),
		       void *context);
void cow_msg_free(struct cow_msg *msg);

#endif
