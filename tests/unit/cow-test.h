/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A tiny unit-test runner for dm-cowtree's userspace tests.
 *
 * Tests register themselves with COW_TEST(name) { ... } and use the
 * CHECK* macros; a failed check ends the test (longjmp) and the runner goes
 * on with the next.  Every binary linked with cow-test-main.c prints one line
 * per test and ends with "unit: N passed, N failed".
 *
 * Usage: test-binary [-l] [-v] [name-substring...]
 */
#ifndef COW_TEST_H
#define COW_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct cow_test {
	const char *name;
	void (*fn)(void);
};

#define COW_TEST(fn)							\
	static void fn(void);						\
	static const struct cow_test cow_test_##fn			\
		__attribute__((used, section("cow_tests"), aligned(16))) = \
		{ #fn, fn };						\
	static void fn(void)

void cow_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

/* True when -v was given: tests may print progress. */
extern bool cow_test_verbose;

/* Scale factor for long runs: COW_TEST_SCALE env var, default 1. */
unsigned long cow_test_scale(void);

/* Seed for randomized tests: COW_TEST_SEED env var, or a fixed default. */
uint64_t cow_test_seed(void);

#define CHECK(cond)							\
	do {								\
		if (!(cond))						\
			cow_test_fail(__FILE__, __LINE__, "%s", #cond);	\
	} while (0)

#define CHECK_MSG(cond, ...)						\
	do {								\
		if (!(cond))						\
			cow_test_fail(__FILE__, __LINE__, __VA_ARGS__);	\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		long long a_ = (long long)(a), b_ = (long long)(b);	\
		if (a_ != b_)						\
			cow_test_fail(__FILE__, __LINE__,		\
				      "%s == %s (%lld != %lld)",	\
				      #a, #b, a_, b_);			\
	} while (0)

#define CHECK_OK(expr)							\
	do {								\
		long long r_ = (long long)(expr);			\
		if (r_ != 0)						\
			cow_test_fail(__FILE__, __LINE__,		\
				      "%s returned %lld (%s)", #expr,	\
				      r_, r_ < 0 ? strerror((int)-r_) : "?"); \
	} while (0)

#endif
