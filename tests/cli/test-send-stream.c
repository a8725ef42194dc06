// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the send stream format (tools/dmcowctl/send/stream.c,
 * reader.c, writer.c): a stream written by the writer reads back record
 * for record; every kind of damage is refused with a message naming the
 * record: truncation at every byte, a flipped bit in every byte, records
 * swapped, dropped, duplicated, a wrong version, bad totals, trailing
 * bytes, concatenated streams, and records that are well formed on their
 * own (checksums recomputed) but do not fit the stream.
 *
 * Output: one PASS/FAIL line per check, last line "send-stream: N passed, N failed".
 */
#include "send/send.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "unit-check.h"

/*----------------------------------------------------------------*/
/* Streams in memory */

struct buf {
	unsigned char *p;
	size_t len, cap, pos;
};

static int buf_write(void *ctx, const void *data, size_t len)
{
	struct buf *b = ctx;

	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

/* Reads in odd-sized pieces, as a pipe would deliver them. */
static ssize_t buf_read(void *ctx, void *data, size_t len)
{
	struct buf *b = ctx;
	size_t n = b->len - b->pos;

	if (n > len)
		n = len;
	if (n > 7777)
		n = 7777;
	memcpy(data, b->p + b->pos, n);
	b->pos += n;
	return (ssize_t)n;
}

#define CHUNK_SECTORS 16u	/* 8 KiB */
#define SIZE_SECTORS (CHUNK_SECTORS * 300 - 5)	/* last chunk short */

struct layout {
	struct send_extent ext[8];
	unsigned int nr;
};

/* data 0-9, hole 10-139, data 140-269 (several records), hole, data at the end. */
static const struct layout std_layout = {
	.ext = {
		{ 0, 10, false }, { 10, 130, true }, { 140, 130, false },
		{ 270, 29, true }, { 299, 1, false },
	},
	.nr = 5,
};

static unsigned char pattern(uint64_t off)
{
	return (unsigned char)((off * 2654435761u) >> 13);
}

static void fill(unsigned char *d, uint64_t chunk, uint64_t len)
{
	uint64_t i, off = chunk * CHUNK_SECTORS * 512;

	for (i = 0; i < len; i++)
		d[i] = pattern(off + i);
}

/* Small enough to parse once per byte offset. */
static const struct layout small_layout = {
	.ext = {
		{ 0, 2, false }, { 2, 100, true }, { 102, 1, false },
		{ 103, 196, true }, { 299, 1, false },
	},
	.nr = 5,
};

/*
 * Offsets worth damaging: every byte outside data payloads, every 97th
 * inside them (each one is covered by the same checksum).
 */
static bool interesting(const struct buf *b, size_t off)
{
	const struct send_disk_rec *rec;
	size_t pos = 0, len;

	while (pos + sizeof(*rec) <= b->len) {
		rec = (const void *)(b->p + pos);
		len = sizeof(*rec) + le32toh(rec->len);
		if (off < pos + len)
			return off < pos + sizeof(*rec) + 8 ||
				le16toh(rec->type) != SEND_REC_DATA ||
				off + 8 >= pos + len || !(off % 97);
		pos += len;
	}
	return true;
}

static void std_header(struct send_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = SEND_VERSION;
	h->chunk_sectors = CHUNK_SECTORS;
	h->size_sectors = SIZE_SECTORS;
	memset(h->pool_uuid, 0xab, sizeof(h->pool_uuid));
	h->volume_id = 7;
	h->volume_ctime = 1700000000;
	strcpy(h->name, "snap1");
	h->target.txn = 42;
	h->target.fingerprint = 0x1234;
	h->target.token = send_ident_token(&h->target);
	h->first_seq = 1;
	h->created = 1700000001;
}

/*
 * Calls @fn for each record of @l from sequence number @first on: the
 * splitting of extents into records that the sender uses.
 */
static int each_record(const struct layout *l, uint64_t first,
		       int (*fn)(void *ctx, bool hole, uint64_t chunk, uint32_t nr),
		       void *ctx)
{
	uint64_t c, seq = 1;
	unsigned int i;
	uint32_t per, n;
	int r = 0;

	for (i = 0; !r && i < l->nr; i++) {
		per = send_extent_record_chunks(&l->ext[i], CHUNK_SECTORS);
		for (c = l->ext[i].chunk; !r && c < l->ext[i].chunk + l->ext[i].nr; c += n) {
			n = (uint32_t)(l->ext[i].chunk + l->ext[i].nr - c < per ?
				       l->ext[i].chunk + l->ext[i].nr - c : per);
			if (seq++ >= first)
				r = fn(ctx, l->ext[i].hole, c, n);
		}
	}
	return r;
}

static int count_fn(void *ctx, bool hole, uint64_t chunk, uint32_t nr)
{
	struct send_header *h = ctx;

	(void)chunk;
	if (hole)
		h->hole_chunks += nr;
	else
		h->data_chunks += nr;
	return 0;
}

static int emit_fn(void *ctx, bool hole, uint64_t chunk, uint32_t nr)
{
	static unsigned char data[SEND_MAX_DATA];
	struct send_writer *w = ctx;

	if (hole)
		return send_writer_hole(w, chunk, nr);
	fill(data, chunk, send_range_bytes(SIZE_SECTORS, CHUNK_SECTORS, chunk, nr));
	return send_writer_data(w, chunk, nr, data);
}

/* Writes the records of @l from record h->first_seq on. */
static int write_stream(struct send_writer *w, send_write_fn fn, void *ctx,
			const struct layout *l, struct send_header *h)
{
	int r;

	h->data_chunks = h->hole_chunks = 0;
	each_record(l, h->first_seq, count_fn, h);
	r = send_writer_begin(w, fn, ctx, h);
	if (!r)
		r = each_record(l, h->first_seq, emit_fn, w);
	return r ? r : send_writer_end(w);
}

static struct buf make_stream(const struct layout *l)
{
	struct send_writer w;
	struct send_header h;
	struct buf b = { 0 };

	std_header(&h);
	if (write_stream(&w, buf_write, &b, l, &h))
		abort();
	return b;
}

/* Parses @b to the end; returns 0 or the error, with the message in @err. */
static int parse(struct buf *b, char *err, size_t errlen, uint64_t *records)
{
	struct send_reader r;
	struct send_record rec;
	int ret;

	b->pos = 0;
	*records = 0;
	ret = send_reader_open(&r, buf_read, b);
	while (!ret) {
		ret = send_reader_next(&r, &rec);
		if (!ret)
			++*records;
		if (!ret && rec.type == SEND_REC_END)
			break;
	}
	snprintf(err, errlen, "%s", ret ? r.err : "");
	send_reader_close(&r);
	return ret;
}

/*----------------------------------------------------------------*/
/* Rewriting records of a stream */

struct recpos {
	size_t off, len;	/* header and payload */
};

static unsigned int index_records(const struct buf *b, struct recpos *pos, unsigned int max)
{
	const struct send_disk_rec *rec;
	unsigned int n = 0;
	size_t off = 0;

	while (off + sizeof(*rec) <= b->len && n < max) {
		rec = (const void *)(b->p + off);
		pos[n].off = off;
		pos[n].len = sizeof(*rec) + le32toh(rec->len);
		off += pos[n].len;
		n++;
	}
	return n;
}

static void recsum(unsigned char *p)
{
	struct send_disk_rec *rec = (void *)p;
	uint32_t crc;

	rec->csum = 0;
	crc = send_crc32c(SEND_CRC_INIT, p, sizeof(*rec) + le32toh(rec->len));
	rec->csum = htole32(send_crc_final(crc));
}

/* A copy of @b with records i and j swapped. */
static struct buf swapped(const struct buf *b, const struct recpos *pos,
			  unsigned int i, unsigned int j)
{
	struct buf c = { .p = malloc(b->len), .len = b->len };
	size_t o = 0;
	unsigned int k, src;

	for (k = 0; pos[k].off + pos[k].len <= b->len && o < b->len; k++) {
		src = k == i ? j : k == j ? i : k;
		memcpy(c.p + o, b->p + pos[src].off, pos[src].len);
		o += pos[src].len;
	}
	return c;
}

/* A copy of @b without record i (or with it twice). */
static struct buf dropped(const struct buf *b, const struct recpos *pos,
			  unsigned int i, bool twice)
{
	struct buf c = { .p = malloc(b->len + pos[i].len) };

	memcpy(c.p, b->p, pos[i].off);
	c.len = pos[i].off;
	if (twice) {
		memcpy(c.p + c.len, b->p + pos[i].off, pos[i].len);
		memcpy(c.p + c.len + pos[i].len, b->p + pos[i].off, pos[i].len);
		c.len += 2 * pos[i].len;
	}
	memcpy(c.p + c.len, b->p + pos[i].off + pos[i].len,
	       b->len - pos[i].off - pos[i].len);
	c.len += b->len - pos[i].off - pos[i].len;
	return c;
}

static struct buf copy(const struct buf *b)
{
	struct buf c = { .p = malloc(b->len + 16), .len = b->len };

	memcpy(c.p, b->p, b->len);
	return c;
}

static void expect_bad(struct buf *b, const char *name, const char *want)
{
	char err[512];
	uint64_t n;
	int r = parse(b, err, sizeof(err), &n);

	check(r == -EBADMSG && strstr(err, want), "%s refused: '%s' (want '%s', r=%d)", name,
	      err, want, r);
}

/*----------------------------------------------------------------*/

static void test_round_trip(void)
{
	static unsigned char want[SEND_MAX_DATA];
	struct buf b = make_stream(&std_layout);
	struct send_reader r;
	struct send_record rec;
	uint64_t data = 0, holes = 0, nrec = 0, next = 0;
	bool data_ok = true, order_ok = true;
	int ret;

	b.pos = 0;
	ret = send_reader_open(&r, buf_read, &b);
	check(!ret, "round trip: header opens (%s)", ret ? r.err : "ok");
	check(!ret && r.hdr.volume_id == 7 && !strcmp(r.hdr.name, "snap1") &&
	      r.hdr.size_sectors == SIZE_SECTORS && r.hdr.chunk_sectors == CHUNK_SECTORS &&
	      r.hdr.target.txn == 42 && r.hdr.pool_uuid[3] == 0xab &&
	      r.hdr.created == 1700000001,
	      "round trip: header fields");
	while (!ret) {
		ret = send_reader_next(&r, &rec);
		if (ret || rec.type == SEND_REC_END)
			break;
		nrec++;
		order_ok &= rec.chunk >= next && rec.seq == nrec;
		next = rec.chunk + rec.nr_chunks;
		if (rec.type == SEND_REC_HOLE) {
			holes += rec.nr_chunks;
			continue;
		}
		data += rec.nr_chunks;
		fill(want, rec.chunk, rec.len);
		data_ok &= !memcmp(want, rec.data, rec.len) &&
			rec.len == send_range_bytes(SIZE_SECTORS, CHUNK_SECTORS, rec.chunk,
						    rec.nr_chunks);
	}
	check(!ret && rec.type == SEND_REC_END, "round trip: reads to the end record (%s)",
	      ret ? r.err : "ok");
	check(data == 141 && holes == 159, "round trip: 141 data and 159 hole chunks (%" PRIu64 ", %" PRIu64 ")",
	      data, holes);
	/* 130 data chunks of 8 KiB, 128 a record: 2 records; the rest 1 each. */
	check(nrec == 5 + 1, "round trip: 6 data and hole records (%" PRIu64 ")", nrec);
	check(data_ok, "round trip: every data byte and length as written");
	check(order_ok, "round trip: sequence numbers and chunks in order");
	check(r.t.data_bytes == (140ULL * 8192 + 8192 - 5 * 512),
	      "round trip: data bytes count the short last chunk (%" PRIu64 ")", r.t.data_bytes);
	ret = send_reader_next(&r, &rec);
	check(ret == -EBADMSG, "reading past the end record is refused");
	send_reader_close(&r);
	free(b.p);
}

/*
 * send_crc32c_append() against summing the bytes: random registers, split
 * points and lengths (0, 1, odd, a full data record), so that a wrong
 * power of x or a wrong bit order shows.
 */
static void test_crc_append(void)
{
	static unsigned char bytes[SEND_MAX_DATA + 77];
	static const size_t lens[] = { 0, 1, 3, 40, 511, 4096, 65536 + 5, SEND_MAX_DATA };
	unsigned int i, bad = 0, tries = 0;
	uint32_t seed = 12345, crc, direct, appended;
	size_t head, len;

	for (i = 0; i < sizeof(bytes); i++) {
		seed = seed * 1103515245u + 12345u;
		bytes[i] = (unsigned char)(seed >> 16);
	}
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]) * 4; i++, tries++) {
		len = lens[i % (sizeof(lens) / sizeof(lens[0]))];
		head = (i * 37) % 77;
		crc = send_crc32c(i & 1 ? SEND_CRC_INIT : 0x1234567u * i, bytes, head);
		direct = send_crc32c(crc, bytes + head, len);
		appended = send_crc32c_append(crc, send_crc32c(0, bytes + head, len), len);
		if (direct != appended) {
			if (!bad)
				printf("# crc append: %zu bytes after %zu: 0x%08x, summed 0x%08x\n",
				       len, head, appended, direct);
			bad++;
		}
	}
	check(!bad, "crc append equals summing the bytes (%u of %u differ)", bad, tries);
}

/*
 * The checksums the writer puts in a stream (each record's, and the end
 * record's over the stream), recomputed here from the bytes written.
 */
static void test_stream_checksums(void)
{
	struct buf b = make_stream(&std_layout);
	struct recpos pos[64];
	unsigned int n = index_records(&b, pos, 64), i, bad = 0;
	struct send_disk_rec *rec;
	struct send_disk_end end;
	uint32_t stored, crc;

	for (i = 0; i < n; i++) {
		rec = (void *)(b.p + pos[i].off);
		stored = le32toh(rec->csum);
		rec->csum = 0;
		crc = send_crc_final(send_crc32c(SEND_CRC_INIT, rec, pos[i].len));
		rec->csum = htole32(stored);
		bad += crc != stored;
	}
	check(n > 3 && !bad, "every record's checksum is the crc32c of its bytes (%u of %u differ)",
	      bad, n);
	memcpy(&end, b.p + pos[n - 1].off + sizeof(*rec), sizeof(end));
	crc = send_crc_final(send_crc32c(SEND_CRC_INIT, b.p, pos[n - 1].off));
	check(le32toh(end.stream_csum) == crc && le64toh(end.stream_bytes) == pos[n - 1].off,
	      "the end record's stream checksum is the crc32c of the bytes before it (0x%08x, summed 0x%08x)",
	      le32toh(end.stream_csum), crc);
	free(b.p);
}

/*
 * Applies stream @b to @fd as receive does (each record read into a buffer
 * the applier lends); *lent_used counts the data records read into it.
 * Returns the first error; the applier is left open (sync and close next).
 */
static int apply_to(int fd, struct buf *b, struct send_apply *ap, struct send_reader *r,
		    unsigned int *data_recs, unsigned int *lent_used)
{
	struct send_record rec = { 0 };
	size_t cap;
	void *buf;
	int ret;

	memset(ap, 0, sizeof(*ap));
	ap->fd = fd;
	ap->chunk_sectors = CHUNK_SECTORS;
	ap->size_sectors = SIZE_SECTORS;
	*data_recs = *lent_used = 0;
	ret = send_apply_open(ap);
	b->pos = 0;
	if (!ret)
		ret = send_reader_open(r, buf_read, b);
	while (!ret) {
		ret = send_apply_buffer(ap, &buf, &cap);
		if (ret)
			break;
		send_reader_lend(r, buf, cap);
		ret = send_reader_next(r, &rec);
		if (ret || rec.type == SEND_REC_END)
			break;
		if (rec.type == SEND_REC_DATA) {
			(*data_recs)++;
			*lent_used += rec.data == buf;
		}
		ret = send_apply_record(ap, &rec);
	}
	return ret;
}

/* Chunks of @fd that differ from the standard layout (holes: zeroes). */
static unsigned int layout_mismatches(int fd)
{
	static unsigned char want[SEND_MAX_DATA], got[SEND_MAX_DATA];
	uint64_t off, chunk, len;
	unsigned int bad = 0;
	bool hole;

	for (off = 0; off < SIZE_SECTORS * 512ULL; off += CHUNK_SECTORS * 512) {
		chunk = off / (CHUNK_SECTORS * 512);
		len = CHUNK_SECTORS * 512;
		hole = (chunk >= 10 && chunk < 140) || (chunk >= 270 && chunk < 299);
		if (off + len > SIZE_SECTORS * 512ULL)
			len = SIZE_SECTORS * 512ULL - off;
		if (hole)
			memset(want, 0, len);
		else
			fill(want, chunk, len);
		bad += pread(fd, got, len, (off_t)off) != (ssize_t)len || memcmp(got, want, len);
	}
	return bad;
}

/*
 * Applying a stream with asynchronous writes (send/apply.c) to a file:
 * every data record is read into a lent buffer and written from it, the
 * file ends as the layout says (holes untouched), and a failed write is
 * reported with the first record that did not make it.
 */
static void test_apply(void)
{
	char path[] = "/tmp/test-send-apply.XXXXXX";
	struct buf b = make_stream(&std_layout);
	unsigned int lent_used, data_recs;
	struct send_apply ap;
	struct send_reader r;
	uint64_t durable = 0;
	int fd, ret;

	fd = mkstemp(path);
	check(fd >= 0, "apply: a scratch file");
	if (fd < 0)
		return;
	ret = apply_to(fd, &b, &ap, &r, &data_recs, &lent_used);
	check(ap.aio, "apply: asynchronous writes set up");
	check(!ret, "apply: every record applied (%s)", ret ? ap.err : "ok");
	check(data_recs == 4 && lent_used == data_recs,
	      "apply: each data record read into the buffer it is written from (%u of %u)",
	      lent_used, data_recs);
	ret = send_apply_sync(&ap, &durable);
	check(!ret && durable == SEND_NO_SEQ, "apply: sync waits for every write (%d)", ret);
	send_apply_close(&ap);
	send_reader_close(&r);
	check(!layout_mismatches(fd),
	      "apply: the file holds every data chunk, and nothing in the holes (%u chunks differ)",
	      layout_mismatches(fd));
	close(fd);

	/* A descriptor that cannot be written: the first data record fails. */
	fd = open(path, O_RDONLY);
	ret = apply_to(fd, &b, &ap, &r, &data_recs, &lent_used);
	check(ret == -EBADF && strstr(ap.err, "record 1: writing 81920 bytes at byte 0"),
	      "apply: a failed write names its record (%d: %s)", ret, ap.err);
	ret = send_apply_sync(&ap, &durable);
	check(ret == -EBADF && durable == 1,
	      "apply: after a failed write, the records before it are the durable ones (%" PRIu64 ")",
	      durable);
	send_apply_close(&ap);
	send_reader_close(&r);
	close(fd);
	unlink(path);
	free(b.p);
}

static void test_dry_run_size(void)
{
	struct buf b = make_stream(&std_layout);
	struct send_writer w;
	struct send_header h;

	std_header(&h);
	check(!write_stream(&w, NULL, NULL, &std_layout, &h) &&
	      w.t.stream_bytes + sizeof(struct send_disk_rec) + sizeof(struct send_disk_end) == b.len,
	      "counting writer: stream size %zu without data", b.len);
	free(b.p);
}

static void test_truncation(void)
{
	struct buf b = make_stream(&small_layout), c;
	char err[512];
	size_t cut, bad = 0, msg = 0, tried = 0;
	uint64_t n;

	for (cut = 0; cut < b.len; cut++) {
		if (!interesting(&b, cut))
			continue;
		tried++;
		c = b;
		c.len = cut;
		if (parse(&c, err, sizeof(err), &n) != -EBADMSG)
			bad++;
		else if (!strstr(err, cut ? "truncated" : "empty"))
			msg++;
	}
	check(!bad, "truncated at %zu offsets of %zu: all refused (%zu accepted)", tried, b.len, bad);
	check(!msg, "truncated: every message says so (%zu do not)", msg);
	free(b.p);
}

static void test_bit_flips(void)
{
	struct buf b = make_stream(&small_layout), c;
	char err[512], first[512] = "";
	size_t i, accepted = 0, unnamed = 0, tried = 0;
	uint64_t n;

	c = copy(&b);
	for (i = 0; i < b.len; i++) {
		if (!interesting(&b, i))
			continue;
		tried++;
		c.p[i] ^= (unsigned char)(1u << (i % 8));
		if (parse(&c, err, sizeof(err), &n) != -EBADMSG)
			accepted++;
		else if (!strstr(err, "record") && !strstr(err, "stream"))
			unnamed++;
		else if (!first[0] && i > 40 + 256 + 40)
			snprintf(first, sizeof(first), "%s", err);
		c.p[i] = b.p[i];
	}
	check(!accepted, "a flipped bit in %zu bytes of %zu: all refused (%zu accepted)",
	      tried, b.len, accepted);
	check(!unnamed, "flipped bits: every message names the record (%zu do not)", unnamed);
	check(strstr(first, "record 1 (data, chunks 0-1): checksum mismatch") != NULL,
	      "a flipped data bit: '%s'", first);
	free(c.p);
	free(b.p);
}

static void test_reorder(void)
{
	struct buf b = make_stream(&std_layout), c;
	struct recpos pos[16];
	unsigned int nr = index_records(&b, pos, 16);

	check(nr == 8, "the stream has 8 records (%u)", nr);
	c = swapped(&b, pos, 2, 3);
	expect_bad(&c, "records 2 and 3 swapped",
		   "record 2 (data, chunks 140-267): sequence number 3, expected 2: records are missing or out of order");
	free(c.p);
	c = swapped(&b, pos, 1, 5);
	expect_bad(&c, "records 1 and 5 swapped", "record 1 (hole, chunks 270-298): sequence number 5, expected 1");
	free(c.p);
	c = dropped(&b, pos, 3, false);
	expect_bad(&c, "record 3 dropped", "record 3 (data, chunks 268-269): sequence number 4, expected 3");
	free(c.p);
	c = dropped(&b, pos, 3, true);
	expect_bad(&c, "record 3 twice", "record 4 (data, chunks 140-267): sequence number 3, expected 4");
	free(c.p);
	c = dropped(&b, pos, 7, false);
	expect_bad(&c, "end record dropped", "the stream ends after record 6 without an end record: it is truncated");
	free(c.p);
	c = dropped(&b, pos, 0, false);
	expect_bad(&c, "header dropped", "record 0 is a data record, not a header");
	free(c.p);
	free(b.p);
}

static void test_version(void)
{
	struct buf b = make_stream(&std_layout), c;
	struct send_disk_header *d;

	c = copy(&b);
	d = (void *)(c.p + sizeof(struct send_disk_rec));
	d->version = htole32(2);
	recsum(c.p);
	expect_bad(&c, "version 2 (checksummed)",
		   "record 0 (header): stream version 2 is not supported (this dmcowctl reads version 1)");
	d->version = htole32(0);
	expect_bad(&c, "version 0 (checksum stale)", "stream version 0 is not supported");
	free(c.p);
	c = copy(&b);
	c.p[0] ^= 1;
	expect_bad(&c, "bad magic", "record 0: bad magic 0x53574f42: this is not a dmcowctl send stream");
	free(c.p);
	free(b.p);
}

/* Damage that keeps every record's checksum right: the stream must still catch it. */
static void test_consistent_records(void)
{
	struct buf b = make_stream(&std_layout), c, two;
	struct recpos pos[16];
	struct send_disk_rec *rec;
	struct send_disk_end *e;
	struct send_disk_header *d;

	index_records(&b, pos, 16);
	c = copy(&b);
	c.p[pos[1].off + sizeof(*rec) + 100] ^= 0x40;
	recsum(c.p + pos[1].off);
	expect_bad(&c, "data changed, record checksum recomputed",
		   "record 7 (end): stream checksum mismatch");
	free(c.p);

	c = copy(&b);
	rec = (void *)(c.p + pos[5].off);	/* hole 270-298 */
	rec->chunk = htole64(260);
	recsum(c.p + pos[5].off);
	expect_bad(&c, "overlapping ranges", "record 5 (hole, chunks 260-288): starts below chunk 270");
	free(c.p);

	c = copy(&b);
	rec = (void *)(c.p + pos[5].off);
	rec->nr_chunks = htole32(40);
	recsum(c.p + pos[5].off);
	expect_bad(&c, "a hole past the end", "record 5 (hole, chunks 270-309): beyond the end of the volume (300 chunks)");
	free(c.p);

	c = copy(&b);
	rec = (void *)(c.p + pos[1].off);	/* data 0-9 */
	rec->nr_chunks = htole32(9);
	recsum(c.p + pos[1].off);
	expect_bad(&c, "data length not matching the range",
		   "record 1 (data, chunks 0-8): 81920 bytes of data for 73728 bytes of chunks");
	free(c.p);

	c = copy(&b);
	e = (void *)(c.p + pos[7].off + sizeof(*rec));
	e->data_chunks = htole64(le64toh(e->data_chunks) + 1);
	recsum(c.p + pos[7].off);
	expect_bad(&c, "end totals wrong", "record 7 (end): totals differ");
	free(c.p);

	c = copy(&b);
	e = (void *)(c.p + pos[7].off + sizeof(*rec));
	e->records = htole64(9);
	recsum(c.p + pos[7].off);
	expect_bad(&c, "end record count wrong", "the stream has 6 data and hole records, the end record counts 9");
	free(c.p);

	c = copy(&b);
	d = (void *)(c.p + sizeof(*rec));
	d->data_chunks = htole64(le64toh(d->data_chunks) - 1);
	recsum(c.p);
	expect_bad(&c, "header announces other totals", "the header announced 140 data and 159 hole chunks");
	free(c.p);

	c = copy(&b);
	d = (void *)(c.p + sizeof(*rec));
	d->chunk_sectors = htole32(24);
	recsum(c.p);
	expect_bad(&c, "chunk size not a power of two", "record 0 (header): chunk size 24 sectors");
	free(c.p);

	c = copy(&b);
	d = (void *)(c.p + sizeof(*rec));
	d->flags = htole32(SEND_HDR_INCREMENTAL);
	recsum(c.p);
	expect_bad(&c, "incremental without a base", "an incremental stream names no base");
	free(c.p);

	c = copy(&b);
	c.p[c.len++] = 0;
	expect_bad(&c, "a trailing byte", "trailing bytes after the end record");
	free(c.p);

	two.p = malloc(2 * b.len);
	memcpy(two.p, b.p, pos[7].off);
	memcpy(two.p + pos[7].off, b.p, b.len);
	two.len = pos[7].off + b.len;
	expect_bad(&two, "a second stream before the end", "record 7 is a second header");
	free(two.p);
	free(b.p);
}

static void test_resumed(void)
{
	struct send_writer w;
	struct send_header h;
	struct buf b = { 0 };
	struct send_reader r;
	struct send_record rec;
	uint64_t first = 0;
	int ret;

	std_header(&h);
	h.flags = SEND_HDR_RESUMED;
	h.first_seq = 4;	/* data 268-269 */
	h.first_chunk = 268;
	ret = write_stream(&w, buf_write, &b, &std_layout, &h);
	b.pos = 0;
	if (!ret)
		ret = send_reader_open(&r, buf_read, &b);
	if (!ret)
		ret = send_reader_next(&r, &rec);
	if (!ret)
		first = rec.chunk;
	while (!ret && rec.type != SEND_REC_END)
		ret = send_reader_next(&r, &rec);
	check(!ret && first == 268 && r.t.records == 3,
	      "a resumed stream from record 4 (chunk 268) reads (%s, first %" PRIu64 ", %" PRIu64 " records)",
	      ret ? r.err : "ok", first, r.t.records);
	send_reader_close(&r);
	free(b.p);

	std_header(&h);
	h.first_seq = 4;
	h.first_chunk = 268;
	b = (struct buf){ 0 };
	write_stream(&w, buf_write, &b, &std_layout, &h);
	expect_bad(&b, "a start record without the resumed flag",
		   "a stream that is not resumed starts at record 4, chunk 268");
	free(b.p);
}

static void test_identity(void)
{
	struct send_root a = { 100, 7, 50 }, b = a;
	struct send_ident i = { .txn = 7 }, j;
	uint8_t u1[16], u2[16];
	uint8_t pool[16] = { 1, 2, 3 };

	send_volume_uuid(pool, 5, 1000, u1);
	send_volume_uuid(pool, 6, 1000, u2);
	check(memcmp(u1, u2, 16) != 0, "volume uuids differ by id");
	send_volume_uuid(pool, 5, 1001, u2);
	check(memcmp(u1, u2, 16) != 0, "volume uuids differ by creation time");
	send_volume_uuid(pool, 5, 1000, u2);
	check(!memcmp(u1, u2, 16), "volume uuids are stable");
	b.txn = 8;
	check(send_root_fingerprint(&a, 1024) != send_root_fingerprint(&b, 1024),
	      "fingerprint follows the root's stamp");
	b = a;
	b.count = 51;
	check(send_root_fingerprint(&a, 1024) != send_root_fingerprint(&b, 1024),
	      "fingerprint follows the mapped count");
	check(send_root_fingerprint(&a, 1024) != send_root_fingerprint(&a, 2048),
	      "fingerprint follows the size");
	check(!(send_local_mark(&a, 1024) & SEND_MARK_PARTIAL), "a complete mark is not partial");
	memcpy(i.uuid, u1, 16);
	i.fingerprint = send_root_fingerprint(&a, 1024);
	j = i;
	j.uuid[15] ^= 1;
	check(send_ident_token(&i) != send_ident_token(&j) && send_ident_token(&i),
	      "tokens follow the uuid and are never 0");
}

/* Where the data chunks are: runs merge only where both sides continue. */
static void test_runs(void)
{
	static const uint64_t map[][2] = {	/* vchunk, dchunk */
		{ 0, 10 }, { 1, 11 }, { 2, 12 },	/* one run */
		{ 3, 40 },				/* jumps on the device */
		{ 5, 41 },				/* a hole at 4 */
		{ 6, 7 }, { 7, 8 },
	};
	struct send_plan p = { .chunk_sectors = 128 };
	const struct send_run *r;
	unsigned int i;
	int ret = 0;

	for (i = 0; !ret && i < sizeof(map) / sizeof(map[0]); i++)
		ret = send_plan_add_run(&p, map[i][0], map[i][1]);
	check(!ret && p.nr_runs == 4, "7 mappings make 4 runs (%zu)", p.nr_runs);
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		r = send_plan_run(&p, map[i][0]);
		check(r && r->dchunk + (map[i][0] - r->vchunk) == map[i][1],
		      "chunk %" PRIu64 " is found at data chunk %" PRIu64, map[i][0], map[i][1]);
	}
	check(!send_plan_run(&p, 4) && !send_plan_run(&p, 8),
	      "chunks without a mapping have no run");
	send_plan_free(&p);
}

/* Seeds for the fuzz target (tests/fuzz/corpus/send-stream). */
static int write_seeds(const char *dir)
{
	static const struct layout tiny = {
		.ext = { { 0, 1, false }, { 1, 297, true }, { 298, 2, false } },
		.nr = 3,
	};
	struct send_writer w;
	struct send_header h;
	char path[512];
	unsigned int i;
	FILE *f;

	for (i = 0; i < 3; i++) {
		struct buf b = { 0 };

		std_header(&h);
		if (i == 1) {
			h.flags = SEND_HDR_INCREMENTAL;
			h.base.txn = 9;
			h.base.token = send_ident_token(&h.base);
		} else if (i == 2) {
			h.flags = SEND_HDR_RESUMED;
			h.first_seq = 3;
			h.first_chunk = 298;
		}
		if (write_stream(&w, buf_write, &b, &tiny, &h))
			return 1;
		snprintf(path, sizeof(path), "%s/%s", dir,
			 i == 0 ? "full" : i == 1 ? "incremental" : "resumed");
		f = fopen(path, "w");
		if (!f || fwrite(b.p, 1, b.len, f) != b.len || fclose(f))
			return 1;
		free(b.p);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--seeds"))
		return write_seeds(argv[2]);
	test_crc_append();
	test_round_trip();
	test_stream_checksums();
	test_apply();
	test_dry_run_size();
	test_truncation();
	test_bit_flips();
	test_reorder();
	test_version();
	test_consistent_records();
	test_resumed();
	test_identity();
	test_runs();
	printf("send-stream: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
