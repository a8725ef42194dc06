// SPDX-License-Identifier: GPL-2.0-only
/*
 * failread.so: a metadata device that fails after it was read once, for
 * the offline tools' tests (LD_PRELOAD):
 *
 *   FAILREAD_FILE=IMG FAILREAD_BLOCK=B LD_PRELOAD=.../failread.so dmcowctl ...
 *
 * The first pread() of 4 KiB block B of file IMG succeeds; every later one
 * fails with EIO, as a disk going bad under a running check would.  Reads
 * of other blocks and files are passed on.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);

static unsigned long nr_reads;

static bool is_target(int fd, off_t offset)
{
	const char *file = getenv("FAILREAD_FILE"), *block = getenv("FAILREAD_BLOCK");
	struct stat a, b;

	if (!file || !block || offset != (off_t)strtoull(block, NULL, 0) * 4096)
		return false;
	return !fstat(fd, &a) && !stat(file, &b) && a.st_dev == b.st_dev &&
		a.st_ino == b.st_ino;
}

static ssize_t failing_pread(const char *name, int fd, void *buf, size_t count,
			     off_t offset)
{
	pread_fn real = (pread_fn)dlsym(RTLD_NEXT, name);

	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (is_target(fd, offset) && nr_reads++) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, count, offset);
}

ssize_t pread(int fd, void *buf, size_t count, off_t offset)
{
	return failing_pread("pread", fd, buf, count, offset);
}

ssize_t pread64(int fd, void *buf, size_t count, off_t offset)
{
	return failing_pread("pread64", fd, buf, count, offset);
}
