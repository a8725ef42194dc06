/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree metadata engine: the independent checker.
 *
 * Reads the last committed state of a pool straight from the on-disk
 * structures (sharing only cow-format.h and its validators with the rest
 * of the core, none of the space map or btree code), recomputes every
 * reference count of metadata blocks and data chunks by walking every
 * root -- volumes, dead trees being reclaimed, the held root, the space
 * maps themselves -- and compares them with the space maps.  It also
 * checks btree ordering, key ranges, subtree counts, stamps and the
 * pool's counters.  Used by `dmcowctl check` and by the tests.
 */
#ifndef COW_CHECK_H
#define COW_CHECK_H

#include "cow-platform.h"
#include "cow-block-manager.h"

enum cow_check_kind {
	COW_CHECK_CORRUPT,	/* unreadable or malformed structure */
	COW_CHECK_META_LEAK,	/* allocated metadata block nobody uses */
	COW_CHECK_META_OVERREF,	/* count above the real references */
	COW_CHECK_META_UNDERREF,	/* count below them: may be reused */
	COW_CHECK_DATA_LEAK,
	COW_CHECK_DATA_OVERREF,
	COW_CHECK_DATA_UNDERREF,
	COW_CHECK_COUNTER,	/* a stored counter disagrees */
	COW_CHECK_NR_KINDS
};

struct cow_check_problem {
	enum cow_check_kind kind;
	u64 where;		/* block or chunk number, or 0 */
	u64 expected;
	u64 found;
	char msg[112];
};

#define COW_CHECK_MAX_STORED 32u
#define COW_CHECK_MAX_VOLUMES 64u

struct cow_check_report {
	u64 nr_problems;
	u64 nr_by_kind[COW_CHECK_NR_KINDS];
	unsigned int nr_stored;
	struct cow_check_problem problems[COW_CHECK_MAX_STORED];

	/* What was seen. */
	u64 txn;
	u64 nr_metadata_blocks, metadata_blocks_used;
	u64 nr_data_chunks, data_chunks_used;
	u64 nr_volumes, nr_mappings, nr_dead_entries;
	bool held_root;

	/*
	 * Live accounting recomputed from scratch (every live volume's tree
	 * walked in full, data chunks attributed to the set of live volumes
	 * mapping them), for the first COW_CHECK_MAX_VOLUMES volumes in id
	 * order.  Compared with the records' counters when the pool's feature
	 * bits say they are maintained (COW_CHECK_COUNTER on a mismatch).
	 * accounted is false if the counters could not be checked; a problem
	 * in the report then says why (corruption found, an unreadable block):
	 * a report without problems always has accounted set.
	 */
	bool accounted;
	unsigned int nr_volume_counters;
	struct cow_check_volume {
		u64 id;
		u64 mapped_chunks;
		u64 exclusive_chunks;	/* chunks no other live volume maps */
		u64 written_since_origin;	/* mappings >= origin_time */
	} volume_counters[COW_CHECK_MAX_VOLUMES];
};

/*
 * Check the pool on @bm as of its last commit.  Returns 0 when the walk
 * ran (problems, if any, are in @report), or a negative errno if the
 * checker itself could not run (no memory).  An unreadable superblock is
 * a problem of kind COW_CHECK_CORRUPT, not an error.  Never writes.
 */
int cow_check_pool(struct cow_block_manager *bm, struct cow_check_report *report);

/*
 * Check a live pool's held metadata root (reserve_metadata_snap) on @bm:
 * the held volumes tree and every mapping tree beneath it are walked and
 * validated (node checksums and stamps, key order and ranges, subtree
 * counts, mappings within the data device), and every volume's counters
 * are recomputed and compared with its record in the held root -- the
 * counters the pool had in core at the hold, as the hold commits them.
 * Space map reference counts are not compared: the live pool changes them.
 * @held must be the superblock's held root.  Returns as cow_check_pool().
 */
int cow_check_held_root(struct cow_block_manager *bm, u64 held,
			struct cow_check_report *report);

/* Print the stored problems with cow_err(). */
void cow_check_log(const struct cow_check_report *report);

#endif
