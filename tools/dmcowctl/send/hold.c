// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl send/receive: a held metadata snapshot of our own.  The pool
 * holds one at a time, and live_hold() borrows one that someone else
 * (another send, 'check --live') holds.  Such a snapshot may predate what
 * send and receive must see (a temporary snapshot just taken, the volume
 * just received), so they wait for it to go and take their own.  A send
 * holds it until it has read the last chunk (cmd-send.c), a receive only
 * while it looks at the metadata, a fraction of a second.
 */
#include "offline.h"
#include "send/send.h"

#include <errno.h>
#include <time.h>

#define HOLD_TRIES 100		/* 20 seconds */

int send_hold(const char *pool, struct live_hold *h)
{
	struct timespec pause = { .tv_nsec = 200 * 1000 * 1000 };
	unsigned int i;
	int r;

	for (i = 0; i < HOLD_TRIES; i++) {
		r = live_hold(pool, h);
		if (r || h->reserved)
			return r;
		nanosleep(&pause, NULL);
	}
	dmcowctl_err("pool '%s' keeps a metadata snapshot held by another program (block %llu): release it ('dmsetup message %s 0 release_metadata_snap') once that program is done",
		     pool, (unsigned long long)h->held, pool);
	return -EBUSY;
}
