// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl reshare: the pool's "share" messages.
 *
 *   share <dst id> <dst vchunk> <src id> <src vchunk> [<count>]
 *
 * asks the pool to compare up to RESHARE_MAX_BATCH chunks following each
 * other under the I/O path's locks and to re-point the destination's equal
 * ones at the source's data chunks, in one metadata transaction.  Its answer
 * is one line
 *
 *   compared N shared N different N busy N skipped N outcome C...
 *
 * with a character a chunk: s shared now, d the data differ, b busy (written
 * to meanwhile), - skipped without reading (unmapped, already one chunk, or
 * not shareable this way round).  Chunks skipped one way are asked for again
 * the other way round: which volume may take the other's chunk depends on
 * when each was written (reshare_predict()).
 */
#include "dmcowctl.h"
#include "dm.h"
#include "reshare/reshare.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*----------------------------------------------------------------*/
/* Which way */

/*
 * A volume writes in place a chunk it mapped at or after its last snapshot
 * (its own, unshared).  Giving such a chunk to the other volume would let
 * the writes of one show in the other; and a chunk made at or after the
 * destination's last snapshot would look unshared to the destination.
 */
static bool may_give(const struct reshare_plan *p, const struct reshare_chunk *c,
		     unsigned int src)
{
	uint32_t t = c->map[src].time;

	return t < p->vol[0].snap_time && t < p->vol[1].snap_time;
}

enum reshare_dir reshare_predict(const struct reshare_plan *p,
				 const struct reshare_chunk *c)
{
	if (may_give(p, c, 0))
		return RESHARE_B_FROM_A;
	if (may_give(p, c, 1))
		return RESHARE_A_FROM_B;
	return RESHARE_NEITHER;
}

/*----------------------------------------------------------------*/
/* Batches */

/* The destination of a way: the volume re-pointed at the other's chunk. */
static unsigned int dst_of(unsigned int dir)
{
	return dir == RESHARE_B_FROM_A ? 1 : 0;
}

static void apply_outcome(struct reshare_chunk *c, char outcome)
{
	c->tried |= 1u << c->dir;
	switch (outcome) {
	case 's':
		c->state = RESHARE_SHARED;
		break;
	case 'd':
		c->state = RESHARE_DIFFERENT;
		break;
	case 'b':
		c->state = RESHARE_BUSY;
		break;
	default:
		c->dir = c->dir == RESHARE_B_FROM_A ? RESHARE_A_FROM_B : RESHARE_B_FROM_A;
		c->state = (c->tried & (1u << c->dir)) ? RESHARE_SKIPPED : RESHARE_RETRY;
	}
}

static int send_batch(const char *pool, const struct reshare_plan *p,
		      struct reshare_chunk *c, unsigned int count,
		      struct reshare_totals *t)
{
	unsigned int dst = dst_of(c->dir), i;
	struct reshare_result *res;
	char msg[128], err[128];
	char *answer = NULL;
	int r;

	snprintf(msg, sizeof(msg), "share %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %u",
		 p->vol[dst].id, c->vchunk, p->vol[!dst].id, c->vchunk, count);
	res = malloc(sizeof(*res));
	if (!res)
		return -ENOMEM;
	r = dmc_message(pool, msg, &answer);
	if (r) {
		r = dm_failed(r, "sharing chunks of '%s' with '%s' (message '%s' to pool '%s')",
			      p->vol[dst].name, p->vol[!dst].name, msg, pool);
		goto out;
	}
	r = reshare_parse_result(answer, count, res, err, sizeof(err));
	if (r) {
		dmcowctl_err("pool '%s' answered '%s' to '%s': %s", pool, answer, msg, err);
		goto out;
	}
	for (i = 0; i < count; i++)
		apply_outcome(&c[i], res->outcome[i]);
	t->messages++;
	t->pool_compared += res->compared;
out:
	free(answer);
	free(res);
	return r;
}

/* Every chunk in @state, in batches of chunks that follow each other. */
static int send_pass(const char *pool, const struct reshare_plan *p,
		     struct reshare_chunk *c, size_t n, enum reshare_state state,
		     struct reshare_totals *t)
{
	size_t i, j;
	int r;

	for (i = 0; i < n; i = j) {
		j = i + 1;
		if (c[i].state != state)
			continue;
		while (j < n && j - i < RESHARE_MAX_BATCH && c[j].state == state &&
		       c[j].dir == c[i].dir && c[j].vchunk == c[j - 1].vchunk + 1)
			j++;
		r = send_batch(pool, p, &c[i], (unsigned int)(j - i), t);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Busy chunks were written to while the pool compared them, or had a
 * write in flight: a copy or a sync that is likely over a moment later.
 * They are asked again (the pool compares them again, so what was read
 * here before the write does not count).
 */
unsigned int reshare_busy_pause_ms = 50;

static size_t busy_to_ask_again(struct reshare_chunk *c, size_t n)
{
	size_t i, nr = 0;

	for (i = 0; i < n; i++) {
		if (c[i].state == RESHARE_BUSY) {
			c[i].state = RESHARE_BUSY_AGAIN;
			nr++;
		}
	}
	return nr;
}

static void pause_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int reshare_send(const char *pool, const struct reshare_plan *p,
		 struct reshare_chunk *c, size_t n, struct reshare_totals *t)
{
	unsigned int try;
	enum reshare_dir d;
	size_t i, busy;
	int r;

	/* Neither way looks possible: the pool decides, asked the usual way. */
	for (i = 0; i < n; i++) {
		d = reshare_predict(p, &c[i]);
		c[i].dir = d == RESHARE_NEITHER ? RESHARE_B_FROM_A : d;
	}
	r = send_pass(pool, p, c, n, RESHARE_EQUAL, t);
	if (!r)
		r = send_pass(pool, p, c, n, RESHARE_RETRY, t);
	for (try = 0; !r && try < RESHARE_BUSY_TRIES; try++) {
		busy = busy_to_ask_again(c, n);
		if (!busy)
			break;
		pause_ms(reshare_busy_pause_ms << try);
		t->busy_asked_again += busy;
		r = send_pass(pool, p, c, n, RESHARE_BUSY_AGAIN, t);
		if (!r)
			r = send_pass(pool, p, c, n, RESHARE_RETRY, t);
	}
	return r;
}

void reshare_dry_run(const struct reshare_plan *p, struct reshare_chunk *c, size_t n)
{
	enum reshare_dir d;
	size_t i;

	for (i = 0; i < n; i++) {
		if (c[i].state != RESHARE_EQUAL)
			continue;
		d = reshare_predict(p, &c[i]);
		c[i].state = d == RESHARE_NEITHER ? RESHARE_SKIPPED : RESHARE_SHARED;
		c[i].dir = d == RESHARE_NEITHER ? RESHARE_B_FROM_A : d;
	}
}

void reshare_count(const struct reshare_chunk *c, size_t n, struct reshare_totals *t)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (c[i].state) {
		case RESHARE_SHARED:
			t->shared++;
			t->into[dst_of(c[i].dir)]++;
			break;
		case RESHARE_DIFFERENT:
			t->different++;
			break;
		case RESHARE_BUSY:
			t->busy++;
			break;
		case RESHARE_SKIPPED:
			t->skipped++;
			break;
		default:
			break;	/* not compared: an earlier failure */
		}
	}
}
