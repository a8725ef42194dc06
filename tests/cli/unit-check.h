/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The check of the C unit tests here: one "PASS what" or "FAIL what" line
 * per check, counted; each test ends with "NAME: N passed, N failed".
 */
#ifndef TESTS_CLI_UNIT_CHECK_H
#define TESTS_CLI_UNIT_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int passed, failed;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		passed++;
	else
		failed++;
}

#endif
