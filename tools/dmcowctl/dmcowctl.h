/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmcowctl: shared declarations of the command files.
 */
#ifndef DMCOWCTL_H
#define DMCOWCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"

struct dmcowctl_command {
	const char *name;
	const char *args;	/* one-line synopsis of the arguments */
	const char *help;	/* one sentence */
	int (*run)(int argc, char **argv);
};

/* Print "dmcowctl: <message>" on stderr. */
void dmcowctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Commands (argv[0] is the command name). */
int cmd_pool(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_activate(int argc, char **argv);
int cmd_deactivate(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_rename(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_receive(int argc, char **argv);
int cmd_reshare(int argc, char **argv);
/* File-level commands (fs/) */
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_du(int argc, char **argv);
int cmd_cowlinks(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_restore_files(int argc, char **argv);

/*----------------------------------------------------------------
 * An active pool and its volumes (pool.c)
 *--------------------------------------------------------------*/

#define COW_VOLUME_DELETING 1u	/* "volumes" flag: being reclaimed */
/* A tool's own volume (a view, a receive): listed only with --all. */
#define COW_VOLUME_HIDDEN 2u
/* Deleted when the pool is next activated (a view left by a crash). */
#define COW_VOLUME_THROWAWAY 4u
#define DEV_NAME_LEN 128

struct cow_volume {
	uint64_t id;
	char name[VOL_NAME_LEN];
	uint64_t size;		/* sectors, as recorded with set_size */
	uint64_t ctime;		/* seconds since the epoch */
	bool has_origin;
	uint64_t origin;
	uint32_t flags;
	uint64_t mapped;	/* chunks */
	uint64_t exclusive;	/* chunks */
	uint64_t written;	/* chunks written since the origin */
	bool exclusive_known, written_known;	/* maintained by the pool */
	/* The active dm device of the volume, if any ("" when inactive). */
	char dev[DEV_NAME_LEN];
	uint32_t major, minor;
	bool suspended;
	unsigned int nr_devs;	/* active devices mapping this volume */
};

struct cow_pool {
	char name[POOL_NAME_LEN];
	uint32_t major, minor;
	uint64_t length;	/* table length: data device sectors */
	uint32_t chunk_sectors;
	uint64_t low_water;
	char meta_dev[32], data_dev[32];	/* major:minor */
	char *features;		/* the table's feature part, "" if none */
	struct cow_volume *vols;
	size_t nr_vols;
};

/*
 * Loads an active pool: its table and its volumes with their active
 * devices.  Prints a sentence and returns non-zero if it is not one.
 */
int pool_open(const char *name, struct cow_pool **pp);
void pool_close(struct cow_pool *p);	/* frees p; NULL is fine */
/* Re-reads the volume list (after messages). */
int pool_reload_volumes(struct cow_pool *p);
/* Checks that NAME is an active cowtree-pool device (silent). */
bool pool_is_cowtree(const char *name);
/* Visible volume by name or id; NULL if none. */
struct cow_volume *pool_find(struct cow_pool *p, const char *name);
struct cow_volume *pool_find_id(struct cow_pool *p, uint64_t id);
/* Like pool_find, but prints "no volume" and returns NULL. */
struct cow_volume *pool_get(struct cow_pool *p, const char *name);
/* A free volume id: one above every id in use, deleted ones included. */
uint64_t pool_next_id(const struct cow_pool *p);
/* Sends a message; on failure prints "what failed" and returns non-zero. */
int pool_message(struct cow_pool *p, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The dm name a volume gets when activated: POOL-NAME. */
void volume_dev_name(const struct cow_pool *p, const char *vol, char *buf,
		     size_t len);
/* Activates volume v as dev (with v->size sectors). */
int volume_activate(struct cow_pool *p, struct cow_volume *v, const char *dev);
/* Removes every active device of v; refuses (prints) if one is mounted. */
int volume_deactivate(struct cow_pool *p, struct cow_volume *v);
/* Mount point of a block device (malloc'ed), or NULL if not mounted. */
char *devno_mount_point(uint32_t major, uint32_t minor);
/* Prints "<action> failed: <errno text> (...)" for a dm ioctl failure. */
int dm_failed(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Failure injection for tests: true if DMCOWCTL_FAIL_AFTER == step. */
bool fail_injected(const char *step);
/* Human size: "64M", "1.5G"; buf of at least 16 bytes. */
const char *human_size(uint64_t bytes, char *buf, size_t len);

/*----------------------------------------------------------------
 * Pool status (cmd-pool.c), shared with monitor
 *--------------------------------------------------------------*/

struct pool_status {
	uint64_t txn;
	uint64_t meta_used, meta_total;		/* blocks */
	uint64_t data_used, data_total;		/* chunks */
	bool has_held_root;
	uint64_t held_root;
	char mode[24];		/* rw, ro, out_of_data_space, fail */
	bool discard_passdown;
	bool error_if_no_space;
	bool needs_check;
	uint64_t reclaiming;	/* chunks */
	uint32_t chunk_sectors;
	uint64_t low_water;	/* chunks */
	uint32_t event_nr;
};

/* Reads and parses the status line of an active pool (prints errors). */
int pool_status_read(const char *pool, struct pool_status *st);
/* Prints st as text, or as one JSON object when json is set. */
void pool_status_print(const char *pool, const struct pool_status *st, bool json);
/* Reloads the pool table with the data device's current size. */
int pool_extend(const char *pool, bool quiet);

#endif
