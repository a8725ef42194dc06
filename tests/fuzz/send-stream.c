// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the send stream parser (tools/dmcowctl/send/reader.c)
 * on arbitrary bytes, delivered in pieces of varying size as a pipe would.
 * Besides the sanitizers, it checks what the parser promises about every
 * record it hands out: sequence numbers consecutive, chunk ranges in
 * order and inside the volume, data lengths exact, and an accepted end
 * record only after a stream whose totals add up.  Every rejection must
 * come with a message.
 *
 * Inputs whose last byte is odd are parsed as they are; the others (a
 * stream ends with reserved zeroes) get every checksum, and the end
 * record's stream checksum, made right first, so the fuzzer gets past them
 * to the checks behind them.
 */
#include "send/send.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...) do { fprintf(stderr, "fuzz: FINDING: " __VA_ARGS__); \
	fputc('\n', stderr); abort(); } while (0)

struct input {
	const uint8_t *p;
	size_t len, pos;
	unsigned int step;
};

static ssize_t in_read(void *ctx, void *buf, size_t len)
{
	struct input *in = ctx;
	size_t n = in->len - in->pos;

	/* Short reads of changing sizes, as from a pipe. */
	in->step = in->step * 1103515245u + 12345u;
	if (n > len)
		n = len;
	if (n > 1 + (in->step >> 16) % 70000)
		n = 1 + (in->step >> 16) % 70000;
	memcpy(buf, in->p + in->pos, n);
	in->pos += n;
	return (ssize_t)n;
}

/* Make every record's checksum, and the stream checksum, match. */
static void fix_checksums(uint8_t *p, size_t size)
{
	struct send_disk_rec *rec;
	struct send_disk_end *end;
	uint32_t len, crc = SEND_CRC_INIT;
	size_t pos = 0;

	while (pos + sizeof(*rec) <= size) {
		rec = (struct send_disk_rec *)(p + pos);
		len = le32toh(rec->len);
		if (len > size - pos - sizeof(*rec))
			return;
		if (le16toh(rec->type) == SEND_REC_END && len == sizeof(*end)) {
			end = (struct send_disk_end *)(rec + 1);
			end->stream_bytes = htole64(pos);
			end->stream_csum = htole32(send_crc_final(crc));
		}
		rec->csum = 0;
		rec->csum = htole32(send_crc_final(send_crc32c(SEND_CRC_INIT, rec,
							       sizeof(*rec) + len)));
		crc = send_crc32c(crc, rec, sizeof(*rec) + len);
		pos += sizeof(*rec) + len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { .p = data, .len = size, .step = (unsigned int)size };
	uint8_t *copy = NULL;
	struct send_reader r;
	struct send_record rec;
	uint64_t seq, next_chunk, nr_chunks, data_chunks = 0, hole_chunks = 0;
	int ret;

	if (size && !(data[size - 1] & 1)) {
		copy = malloc(size);
		if (!copy)
			return 0;
		memcpy(copy, data, size);
		fix_checksums(copy, size);
		in.p = copy;
	}
	ret = send_reader_open(&r, in_read, &in);
	if (ret) {
		if (!r.err[0])
			FAIL("header refused without a message");
		goto out;
	}
	seq = r.hdr.first_seq;
	next_chunk = r.hdr.first_chunk;
	nr_chunks = send_nr_chunks(r.hdr.size_sectors, r.hdr.chunk_sectors);
	for (;;) {
		ret = send_reader_next(&r, &rec);
		if (ret) {
			if (!r.err[0])
				FAIL("record refused without a message");
			break;
		}
		if (rec.seq != seq)
			FAIL("record with sequence %llu handed out, expected %llu",
			     (unsigned long long)rec.seq, (unsigned long long)seq);
		if (rec.type == SEND_REC_END) {
			if (data_chunks != r.hdr.data_chunks || hole_chunks != r.hdr.hole_chunks)
				FAIL("end accepted with totals that differ from the header");
			if (in.pos != in.len)
				FAIL("end accepted with %zu bytes left", in.len - in.pos);
			break;
		}
		if (rec.type != SEND_REC_DATA && rec.type != SEND_REC_HOLE)
			FAIL("record of type %d handed out", rec.type);
		if (!rec.nr_chunks || rec.chunk < next_chunk || rec.chunk + rec.nr_chunks > nr_chunks)
			FAIL("range %llu+%u handed out (next %llu, volume %llu chunks)",
			     (unsigned long long)rec.chunk, rec.nr_chunks,
			     (unsigned long long)next_chunk, (unsigned long long)nr_chunks);
		if (rec.type == SEND_REC_DATA &&
		    rec.len != send_range_bytes(r.hdr.size_sectors, r.hdr.chunk_sectors,
						rec.chunk, rec.nr_chunks))
			FAIL("data record of %u bytes for %u chunks", rec.len, rec.nr_chunks);
		if (rec.type == SEND_REC_HOLE && (rec.len || rec.data))
			FAIL("hole record with data");
		if (rec.type == SEND_REC_DATA)
			data_chunks += rec.nr_chunks;
		else
			hole_chunks += rec.nr_chunks;
		next_chunk = rec.chunk + rec.nr_chunks;
		seq++;
	}
out:
	send_reader_close(&r);
	free(copy);
	return 0;
}
