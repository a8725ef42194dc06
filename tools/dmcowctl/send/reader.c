// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl receive: the stream parser.  Nothing in a stream is trusted: a
 * record's length is bounded by its type before its payload is read, its
 * checksum is verified before any field is used, and its sequence number
 * and chunk range must continue the records before it.  Every error names
 * the record (its position in the stream, the header being record 0) and
 * says what is wrong.
 */
#include "send/send.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX_LEN 4096u
#define MAX_SIZE_SECTORS (1ULL << 55)	/* 16 EiB */

static int bad(struct send_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct send_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* Reads until len bytes or the end: *got tells how many. */
static int read_full(struct send_reader *r, void *buf, size_t len, size_t *got)
{
	ssize_t n;

	*got = 0;
	while (*got < len) {
		n = r->read(r->ctx, (char *)buf + *got, len - *got);
		if (n < 0) {
			snprintf(r->err, sizeof(r->err), "reading record %" PRIu64 ": %s",
				 r->records_read, strerror((int)-n));
			return (int)n;
		}
		if (!n)
			break;
		*got += (size_t)n;
	}
	return 0;
}

/* "record 5 (data, chunks 80-95)": the record being read. */
static const char *what(struct send_reader *r, char *buf, size_t len)
{
	unsigned int type = le16toh(r->rec.type);
	uint64_t chunk = le64toh(r->rec.chunk);
	uint32_t nr = le32toh(r->rec.nr_chunks);

	if ((type == SEND_REC_DATA || type == SEND_REC_HOLE) && nr > 1)
		snprintf(buf, len, "record %" PRIu64 " (%s, chunks %" PRIu64 "-%" PRIu64 ")",
			 r->records_read, send_rec_type_name(type), chunk, chunk + nr - 1);
	else if (type == SEND_REC_DATA || type == SEND_REC_HOLE)
		snprintf(buf, len, "record %" PRIu64 " (%s, chunk %" PRIu64 ")",
			 r->records_read, send_rec_type_name(type), chunk);
	else
		snprintf(buf, len, "record %" PRIu64 " (%s)", r->records_read,
			 send_rec_type_name(type));
	return buf;
}

#define WHAT(r) what(r, w, sizeof(w))

/* The payload's own crc is kept: the stream checksum appends it. */
static uint32_t record_csum(struct send_reader *r, uint32_t len)
{
	struct send_disk_rec h = r->rec;
	uint32_t crc;

	h.csum = 0;
	r->payload_crc = send_crc32c(0, r->data, len);
	crc = send_crc32c(SEND_CRC_INIT, &h, sizeof(h));
	return send_crc_final(send_crc32c_append(crc, r->payload_crc, len));
}

/* Reads the header of the next record; *eof if the stream ended before it. */
static int read_rec_header(struct send_reader *r, bool *eof)
{
	size_t got;
	int ret;

	*eof = false;
	ret = read_full(r, &r->rec, sizeof(r->rec), &got);
	if (ret)
		return ret;
	if (!got) {
		*eof = true;
		return 0;
	}
	if (got < sizeof(r->rec))
		return bad(r, "record %" PRIu64 ": truncated: the stream ends inside its header (%zu of %zu bytes)",
			   r->records_read, got, sizeof(r->rec));
	if (le32toh(r->rec.magic) != SEND_REC_MAGIC)
		return bad(r, "record %" PRIu64 ": bad magic 0x%08x: %s",
			   r->records_read, le32toh(r->rec.magic),
			   r->records_read ? "the stream is corrupted" :
			   "this is not a dmcowctl send stream");
	return 0;
}

/* The payload buffer grows to the largest record seen (4 KiB aligned). */
static int payload_room(struct send_reader *r, uint32_t len)
{
	size_t cap = ((size_t)len + 4095) & ~(size_t)4095;

	if (cap <= r->payload_cap)
		return 0;
	free(r->payload);
	r->payload_cap = 0;
	r->payload = aligned_alloc(4096, cap ? cap : 4096);
	if (!r->payload) {
		snprintf(r->err, sizeof(r->err), "out of memory for a record of %u bytes", len);
		return -ENOMEM;
	}
	r->payload_cap = cap;
	return 0;
}

static int read_payload(struct send_reader *r, uint32_t len)
{
	char w[96];
	size_t got;
	int ret;

	if (r->lent && len <= r->lent_cap) {
		r->data = r->lent;
	} else {
		ret = payload_room(r, len);
		if (ret)
			return ret;
		r->data = r->payload;
	}
	r->lent = NULL;
	ret = read_full(r, r->data, len, &got);
	if (ret)
		return ret;
	if (got < len)
		return bad(r, "%s: truncated: the stream ends after %zu of its %u payload bytes",
			   WHAT(r), got, len);
	return 0;
}

static int check_csum(struct send_reader *r)
{
	uint32_t len = le32toh(r->rec.len), stored = le32toh(r->rec.csum), got;
	char w[96];

	got = record_csum(r, len);
	if (got != stored)
		return bad(r, "%s: checksum mismatch (stored 0x%08x, computed 0x%08x): the stream is corrupted",
			   WHAT(r), stored, got);
	if (r->rec.flags || r->rec.reserved)
		return bad(r, "%s: unknown flags 0x%x: written by a newer dmcowctl?",
			   WHAT(r), le16toh(r->rec.flags));
	return 0;
}

/* The record has been checked (check_csum): it joins the stream checksum. */
static void account(struct send_reader *r)
{
	uint32_t len = le32toh(r->rec.len);

	r->crc = send_crc32c(r->crc, &r->rec, sizeof(r->rec));
	r->crc = send_crc32c_append(r->crc, r->payload_crc, len);
	r->t.stream_bytes += sizeof(r->rec) + len;
	r->records_read++;
}

/*----------------------------------------------------------------*/

static bool power_of_two(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int check_header(struct send_reader *r)
{
	const struct send_header *h = &r->hdr;

	if (h->flags & ~SEND_HDR_FLAGS)
		return bad(r, "record 0 (header): unknown flags 0x%x: written by a newer dmcowctl?",
			   h->flags);
	if (!power_of_two(h->chunk_sectors) || h->chunk_sectors < 8 ||
	    h->chunk_sectors > 2048)
		return bad(r, "record 0 (header): chunk size %u sectors is not a power of two from 8 to 2048",
			   h->chunk_sectors);
	if (!h->size_sectors || h->size_sectors > MAX_SIZE_SECTORS)
		return bad(r, "record 0 (header): volume size %" PRIu64 " sectors is out of range",
			   h->size_sectors);
	if (!h->target.token)
		return bad(r, "record 0 (header): the volume's identity is missing");
	if (!!(h->flags & SEND_HDR_INCREMENTAL) != !!h->base.token)
		return bad(r, "record 0 (header): %s",
			   h->base.token ? "a full stream names a base" :
			   "an incremental stream names no base");
	r->nr_chunks = send_nr_chunks(h->size_sectors, h->chunk_sectors);
	if (!(h->flags & SEND_HDR_RESUMED) && (h->first_seq != 1 || h->first_chunk))
		return bad(r, "record 0 (header): a stream that is not resumed starts at record %" PRIu64 ", chunk %" PRIu64 " (expected 1, 0)",
			   h->first_seq, h->first_chunk);
	if (!h->first_seq || h->first_seq >= (1ULL << 62) || h->first_chunk > r->nr_chunks)
		return bad(r, "record 0 (header): resumes at record %" PRIu64 ", chunk %" PRIu64 ": out of range (%" PRIu64 " chunks)",
			   h->first_seq, h->first_chunk, r->nr_chunks);
	if (h->data_chunks > r->nr_chunks || h->hole_chunks > r->nr_chunks ||
	    h->data_chunks + h->hole_chunks > r->nr_chunks)
		return bad(r, "record 0 (header): announces %" PRIu64 " data and %" PRIu64 " hole chunks in a volume of %" PRIu64,
			   h->data_chunks, h->hole_chunks, r->nr_chunks);
	return 0;
}

int send_reader_open(struct send_reader *r, send_read_fn read, void *ctx)
{
	struct send_disk_header *d;
	uint32_t len, version;
	bool eof;
	int ret;

	memset(r, 0, sizeof(*r));
	r->read = read;
	r->ctx = ctx;
	r->crc = SEND_CRC_INIT;
	ret = read_rec_header(r, &eof);
	if (ret)
		return ret;
	if (eof)
		return bad(r, "the stream is empty");
	if (le16toh(r->rec.type) != SEND_REC_HEADER)
		return bad(r, "record 0 is a %s record, not a header: this is not the start of a stream",
			   send_rec_type_name(le16toh(r->rec.type)));
	len = le32toh(r->rec.len);
	if (len < sizeof(uint32_t) || len > HEADER_MAX_LEN)
		return bad(r, "record 0 (header): length %u is out of bounds: the stream is corrupted",
			   len);
	ret = read_payload(r, len);
	if (ret)
		return ret;
	/* The version comes first, whatever else a later version changes. */
	memcpy(&version, r->data, sizeof(version));
	version = le32toh(version);
	if (version != SEND_VERSION)
		return bad(r, "record 0 (header): stream version %u is not supported (this dmcowctl reads version %u)",
			   version, SEND_VERSION);
	if (len != sizeof(*d))
		return bad(r, "record 0 (header): length %u, a version %u header has %zu bytes: the stream is corrupted",
			   len, SEND_VERSION, sizeof(*d));
	ret = check_csum(r);
	if (ret)
		return ret;
	d = r->data;
	if (r->rec.seq || r->rec.chunk || r->rec.nr_chunks || d->reserved0 ||
	    d->reserved[0] || d->reserved[1])
		return bad(r, "record 0 (header): reserved fields are set: written by a newer dmcowctl?");
	send_header_from_disk(d, &r->hdr);
	ret = check_header(r);
	if (ret)
		return ret;
	account(r);
	r->next_seq = r->hdr.first_seq;
	r->next_chunk = r->hdr.first_chunk;
	return 0;
}

/*----------------------------------------------------------------*/

static int check_order(struct send_reader *r)
{
	uint64_t seq = le64toh(r->rec.seq);
	char w[96];

	if (seq != r->next_seq)
		return bad(r, "%s: sequence number %" PRIu64 ", expected %" PRIu64 ": records are missing or out of order",
			   WHAT(r), seq, r->next_seq);
	return 0;
}

static int check_range(struct send_reader *r)
{
	unsigned int type = le16toh(r->rec.type);
	uint64_t chunk = le64toh(r->rec.chunk), want;
	uint32_t nr = le32toh(r->rec.nr_chunks), len = le32toh(r->rec.len);
	char w[96];

	if (!nr)
		return bad(r, "%s: covers no chunk", WHAT(r));
	if (chunk < r->next_chunk)
		return bad(r, "%s: starts below chunk %" PRIu64 ", where the previous record ended: records are out of order",
			   WHAT(r), r->next_chunk);
	if (chunk > r->nr_chunks || nr > r->nr_chunks - chunk)
		return bad(r, "%s: beyond the end of the volume (%" PRIu64 " chunks)",
			   WHAT(r), r->nr_chunks);
	if (type == SEND_REC_HOLE)
		return 0;
	if (nr > send_data_max_chunks(r->hdr.chunk_sectors))
		return bad(r, "%s: more chunks than a data record holds (%u)", WHAT(r),
			   send_data_max_chunks(r->hdr.chunk_sectors));
	want = send_range_bytes(r->hdr.size_sectors, r->hdr.chunk_sectors, chunk, nr);
	if (len != want)
		return bad(r, "%s: %u bytes of data for %" PRIu64 " bytes of chunks", WHAT(r),
			   len, want);
	return 0;
}

static int check_end(struct send_reader *r)
{
	struct send_totals e;
	const struct send_totals *t = &r->t;
	uint32_t crc = send_crc_final(r->crc);
	char w[96], more;
	size_t got;
	int ret;

	send_end_from_disk(r->data, &e);
	if (r->rec.chunk || r->rec.nr_chunks ||
	    ((const struct send_disk_end *)r->data)->reserved)
		return bad(r, "%s: reserved fields are set", WHAT(r));
	if (e.records != t->records)
		return bad(r, "%s: the stream has %" PRIu64 " data and hole records, the end record counts %" PRIu64,
			   WHAT(r), t->records, e.records);
	if (e.data_chunks != t->data_chunks || e.hole_chunks != t->hole_chunks ||
	    e.data_bytes != t->data_bytes)
		return bad(r, "%s: totals differ: %" PRIu64 " data chunks, %" PRIu64 " hole chunks, %" PRIu64 " bytes received; %" PRIu64 ", %" PRIu64 ", %" PRIu64 " sent",
			   WHAT(r), t->data_chunks, t->hole_chunks, t->data_bytes,
			   e.data_chunks, e.hole_chunks, e.data_bytes);
	if (t->data_chunks != r->hdr.data_chunks || t->hole_chunks != r->hdr.hole_chunks)
		return bad(r, "%s: the header announced %" PRIu64 " data and %" PRIu64 " hole chunks, the stream has %" PRIu64 " and %" PRIu64,
			   WHAT(r), r->hdr.data_chunks, r->hdr.hole_chunks,
			   t->data_chunks, t->hole_chunks);
	if (e.stream_bytes != t->stream_bytes || e.stream_csum != crc)
		return bad(r, "%s: stream checksum mismatch (%" PRIu64 " bytes, crc 0x%08x received; %" PRIu64 " bytes, crc 0x%08x sent)",
			   WHAT(r), t->stream_bytes, crc, e.stream_bytes, e.stream_csum);
	ret = read_full(r, &more, 1, &got);
	if (ret)
		return ret;
	if (got)
		return bad(r, "trailing bytes after the end record (record %" PRIu64 ")",
			   r->records_read);
	return 0;
}

static int next_bounds(struct send_reader *r, unsigned int type, uint32_t len)
{
	char w[96];

	switch (type) {
	case SEND_REC_DATA:
		if (!len || len > SEND_MAX_DATA)
			return bad(r, "%s: length %u is out of bounds: the stream is corrupted",
				   WHAT(r), len);
		return 0;
	case SEND_REC_HOLE:
		if (len)
			return bad(r, "%s: a hole record with %u bytes of payload: the stream is corrupted",
				   WHAT(r), len);
		return 0;
	case SEND_REC_END:
		if (len != sizeof(struct send_disk_end))
			return bad(r, "%s: length %u, an end record has %zu bytes: the stream is corrupted",
				   WHAT(r), len, sizeof(struct send_disk_end));
		return 0;
	case SEND_REC_HEADER:
		return bad(r, "record %" PRIu64 " is a second header: streams cannot be concatenated",
			   r->records_read);
	}
	return bad(r, "record %" PRIu64 ": unknown record type %u: the stream is corrupted",
		   r->records_read, type);
}

int send_reader_next(struct send_reader *r, struct send_record *rec)
{
	unsigned int type;
	uint32_t len;
	bool eof;
	int ret;

	if (r->ended)
		return bad(r, "read past the end record");
	ret = read_rec_header(r, &eof);
	if (ret)
		return ret;
	if (eof)
		return bad(r, "the stream ends after record %" PRIu64 " without an end record: it is truncated",
			   r->records_read - 1);
	type = le16toh(r->rec.type);
	len = le32toh(r->rec.len);
	ret = next_bounds(r, type, len);
	if (!ret)
		ret = read_payload(r, len);
	if (!ret)
		ret = check_csum(r);
	if (!ret)
		ret = check_order(r);
	if (ret)
		return ret;
	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	rec->seq = le64toh(r->rec.seq);
	if (type == SEND_REC_END) {
		ret = check_end(r);
		if (ret)
			return ret;
		r->ended = true;
		r->records_read++;
		return 0;
	}
	ret = check_range(r);
	if (ret)
		return ret;
	rec->chunk = le64toh(r->rec.chunk);
	rec->nr_chunks = le32toh(r->rec.nr_chunks);
	rec->len = len;
	rec->data = len ? r->data : NULL;
	r->next_seq++;
	r->next_chunk = rec->chunk + rec->nr_chunks;
	r->t.records++;
	if (type == SEND_REC_DATA) {
		r->t.data_chunks += rec->nr_chunks;
		r->t.data_bytes += len;
	} else {
		r->t.hole_chunks += rec->nr_chunks;
	}
	account(r);
	return 0;
}

void send_reader_lend(struct send_reader *r, void *buf, size_t cap)
{
	r->lent = buf;
	r->lent_cap = buf ? cap : 0;
}

void send_reader_close(struct send_reader *r)
{
	free(r->payload);
	r->payload = NULL;
	r->payload_cap = 0;
}
