/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmcowctl: reading data chunks from a pool's data device (send and
 * reshare read the chunks of a held metadata snapshot there).
 */
#ifndef DMCOWCTL_DATADEV_H
#define DMCOWCTL_DATADEV_H

#include <stdint.h>

/*
 * Opens the data device @path read-only with O_DIRECT: its descriptor, or
 * -errno (printed).
 */
int data_dev_open(const char *path);

/*
 * Data chunks [dchunk, dchunk + nr) of the data device open as @fd (@path
 * for messages), chunk_bytes each, into buf; a short read fails, printed.
 */
int data_dev_read(int fd, const char *path, uint32_t chunk_bytes, uint64_t dchunk,
		  uint64_t nr, void *buf);

#endif
