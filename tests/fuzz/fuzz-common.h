/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the fuzz targets (tests/fuzz): quiet logging, and a loud
 * failure for what a target finds wrong without crashing.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/*
 * Silence the core's log lines and dmcowctl's error sentences (a fuzzer
 * would print millions) unless FUZZ_VERBOSE is set in the environment:
 * set it to see why a replayed input is rejected.
 */
void fuzz_quiet(void);

/*
 * A finding that is not a crash (a wrong answer, an inconsistency the
 * sanitizers cannot see): print it and abort, so libFuzzer keeps the
 * input like any crash.
 */
void fuzz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define FUZZ_ASSERT(cond, ...) \
	do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

#endif
