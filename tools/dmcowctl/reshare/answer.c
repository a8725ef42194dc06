// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl reshare: the answer of the pool to a share message,
 *
 *   compared N shared N different N busy N skipped N outcome C...
 *
 * checked before a chunk's state is taken from it: the outcome must have a
 * character of "sdb-" for each chunk asked for, and the counts must be
 * those of the outcome (compared = shared + different).  A pool that
 * answers anything else is not believed.  No libdevmapper here: the unit
 * test (tests/cli/test-reshare.c) links this file alone.
 */
#include "reshare/reshare.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *skip_spaces(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	return s;
}

/* "WORD N": *s moves past it. */
static bool word_number(const char **s, const char *word, uint64_t *v)
{
	size_t len = strlen(word);
	const char *p = skip_spaces(*s);
	char *end;

	if (strncmp(p, word, len) || p[len] != ' ')
		return false;
	p += len + 1;
	if (*p < '0' || *p > '9')
		return false;
	errno = 0;
	*v = strtoull(p, &end, 10);
	if (errno || (*end != ' ' && *end))
		return false;
	*s = end;
	return true;
}

static int bad_answer(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad_answer(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The outcome must be @count of "sdb-" and agree with the counts. */
static int check_outcome(const struct reshare_result *res, unsigned int count,
			 char *err, size_t errlen)
{
	uint64_t n[4] = { 0 };
	const char *kinds = "sdb-", *k;
	unsigned int i;

	if (strlen(res->outcome) != count)
		return bad_answer(err, errlen, "%zu outcomes for %u chunks",
				  strlen(res->outcome), count);
	for (i = 0; i < count; i++) {
		k = memchr(kinds, res->outcome[i], 4);
		if (!k)
			return bad_answer(err, errlen, "unknown outcome '%c' of chunk %u",
					  res->outcome[i], i);
		n[k - kinds]++;
	}
	if (n[0] != res->shared || n[1] != res->different || n[2] != res->busy ||
	    n[3] != res->skipped || res->compared != res->shared + res->different)
		return bad_answer(err, errlen, "the counts disagree with the outcome");
	return 0;
}

int reshare_parse_result(const char *answer, unsigned int count,
			 struct reshare_result *res, char *err, size_t errlen)
{
	static const char *const words[] = {
		"compared", "shared", "different", "busy", "skipped",
	};
	uint64_t *vals[] = {
		&res->compared, &res->shared, &res->different, &res->busy, &res->skipped,
	};
	const char *s = answer, *p;
	unsigned int i;
	size_t len;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < 5; i++)
		if (!word_number(&s, words[i], vals[i]))
			return bad_answer(err, errlen, "no '%s N' where expected", words[i]);
	s = skip_spaces(s);
	if (strncmp(s, "outcome ", 8))
		return bad_answer(err, errlen, "no 'outcome' where expected");
	s += 8;
	len = strcspn(s, " \t\n");
	if (len > RESHARE_MAX_BATCH)
		return bad_answer(err, errlen, "%zu outcomes for %u chunks", len, count);
	memcpy(res->outcome, s, len);
	res->outcome[len] = '\0';
	p = skip_spaces(s + len);
	if (*p)
		return bad_answer(err, errlen, "unexpected text after the outcome");
	return check_outcome(res, count, err, errlen);
}
