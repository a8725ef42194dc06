// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl send/receive: resume tokens.  A receive that stops before the
 * end record keeps its volume hidden and records, in the volume's
 * received_mark, the next record it needs (send_partial_mark()); it prints
 * a token naming the stream and that record.  'dmcowctl send -t TOKEN'
 * checks that it sends the same volumes and starts there; the chunk where
 * that record starts follows from splitting the same extents again
 * (send_plan_locate()), so the token needs no offset of its own.
 */
#include "send/send.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static uint32_t token_crc(const struct send_resume *t)
{
	uint64_t v[3] = { t->target, t->base, t->seq };

	return send_crc_final(send_crc32c(SEND_CRC_INIT, v, sizeof(v)));
}

void send_token_format(const struct send_resume *t, char buf[SEND_TOKEN_LEN])
{
	snprintf(buf, SEND_TOKEN_LEN, "1-%016" PRIx64 "-%016" PRIx64 "-%" PRIx64 "-%08x",
		 t->target, t->base, t->seq, token_crc(t));
}

int send_token_parse(const char *s, struct send_resume *t, char *err, size_t errlen)
{
	unsigned long long target, base, seq;
	unsigned int crc;
	char version[4];
	int n = 0;

	if (sscanf(s, "%3[0-9]-%16llx-%16llx-%16llx-%8x%n", version, &target, &base,
		   &seq, &crc, &n) != 5 || s[n]) {
		snprintf(err, errlen, "'%s' is not a resume token (1-TARGET-BASE-RECORD-CHECK)", s);
		return -EINVAL;
	}
	if (strcmp(version, "1")) {
		snprintf(err, errlen, "resume token version %s is not supported (this dmcowctl makes version 1)",
			 version);
		return -EINVAL;
	}
	t->target = target;
	t->base = base;
	t->seq = seq;
	if (!seq || !target || crc != token_crc(t)) {
		snprintf(err, errlen, "resume token '%s' is damaged (its check does not match): copy it again",
			 s);
		return -EINVAL;
	}
	return 0;
}
