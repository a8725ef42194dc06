// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl reshare: reading the candidates' data chunks from the pool's
 * data device and comparing them.  O_DIRECT: the pool writes the data
 * device below any page cache of ours.  A chunk rewritten in place after
 * the metadata snapshot is read as it is now; that only decides whether
 * the pool is asked, the pool compares again before it remaps.
 *
 * The chunks of a rewritten file usually lie one after the other on the
 * data device on both sides (the old ones, the new ones), so runs of them
 * are read with one read a side instead of one a chunk.
 */
#define _GNU_SOURCE
#include "offline.h"
#include "reshare/reshare.h"
#include "datadev.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_BYTES (1u << 20)	/* one read takes at most this much */

int reshare_reader_open(struct reshare_reader *rd, const char *data_path,
			uint32_t chunk_sectors)
{
	unsigned int i;

	memset(rd, 0, sizeof(*rd));
	rd->path = data_path;
	rd->chunk_bytes = chunk_sectors * 512u;
	rd->run_chunks = rd->chunk_bytes < RUN_BYTES ? RUN_BYTES / rd->chunk_bytes : 1;
	rd->fd = data_dev_open(data_path);
	if (rd->fd < 0)
		return rd->fd;
	for (i = 0; i < 2; i++) {
		rd->buf[i] = aligned_alloc(4096, (size_t)rd->run_chunks * rd->chunk_bytes);
		if (!rd->buf[i]) {
			dmcowctl_err("out of memory for the chunks to compare");
			reshare_reader_close(rd);
			return -ENOMEM;
		}
	}
	return 0;
}

void reshare_reader_close(struct reshare_reader *rd)
{
	if (rd->fd >= 0)
		close(rd->fd);
	rd->fd = -1;
	free(rd->buf[0]);
	free(rd->buf[1]);
	rd->buf[0] = rd->buf[1] = NULL;
}

static int read_run(struct reshare_reader *rd, unsigned int side, uint64_t dchunk,
		    size_t nr)
{
	int r = data_dev_read(rd->fd, rd->path, rd->chunk_bytes, dchunk, nr, rd->buf[side]);

	if (!r)
		rd->bytes_read += nr * rd->chunk_bytes;
	return r;
}

/* Pending chunks from c[0] on that follow each other on both sides. */
static size_t run_length(const struct reshare_reader *rd, const struct reshare_chunk *c,
			 size_t n)
{
	size_t k;

	for (k = 1; k < n && k < rd->run_chunks; k++)
		if (c[k].state != RESHARE_PENDING ||
		    c[k].map[0].dchunk != c[0].map[0].dchunk + k ||
		    c[k].map[1].dchunk != c[0].map[1].dchunk + k)
			break;
	return k;
}

int reshare_compare(struct reshare_reader *rd, struct reshare_chunk *c, size_t n)
{
	size_t i, k, run;
	const char *a, *b;
	int r;

	for (i = 0; i < n; i += run) {
		if (c[i].state != RESHARE_PENDING) {
			run = 1;
			continue;
		}
		run = run_length(rd, &c[i], n - i);
		r = read_run(rd, 0, c[i].map[0].dchunk, run);
		if (!r)
			r = read_run(rd, 1, c[i].map[1].dchunk, run);
		if (r)
			return r;
		for (k = 0; k < run; k++) {
			a = (const char *)rd->buf[0] + k * rd->chunk_bytes;
			b = (const char *)rd->buf[1] + k * rd->chunk_bytes;
			c[i + k].state = memcmp(a, b, rd->chunk_bytes) ?
				RESHARE_DIFFERENT : RESHARE_EQUAL;
		}
	}
	return 0;
}
