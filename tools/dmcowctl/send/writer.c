// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl send: the stream encoder.  Each record gets its sequence number
 * and checksum here, and its bytes join the running totals and stream
 * checksum that the end record carries.  Without a write function it only
 * counts: that is how --dry-run knows the stream's size.
 */
#include "send/send.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

static int emit(struct send_writer *w, unsigned int type, uint64_t chunk,
		uint32_t nr, const void *payload, uint32_t len)
{
	struct send_disk_rec rec = {
		.magic = htole32(SEND_REC_MAGIC),
		.type = htole16((uint16_t)type),
		.seq = htole64(type == SEND_REC_HEADER ? 0 : w->next_seq),
		.chunk = htole64(chunk),
		.nr_chunks = htole32(nr),
		.len = htole32(len),
	};
	uint32_t crc, payload_crc;
	int r;

	if (w->write) {
		/* The payload is summed once: both checksums append its crc. */
		payload_crc = send_crc32c(0, payload, len);
		crc = send_crc32c(SEND_CRC_INIT, &rec, sizeof(rec));
		crc = send_crc32c_append(crc, payload_crc, len);
		rec.csum = htole32(send_crc_final(crc));
		r = w->write(w->ctx, &rec, sizeof(rec));
		if (!r && len)
			r = w->write(w->ctx, payload, len);
		if (r)
			return r;
		if (type != SEND_REC_END) {
			w->crc = send_crc32c(w->crc, &rec, sizeof(rec));
			w->crc = send_crc32c_append(w->crc, payload_crc, len);
		}
	}
	if (type != SEND_REC_END)
		w->t.stream_bytes += sizeof(rec) + len;
	if (type != SEND_REC_HEADER)
		w->next_seq++;
	return 0;
}

int send_writer_begin(struct send_writer *w, send_write_fn write, void *ctx,
		      const struct send_header *h)
{
	struct send_disk_header d;

	memset(w, 0, sizeof(*w));
	w->write = write;
	w->ctx = ctx;
	w->chunk_sectors = h->chunk_sectors;
	w->size_sectors = h->size_sectors;
	w->next_seq = h->first_seq;
	w->crc = SEND_CRC_INIT;
	send_header_to_disk(h, &d);
	return emit(w, SEND_REC_HEADER, 0, 0, &d, sizeof(d));
}

int send_writer_data(struct send_writer *w, uint64_t chunk, uint32_t nr,
		     const void *data)
{
	uint64_t len = send_range_bytes(w->size_sectors, w->chunk_sectors, chunk, nr);
	int r;

	if (!nr || nr > send_data_max_chunks(w->chunk_sectors) || !len)
		return -EINVAL;
	r = emit(w, SEND_REC_DATA, chunk, nr, data, (uint32_t)len);
	if (r)
		return r;
	w->t.records++;
	w->t.data_chunks += nr;
	w->t.data_bytes += len;
	return 0;
}

int send_writer_hole(struct send_writer *w, uint64_t chunk, uint32_t nr)
{
	int r;

	if (!nr)
		return -EINVAL;
	r = emit(w, SEND_REC_HOLE, chunk, nr, NULL, 0);
	if (r)
		return r;
	w->t.records++;
	w->t.hole_chunks += nr;
	return 0;
}

int send_writer_end(struct send_writer *w)
{
	struct send_disk_end d;

	w->t.stream_csum = send_crc_final(w->crc);
	send_end_to_disk(&w->t, &d);
	return emit(w, SEND_REC_END, 0, 0, &d, sizeof(d));
}
