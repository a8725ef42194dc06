// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shared by the fuzz targets: logging, failures, and dmcowctl_err() (the
 * dmcowctl sources are linked without dmcowctl.c, which defines it).
 */
#include "fuzz-common.h"
#include "cow-platform.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static bool verbose;
static FILE *report;	/* the real stderr */

void fuzz_quiet(void)
{
	FILE *null;

	report = stderr;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	cow_log_quiet = !verbose;
	if (verbose)
		return;
	/*
	 * The code under test prints its sentences to stderr (the stdio
	 * stream); sanitizer reports write to fd 2 and libFuzzer keeps the
	 * stream it saw at startup, so neither is silenced.
	 */
	null = fopen("/dev/null", "w");
	if (null)
		stderr = null;
}

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	if (!report)
		report = stderr;
	fputs("fuzz: FINDING: ", report);
	va_start(ap, fmt);
	vfprintf(report, fmt, ap);
	va_end(ap);
	fputc('\n', report);
	fflush(report);
	abort();
}

void dmcowctl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("dmcowctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
