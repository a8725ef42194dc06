/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmcowctl: the few superblock fields the online commands need.  Kept in a
 * file of its own because cow-format.h (via the libcow platform shim) and
 * libdevmapper.h (via linux/types.h) cannot be included together.
 */
#ifndef DMCOWCTL_SB_H
#define DMCOWCTL_SB_H

#include <stdbool.h>
#include <stdint.h>

struct sb_summary {
	bool is_cowtree;	/* COW_SB_MAGIC found */
	bool zeroed;		/* the first 4 KiB are all zero */
	uint32_t chunk_sectors;
	uint64_t nr_data_chunks;
};

/* Reads block 0 of an open device (fd); 0 or a negative errno. */
int sb_read(int fd, struct sb_summary *s);

#endif
