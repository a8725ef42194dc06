/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What device-mapper's core does to a table line or a message before a
 * target sees it, for the parser fuzz targets (table.c, pool-message.c).
 */
#ifndef FUZZ_DM_H
#define FUZZ_DM_H

#include <stddef.h>
#include <stdint.h>

/*
 * dm_split_args() (drivers/md/dm-table.c): split @input in place at
 * white space, a backslash quoting the next character.  Returns the
 * argument vector (free() it) and its length in *argc; NULL if out of
 * memory.
 */
char **fuzz_split_args(char *input, unsigned int *argc);

/* The fuzz input as a NUL-terminated string (free() it). */
char *fuzz_string(const uint8_t *data, size_t size);

#endif
