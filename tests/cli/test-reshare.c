// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the check of the pool's answer to a share message
 * (tools/dmcowctl/reshare/answer.c): what dmcowctl reshare believes about
 * each chunk comes from it, so an answer whose outcome does not cover the
 * chunks asked for, or whose counts disagree with it, must be refused.
 *
 * Output: one PASS/FAIL line per check, last line "reshare: N passed, N failed".
 */
#include "reshare/reshare.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
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
	printf("reshare: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
