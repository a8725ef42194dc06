// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl receive: writing checked records into the receiving volume
 * through its dm device.  Data records are written in place; holes are
 * unmapped with a discard (the volume's target unmaps every chunk a
 * discard covers) when the volume was made from the base, and left alone
 * in a fresh volume, whose chunks are unmapped already.  Records are
 * idempotent: applying one twice (after a resume) gives the same volume.
 */
#include "send/send.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int fail(struct send_apply *a, int err, const char *what, uint64_t off,
		uint64_t len)
{
	snprintf(a->err, sizeof(a->err), "%s %" PRIu64 " bytes at byte %" PRIu64 " of the volume: %s",
		 what, len, off, strerror(err));
	return -err;
}

static int write_all(struct send_apply *a, const void *buf, uint64_t len, uint64_t off)
{
	uint64_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(a->fd, (const char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(a, errno, "writing", off + done, len - done);
		if (!n)
			return fail(a, EIO, "writing", off + done, len - done);
		done += (uint64_t)n;
	}
	a->unsynced += len;
	return 0;
}

/* A pool with ignore_discard: the hole becomes zeroes, read back the same. */
static int zero_hole(struct send_apply *a, uint64_t off, uint64_t len, uint32_t nr)
{
	uint64_t range[2] = { off, len };

	if (!ioctl(a->fd, BLKZEROOUT, range)) {
		a->hole_chunks_zeroed += nr;
		a->unsynced += len;
		return 0;
	}
	return fail(a, errno, "zeroing", off, len);
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
		return zero_hole(a, off, len, rec->nr_chunks);
	return fail(a, errno, "discarding", off, len);
}

int send_apply_record(struct send_apply *a, const struct send_record *rec)
{
	a->err[0] = '\0';
	if (rec->type == SEND_REC_HOLE)
		return apply_hole(a, rec);
	if (rec->type != SEND_REC_DATA)
		return 0;
	return write_all(a, rec->data, rec->len,
			 rec->chunk * a->chunk_sectors * 512ULL);
}

int send_apply_sync(struct send_apply *a)
{
	if (fsync(a->fd))
		return fail(a, errno, "flushing", 0, a->unsynced);
	a->unsynced = 0;
	return 0;
}
