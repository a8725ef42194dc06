// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl send/receive: the stream format (see send.h and
 * Documentation/admin-guide/device-mapper/cowtree-send-stream.rst):
 * conversions, checksums, identities and how extents become records.
 */
#include "send/send.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/crc.h>
#include <isa-l/crc64.h>

_Static_assert(sizeof(struct send_disk_rec) == 40, "record header layout");
_Static_assert(sizeof(struct send_disk_ident) == 40, "identity layout");
_Static_assert(sizeof(struct send_disk_header) == 256, "header layout");
_Static_assert(sizeof(struct send_disk_end) == 48, "end record layout");

uint32_t send_crc32c(uint32_t crc, const void *buf, size_t len)
{
	/* isa-l's crc32_iscsi applies no inversion: ~0 in, ~ out by the caller. */
	while (len > 0x40000000u) {
		crc = crc32_iscsi((unsigned char *)buf, 0x40000000, crc);
		buf = (const unsigned char *)buf + 0x40000000u;
		len -= 0x40000000u;
	}
	return crc32_iscsi((unsigned char *)buf, (int)len, crc);
}

/*
 * crc32c is linear over GF(2): crc(s, A.B) = s * x^(8|B|) mod P + crc(0, B),
 * in the reflected bit order of the register (bit 31 is x^0), as in zlib's
 * crc32_combine.
 */
#define CRC32C_POLY_REFLECTED 0x82f63b78u

static uint32_t gf2_multmodp(uint32_t a, uint32_t b)
{
	uint32_t m = 1u << 31, p = 0;

	if (!a)
		return 0;
	for (;;) {
		if (a & m) {
			p ^= b;
			if (!(a & (m - 1)))
				break;
		}
		m >>= 1;
		b = b & 1 ? (b >> 1) ^ CRC32C_POLY_REFLECTED : b >> 1;
	}
	return p;
}

/*
 * x^(8 len) mod P: the product of x^(2^k) for the set bits k of 8 len.  The
 * powers are squared once, on first use (the same values whoever computes
 * them): a record of one chunk then costs two products, not twenty.
 */
static uint32_t x8nmodp(uint64_t len)
{
	static uint32_t x2k[64];
	uint32_t p = 1u << 31, sq = 1u << 30;	/* x^0, x^1 */
	uint64_t n = len << 3;
	unsigned int k;

	if (!x2k[0]) {
		for (k = 1; k < 64; k++)
			x2k[k] = sq = gf2_multmodp(sq, sq);
		x2k[0] = 1u << 30;	/* last: the table is complete */
	}
	for (k = 0; n; n >>= 1, k++)
		if (n & 1)
			p = gf2_multmodp(x2k[k], p);
	return p;
}

uint32_t send_crc32c_append(uint32_t crc, uint32_t tail, uint64_t len)
{
	return gf2_multmodp(x8nmodp(len), crc) ^ tail;
}

const char *send_rec_type_name(unsigned int type)
{
	switch (type) {
	case SEND_REC_HEADER:
		return "header";
	case SEND_REC_DATA:
		return "data";
	case SEND_REC_HOLE:
		return "hole";
	case SEND_REC_END:
		return "end";
	}
	return "unknown";
}

uint64_t send_nr_chunks(uint64_t size_sectors, uint32_t chunk_sectors)
{
	return (size_sectors + chunk_sectors - 1) / chunk_sectors;
}

uint64_t send_range_bytes(uint64_t size_sectors, uint32_t chunk_sectors,
			  uint64_t chunk, uint64_t nr)
{
	uint64_t begin = chunk * chunk_sectors, end = (chunk + nr) * chunk_sectors;

	if (end > size_sectors)
		end = size_sectors;
	return end > begin ? (end - begin) * 512 : 0;
}

uint32_t send_data_max_chunks(uint32_t chunk_sectors)
{
	uint32_t n = SEND_MAX_DATA / (chunk_sectors * 512u);

	return n ? n : 1;
}

/*----------------------------------------------------------------*/

static void ident_to_disk(const struct send_ident *i, struct send_disk_ident *d)
{
	memcpy(d->uuid, i->uuid, sizeof(d->uuid));
	d->txn = htole64(i->txn);
	d->fingerprint = htole64(i->fingerprint);
	d->token = htole64(i->token);
}

static void ident_from_disk(const struct send_disk_ident *d, struct send_ident *i)
{
	memcpy(i->uuid, d->uuid, sizeof(i->uuid));
	i->txn = le64toh(d->txn);
	i->fingerprint = le64toh(d->fingerprint);
	i->token = le64toh(d->token);
}

void send_header_to_disk(const struct send_header *h, struct send_disk_header *d)
{
	memset(d, 0, sizeof(*d));
	d->version = htole32(h->version);
	d->flags = htole32(h->flags);
	d->chunk_sectors = htole32(h->chunk_sectors);
	d->size_sectors = htole64(h->size_sectors);
	memcpy(d->pool_uuid, h->pool_uuid, sizeof(d->pool_uuid));
	d->volume_id = htole64(h->volume_id);
	d->volume_ctime = htole64(h->volume_ctime);
	memcpy(d->name, h->name, strnlen(h->name, sizeof(d->name) - 1));
	ident_to_disk(&h->target, &d->target);
	ident_to_disk(&h->base, &d->base);
	d->first_seq = htole64(h->first_seq);
	d->first_chunk = htole64(h->first_chunk);
	d->data_chunks = htole64(h->data_chunks);
	d->hole_chunks = htole64(h->hole_chunks);
	d->created = htole64(h->created);
}

void send_header_from_disk(const struct send_disk_header *d, struct send_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = le32toh(d->version);
	h->flags = le32toh(d->flags);
	h->chunk_sectors = le32toh(d->chunk_sectors);
	h->size_sectors = le64toh(d->size_sectors);
	memcpy(h->pool_uuid, d->pool_uuid, sizeof(h->pool_uuid));
	h->volume_id = le64toh(d->volume_id);
	h->volume_ctime = le64toh(d->volume_ctime);
	memcpy(h->name, d->name, sizeof(h->name));
	h->name[sizeof(h->name) - 1] = '\0';
	ident_from_disk(&d->target, &h->target);
	ident_from_disk(&d->base, &h->base);
	h->first_seq = le64toh(d->first_seq);
	h->first_chunk = le64toh(d->first_chunk);
	h->data_chunks = le64toh(d->data_chunks);
	h->hole_chunks = le64toh(d->hole_chunks);
	h->created = le64toh(d->created);
}

void send_end_to_disk(const struct send_totals *t, struct send_disk_end *d)
{
	memset(d, 0, sizeof(*d));
	d->records = htole64(t->records);
	d->data_chunks = htole64(t->data_chunks);
	d->hole_chunks = htole64(t->hole_chunks);
	d->data_bytes = htole64(t->data_bytes);
	d->stream_bytes = htole64(t->stream_bytes);
	d->stream_csum = htole32(t->stream_csum);
}

void send_end_from_disk(const struct send_disk_end *d, struct send_totals *t)
{
	t->records = le64toh(d->records);
	t->data_chunks = le64toh(d->data_chunks);
	t->hole_chunks = le64toh(d->hole_chunks);
	t->data_bytes = le64toh(d->data_bytes);
	t->stream_bytes = le64toh(d->stream_bytes);
	t->stream_csum = le32toh(d->stream_csum);
}

/*----------------------------------------------------------------*/
/* Identities: 64-bit hashes are crc64 (ECMA-182) of little-endian fields. */

static uint64_t hash_u64s(uint64_t seed, const uint64_t *v, unsigned int nr,
			  const uint8_t *bytes, size_t nr_bytes)
{
	uint64_t le, h = seed;
	unsigned int i;

	if (bytes)
		h = crc64_ecma_refl(h, bytes, nr_bytes);
	for (i = 0; i < nr; i++) {
		le = htole64(v[i]);
		h = crc64_ecma_refl(h, (const uint8_t *)&le, sizeof(le));
	}
	return h;
}

void send_volume_uuid(const uint8_t pool_uuid[16], uint64_t id, uint64_t ctime,
		      uint8_t uuid[16])
{
	const uint64_t v[2] = { id, ctime };
	uint64_t a = htole64(hash_u64s(0x766f6c756d652d31ULL, v, 2, pool_uuid, 16));
	uint64_t b = htole64(hash_u64s(0x766f6c756d652d32ULL, v, 2, pool_uuid, 16));

	memcpy(uuid, &a, 8);
	memcpy(uuid + 8, &b, 8);
	/* RFC 4122 variant, "version 8" (custom). */
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x80);
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
}

uint64_t send_root_fingerprint(const struct send_root *root, uint64_t size_sectors)
{
	const uint64_t v[4] = { root->blocknr, root->txn, root->count, size_sectors };

	return hash_u64s(0x6d617070696e6773ULL, v, 4, NULL, 0);
}

uint64_t send_ident_token(const struct send_ident *id)
{
	const uint64_t v[2] = { id->txn, id->fingerprint };
	uint64_t h = hash_u64s(0x6964656e74697479ULL, v, 2, id->uuid, 16);

	/* 0 means "none" in a volume record. */
	return h ? h : 1;
}

/*----------------------------------------------------------------*/

uint32_t send_extent_record_chunks(const struct send_extent *e, uint32_t chunk_sectors)
{
	return e->hole ? SEND_MAX_HOLE_CHUNKS : send_data_max_chunks(chunk_sectors);
}

uint64_t send_extent_records(const struct send_extent *e, uint32_t chunk_sectors)
{
	uint64_t per = send_extent_record_chunks(e, chunk_sectors);

	return (e->nr + per - 1) / per;
}

/*----------------------------------------------------------------*/
/* Volumes */

bool send_vol_partial(const struct send_vol *v)
{
	return v->received_from && (v->received_mark & SEND_MARK_PARTIAL);
}

bool send_vol_pristine(const struct send_vol *v)
{
	return v->received_from && !send_vol_partial(v) &&
		v->received_mark == send_local_mark(&v->root, v->size_sectors);
}

void send_vol_ident(const uint8_t pool_uuid[16], const struct send_vol *v,
		    struct send_ident *id)
{
	send_volume_uuid(pool_uuid, v->id, v->ctime, id->uuid);
	id->txn = v->root.txn;
	id->fingerprint = send_root_fingerprint(&v->root, v->size_sectors);
	id->token = send_vol_pristine(v) ? v->received_from : send_ident_token(id);
}

/*----------------------------------------------------------------*/
/* Plans */

int send_plan_add(struct send_plan *p, uint64_t chunk, uint64_t nr, bool hole)
{
	struct send_extent *e = p->nr ? &p->ext[p->nr - 1] : NULL, *ne;
	uint64_t before, after;

	if (!nr)
		return 0;
	if (e && e->hole == hole && e->chunk + e->nr == chunk) {
		before = send_extent_records(e, p->chunk_sectors);
		e->nr += nr;
		after = send_extent_records(e, p->chunk_sectors);
		p->records += after - before;
	} else {
		if (p->nr == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 64;
			ne = realloc(p->ext, p->cap * sizeof(*ne));
			if (!ne)
				return -ENOMEM;
			p->ext = ne;
		}
		e = &p->ext[p->nr++];
		e->chunk = chunk;
		e->nr = nr;
		e->hole = hole;
		p->records += send_extent_records(e, p->chunk_sectors);
	}
	if (hole)
		p->hole_chunks += nr;
	else
		p->data_chunks += nr;
	return 0;
}

int send_plan_add_run(struct send_plan *p, uint64_t vchunk, uint64_t dchunk)
{
	struct send_run *r = p->nr_runs ? &p->runs[p->nr_runs - 1] : NULL, *nr;

	if (r && r->vchunk + r->nr == vchunk && r->dchunk + r->nr == dchunk) {
		r->nr++;
		return 0;
	}
	if (p->nr_runs == p->cap_runs) {
		p->cap_runs = p->cap_runs ? p->cap_runs * 2 : 64;
		nr = realloc(p->runs, p->cap_runs * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		p->runs = nr;
	}
	r = &p->runs[p->nr_runs++];
	r->vchunk = vchunk;
	r->dchunk = dchunk;
	r->nr = 1;
	return 0;
}

const struct send_run *send_plan_run(const struct send_plan *p, uint64_t vchunk)
{
	size_t lo = 0, hi = p->nr_runs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (vchunk < p->runs[mid].vchunk)
			hi = mid;
		else if (vchunk >= p->runs[mid].vchunk + p->runs[mid].nr)
			lo = mid + 1;
		else
			return &p->runs[mid];
	}
	return NULL;
}

void send_plan_free(struct send_plan *p)
{
	free(p->ext);
	free(p->runs);
	p->ext = NULL;
	p->runs = NULL;
	p->nr = p->cap = 0;
	p->nr_runs = p->cap_runs = 0;
}

int send_plan_locate(const struct send_plan *p, uint64_t seq, size_t *ext,
		     uint64_t *chunk, uint64_t *data_chunks, uint64_t *hole_chunks)
{
	uint64_t first = 1, n, per, skip;
	size_t i;

	for (i = 0; i < p->nr; i++) {
		n = send_extent_records(&p->ext[i], p->chunk_sectors);
		if (seq < first + n)
			break;
		first += n;
	}
	if (i == p->nr)
		return -ENOENT;
	per = send_extent_record_chunks(&p->ext[i], p->chunk_sectors);
	skip = (seq - first) * per;
	*ext = i;
	*chunk = p->ext[i].chunk + skip;
	*data_chunks = *hole_chunks = 0;
	for (; i < p->nr; i++, skip = 0) {
		if (p->ext[i].hole)
			*hole_chunks += p->ext[i].nr - skip;
		else
			*data_chunks += p->ext[i].nr - skip;
	}
	return 0;
}
