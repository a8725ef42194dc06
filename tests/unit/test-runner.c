// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of the test runner itself: a failing check must be reported as a
 * failure and turn the exit status non-zero.
 */
#include "cow-test.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

COW_TEST(runner_reports_failure)
{
	char self[PATH_MAX], cmd[PATH_MAX + 128];
	ssize_t n;
	int status;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CHECK(n > 0);
	self[n] = '\0';
	snprintf(cmd, sizeof(cmd),
		 "COW_TEST_EXPECT_FAIL=1 '%s' deliberately_failing >/dev/null 2>&1",
		 self);
	status = system(cmd);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 1);
	/* Not listed (so not run, not counted) unless named. */
	snprintf(cmd, sizeof(cmd), "'%s' -l | grep -q deliberately_failing", self);
	status = system(cmd);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 1);
}

/* Runs only when named (cow-test-main.c): not a test of its own. */
COW_TEST(deliberately_failing)
{
	/* Fails only when runner_reports_failure asks it to. */
	if (getenv("COW_TEST_EXPECT_FAIL"))
		CHECK_EQ(1 + 1, 3);
}
