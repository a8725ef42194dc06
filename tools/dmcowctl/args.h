/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmcowctl: argument parsing shared by the commands.
 */
#ifndef DMCOWCTL_ARGS_H
#define DMCOWCTL_ARGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#define DMCOWCTL_EXIT_ERR 1	/* the operation failed */
#define DMCOWCTL_EXIT_USAGE 2	/* the command line is wrong */

/* A dm device name is at most 127 bytes; a volume name at most 63. */
#define POOL_NAME_LEN 128
#define VOL_NAME_LEN 64

struct vol_ref {
	char pool[POOL_NAME_LEN];
	char name[VOL_NAME_LEN];
};

/*
 * Parses SIZE into 512-byte sectors: a number with an optional suffix
 * s (sectors), k, M, G, T (binary); no suffix means bytes, which must then
 * be a multiple of 512.  Returns 0 or -EINVAL.
 */
int parse_size(const char *s, uint64_t *sectors);
/* As parse_size, but also accepts "N%" (*percent set, *sectors 0). */
int parse_size_or_percent(const char *s, uint64_t *sectors, unsigned int *percent);
int parse_uint(const char *s, uint64_t *v);

/* Checks that NAME may be a pool or volume name (prints why not). */
bool valid_pool_name(const char *name);
bool valid_volume_name(const char *name);
/* Parses POOL/NAME; prints a usage error and returns -EINVAL if malformed. */
int parse_vol_ref(const char *s, struct vol_ref *ref);
/*
 * Parses two POOL/NAMEs of commands that relate two volumes: they must be
 * in one pool and be two volumes.  Returns 0, or DMCOWCTL_EXIT_USAGE after
 * printing why (with the synopsis when the pair is wrong).
 */
int parse_vol_pair(const char *synopsis, const char *sa, const char *sb,
		   struct vol_ref ref[2]);

/*
 * Usage error: prints "dmcowctl: <message>" and the command's synopsis and
 * returns DMCOWCTL_EXIT_USAGE.
 */
int usage_err(const char *synopsis, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * getopt_long loop common part: handles -h/--help (prints the synopsis on
 * stdout and exits 0) and unknown options.  Commands call args_begin()
 * once, then args_next() until it returns -1.  Returns the option
 * character, -1 at the end, or '?' after printing a usage error.
 */
void args_begin(void);
int args_next(int argc, char **argv, const char *shortopts,
	      const struct option *longopts, const char *synopsis);

/* Number of positional arguments left, and the first of them. */
#define ARGS_LEFT(argc) ((argc) - optind)
#define ARG(argv, i) ((argv)[optind + (i)])

#endif
