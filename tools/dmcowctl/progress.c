// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl: a progress bar on stderr for long offline operations.  Only
 * drawn when stderr is a terminal, at most ten times a second.
 */
#include "offline.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 40

static struct {
	bool on, drawn;
	const char *what;
	uint64_t total;
	struct timespec last;
} pb;

void progress_begin(const char *what, uint64_t total, bool enabled)
{
	pb.on = enabled && total && isatty(2);
	pb.drawn = false;
	pb.what = what;
	pb.total = total;
	clock_gettime(CLOCK_MONOTONIC, &pb.last);
}

void progress_update(uint64_t done)
{
	struct timespec now;
	unsigned int pct, fill, i;
	char bar[BAR_WIDTH + 1];

	if (!pb.on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - pb.last.tv_sec) * 1000000000L +
	    (now.tv_nsec - pb.last.tv_nsec) < 100000000L)
		return;
	pb.last = now;
	if (done > pb.total)
		done = pb.total;
	pct = (unsigned int)(done * 100 / pb.total);
	fill = pct * BAR_WIDTH / 100;
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[BAR_WIDTH] = '\0';
	fprintf(stderr, "\r%-10s [%s] %3u%%", pb.what, bar, pct);
	pb.drawn = true;
}

void progress_end(void)
{
	if (pb.on && pb.drawn)
		fprintf(stderr, "\r%*s\r", BAR_WIDTH + 20, "");
	pb.on = false;
}
