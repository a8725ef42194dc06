// SPDX-License-Identifier: GPL-2.0-only
/*
 * device-mapper core's argument splitting, as the kernel does it
 * (dm_split_args() in drivers/md/dm-table.c of Linux 6.1).
 */
#include "fuzz-dm.h"

#include <stdlib.h>
#include <string.h>

/* The kernel's isspace(): ASCII white space and Latin-1 NBSP (160). */
static int kernel_isspace(char c)
{
	unsigned char u = (unsigned char)c;

	return u == ' ' || (u >= '\t' && u <= '\r') || u == 160;
}

char **fuzz_split_args(char *input, unsigned int *argc)
{
	char *start, *end = input, *out, **argv, **bigger;
	unsigned int size = 8;

	*argc = 0;
	argv = malloc(size * sizeof(*argv));
	if (!argv)
		return NULL;
	for (;;) {
		start = end;
		while (kernel_isspace(*start))
			start++;
		if (!*start)
			break;
		/* 'out' drops the backslashes */
		end = out = start;
		while (*end) {
			/* Everything apart from '\0' can be quoted */
			if (*end == '\\' && *(end + 1)) {
				*out++ = *(end + 1);
				end += 2;
				continue;
			}
			if (kernel_isspace(*end))
				break;
			*out++ = *end++;
		}
		if (*argc + 1 > size) {
			bigger = realloc(argv, 2 * size * sizeof(*argv));
			if (!bigger) {
				free(argv);
				return NULL;
			}
			argv = bigger;
			size *= 2;
		}
		if (*end)
			end++;
		*out = '\0';
		argv[(*argc)++] = start;
	}
	return argv;
}

char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}
