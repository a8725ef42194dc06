// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of check --live's comparison of the live counters with the
 * ones recomputed from the held root (tools/dmcowctl/live-counters.c):
 *  - live counters that differ from the recomputed ones, in the pool's
 *    volumes listing or in an active device's status, are a mismatch;
 *  - only the counters the pool maintains ("-": unknown) are compared;
 *  - a volume whose live counters moved between the reading before the
 *    hold and the one after the check is not compared, and says why;
 *    so is one created or deleted meanwhile, and every volume of a held
 *    root reserved earlier by another tool.
 *
 * Output: one PASS/FAIL line per check, last line
 * "live-counters: N passed, N failed".
 */
#include "live-counters.h"

#include <stdio.h>
#include <string.h>

#include "unit-check.h"

static const struct live_counter_set truth = {
	.mapped = 256, .exclusive = 32, .written = 48,
	.exclusive_known = true, .written_known = true,
};

static struct live_volume vol(uint64_t id, struct live_counter_set c, const char *dev)
{
	struct live_volume v = { .id = id, .pool = c };

	if (dev) {
		snprintf(v.dev, sizeof(v.dev), "%s", dev);
		v.status_read = true;
		v.status = c;
	}
	return v;
}

/* compare ONE volume (id 1) recomputed as truth: mismatches, the verdict */
static unsigned int compare_one(const struct live_volume *before,
				const struct live_volume *after, bool held_by_us,
				struct live_verdict *out)
{
	const uint64_t id = 1;

	return live_compare_counters(&id, &truth, 1, before, before ? 1 : 0, after,
				     after ? 1 : 0, held_by_us, out);
}

static void test_equal(void)
{
	struct live_volume v = vol(1, truth, "pool-v1");
	struct live_verdict out;

	check(compare_one(&v, &v, true, &out) == 0 && out.compared &&
	      out.device_compared && !out.mismatch[0],
	      "quiesced and equal: compared (pool and device), no mismatch");
	v.status_read = false;
	v.dev[0] = '\0';
	check(compare_one(&v, &v, true, &out) == 0 && out.compared &&
	      !out.device_compared, "inactive volume: the pool's counters compared only");
}

static void test_wrong_live_counters(void)
{
	struct live_counter_set off = truth;
	struct live_volume v;
	struct live_verdict out;

	off.exclusive++;
	v = vol(1, off, NULL);
	check(compare_one(&v, &v, true, &out) == 1 && out.compared &&
	      strstr(out.mismatch, "the pool reports mapped 256 exclusive 33 written 48"),
	      "pool's exclusive off by one: mismatch (%s)", out.mismatch);

	off = truth;
	off.mapped--;
	v = vol(1, off, NULL);
	check(compare_one(&v, &v, true, &out) == 1, "pool's mapped off by one: mismatch");

	off = truth;
	off.written += 7;
	v = vol(1, off, NULL);
	check(compare_one(&v, &v, true, &out) == 1, "pool's written off: mismatch");

	/* The pool's listing right, the device's status wrong. */
	v = vol(1, truth, "pool-v1");
	v.status.written = 47;
	check(compare_one(&v, &v, true, &out) == 1 && out.device_compared &&
	      strstr(out.mismatch, "the status of pool-v1 reports"),
	      "device status off by one: mismatch (%s)", out.mismatch);
}

static void test_unknown_counters(void)
{
	struct live_counter_set c = truth;
	struct live_volume v;
	struct live_verdict out;

	c.exclusive_known = false;
	c.exclusive = 12345;	/* not maintained: whatever it holds */
	c.written_known = false;
	v = vol(1, c, "pool-v1");
	check(compare_one(&v, &v, true, &out) == 0 && out.compared,
	      "counters the pool does not maintain are not compared");
}

static void test_not_compared(void)
{
	struct live_volume b = vol(1, truth, "pool-v1"), a = b;
	struct live_counter_set off = truth;
	struct live_verdict out;

	a.pool.mapped++;
	a.status.mapped++;
	check(compare_one(&b, &a, true, &out) == 0 && !out.compared &&
	      out.skipped && strstr(out.skipped, "moved"),
	      "counters moved during the check: not compared, says why");
	/* Moved in the device status only (the listing raced it). */
	a = b;
	a.status.exclusive--;
	check(compare_one(&b, &a, true, &out) == 0 && !out.compared,
	      "device status moved: not compared");
	/* A moved volume is not compared even if its after-reading is wrong. */
	off.mapped += 3;
	a = vol(1, off, NULL);
	check(compare_one(&b, &a, true, &out) == 0 && !out.compared,
	      "moved and wrong: not compared (no false alarm under I/O)");
	check(compare_one(NULL, &b, true, &out) == 0 && !out.compared &&
	      strstr(out.skipped, "created or deleted"),
	      "volume created during the check: not compared");
	check(compare_one(&b, NULL, true, &out) == 0 && !out.compared,
	      "volume deleted during the check: not compared");
	a = vol(1, off, NULL);
	check(compare_one(&a, &a, false, &out) == 0 && !out.compared &&
	      strstr(out.skipped, "another tool"),
	      "held root reserved by another tool: not compared");
}

static void test_several(void)
{
	const uint64_t ids[3] = { 1, 2, 7 };
	struct live_counter_set rc[3] = { truth, truth, truth };
	struct live_volume before[3], after[3];
	struct live_verdict out[3];
	unsigned int n;

	rc[1].mapped = 10;
	before[0] = vol(7, truth, "pool-c");	/* order differs from ids */
	before[1] = vol(1, truth, NULL);
	before[2] = vol(2, rc[1], "pool-b");
	memcpy(after, before, sizeof(after));
	after[0].pool.exclusive = 31;		/* 7 wrong, and unmoved */
	before[0].pool.exclusive = 31;
	n = live_compare_counters(ids, rc, 3, before, 3, after, 3, true, out);
	check(n == 1 && out[0].compared && !out[0].mismatch[0] && out[1].compared &&
	      out[1].device_compared && !out[1].mismatch[0] && out[2].compared &&
	      strstr(out[2].mismatch, "volume 7:"),
	      "three volumes matched by id, the wrong one named (%u mismatches)", n);
}

int main(void)
{
	test_equal();
	test_wrong_live_counters();
	test_unknown_counters();
	test_not_compared();
	test_several();
	printf("live-counters: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
