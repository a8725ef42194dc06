/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmcowctl reshare: make chunks that two volumes of one snapshot tree hold
 * with equal data shared again (Documentation/admin-guide/device-mapper/
 * cowtree.rst, "Re-sharing identical chunks").
 *
 * The metadata says which chunks may differ; user space reads and compares
 * them, and the pool's "share" message compares them again under the I/O
 * path's locks and remaps the equal ones: the compare here only keeps
 * chunks that differ from being sent, the pool's is the one that counts.
 *
 * One file per concern:
 *   plan.c     the candidates: chunks the two volumes map to different data
 *              chunks, from a held metadata snapshot (through send/delta.c,
 *              so through the core)
 *   compare.c  reading both sides from the pool's data device, comparing
 *   share.c    the share messages: which volume may take the other's
 *              chunk, batches, the retry the other way round
 *   answer.c   the pool's answer to one, checked
 *   report.c   the totals as text or JSON
 *
 * Plain C types only (see offline.h): no core and no libdevmapper headers.
 */
#ifndef DMCOWCTL_RESHARE_H
#define DMCOWCTL_RESHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "send/send.h"

/* The pool takes at most this many chunks in one share message. */
#define RESHARE_MAX_BATCH 1024u

/*
 * Which volume takes the other's data chunk.  B is the destination by
 * default: B is re-pointed at A's chunk.
 */
enum reshare_dir {
	RESHARE_B_FROM_A = 0,
	RESHARE_A_FROM_B = 1,
	RESHARE_NEITHER = 2,
};

enum reshare_state {
	RESHARE_PENDING,	/* not compared yet */
	RESHARE_EQUAL,		/* equal here: to be sent */
	RESHARE_RETRY,		/* the pool skipped it one way: try the other */
	RESHARE_SHARED,		/* shared now (or would be, in a dry run) */
	RESHARE_DIFFERENT,	/* the data differ (here or in the pool) */
	RESHARE_BUSY,		/* written to meanwhile: left alone */
	RESHARE_BUSY_AGAIN,	/* busy: to be asked again after a pause */
	RESHARE_SKIPPED,	/* neither volume may take the other's chunk */
};

/* A chunk mapped in both volumes to different data chunks. */
struct reshare_chunk {
	uint64_t vchunk;
	struct send_map map[2];	/* [0] in A, [1] in B */
	uint8_t state;		/* enum reshare_state */
	uint8_t dir;		/* enum reshare_dir: the way it goes next */
	uint8_t tried;		/* 1 << dir for each way the pool was asked */
};

struct reshare_vol {
	uint64_t id;
	char name[64];
	uint32_t snap_time;
	uint64_t family;
};

struct reshare_plan {
	struct reshare_vol vol[2];	/* A, B */
	uint32_t chunk_sectors;
	uint64_t delta_chunks;		/* chunks where the mappings differ */
	struct reshare_chunk *c;	/* the candidates, in chunk order */
	size_t nr, cap;
};

struct reshare_totals {
	uint64_t delta_chunks, candidates;
	uint64_t compared, bytes_read;		/* here */
	uint64_t shared, into[2];		/* into[0]: A took B's chunk */
	uint64_t different, busy, skipped;
	uint64_t busy_asked_again;		/* chunk asks after a busy */
	uint64_t messages, pool_compared;	/* the pool's compares */
};

/*----------------------------------------------------------------
 * The plan (plan.c)
 *--------------------------------------------------------------*/

/*
 * The candidates of volumes @a and @b under the held metadata snapshot at
 * block @held of @meta_path.  Prints why not and fails if the volumes are
 * not both in it or not of one snapshot tree.
 */
int reshare_plan_build(const char *meta_path, uint64_t held, uint64_t a,
		       uint64_t b, struct reshare_plan *p);
void reshare_plan_free(struct reshare_plan *p);

/*----------------------------------------------------------------
 * Comparing (compare.c)
 *--------------------------------------------------------------*/

struct reshare_reader {
	int fd;			/* the pool's data device, O_DIRECT */
	const char *path;
	uint32_t chunk_bytes;
	uint32_t run_chunks;	/* chunks one read takes at most */
	void *buf[2];		/* run_chunks chunks each */
	uint64_t bytes_read;
};

int reshare_reader_open(struct reshare_reader *rd, const char *data_path,
			uint32_t chunk_sectors);
void reshare_reader_close(struct reshare_reader *rd);
/*
 * Reads both sides of the pending chunks among c[0..n) and makes each
 * RESHARE_EQUAL or RESHARE_DIFFERENT.  Chunks that follow each other on
 * the data device on both sides are read with one read a side.
 */
int reshare_compare(struct reshare_reader *rd, struct reshare_chunk *c, size_t n);

/*----------------------------------------------------------------
 * Share messages (answer.c, share.c)
 *--------------------------------------------------------------*/

/*
 * The way the pool will let @c be shared, by the rule it applies (a chunk
 * may be given to the other volume only if it is shared already: made
 * before the last snapshot of both volumes), RESHARE_B_FROM_A first.
 */
enum reshare_dir reshare_predict(const struct reshare_plan *p,
				 const struct reshare_chunk *c);

/* The answer of the pool to one share message. */
struct reshare_result {
	uint64_t compared, shared, different, busy, skipped;
	char outcome[RESHARE_MAX_BATCH + 1];	/* one of "sdb-" a chunk */
};

/*
 * Parses "compared N shared N different N busy N skipped N outcome C..."
 * for a message of @count chunks; the counts must agree with the outcome.
 * 0, or -EINVAL with the reason in err.
 */
int reshare_parse_result(const char *answer, unsigned int count,
			 struct reshare_result *res, char *err, size_t errlen);

/*
 * Sends the equal chunks among c[0..n) to the pool in batches of chunks
 * that follow each other, each the way reshare_predict() says; those the
 * pool skipped go again the other way round, and those it found busy are
 * asked again after a pause, up to RESHARE_BUSY_TRIES times.  Every chunk
 * ends shared, different, busy or skipped.  Fails (printed) if a message
 * fails.
 */
#define RESHARE_BUSY_TRIES 3
extern unsigned int reshare_busy_pause_ms;	/* the first pause; doubles */
int reshare_send(const char *pool, const struct reshare_plan *p,
		 struct reshare_chunk *c, size_t n, struct reshare_totals *t);
/* A dry run's verdict on the equal chunks among c[0..n): shared or skipped. */
void reshare_dry_run(const struct reshare_plan *p, struct reshare_chunk *c, size_t n);
/* Adds the final states of c[0..n) to the totals. */
void reshare_count(const struct reshare_chunk *c, size_t n, struct reshare_totals *t);

/*----------------------------------------------------------------
 * Report (report.c)
 *--------------------------------------------------------------*/

void reshare_report(const char *pool, const struct reshare_plan *p,
		    const struct reshare_totals *t, bool dry_run, bool json);

#endif
