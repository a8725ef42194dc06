// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of dmcowctl reshare's user-space half (tools/dmcowctl/reshare/
 * answer.c, compare.c, share.c) against a fake pool:
 *  - the check of the pool's answer to a share message: what reshare
 *    believes about each chunk comes from it, so an answer whose outcome
 *    does not cover the chunks asked for, or whose counts disagree with
 *    it, must be refused;
 *  - the compare (a file stands for the data device; runs of chunks that
 *    follow each other are read at once) and the messages: batches of at
 *    most 1024 chunks that follow each other, the way round the time
 *    stamps allow, the retry the other way for chunks the pool skipped,
 *    never a chunk that differs, never one asked twice the same way; every
 *    chunk ends in the state the fake pool's rules give.
 *
 * Output: one PASS/FAIL line per check, last line "reshare: N passed, N failed".
 */
#include "dmcowctl.h"
#include "dm.h"
#include "reshare/reshare.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit-check.h"

static struct reshare_result res;

/* answer_ok ANSWER COUNT COUNTS... OUTCOME: accepted as such (OUTCOME NULL: not compared). */
static void answer_ok(const char *answer, unsigned int count, uint64_t shared,
		      uint64_t different, uint64_t busy, uint64_t skipped,
		      const char *outcome)
{
	char err[128] = "";
	int r = reshare_parse_result(answer, count, &res, err, sizeof(err));

	check(!r && res.shared == shared && res.different == different &&
	      res.busy == busy && res.skipped == skipped &&
	      res.compared == shared + different &&
	      (!outcome || !strcmp(res.outcome, outcome)),
	      "answer \"%.60s\" for %u chunks accepted (r=%d %s; outcome %.40s)",
	      answer, count, r, err, res.outcome);
}

/* answer_bad ANSWER COUNT WHAT: refused, and the reason contains WHAT. */
static void answer_bad(const char *answer, unsigned int count, const char *what)
{
	char err[128] = "";
	int r = reshare_parse_result(answer, count, &res, err, sizeof(err));

	check(r == -EINVAL && strstr(err, what),
	      "answer \"%.60s\" for %u chunks refused: \"%s\" (got r=%d: %s)",
	      answer, count, what, r, err);
}

static void test_full_batch(void)
{
	char *answer = malloc(RESHARE_MAX_BATCH + 128), *p;
	unsigned int i;

	if (!answer)
		exit(2);
	p = answer + sprintf(answer, "compared 512 shared 256 different 256 busy 256 skipped 256 outcome ");
	for (i = 0; i < RESHARE_MAX_BATCH; i++)
		*p++ = "sdb-"[i % 4];
	strcpy(p, "\n");
	answer_ok(answer, RESHARE_MAX_BATCH, 256, 256, 256, 256, NULL);
	check(strlen(res.outcome) == RESHARE_MAX_BATCH && res.outcome[5] == 'd' &&
	      res.outcome[1023] == '-', "a full batch keeps all %u outcomes in order",
	      RESHARE_MAX_BATCH);
	answer_bad(answer, RESHARE_MAX_BATCH - 1, "1024 outcomes for 1023 chunks");
	free(answer);
}

/*----------------------------------------------------------------*/
/* A fake pool */

#define NR 2100			/* vchunks */
#define CHUNK_SECTORS 8
#define CHUNK_BYTES (CHUNK_SECTORS * 512)
#define OLD 3			/* mapped before the snapshot */
#define NEW 12			/* after it */
#define SNAP 10			/* both volumes' snap_time */

static const uint64_t vol_id[2] = { 7, 9 };	/* A, B */

struct fake_chunk {
	int content[2];		/* what A and B hold there (0: unmapped) */
	uint32_t time[2];	/* as the pool sees them now */
	unsigned int busy;	/* asks answered busy, from the first on */
	bool a_gives;		/* A's chunk is the old one: B takes it */
	unsigned int asked[2];	/* messages with this chunk as destination */
};

static struct fake_chunk fake[NR];
static unsigned int messages, bad_messages, max_count;
static char fake_err[160];

void dmcowctl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fake_err, sizeof(fake_err), fmt, ap);
	va_end(ap);
}

int dm_failed(int r, const char *fmt, ...)
{
	(void)r;
	(void)fmt;
	return 1;
}

/* The kernel's order: the cells (busy), the probe (time stamps), the data. */
static char fake_share(unsigned int dst, uint64_t v)
{
	struct fake_chunk *f = &fake[v];
	unsigned int src = !dst;

	f->asked[dst]++;
	if (f->busy) {
		f->busy--;
		return 'b';
	}
	if (!f->content[0] || !f->content[1] || !(f->time[src] < SNAP))
		return '-';
	if (f->content[0] != f->content[1]) {
		bad_messages++;		/* user space found them different */
		return 'd';
	}
	f->time[dst] = f->time[src];
	f->content[dst] = -f->content[src];	/* one data chunk now: '-' next */
	f->content[src] = f->content[dst];
	return 's';
}

int dmc_message(const char *name, const char *msg, char **response)
{
	unsigned long long dst, dv, src, sv;
	unsigned int count, i, n[4] = { 0 };
	char *out = malloc(RESHARE_MAX_BATCH + 128), *o, c;

	(void)name;
	if (sscanf(msg, "share %llu %llu %llu %llu %u", &dst, &dv, &src, &sv, &count) != 5 ||
	    dv != sv || !count || count > RESHARE_MAX_BATCH || dv + count > NR ||
	    dst == src || (dst != vol_id[0] && dst != vol_id[1]) ||
	    (src != vol_id[0] && src != vol_id[1])) {
		bad_messages++;
		free(out);
		return -EINVAL;
	}
	messages++;
	if (count > max_count)
		max_count = count;
	o = out + sprintf(out, "compared ");
	for (i = 0; i < count; i++) {
		c = fake_share(dst == vol_id[1], dv + i);
		n[c == 's' ? 0 : c == 'd' ? 1 : c == 'b' ? 2 : 3]++;
		out[64 + i] = c;
	}
	out[64 + count] = '\0';
	o += sprintf(o, "%u shared %u different %u busy %u skipped %u outcome ", n[0] + n[1],
		     n[0], n[1], n[2], n[3]);
	memmove(o, out + 64, count + 1);
	strcat(o, "\n");
	*response = out;
	return 0;
}

/*----------------------------------------------------------------*/
/* Compare and share against it */

/*
 * Chunk v: A's data chunk v, B's NR + v + v / 50: runs on both sides, and
 * a gap on B's alone every 50 chunks.
 */
static uint64_t b_dchunk(unsigned int v)
{
	return NR + v + v / 50;
}

static int write_data_device(const char *path)
{
	static char buf[CHUNK_BYTES];
	unsigned int v, side;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return -1;
	for (side = 0; side < 2; side++) {
		for (v = 0; v < NR; v++) {
			memset(buf, 0, sizeof(buf));
			sprintf(buf + (v * 37) % (CHUNK_BYTES - 16), "%d", fake[v].content[side]);
			if (pwrite(fd, buf, sizeof(buf), (off_t)((side ? b_dchunk(v) : v) *
							  CHUNK_BYTES)) != sizeof(buf))
				return -1;
		}
	}
	return close(fd);
}

/*
 * Below chunk 1000: every 97th chunk is no candidate; every 13th differs;
 * every 5th was written by B after the snapshot, the others by A; every
 * 11th by both (neither may give it); every 17th is busy (busy_asks());
 * every 19th the
 * metadata saw written by B, the pool sees written by A (the prediction is
 * wrong: the retry must fix it).  From 1000 on, A rewrote every chunk with
 * the same data: long runs, a full batch.
 */
static bool irregular(unsigned int v, unsigned int every)
{
	return v < 1000 && v % every == 0;
}

/*
 * How many asks of chunk v the fake pool answers busy: every 51st once
 * more than every 34th, the other busy ones more often than reshare asks.
 */
static unsigned int busy_asks(unsigned int v)
{
	if (!irregular(v, 17))
		return 0;
	if (v % 51 == 0)
		return 2;
	if (v % 34 == 0)
		return 1;
	return RESHARE_BUSY_TRIES + 1;
}

static void build(struct reshare_plan *p)
{
	unsigned int v, a_new;
	struct reshare_chunk *c;

	memset(p, 0, sizeof(*p));
	p->chunk_sectors = CHUNK_SECTORS;
	p->vol[0].id = vol_id[0];
	p->vol[1].id = vol_id[1];
	p->vol[0].snap_time = p->vol[1].snap_time = SNAP;
	p->c = calloc(NR, sizeof(*p->c));
	for (v = 0; v < NR; v++) {
		a_new = v % 5 != 0 || v >= 1000;
		fake[v] = (struct fake_chunk){
			.content = { (int)v + 1, (int)v + 1 + irregular(v, 13) },
			.time = { a_new ? NEW : OLD, a_new ? OLD : NEW },
			.busy = busy_asks(v),
			.a_gives = !a_new,
		};
		if (irregular(v, 11))
			fake[v].time[0] = fake[v].time[1] = NEW;
		if (irregular(v, 97))
			continue;
		c = &p->c[p->nr++];
		c->vchunk = v;
		c->map[0] = (struct send_map){ .dchunk = v, .time = fake[v].time[0] };
		c->map[1] = (struct send_map){ .dchunk = b_dchunk(v), .time = fake[v].time[1] };
		if (irregular(v, 19) && !irregular(v, 11)) {
			c->map[0].time = OLD;
			c->map[1].time = NEW;
		}
	}
}

/* What the fake pool's rules make of chunk v, with the way it went. */
static enum reshare_state expected(unsigned int v, unsigned int *into)
{
	*into = fake[v].a_gives;
	if (irregular(v, 13))
		return RESHARE_DIFFERENT;
	if (busy_asks(v) > RESHARE_BUSY_TRIES)
		return RESHARE_BUSY;
	if (irregular(v, 11))
		return RESHARE_SKIPPED;
	return RESHARE_SHARED;
}

/*
 * How often chunk v is asked for: never if it differs; as often as it is
 * busy, up to one ask and RESHARE_BUSY_TRIES more; then once the way its
 * time stamps say, or twice if the metadata's stamps mislead the
 * prediction or neither way is allowed.
 */
static unsigned int asks(unsigned int v)
{
	if (irregular(v, 13))
		return 0;
	if (busy_asks(v) > RESHARE_BUSY_TRIES)
		return RESHARE_BUSY_TRIES + 1;
	return busy_asks(v) + (irregular(v, 11) || (irregular(v, 19) && v % 5) ? 2 : 1);
}

static void check_states(const struct reshare_plan *p, const struct reshare_totals *t)
{
	struct reshare_totals want = { 0 };
	unsigned int i, v, into, wrong = 0, wasted = 0;
	enum reshare_state st;

	for (i = 0; i < p->nr; i++) {
		v = (unsigned int)p->c[i].vchunk;
		st = expected(v, &into);
		if (st == RESHARE_SHARED) {
			want.shared++;
			want.into[into]++;
		}
		want.different += st == RESHARE_DIFFERENT;
		want.busy += st == RESHARE_BUSY;
		want.skipped += st == RESHARE_SKIPPED;
		if (st != RESHARE_DIFFERENT)	/* never asked */
			want.busy_asked_again += busy_asks(v) > RESHARE_BUSY_TRIES ?
						 RESHARE_BUSY_TRIES : busy_asks(v);
		if (p->c[i].state != st && wrong++ < 3)
			printf("  chunk %u: state %u, want %u\n", v, p->c[i].state, st);
		if (fake[v].asked[0] + fake[v].asked[1] != asks(v) && wrong++ < 3)
			printf("  chunk %u: asked %u + %u times, want %u\n", v,
			       fake[v].asked[0], fake[v].asked[1], asks(v));
		/* Predicted right: asked the one way only. */
		if (!irregular(v, 19) && !irregular(v, 11) && fake[v].asked[!fake[v].a_gives])
			wasted++;
	}
	for (v = 0; v < NR; v++)
		if (irregular(v, 97) && (fake[v].asked[0] || fake[v].asked[1]))
			wrong++;	/* no candidate: never asked */
	check(!wrong, "every chunk in its expected state, asked as often as its kind says (busy ones again after a pause), no other chunk asked (%u wrong)",
	      wrong);
	check(!wasted, "chunks asked the way their time stamps forbid: %u", wasted);
	check(t->shared == want.shared && t->into[0] == want.into[0] &&
	      t->into[1] == want.into[1] && t->different == want.different &&
	      t->busy == want.busy && t->skipped == want.skipped &&
	      t->busy_asked_again == want.busy_asked_again,
	      "totals: shared %llu (%llu into A, %llu into B), different %llu, busy %llu (asked again %llu), skipped %llu",
	      (unsigned long long)t->shared, (unsigned long long)t->into[0],
	      (unsigned long long)t->into[1], (unsigned long long)t->different,
	      (unsigned long long)t->busy, (unsigned long long)t->busy_asked_again,
	      (unsigned long long)t->skipped);
}

/* @path: a file where O_DIRECT works (next to the test, not on a tmpfs). */
static void test_compare_and_share(const char *path)
{
	struct reshare_totals t = { 0 };
	struct reshare_reader rd;
	struct reshare_plan p;
	size_t i, n;
	int r = 0;

	build(&p);
	if (write_data_device(path) || reshare_reader_open(&rd, path, CHUNK_SECTORS)) {
		check(false, "data device %s: %s", path, fake_err);
		return;
	}
	for (i = 0; !r && i < p.nr; i += n) {
		n = p.nr - i < RESHARE_MAX_BATCH ? p.nr - i : RESHARE_MAX_BATCH;
		r = reshare_compare(&rd, &p.c[i], n);
		if (!r)
			r = reshare_send("pool", &p, &p.c[i], n, &t);
	}
	check(!r && rd.bytes_read == 2ULL * p.nr * CHUNK_BYTES,
	      "compared and sent (r=%d): each chunk read once a side (%llu bytes)", r,
	      (unsigned long long)rd.bytes_read);
	reshare_reader_close(&rd);
	unlink(path);
	check(!bad_messages && max_count == RESHARE_MAX_BATCH,
	      "%u messages, none malformed nor with a chunk that differs (%u bad), at most %u chunks each",
	      messages, bad_messages, max_count);
	reshare_count(p.c, p.nr, &t);
	check_states(&p, &t);
	free(p.c);
}

/* A dry run shares, by the prediction, the equal chunks; asks nothing. */
static void test_dry_run(void)
{
	struct reshare_plan p;
	unsigned int i, want = 0, before = messages;
	struct reshare_totals t = { 0 };

	build(&p);
	for (i = 0; i < p.nr; i++) {
		p.c[i].state = irregular(p.c[i].vchunk, 13) ? RESHARE_DIFFERENT : RESHARE_EQUAL;
		/* Only chunks both volumes rewrote after the snapshot stay. */
		want += p.c[i].state == RESHARE_EQUAL && !irregular(p.c[i].vchunk, 11);
	}
	reshare_dry_run(&p, p.c, p.nr);
	reshare_count(p.c, p.nr, &t);
	check(messages == before && t.shared == want && t.shared + t.skipped + t.different == p.nr,
	      "dry run: %llu would be shared (%u predicted), no message",
	      (unsigned long long)t.shared, want);
	free(p.c);
}

int main(int argc, char **argv)
{
	char path[4096];

	answer_ok("compared 1 shared 1 different 0 busy 0 skipped 0 outcome s", 1, 1, 0, 0, 0, "s");
	answer_ok("compared 2 shared 1 different 1 busy 1 skipped 1 outcome s-bd\n", 4, 1, 1, 1, 1,
		  "s-bd");
	answer_ok("compared 0 shared 0 different 0 busy 0 skipped 3 outcome ---", 3, 0, 0, 0, 3, "---");
	answer_bad("compared 1 shared 1 different 0 busy 0 skipped 0 outcome s", 2,
		   "1 outcomes for 2 chunks");
	answer_bad("compared 2 shared 2 different 0 busy 0 skipped 0 outcome sd", 2,
		   "counts disagree");
	answer_bad("compared 2 shared 1 different 0 busy 0 skipped 0 outcome s-", 2,
		   "counts disagree");
	answer_bad("compared 1 shared 1 different 0 busy 0 skipped 0 outcome sx", 2,
		   "unknown outcome 'x' of chunk 1");
	answer_bad("compared 1 shared 1 different 0 busy 0 skipped 0 outcome s extra", 1,
		   "unexpected text after the outcome");
	answer_bad("compared 1 shared 1 busy 0 skipped 0 different 0 outcome s", 1,
		   "no 'different N' where expected");
	answer_bad("compared x shared 1 different 0 busy 0 skipped 0 outcome s", 1,
		   "no 'compared N' where expected");
	answer_bad("compared 1 shared 1 different 0 busy 0 skipped 0", 1,
		   "no 'outcome' where expected");
	answer_bad("", 1, "no 'compared N' where expected");
	answer_bad("compared 99999999999999999999999 shared 1 different 0 busy 0 skipped 0 outcome s", 1,
		   "no 'compared N' where expected");
	test_full_batch();
	(void)argc;
	snprintf(path, sizeof(path), "%s.data", argv[0]);
	reshare_busy_pause_ms = 1;
	test_compare_and_share(path);
	test_dry_run();
	printf("reshare: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
