/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Block-level fuzzing of the metadata core (tests/fuzz/block-*.c).
 *
 * A pool is built once, in memory, by the core itself: volumes with
 * multi-level mapping trees, a snapshot, a two-level volumes tree, a held
 * root, deleting records and a dead tree being reclaimed, and a data
 * space map index of two levels; so every block type and every btree kind
 * is present, leaves and internal nodes.  Each fuzz input replaces one of
 * its live blocks of the target's kind; the pool then goes through the
 * core's real code paths:
 *
 *  1. the checker (cow_check_pool()), as dmcowctl check runs it;
 *  2. a read-only open and every read a tool or the kernel does (volumes,
 *     records, lookups, mapped ranges, counters, delta);
 *  3. a writable open as the kernel's pool constructor does it (a blank
 *     superblock is formatted), then the pool messages and the I/O path's
 *     metadata calls (provision, overwrite, discard, snapshot, rollback,
 *     rename, resize, delete, reclaim, metadata snapshot, commit), a
 *     failure answered as the kernel does: abort, set needs_check, reads
 *     only from then on;
 *
 * or, for FUZZ_DMCOWCTL (block-dmcowctl.c), after the checker:
 *
 *  2'. dmcowctl dump's and repair's reader (md_load(), strict and
 *     tolerant) on the image as a file, and repair's writer (md_build())
 *     on what was salvaged; the new pool must be clean.
 *
 * Crashes, sanitizer reports, leaks and block manager misuse (a lock the
 * kernel would deadlock on) are findings.  So are: a pool the checker
 * found clean on which the core or dmcowctl reports corruption; and a
 * clean pool that is no longer clean after operations that all
 * succeeded.
 *
 * Input: two control bytes, then bytes that overlay the chosen block (a
 * shorter input leaves the block's tail as it was).  Byte 0:
 *   bit 0 (FUZZ_RAW)        write the bytes as they are; otherwise the
 *                           block is made to pass the format's checks
 *                           (type, location, checksum: through its
 *                           validator) so the fuzzer reaches the decoders
 *                           behind them;
 *   bit 1 (FUZZ_KEEP_STAMP) keep the input's transaction stamp (otherwise
 *                           it is set to what the reference expects).
 * Byte 1: which block of the kind, in block order (modulo their number).
 */
#ifndef FUZZ_BLOCK_H
#define FUZZ_BLOCK_H

#include <stddef.h>
#include <stdint.h>

enum fuzz_block_kind {
	FUZZ_SB,
	FUZZ_NODE_MAP,
	FUZZ_NODE_VOL,
	FUZZ_NODE_DEAD,
	FUZZ_NODE_DSM,
	FUZZ_MSM_ROOT,
	FUZZ_MSM_INDEX,
	FUZZ_MSM_RC,
	FUZZ_DSM_RC,
	FUZZ_HELD,
	FUZZ_NR_KINDS
};

#define FUZZ_RAW 0x01u
#define FUZZ_KEEP_STAMP 0x02u
#define FUZZ_HEADER 2u

enum fuzz_block_readers {
	FUZZ_CORE,	/* steps 1-3 */
	FUZZ_DMCOWCTL,	/* steps 1 and 2' */
};

/* Run one input against a block of @kind; always returns 0. */
int fuzz_block(enum fuzz_block_kind kind, enum fuzz_block_readers readers,
	       const uint8_t *data, size_t size);

#endif
