// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl receive: writing checked records into the receiving volume
 * through its dm device.  Data records are written in place; holes are
 * unmapped with a discard (the volume's target unmaps every chunk a
 * discard covers) when the volume was made from the base, and left alone
 * in a fresh volume, whose chunks are unmapped already.  Records are
 * idempotent: applying one twice (after a resume) gives the same volume.
 *
 * Data records are written with Linux AIO (O_DIRECT), up to
 * SEND_APPLY_DEPTH at once, each from a slot buffer the reader filled
 * (send_reader_lend()).  Records never overlap, so writes in flight need
 * no ordering among themselves or with a hole's discard; what must be
 * ordered is durability, and send_apply_sync() waits for every write
 * before it flushes.
 */
#include "send/send.h"

#include <errno.h>
#include <inttypes.h>
#include <libaio.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct apply_slot {
	struct iocb cb;
	void *buf;		/* SEND_MAX_DATA bytes, 4 KiB aligned */
	uint64_t seq, off, len;
	bool busy;
};

struct send_apply_aio {
	io_context_t ctx;
	struct apply_slot slot[SEND_APPLY_DEPTH];
	unsigned int inflight;
	int lent;		/* the slot send_apply_buffer() gave last, or -1 */
	struct io_event ev[SEND_APPLY_DEPTH];
};

/*
 * Record @seq could not be applied (@what: "writing" ...): keep the lowest
 * such record and why; returns the error.
 */
static int failed(struct send_apply *a, uint64_t seq, int err, const char *what,
		  uint64_t off, uint64_t len)
{
	if (a->failed_err && seq >= a->failed_seq)
		return a->failed_err;
	a->failed_seq = seq;
	a->failed_err = -err;
	snprintf(a->err, sizeof(a->err), "record %" PRIu64 ": %s %" PRIu64 " bytes at byte %" PRIu64 " of the volume: %s",
		 seq, what, len, off, strerror(err));
	return -err;
}

/* Collects at least @min finished writes (all in flight: any number). */
static int reap(struct send_apply *a, unsigned int min)
{
	struct send_apply_aio *q = a->aio;
	struct io_event *ev = q->ev;
	struct timespec none = { 0, 0 };
	struct apply_slot *s;
	int i, n;

	do {
		n = io_getevents(q->ctx, min, SEND_APPLY_DEPTH, ev, min ? NULL : &none);
	} while (n == -EINTR);
	if (n < 0) {
		/* The writes' fate is unknown: none of them counts as written. */
		for (i = 0; i < SEND_APPLY_DEPTH; i++)
			if (q->slot[i].busy)
				failed(a, q->slot[i].seq, -n, "writing", q->slot[i].off,
				       q->slot[i].len);
		return n;
	}
	for (i = 0; i < n; i++) {
		s = ev[i].data;
		if ((long)ev[i].res < 0)
			failed(a, s->seq, (int)-(long)ev[i].res, "writing", s->off, s->len);
		else if (ev[i].res != s->len)
			failed(a, s->seq, EIO, "writing", s->off, s->len);
		s->busy = false;
		q->inflight--;
	}
	return 0;
}

int send_apply_open(struct send_apply *a)
{
	struct send_apply_aio *q;

	a->failed_seq = SEND_NO_SEQ;
	a->failed_err = 0;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->lent = -1;
	/* No AIO (aio-max-nr reached, a kernel without it): write in turn. */
	if (io_setup(SEND_APPLY_DEPTH, &q->ctx)) {
		free(q);
		return 0;
	}
	a->aio = q;
	return 0;
}

void send_apply_close(struct send_apply *a)
{
	struct send_apply_aio *q = a->aio;
	int i;

	if (!q)
		return;
	while (q->inflight && !reap(a, q->inflight))
		;
	/* Waits for what is still in flight: then the buffers can go. */
	io_destroy(q->ctx);
	for (i = 0; i < SEND_APPLY_DEPTH; i++)
		free(q->slot[i].buf);
	free(q);
	a->aio = NULL;
}

int send_apply_buffer(struct send_apply *a, void **buf, size_t *cap)
{
	struct send_apply_aio *q = a->aio;
	struct apply_slot *s = NULL;
	int i, r;

	*buf = NULL;
	*cap = 0;
	if (!q)
		return a->failed_err;
	r = reap(a, q->inflight == SEND_APPLY_DEPTH ? 1 : 0);
	if (r || a->failed_err)
		return r ? r : a->failed_err;
	for (i = 0; i < SEND_APPLY_DEPTH && !s; i++)
		if (!q->slot[i].busy)
			s = &q->slot[i];
	if (!s->buf) {
		s->buf = aligned_alloc(4096, SEND_MAX_DATA);
		if (!s->buf) {
			snprintf(a->err, sizeof(a->err), "out of memory for a write buffer");
			return -ENOMEM;
		}
	}
	q->lent = (int)(s - q->slot);
	*buf = s->buf;
	*cap = SEND_MAX_DATA;
	return 0;
}

/* Queues the write of @rec from its slot; false if it is not in one. */
static bool write_async(struct send_apply *a, const struct send_record *rec,
			uint64_t off, int *r)
{
	struct send_apply_aio *q = a->aio;
	struct apply_slot *s;
	struct iocb *cbp;

	if (!q || q->lent < 0 || rec->data != q->slot[q->lent].buf)
		return false;
	s = &q->slot[q->lent];
	q->lent = -1;
	s->seq = rec->seq;
	s->off = off;
	s->len = rec->len;
	io_prep_pwrite(&s->cb, a->fd, s->buf, rec->len, (long long)off);
	s->cb.data = s;
	cbp = &s->cb;
	*r = io_submit(q->ctx, 1, &cbp);
	if (*r == 0 || *r == -EAGAIN)
		return false;		/* no room in the kernel: write it now */
	if (*r != 1) {
		*r = failed(a, rec->seq, -*r, "writing", off, rec->len);
		return true;
	}
	s->busy = true;
	q->inflight++;
	a->unsynced += rec->len;
	*r = 0;
	return true;
}

static int write_all(struct send_apply *a, const struct send_record *rec, uint64_t off)
{
	uint64_t done = 0;
	ssize_t n;

	while (done < rec->len) {
		n = pwrite(a->fd, (const char *)rec->data + done, rec->len - done,
			   (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return failed(a, rec->seq, n ? errno : EIO, "writing", off + done,
				      rec->len - done);
		done += (uint64_t)n;
	}
	a->unsynced += rec->len;
	return 0;
}

/* A pool with ignore_discard: the hole becomes zeroes, read back the same. */
static int zero_hole(struct send_apply *a, const struct send_record *rec,
		     uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };

	if (!ioctl(a->fd, BLKZEROOUT, range)) {
		a->hole_chunks_zeroed += rec->nr_chunks;
		a->unsynced += len;
		return 0;
	}
	return failed(a, rec->seq, errno, "zeroing", off, len);
}

static int apply_hole(struct send_apply *a, const struct send_record *rec)
{
	uint64_t off = rec->chunk * a->chunk_sectors * 512ULL;
	uint64_t len = send_range_bytes(a->size_sectors, a->chunk_sectors, rec->chunk,
					rec->nr_chunks);
	uint64_t range[2] = { off, len };

	if (!a->unmap_holes)
		return 0;
	if (!ioctl(a->fd, BLKDISCARD, range)) {
		a->unsynced += 1;
		return 0;
	}
	if (errno == EOPNOTSUPP)
		return zero_hole(a, rec, off, len);
	return failed(a, rec->seq, errno, "discarding", off, len);
}

int send_apply_record(struct send_apply *a, const struct send_record *rec)
{
	uint64_t off = rec->chunk * a->chunk_sectors * 512ULL;
	int r;

	if (a->failed_err)
		return a->failed_err;
	if (rec->type == SEND_REC_HOLE)
		return apply_hole(a, rec);
	if (rec->type != SEND_REC_DATA)
		return 0;
	if (write_async(a, rec, off, &r))
		return r;
	return write_all(a, rec, off);
}

int send_apply_sync(struct send_apply *a, uint64_t *durable)
{
	struct send_apply_aio *q = a->aio;
	int r;

	*durable = 0;
	while (q && q->inflight) {
		r = reap(a, q->inflight);
		if (r)
			return r;
	}
	if (fsync(a->fd)) {
		r = -errno;
		snprintf(a->err, sizeof(a->err), "flushing %" PRIu64 " bytes written to the volume: %s",
			 a->unsynced, strerror(-r));
		return r;
	}
	a->unsynced = 0;
	*durable = a->failed_err ? a->failed_seq : SEND_NO_SEQ;
	return a->failed_err;
}
