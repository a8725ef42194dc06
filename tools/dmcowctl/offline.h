/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmcowctl: the offline metadata tools (check, dump, restore, repair,
 * delta).  This header uses plain C types only, so it can be included both
 * by files built on the core headers (cow-*.h) and by files using
 * libdevmapper; the two cannot be mixed in one file (both define __le64).
 */
#ifndef DMCOWCTL_OFFLINE_H
#define DMCOWCTL_OFFLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "args.h"

/* Also in dmcowctl.h, which core-including files must not include. */
void dmcowctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_check(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_repair(int argc, char **argv);
int cmd_delta(int argc, char **argv);

/*----------------------------------------------------------------
 * The whole pool as plain data (md-*.c): what dump prints, what restore
 * and repair build.
 *--------------------------------------------------------------*/

#define MD_NO_ORIGIN (~0ULL)
#define MD_NAME_LEN 64

/* Consecutive vchunks mapped to consecutive dchunks at one time. */
struct md_run {
	uint64_t vbegin, dbegin, len;
	uint32_t time;
};

struct md_volume {
	uint64_t id;
	char name[MD_NAME_LEN];
	uint64_t size_sectors, ctime, origin_id;
	uint32_t flags, snap_time;
	uint32_t origin_time;	/* 0 on pools without COMPAT_RO_WRITTEN */
	uint64_t mapped;	/* as recorded; restore recomputes it */
	uint64_t exclusive, written, alloc_hint;
	uint64_t family;	/* computed by md_build(), not dumped */
	struct md_run *runs;
	size_t nr_runs, runs_cap;
};

struct md_pool {
	uint32_t version, flags, chunk_sectors, time;
	uint64_t nr_data_chunks, nr_metadata_blocks, txn, user_txn_id;
	uint64_t compat_ro;	/* as found; restore writes what the core sets */
	uint8_t uuid[16];
	uint64_t held_root;	/* 0: none */
	struct md_volume *vols;
	size_t nr_vols, vols_cap;
};

void md_pool_free(struct md_pool *p);
struct md_volume *md_add_volume(struct md_pool *p);
/* Appends a mapping, extending the last run when it continues it. */
int md_add_mapping(struct md_volume *v, uint64_t vchunk, uint64_t dchunk,
		   uint32_t time);
uint64_t md_volume_mapped(const struct md_volume *v);
/* The data chunk @vchunk maps to, if it is mapped. */
bool md_find_mapping(const struct md_volume *v, uint64_t vchunk,
		     uint64_t *dchunk);
/* Add one mapping anywhere in key order; -EEXIST if @vchunk is mapped. */
int md_insert_mapping(struct md_volume *v, uint64_t vchunk, uint64_t dchunk,
		      uint32_t time);

/* Text and JSON forms (md-format.c). */
int md_print(FILE *f, const struct md_pool *p, bool json);
/* Reads either form; prints "FILE:LINE: what is wrong" and fails. */
int md_parse(FILE *f, const char *fname, struct md_pool *p);

/*----------------------------------------------------------------
 * Reading a metadata device (md-load.c)
 *--------------------------------------------------------------*/

struct md_loss {
	uint64_t volume;	/* MD_NO_ORIGIN: the volumes tree itself */
	uint64_t block;
	uint64_t lo, hi;	/* keys (vchunks or volume ids) lost */
	uint64_t count;		/* entries the parent said were there */
	char why[96];
};

struct md_load_opts {
	bool tolerant;		/* skip damaged subtrees (repair) */
	bool direct;		/* O_DIRECT: the device is in use (live) */
	uint64_t held_root;	/* load from this held block, not the superblock */
	bool progress;
};

/*
 * Repair's decision about a mapping found in a valid btree leaf but
 * outside the key range its parent gives that leaf (so the kernel never
 * reads it): kept if nothing else maps the chunk, dropped if the mapping
 * the kernel does read exists.
 */
struct md_stray {
	uint64_t volume, block, vchunk, dchunk;
	uint64_t other;		/* dropped: the data chunk the kernel reads, */
#define MD_STRAY_BEYOND UINT64_MAX	/* or: dchunk is beyond the device */
	uint32_t time;
	bool kept;
};

struct md_load_result {
	struct md_loss *losses;
	size_t nr_losses;
	struct md_stray *strays;
	size_t nr_strays;
	uint64_t lost_mappings, lost_volumes;
	bool sb_damaged;	/* superblock checksum bad; fields used anyway */
};

/*
 * Loads a pool; the first problem fails (1 sentence printed) unless
 * o->tolerant.  Returns 0, or a negative errno.
 */
int md_load(const char *dev, const struct md_load_opts *o, struct md_pool *p,
	    struct md_load_result *res);
void md_load_result_free(struct md_load_result *res);

/*
 * Formats dev (created with the pool's size if it does not exist) and
 * writes p into it (md-build.c).  Shared data chunks stay shared.
 */
int md_build(const char *dev, struct md_pool *p, bool progress);

/*----------------------------------------------------------------
 * Helpers
 *--------------------------------------------------------------*/

/* Progress bar on stderr, only when it is a terminal (progress.c). */
void progress_begin(const char *what, uint64_t total, bool enabled);
void progress_update(uint64_t done);
void progress_end(void);

/* Delta of two volumes under a held root (cmd-delta.c); exit status. */
int delta_held_root(const char *dev, uint64_t held, uint64_t a, uint64_t b,
		    bool json);

/* The online part (live.c, libdevmapper). */
struct live_hold {
	char pool[128];
	char meta_path[160];	/* /dev/NAME or /dev/block/MAJ:MIN */
	uint64_t held;
	bool reserved;		/* by us: release it */
};

int live_hold(const char *pool, struct live_hold *h);
/* /dev/NAME of a device "MAJ:MIN" (from sysfs), or /dev/block/MAJ:MIN. */
void live_devno_path(const char *devno, char *buf, size_t len);
void live_release(struct live_hold *h);
/* Volume id of NAME (or a number) in an active pool; -ENOENT if none. */
int live_volume_id(const char *pool, const char *name, uint64_t *id);

#endif
