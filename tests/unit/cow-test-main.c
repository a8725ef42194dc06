// SPDX-License-Identifier: GPL-2.0-only
/*
 * Runner for tests registered with COW_TEST(): see cow-test.h.
 */
#include "cow-test.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

extern const struct cow_test __start_cow_tests[];
extern const struct cow_test __stop_cow_tests[];

bool cow_test_verbose;
static jmp_buf test_abort;

void cow_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  %s:%d: check failed: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	longjmp(test_abort, 1);
}

unsigned long cow_test_scale(void)
{
	const char *s = getenv("COW_TEST_SCALE");
	unsigned long v = s ? strtoul(s, NULL, 0) : 1;

	return v ? v : 1;
}

uint64_t cow_test_seed(void)
{
	const char *s = getenv("COW_TEST_SEED");

	return s ? strtoull(s, NULL, 0) : 0x5eed1234abcdULL;
}

/*
 * Tests named deliberately_* exist for the runner's own self-test: they run
 * only when asked for by their full name, so they are never counted.
 */
static bool selected(const char *name, int argc, char **argv, int first)
{
	bool helper = !strncmp(name, "deliberately_", 13);
	int i;

	if (first >= argc)
		return !helper;
	for (i = first; i < argc; i++)
		if (helper ? !strcmp(name, argv[i]) : !!strstr(name, argv[i]))
			return true;
	return false;
}

/* Run one test; the volatile keeps the result intact across longjmp. */
static bool run_one(const struct cow_test *t)
{
	volatile bool ok = true;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (setjmp(test_abort) == 0)
		t->fn();
	else
		ok = false;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%s %s (%.2fs)\n", ok ? "PASS" : "FAIL", t->name,
	       (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	fflush(stdout);
	return ok;
}

int main(int argc, char **argv)
{
	const struct cow_test *t;
	unsigned int passed = 0, failed = 0;
	bool list = false;
	int first = 1;

	while (first < argc && argv[first][0] == '-') {
		if (!strcmp(argv[first], "-l"))
			list = true;
		else if (!strcmp(argv[first], "-v"))
			cow_test_verbose = true;
		else {
			fprintf(stderr, "usage: %s [-l] [-v] [name...]\n", argv[0]);
			return 2;
		}
		first++;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (t = __start_cow_tests; t < __stop_cow_tests; t++) {
		if (!selected(t->name, argc, argv, first))
			continue;
		if (list) {
			puts(t->name);
			continue;
		}
		if (run_one(t))
			passed++;
		else
			failed++;
	}
	if (!list)
		printf("unit: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
