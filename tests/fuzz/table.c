// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the table lines of both kernel targets, parsed by the
 * code the module runs (drivers/md/dm-cowtree/parse/cow-parse.c).
 *
 * Input: a dmsetup table line, "<start> <length> <target> <args...>",
 * split as device-mapper's core splits it (fuzz-dm.c); "cowtree-pool"
 * lines go to the pool constructor's parser, "cowtree" lines to the
 * volume's.  A rejected line must come with a reason for ti->error; an
 * accepted one must hold only what the constructor may rely on.
 */
#include "fuzz-common.h"
#include "fuzz-dm.h"
#include "cow-parse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static bool in_argv(const char *s, char **argv, unsigned int argc)
{
	unsigned int i;

	for (i = 0; i < argc; i++)
		if (s == argv[i])
			return true;
	return false;
}

static void pool_line(unsigned int argc, char **argv, u64 len)
{
	struct cow_pool_table pt;
	char *error = NULL;
	int r;

	memset(&pt, 0xa5, sizeof(pt));
	r = cow_parse_pool_table(argc, argv, len, &pt, &error);
	if (r) {
		FUZZ_ASSERT(r == -EINVAL && error && *error,
			    "pool table refused (%d) without a reason", r);
		return;
	}
	FUZZ_ASSERT(argc >= 4 && in_argv(pt.metadata_dev, argv, argc) &&
		    in_argv(pt.data_dev, argv, argc),
		    "pool table accepted without its devices");
	FUZZ_ASSERT(is_power_of_2(pt.chunk_sectors) &&
		    pt.chunk_sectors >= COW_MIN_CHUNK_SECTORS &&
		    pt.chunk_sectors <= COW_MAX_CHUNK_SECTORS &&
		    len >= pt.chunk_sectors,
		    "pool table accepted chunk size %u for length %llu",
		    pt.chunk_sectors, (unsigned long long)len);
	FUZZ_ASSERT(pt.pf.mode == COW_MODE_WRITE || pt.pf.mode == COW_MODE_READ_ONLY,
		    "pool table accepted with mode %d", pt.pf.mode);
}

static void volume_line(unsigned int argc, char **argv)
{
	struct cow_volume_table vt;
	char *error = NULL;
	int r;

	r = cow_parse_volume_table(argc, argv, &vt, &error);
	if (r) {
		FUZZ_ASSERT(r == -EINVAL && error && *error,
			    "volume table refused (%d) without a reason", r);
		return;
	}
	FUZZ_ASSERT(argc == 2 && vt.pool_dev == argv[0] && vt.id <= COW_MAX_VOLUME_ID,
		    "volume table accepted with id %llu", (unsigned long long)vt.id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_string(data, size), **argv;
	unsigned int argc;
	u64 len;

	if (!line)
		return 0;
	argv = fuzz_split_args(line, &argc);
	/* dmsetup's own checks: a start, a length and a target type. */
	if (argv && argc >= 3 && !kstrtoull(argv[1], 10, &len) && len) {
		if (!strcmp(argv[2], "cowtree-pool"))
			pool_line(argc - 3, argv + 3, len);
		else if (!strcmp(argv[2], "cowtree"))
			volume_line(argc - 3, argv + 3);
	}
	free(argv);
	free(line);
	return 0;
}
