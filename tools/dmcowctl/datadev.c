// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl: reading data chunks from a pool's data device.
 */
#define _GNU_SOURCE	/* O_DIRECT */
#include "dmcowctl.h"
#include "datadev.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

int data_dev_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);

	if (fd < 0) {
		fd = -errno;
		dmcowctl_err("cannot open the pool's data device %s: %s", path,
			     strerror(-fd));
	}
	return fd;
}

int data_dev_read(int fd, const char *path, uint32_t chunk_bytes, uint64_t dchunk,
		  uint64_t nr, void *buf)
{
	size_t len = nr * chunk_bytes, done = 0;
	off_t off = (off_t)(dchunk * chunk_bytes);
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			dmcowctl_err("reading data chunk %" PRIu64 " of %s: %s", dchunk,
				     path, n ? strerror(errno) : "unexpected end of device");
			return -EIO;
		}
		done += (size_t)n;
	}
	return 0;
}
