// SPDX-License-Identifier: GPL-2.0-only
/*
 * replay-log: read a dm-log-writes log and replay it onto a device.
 *
 * Debian does not package fstests' replay-log, so this is our own, written
 * from the format comment in drivers/md/dm-log-writes.c:
 *
 *   [super][entry sector][data sectors][entry sector][data]...
 *
 * Entries are in completion order; an entry carrying FLUSH or FUA is a
 * point where everything logged before it had been acknowledged as durable,
 * so the replayed device must be consistent there.
 *
 *   replay-log --log LOG --list              print every entry
 *   replay-log --log LOG --points            print flush/FUA/mark entry numbers
 *   replay-log --log LOG --replay DEV --from N --to M
 *                                            apply entries N..M (inclusive of N,
 *                                            exclusive of M) to DEV
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define LOG_MAGIC 0x6a736677736872ULL
#define LOG_VERSION 1ULL
#define LOG_FLUSH (1u << 0)
#define LOG_FUA (1u << 1)
#define LOG_DISCARD (1u << 2)
#define LOG_MARK (1u << 3)
#define LOG_METADATA (1u << 4)

struct log_super {
	uint64_t magic;
	uint64_t version;
	uint64_t nr_entries;
	uint32_t sectorsize;
} __attribute__((packed));

struct log_entry {
	uint64_t sector;
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
} __attribute__((packed));

struct log {
	int fd;
	uint64_t nr_entries;
	uint32_t sectorsize;
	uint64_t next;		/* byte offset of the next entry */
	uint64_t index;		/* its number */
	char *sector;		/* one entry sector */
};

static int open_log(const char *path, struct log *log)
{
	struct log_super super;

	log->fd = open(path, O_RDONLY);
	if (log->fd < 0) {
		fprintf(stderr, "replay-log: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (pread(log->fd, &super, sizeof(super), 0) != sizeof(super)) {
		fprintf(stderr, "replay-log: cannot read the log super block\n");
		return -1;
	}
	if (le64toh(super.magic) != LOG_MAGIC || le64toh(super.version) != LOG_VERSION) {
		fprintf(stderr, "replay-log: %s is not a dm-log-writes log\n", path);
		return -1;
	}
	log->nr_entries = le64toh(super.nr_entries);
	log->sectorsize = le32toh(super.sectorsize);
	if (log->sectorsize < 512 || log->sectorsize > 65536) {
		fprintf(stderr, "replay-log: bad sector size %u\n", log->sectorsize);
		return -1;
	}
	log->sector = malloc(log->sectorsize);
	if (!log->sector)
		return -1;
	log->next = log->sectorsize;
	log->index = 0;
	return 0;
}

/* Read entry log->index; on return log->next points at its data. */
static int read_entry(struct log *log, struct log_entry *e, char *mark, size_t marklen)
{
	if (pread(log->fd, log->sector, log->sectorsize, log->next) != log->sectorsize) {
		fprintf(stderr, "replay-log: short read of entry %" PRIu64 "\n", log->index);
		return -1;
	}
	memcpy(e, log->sector, sizeof(*e));
	e->sector = le64toh(e->sector);
	e->nr_sectors = le64toh(e->nr_sectors);
	e->flags = le64toh(e->flags);
	e->data_len = le64toh(e->data_len);
	mark[0] = '\0';
	if ((e->flags & LOG_MARK) && e->data_len) {
		size_t n = e->data_len < marklen - 1 ? e->data_len : marklen - 1;

		if (n > log->sectorsize - sizeof(*e))
			n = log->sectorsize - sizeof(*e);
		memcpy(mark, log->sector + sizeof(*e), n);
		mark[n] = '\0';
	}
	log->next += log->sectorsize;
	return 0;
}

/* Skip (or return the size of) the data that follows entry @e. */
static uint64_t data_bytes(const struct log *log, const struct log_entry *e)
{
	if (e->flags & LOG_DISCARD)
		return 0;
	if (e->data_len && !(e->flags & LOG_MARK))
		return (e->data_len + log->sectorsize - 1) / log->sectorsize * log->sectorsize;
	return e->nr_sectors * log->sectorsize;
}

static int apply(struct log *log, const struct log_entry *e, int dev)
{
	uint64_t off = e->sector * log->sectorsize, len = e->nr_sectors * log->sectorsize;
	static char *buf;
	static size_t bufsize;

	if (e->flags & LOG_DISCARD) {
		uint64_t range[2] = { off, len };

		if (len && ioctl(dev, BLKDISCARD, range) < 0) {
			/* Discarded contents are undefined: zeroes will do. */
			char *zero = calloc(1, len);

			if (!zero || pwrite(dev, zero, len, off) != (ssize_t)len) {
				free(zero);
				return -1;
			}
			free(zero);
		}
		return 0;
	}
	if (!len || (e->data_len && !(e->flags & LOG_MARK)))
		return 0;
	if (len > bufsize) {
		free(buf);
		buf = malloc(len);
		bufsize = buf ? len : 0;
		if (!buf)
			return -1;
	}
	if (pread(log->fd, buf, len, log->next) != (ssize_t)len ||
	    pwrite(dev, buf, len, off) != (ssize_t)len) {
		fprintf(stderr, "replay-log: entry %" PRIu64 ": I/O error: %s\n",
			log->index, strerror(errno));
		return -1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: replay-log --log LOG (--list | --points | "
		"--replay DEV [--from N] [--to M])\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log", required_argument, NULL, 'l' },
		{ "replay", required_argument, NULL, 'r' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "list", no_argument, NULL, 'L' },
		{ "points", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *logpath = NULL, *devpath = NULL;
	uint64_t from = 0, to = UINT64_MAX;
	bool list = false, points = false;
	struct log log;
	struct log_entry e;
	char mark[256];
	int c, dev = -1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': logpath = optarg; break;
		case 'r': devpath = optarg; break;
		case 'f': from = strtoull(optarg, NULL, 0); break;
		case 't': to = strtoull(optarg, NULL, 0); break;
		case 'L': list = true; break;
		case 'p': points = true; break;
		default: usage();
		}
	}
	if (!logpath || (!list && !points && !devpath))
		usage();
	if (open_log(logpath, &log))
		return 1;
	if (devpath) {
		dev = open(devpath, O_WRONLY);
		if (dev < 0) {
			fprintf(stderr, "replay-log: cannot open %s: %s\n", devpath, strerror(errno));
			return 1;
		}
	}
	if (to > log.nr_entries)
		to = log.nr_entries;

	for (; log.index < to; log.index++) {
		if (read_entry(&log, &e, mark, sizeof(mark)))
			return 1;
		if (list)
			printf("%" PRIu64 " sector %" PRIu64 " len %" PRIu64 " flags 0x%" PRIx64
			       "%s%s\n", log.index, e.sector, e.nr_sectors, e.flags,
			       mark[0] ? " mark " : "", mark);
		if (points && (e.flags & (LOG_FLUSH | LOG_FUA | LOG_MARK)))
			printf("%" PRIu64 "%s%s\n", log.index + 1, mark[0] ? " " : "", mark);
		if (dev >= 0 && log.index >= from && apply(&log, &e, dev))
			return 1;
		log.next += data_bytes(&log, &e);
	}
	if (dev >= 0 && (fsync(dev) || close(dev))) {
		fprintf(stderr, "replay-log: syncing %s failed: %s\n", devpath, strerror(errno));
		return 1;
	}
	return 0;
}
