/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * du: space per file and directory, shared with other volumes or exclusive
 * (du.c; the command is cmd-du.c).
 */
#ifndef DMCOWCTL_FS_DU_H
#define DMCOWCTL_FS_DU_H

#include "fs.h"

struct du_opts {
	const char *pool, *name;
	const char *const *paths;	/* inside the volume's filesystem */
	size_t nr_paths;
	bool whole;		/* the paths cover the filesystem: summarise */
	bool json, with;
};

/* Bytes, except files and dirs. */
struct du_sums {
	uint64_t size;		/* logical (st_size) */
	uint64_t allocated;	/* in extents with blocks */
	uint64_t shared;	/* in chunks other volumes hold too */
	uint64_t exclusive;	/* in chunks only this volume holds */
	uint64_t unmapped;	/* allocated by the fs, no chunk in the pool */
	uint64_t fs_shared;	/* shared inside the filesystem (reflinks) */
	uint64_t with;		/* bit i: shared with sharers[i] */
	uint64_t files, dirs;
};

struct du_volume {
	struct pmap_record rec;	/* as recorded in the held root */
	uint64_t chunk_bytes;
	uint64_t mapped_chunks, exclusive_chunks;	/* recomputed */
	uint64_t files_bytes, files_exclusive_bytes, files_unmapped_bytes;
	uint64_t overhead_bytes, overhead_exclusive_bytes;
	bool whole;
};

/* Runs du; returns an exit status. */
int du_run(const struct du_opts *o);

#endif
