// SPDX-License-Identifier: GPL-2.0-only
/*
 * mkfiletree: make a tree of many small files quickly, for the file-level
 * benchmarks (dmcowctl diff, du).  A shell loop under TCG makes a few
 * hundred files a second; 100 000 need a program.
 *
 *   mkfiletree DIR NDIRS FILES_PER_DIR
 *
 * Makes DIR/dNNN/fNNNNN: NDIRS directories of FILES_PER_DIR files each,
 * 100 to 1099 bytes (pseudo-random, fixed by the file's position, so every
 * run makes the same tree), content different in every file.  Prints the
 * number of files and the bytes of file data written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE 1100

static uint64_t next_random(uint64_t *s)
{
	/* xorshift64: fast and fixed; not for anything but test content */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int make_file(const char *path, uint64_t seed, uint64_t *bytes)
{
	unsigned char buf[MAX_FILE];
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t size, i;
	int fd;

	size = 100 + next_random(&s) % (MAX_FILE - 100);
	for (i = 0; i < size; i += 8) {
		uint64_t v = next_random(&s);

		memcpy(buf + i, &v, size - i < 8 ? size - i : 8);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, buf, size) != (ssize_t)size) {
		fprintf(stderr, "mkfiletree: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*bytes += size;
	return close(fd);
}

int main(int argc, char **argv)
{
	unsigned long ndirs, nfiles, d, f;
	uint64_t bytes = 0;
	char path[4096];

	if (argc != 4) {
		fprintf(stderr, "usage: mkfiletree DIR NDIRS FILES_PER_DIR\n");
		return 2;
	}
	ndirs = strtoul(argv[2], NULL, 10);
	nfiles = strtoul(argv[3], NULL, 10);
	for (d = 0; d < ndirs; d++) {
		snprintf(path, sizeof(path), "%s/d%03lu", argv[1], d);
		if (mkdir(path, 0755) && errno != EEXIST) {
			fprintf(stderr, "mkfiletree: %s: %s\n", path, strerror(errno));
			return 1;
		}
		for (f = 0; f < nfiles; f++) {
			snprintf(path, sizeof(path), "%s/d%03lu/f%05lu", argv[1], d, f);
			if (make_file(path, d * nfiles + f, &bytes))
				return 1;
		}
	}
	printf("%lu files, %llu bytes\n", ndirs * nfiles, (unsigned long long)bytes);
	return 0;
}
