/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmcowctl check --live: the live pool's volume counters compared with the
 * counters the checker recomputed from the held root.
 *
 * The held root freezes every volume's counters as the pool had them in
 * core at the hold; the checker compares those with what it recomputes
 * from the held mappings.  Whether the counters the pool reports *now*
 * (its "volumes" message, each active device's status) are right can only
 * be judged when nothing moved them between the hold and the reading: so
 * they are read just before the hold and again after the check, and a
 * volume whose live counters are the same both times is compared; one
 * whose counters moved (I/O, background reclaim) is reported as not
 * compared, with the reason.
 *
 * Plain C types only: included by cmd-check.c (core headers) and live.c
 * (libdevmapper), and unit-tested on its own (tests/cli/test-live-counters.c).
 */
#ifndef DMCOWCTL_LIVE_COUNTERS_H
#define DMCOWCTL_LIVE_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One volume's counters; a counter the pool does not maintain is unknown. */
struct live_counter_set {
	uint64_t mapped, exclusive, written;
	bool exclusive_known, written_known;
};

/* What the live pool reports for a volume (live.c reads it). */
struct live_volume {
	uint64_t id;
	struct live_counter_set pool;	/* the pool's "volumes" message */
	char dev[128];			/* an active device, "" if none */
	bool status_read;		/* dev's status parsed into status */
	struct live_counter_set status;
};

/* What check --live says about one recomputed volume. */
struct live_verdict {
	uint64_t id;
	bool compared;		/* live counters compared with the recomputed */
	bool device_compared;	/* ... and so was an active device's status */
	const char *skipped;	/* !compared: why (a static sentence) */
	char mismatch[200];	/* compared and different: what, else "" */
};

/*
 * Decide for each of the @nr recomputed volumes (@recomputed, @ids)
 * whether its live counters can be compared and compare them.  @before
 * was read before the hold, @after after the check; @held_by_us is false
 * when the held root was reserved earlier by someone else (its counters
 * are then older than @before).  Fills @out[nr]; returns the number of
 * mismatches.
 */
unsigned int live_compare_counters(const uint64_t *ids,
				   const struct live_counter_set *recomputed,
				   size_t nr, const struct live_volume *before,
				   size_t nr_before, const struct live_volume *after,
				   size_t nr_after, bool held_by_us,
				   struct live_verdict *out);

/* Live counters of every volume of an active pool (live.c); malloc'ed. */
int live_volumes_read(const char *pool, struct live_volume **vols, size_t *nr);

#endif
