// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl send: reading the data to send from the pool's data device, at
 * the data chunks the held metadata snapshot maps (the plan's runs), the
 * way 'dmcowctl reshare' reads chunks to compare.  No dm device is made
 * for the volume: creating and removing one costs more than an incremental
 * send of a small change reads (the removal alone ~20 ms in the bench
 * guest).
 *
 * Safe only while the snapshot stays held (cmd-send.c holds it until the
 * last record is written): the pool frees no chunk a held tree maps, and
 * writes into a mapping older than the held root break sharing first, so
 * the chunks read here keep the contents they had at the hold.  O_DIRECT:
 * the pool writes the data device below any page cache of ours.
 */
#define _GNU_SOURCE
#include "offline.h"
#include "send/send.h"
#include "datadev.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int send_source_open(struct send_source *s, const char *data_path,
		     const struct send_plan *plan)
{
	uint64_t bytes;
	int r;

	memset(s, 0, sizeof(*s));
	s->path = data_path;
	s->plan = plan;
	s->chunk_bytes = plan->chunk_sectors * 512u;
	s->fd = data_dev_open(data_path);
	if (s->fd < 0)
		return s->fd;
	if (ioctl(s->fd, BLKGETSIZE64, &bytes)) {
		r = -errno;
		dmcowctl_err("cannot get the size of %s: %s", data_path, strerror(-r));
		send_source_close(s);
		return r;
	}
	s->nr_dchunks = bytes / s->chunk_bytes;
	return 0;
}

void send_source_close(struct send_source *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static int read_dchunks(struct send_source *s, uint64_t dchunk, uint64_t nr, char *buf)
{
	if (dchunk + nr > s->nr_dchunks) {
		dmcowctl_err("data chunk %" PRIu64 " is beyond the end of %s (%" PRIu64 " chunks): corrupt metadata?",
			     dchunk + nr - 1, s->path, s->nr_dchunks);
		return -EIO;
	}
	return data_dev_read(s->fd, s->path, s->chunk_bytes, dchunk, nr, buf);
}

/* One read per run: a volume written in order lies in order on the device. */
int send_source_read(struct send_source *s, uint64_t vchunk, uint32_t nr, void *buf)
{
	const struct send_run *run;
	uint64_t c = vchunk, end = vchunk + nr, n;
	char *p = buf;
	int r;

	while (c < end) {
		run = send_plan_run(s->plan, c);
		if (!run) {
			dmcowctl_err("chunk %" PRIu64 " is sent as data but has no mapping in the plan",
				     c);
			return -EIO;
		}
		n = run->vchunk + run->nr - c;
		if (n > end - c)
			n = end - c;
		r = read_dchunks(s, run->dchunk + (c - run->vchunk), n, p);
		if (r)
			return r;
		p += n * s->chunk_bytes;
		c += n;
	}
	return 0;
}
