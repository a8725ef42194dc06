/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmcowctl send/receive: the stream format and the pieces built on it.
 *
 * The format is described in
 * Documentation/admin-guide/device-mapper/cowtree-send-stream.rst.  This
 * header uses plain C types only: it is included both by files built on
 * the core headers (delta.c) and by files using libdevmapper (the
 * commands), which cannot be mixed (see offline.h).
 *
 * One file per concern:
 *   stream.c   the format: record layout, checksums, identities, splitting
 *              extents into records
 *   reader.c   the parser: every record checked before it is handed out
 *   writer.c   the encoder
 *   delta.c    which chunks to send, from a held metadata root
 *   apply.c    writing records into the receiving volume
 *   resume.c   resume tokens and the state of a partial receive
 */
#ifndef DMCOWCTL_SEND_H
#define DMCOWCTL_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*----------------------------------------------------------------
 * On-disk (on-wire) layout: little-endian, no implicit padding.
 *--------------------------------------------------------------*/

#define SEND_VERSION 1u
#define SEND_REC_MAGIC 0x53574f43u	/* "COWS" */

enum send_rec_type {
	SEND_REC_HEADER = 1,
	SEND_REC_DATA = 2,
	SEND_REC_HOLE = 3,
	SEND_REC_END = 4,
};

/* Starts every record; csum covers it (csum = 0) and the payload. */
struct send_disk_rec {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;		/* 0 in version 1 */
	uint64_t seq;		/* header 0, then 1, 2, ... */
	uint64_t chunk;		/* data, hole: first chunk of the range */
	uint32_t nr_chunks;	/* data, hole: chunks in the range */
	uint32_t len;		/* payload bytes after this header */
	uint32_t csum;
	uint32_t reserved;
} __attribute__((packed));

/* Which copy of a volume a stream reproduces or starts from. */
struct send_disk_ident {
	uint8_t uuid[16];
	uint64_t txn;
	uint64_t fingerprint;
	uint64_t token;
} __attribute__((packed));

#define SEND_HDR_INCREMENTAL (1u << 0)	/* base is set */
#define SEND_HDR_RESUMED (1u << 1)	/* starts at first_seq/first_chunk */
#define SEND_HDR_FLAGS (SEND_HDR_INCREMENTAL | SEND_HDR_RESUMED)
#define SEND_NAME_LEN 64

/* Payload of the header record.  version stays the first field forever. */
struct send_disk_header {
	uint32_t version;
	uint32_t flags;
	uint32_t chunk_sectors;
	uint32_t reserved0;
	uint64_t size_sectors;
	uint8_t pool_uuid[16];
	uint64_t volume_id;
	uint64_t volume_ctime;
	char name[SEND_NAME_LEN];
	struct send_disk_ident target;
	struct send_disk_ident base;
	uint64_t first_seq;
	uint64_t first_chunk;
	uint64_t data_chunks;	/* what this stream carries, from first_seq on */
	uint64_t hole_chunks;
	uint64_t created;	/* seconds since the epoch */
	uint64_t reserved[2];
} __attribute__((packed));

/* Payload of the end record: totals of this stream. */
struct send_disk_end {
	uint64_t records;	/* data and hole records */
	uint64_t data_chunks;
	uint64_t hole_chunks;
	uint64_t data_bytes;
	uint64_t stream_bytes;	/* bytes before the end record */
	uint32_t stream_csum;	/* crc32c of those bytes */
	uint32_t reserved;
} __attribute__((packed));

/* A data record carries at most this much (and at least one chunk). */
#define SEND_MAX_DATA (1u << 20)
#define SEND_MAX_HOLE_CHUNKS 0xffffffffu

/*----------------------------------------------------------------
 * Host-order forms (stream.c)
 *--------------------------------------------------------------*/

struct send_ident {
	uint8_t uuid[16];	/* the sending copy's volume uuid */
	uint64_t txn;		/* transaction that last changed its mappings */
	uint64_t fingerprint;	/* of its mapping root and size */
	uint64_t token;		/* what a receiver matches: see below */
};

struct send_header {
	uint32_t version;
	uint32_t flags;
	uint32_t chunk_sectors;
	uint64_t size_sectors;
	uint8_t pool_uuid[16];
	uint64_t volume_id;
	uint64_t volume_ctime;
	char name[SEND_NAME_LEN];
	struct send_ident target;
	struct send_ident base;	/* all zero unless SEND_HDR_INCREMENTAL */
	uint64_t first_seq;
	uint64_t first_chunk;
	uint64_t data_chunks;
	uint64_t hole_chunks;
	uint64_t created;
};

struct send_totals {
	uint64_t records;
	uint64_t data_chunks;
	uint64_t hole_chunks;
	uint64_t data_bytes;
	uint64_t stream_bytes;
	uint32_t stream_csum;
};

/* A record as the reader hands it out. */
struct send_record {
	enum send_rec_type type;
	uint64_t seq;
	uint64_t chunk;
	uint32_t nr_chunks;
	const void *data;	/* data records: len bytes */
	uint32_t len;
};

/* crc32c (Castagnoli, as the kernel's crc32c with ~0 in and out). */
uint32_t send_crc32c(uint32_t crc, const void *buf, size_t len);
#define SEND_CRC_INIT 0xffffffffu
static inline uint32_t send_crc_final(uint32_t crc)
{
	return ~crc;
}

/*
 * The running crc32c after len more bytes whose own crc32c, started from 0
 * (send_crc32c(0, bytes, len)), is tail: what send_crc32c(crc, bytes, len)
 * returns, without reading the bytes again.  A record's payload is summed
 * once, for its record checksum, and joins the stream checksum this way.
 */
uint32_t send_crc32c_append(uint32_t crc, uint32_t tail, uint64_t len);

const char *send_rec_type_name(unsigned int type);
uint64_t send_nr_chunks(uint64_t size_sectors, uint32_t chunk_sectors);
/* Bytes of chunks [chunk, chunk + nr) inside a volume (the last may be short). */
uint64_t send_range_bytes(uint64_t size_sectors, uint32_t chunk_sectors,
			  uint64_t chunk, uint64_t nr);
/* Chunks a data record holds at most. */
uint32_t send_data_max_chunks(uint32_t chunk_sectors);

void send_header_to_disk(const struct send_header *h, struct send_disk_header *d);
void send_header_from_disk(const struct send_disk_header *d, struct send_header *h);
void send_end_to_disk(const struct send_totals *t, struct send_disk_end *d);
void send_end_from_disk(const struct send_disk_end *d, struct send_totals *t);

/*
 * Identities.  A volume's own identity: its uuid (derived from the pool
 * uuid, its id and creation time: volumes have no uuid of their own), the
 * stamp of its mapping root (the transaction that last changed its
 * mappings) and a fingerprint of that root and of its size.  Any change to
 * its mappings or size changes the stamp and the fingerprint.  The token
 * hashes the three.  A received volume whose mappings have not changed
 * since it was received stands for the volume it was received from: its
 * token is that volume's (received_from), so chains A -> B -> C and
 * streams back from B to A find their base.
 */
struct send_root {
	uint64_t blocknr, txn, count;
};

void send_volume_uuid(const uint8_t pool_uuid[16], uint64_t id, uint64_t ctime,
		      uint8_t uuid[16]);
uint64_t send_root_fingerprint(const struct send_root *root, uint64_t size_sectors);
uint64_t send_ident_token(const struct send_ident *id);
/*
 * "received_mark" of a record: the local fingerprint of a complete copy,
 * or SEND_MARK_PARTIAL | next record of a partial one.
 */
#define SEND_MARK_PARTIAL (1ULL << 63)
static inline uint64_t send_local_mark(const struct send_root *root,
				       uint64_t size_sectors)
{
	return send_root_fingerprint(root, size_sectors) & ~SEND_MARK_PARTIAL;
}

/*
 * An extent to send: chunks [chunk, chunk + nr), data or hole.  Data
 * extents become records of at most send_data_max_chunks(), holes of at
 * most SEND_MAX_HOLE_CHUNKS: the same way everywhere, so a record number
 * names the same chunks for a sender that resumes.
 */
struct send_extent {
	uint64_t chunk, nr;
	bool hole;
};

uint64_t send_extent_records(const struct send_extent *e, uint32_t chunk_sectors);
uint32_t send_extent_record_chunks(const struct send_extent *e, uint32_t chunk_sectors);

/* A volume as a held metadata snapshot shows it (delta.c). */
struct send_vol {
	uint64_t id;
	char name[64];
	uint64_t size_sectors, ctime, origin_id;
	uint32_t flags;
	uint32_t snap_time;	/* its mappings older than this are shared */
	uint64_t family;	/* volumes that may share chunks have one */
	struct send_root root;	/* its mapping tree */
	uint64_t received_from, received_mark;
};

/* A complete received copy whose mappings have not changed since. */
bool send_vol_pristine(const struct send_vol *v);
/* A receive in progress into v (received_mark has SEND_MARK_PARTIAL). */
bool send_vol_partial(const struct send_vol *v);
/* v's identity; its token is received_from if v is pristine. */
void send_vol_ident(const uint8_t pool_uuid[16], const struct send_vol *v,
		    struct send_ident *id);

/*
 * Where the data extents' chunks are on the pool's data device, as the
 * held root maps them: volume chunks [vchunk, vchunk + nr) are data chunks
 * [dchunk, dchunk + nr).
 */
struct send_run {
	uint64_t vchunk, dchunk, nr;
};

/*
 * What to send: extents in chunk order, and their totals; the runs of the
 * data extents, in chunk order.  Adjacent extents of one kind, and runs
 * that continue on the data device, are merged as they are added.
 */
struct send_plan {
	struct send_extent *ext;
	size_t nr, cap;
	struct send_run *runs;
	size_t nr_runs, cap_runs;
	uint64_t data_chunks, hole_chunks, records;
	uint32_t chunk_sectors;
};

int send_plan_add(struct send_plan *p, uint64_t chunk, uint64_t nr, bool hole);
/* Volume chunk @vchunk, a data chunk of the plan, is at data chunk @dchunk. */
int send_plan_add_run(struct send_plan *p, uint64_t vchunk, uint64_t dchunk);
/* The run holding @vchunk, or NULL. */
const struct send_run *send_plan_run(const struct send_plan *p, uint64_t vchunk);
void send_plan_free(struct send_plan *p);
/*
 * Where record @seq (1 = the first) starts: extent index and chunk; the
 * totals of the records from it on go to *data_chunks / *hole_chunks.
 * -ENOENT if the plan has fewer records.
 */
int send_plan_locate(const struct send_plan *p, uint64_t seq, size_t *ext,
		     uint64_t *chunk, uint64_t *data_chunks, uint64_t *hole_chunks);

/*----------------------------------------------------------------
 * The sending or receiving pool's metadata, under a held root (delta.c)
 *--------------------------------------------------------------*/

struct send_md;

/* Opens the held metadata snapshot at block @held; prints why not. */
int send_md_open(const char *meta_path, uint64_t held, struct send_md **md);
void send_md_close(struct send_md *md);
const uint8_t *send_md_pool_uuid(const struct send_md *md);
uint32_t send_md_chunk_sectors(const struct send_md *md);
/* Every volume (not the deleting records); -ENOENT for an unknown id. */
int send_md_volumes(struct send_md *md, struct send_vol **vols, size_t *nr);
int send_md_volume(struct send_md *md, uint64_t id, struct send_vol *v);
/*
 * The extents to send @snap, or with @base what differs from @base,
 * clipped to @nr_chunks: chunks mapped in @snap and not in @base, or to
 * another data chunk, are data; chunks mapped in @base only are holes; a
 * full send (no base) also makes every unmapped range a hole.  Subtrees
 * the two volumes share are skipped unread (cow_btree_diff).
 */
int send_md_plan(struct send_md *md, const struct send_vol *base,
		 const struct send_vol *snap, uint64_t nr_chunks,
		 struct send_plan *plan);
/* A mapping: the data chunk and the time it was made. */
struct send_map {
	uint64_t dchunk;
	uint32_t time;
};

/*
 * Calls @fn in chunk order for every chunk whose mapping differs in @a and
 * @b (NULL: unmapped on that side); shared subtrees are skipped unread.  A
 * mapping to the same data chunk made at another time is reported too.
 * @fn returns 0 to go on, 1 to stop (send_md_diff() then returns 0), or a
 * negative errno to fail.
 */
typedef int (*send_md_diff_fn)(void *ctx, uint64_t vchunk, const struct send_map *a,
			       const struct send_map *b);
int send_md_diff(struct send_md *md, const struct send_vol *a,
		 const struct send_vol *b, send_md_diff_fn fn, void *ctx);
/* Metadata blocks read so far by every send_md. */
uint64_t send_md_blocks_read(void);

/*
 * A held metadata snapshot taken by us, not borrowed (hold.c): waits up to
 * 20 s for another program's to go.  struct live_hold is in offline.h.
 */
struct live_hold;
int send_hold(const char *pool, struct live_hold *h);

/*----------------------------------------------------------------
 * Reading the data to send (source.c)
 *--------------------------------------------------------------*/

/*
 * The data chunks a plan maps, read from the pool's data device, O_DIRECT.
 * Only while the metadata snapshot the plan comes from is held: then the
 * pool neither frees those chunks nor writes into them (a write to a
 * mapping older than the held root breaks sharing first).
 */
struct send_source {
	int fd;
	const char *path;
	uint32_t chunk_bytes;
	uint64_t nr_dchunks;	/* of the data device */
	const struct send_plan *plan;
};

int send_source_open(struct send_source *s, const char *data_path,
		     const struct send_plan *plan);
void send_source_close(struct send_source *s);
/*
 * The whole chunks [vchunk, vchunk + nr) of the planned volume into buf
 * (nr x chunk size bytes, 4 KiB aligned); every one must be a planned
 * data chunk.  Prints why not.
 */
int send_source_read(struct send_source *s, uint64_t vchunk, uint32_t nr, void *buf);

/*----------------------------------------------------------------
 * Resuming (resume.c)
 *--------------------------------------------------------------*/

/*
 * A resume token: which stream (its target and base tokens) and the next
 * record the receiver needs.  Text form "1-TARGET-BASE-SEQ-CRC" (hex).
 */
struct send_resume {
	uint64_t target, base, seq;
};

#define SEND_TOKEN_LEN 80
void send_token_format(const struct send_resume *t, char buf[SEND_TOKEN_LEN]);
/* 0, or -EINVAL with the reason in err. */
int send_token_parse(const char *s, struct send_resume *t, char *err, size_t errlen);

/* received_mark of a partial receive whose next record is @seq, and back. */
static inline uint64_t send_partial_mark(uint64_t seq)
{
	return SEND_MARK_PARTIAL | seq;
}

static inline uint64_t send_partial_next(uint64_t mark)
{
	return mark & ~SEND_MARK_PARTIAL;
}

/*----------------------------------------------------------------
 * Writing records into the receiving volume (apply.c)
 *--------------------------------------------------------------*/

#define SEND_NO_SEQ UINT64_MAX

struct send_apply_aio;

struct send_apply {
	int fd;			/* the volume's block device, open for writing */
	uint32_t chunk_sectors;
	uint64_t size_sectors;
	/*
	 * Holes in a fresh volume are left alone (never written: unmapped);
	 * in a volume made from the base they are discarded, which unmaps
	 * whole chunks.  A pool that ignores discards gets zeroes instead
	 * (the chunks stay mapped: zeroes_written counts them).
	 */
	bool unmap_holes;
	uint64_t hole_chunks_zeroed;
	uint64_t unsynced;	/* bytes written since the last send_apply_sync() */
	/*
	 * Data records are written asynchronously, SEND_APPLY_DEPTH at once
	 * at most, each from a buffer of its own (send_apply_buffer()): a
	 * provisioning write waits on the pool's worker, and one at a time
	 * the receive would wait on every chunk.  A write that fails is
	 * known when it completes: failed_seq is the lowest record whose
	 * write failed with failed_err (every record before it that was
	 * applied is written); failed_err 0: none failed.
	 */
	struct send_apply_aio *aio;	/* NULL: synchronous writes */
	uint64_t failed_seq;
	int failed_err;
	char err[256];
};

#define SEND_APPLY_DEPTH 16

/* Sets up the asynchronous writes of a (fd set); synchronous if impossible. */
int send_apply_open(struct send_apply *a);
/* Waits for the writes in flight and frees what open took. */
void send_apply_close(struct send_apply *a);
/*
 * A buffer for the next record's payload (send_reader_lend()), free until
 * send_apply_record() writes from it; *buf NULL when writes are
 * synchronous.  May wait for the oldest write: returns its error if it
 * failed.
 */
int send_apply_buffer(struct send_apply *a, void **buf, size_t *cap);
/*
 * Writes a data record (asynchronously if its payload is in the buffer
 * send_apply_buffer() gave) or applies a hole record; err says why not.
 * Returns a write failure of an earlier record as well.
 */
int send_apply_record(struct send_apply *a, const struct send_record *rec);
/*
 * Waits for every write, then makes everything written durable (the pool
 * commits on flush).  *durable: the records applied below it are durable:
 * all of them (SEND_NO_SEQ) when 0 is returned, those before the lowest
 * record whose write failed when that failure is returned, none known (0)
 * when the wait or the flush failed.
 */
int send_apply_sync(struct send_apply *a, uint64_t *durable);

/*----------------------------------------------------------------
 * Reader (reader.c)
 *--------------------------------------------------------------*/

/* Reads up to len bytes: the count (0 at the end) or a negative errno. */
typedef ssize_t (*send_read_fn)(void *ctx, void *buf, size_t len);

struct send_reader {
	send_read_fn read;
	void *ctx;
	struct send_header hdr;
	uint64_t nr_chunks;	/* of the volume */
	uint64_t records_read;	/* records so far, the header included */
	uint64_t next_seq;
	uint64_t next_chunk;	/* the next range may not start below */
	struct send_totals t;	/* running: of the records read so far */
	uint32_t crc;		/* running crc32c of the stream */
	uint32_t payload_crc;	/* of the last record's payload, from 0 */
	bool ended;
	struct send_disk_rec rec;
	void *payload;		/* 4 KiB aligned, payload_cap bytes */
	size_t payload_cap;
	void *lent;		/* send_reader_lend(): for the next record */
	size_t lent_cap;
	void *data;		/* the current record's payload: payload or lent */
	char err[320];
};

/*
 * send_reader_open() reads and checks the header record; then each
 * send_reader_next() hands out one checked record, the end record last
 * (after its totals, the stream checksum and the absence of trailing
 * bytes are verified).  A record is handed out only once its checksum
 * and its place in the stream are right.  On error r->err names the record
 * and what is wrong; the return is -EBADMSG for a bad stream (corrupted,
 * truncated, out of order, wrong version) or the read error.
 */
int send_reader_open(struct send_reader *r, send_read_fn read, void *ctx);
int send_reader_next(struct send_reader *r, struct send_record *rec);
/*
 * The next record's payload goes to @buf (@cap bytes, not freed by the
 * reader) if it fits: record.data then points there, and the caller may
 * keep it after the next call.  For one send_reader_next() only.
 */
void send_reader_lend(struct send_reader *r, void *buf, size_t cap);
void send_reader_close(struct send_reader *r);

/*----------------------------------------------------------------
 * Writer (writer.c)
 *--------------------------------------------------------------*/

/* Writes all of buf, or returns a negative errno. */
typedef int (*send_write_fn)(void *ctx, const void *buf, size_t len);

struct send_writer {
	send_write_fn write;	/* NULL: only count (dry run) */
	void *ctx;
	uint32_t chunk_sectors;
	uint64_t size_sectors;
	uint64_t next_seq;
	struct send_totals t;
	uint32_t crc;
};

int send_writer_begin(struct send_writer *w, send_write_fn write, void *ctx,
		      const struct send_header *h);
/* data: send_range_bytes() of the range (ignored when only counting). */
int send_writer_data(struct send_writer *w, uint64_t chunk, uint32_t nr,
		     const void *data);
int send_writer_hole(struct send_writer *w, uint64_t chunk, uint32_t nr);
int send_writer_end(struct send_writer *w);

#endif
