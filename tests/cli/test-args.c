// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of dmcowctl's argument helpers (tools/dmcowctl/args.c):
 * sizes, percentages, numbers, pool and volume names, POOL/NAME.  Linked
 * with args.c alone; dmcowctl_err() is replaced by a stub that keeps the
 * last message, so every rejection is also checked to say what is wrong.
 *
 * Output: one PASS/FAIL line per check, last line "args: N passed, N failed".
 */
#include "args.h"
#include "dmcowctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "unit-check.h"

static char last_err[512];

void dmcowctl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_err, sizeof(last_err), fmt, ap);
	va_end(ap);
}

static void size_ok(const char *s, uint64_t want)
{
	uint64_t got = 12345;
	int r = parse_size(s, &got);

	check(!r && got == want, "parse_size(\"%s\") = %" PRIu64 " sectors (got r=%d, %" PRIu64 ")",
	      s, want, r, got);
}

static void size_bad(const char *s)
{
	uint64_t got = 12345;
	int r = parse_size(s, &got);

	check(r == -EINVAL && got == 12345, "parse_size(\"%s\") rejected (got r=%d, %" PRIu64 ")",
	      s, r, got);
}

static void test_sizes(void)
{
	size_ok("64k", 128);
	size_ok("64K", 128);
	size_ok("64KiB", 128);
	size_ok("64kb", 128);
	size_ok("1M", 2048);
	size_ok("1m", 2048);
	size_ok("1MiB", 2048);
	size_ok("1G", 2097152);
	size_ok("10G", 20971520);
	size_ok("1T", 2147483648ULL);
	size_ok("1P", 2199023255552ULL);
	size_ok("2048s", 2048);
	size_ok("2048S", 2048);
	size_ok("512", 1);
	size_ok("1048576", 2048);
	size_ok("0", 0);
	size_ok("007k", 14);
	/* The largest sizes that still fit 64 bits of bytes. */
	size_ok("16383P", 16383ULL << 41);
	size_ok("16777215T", 16777215ULL << 31);
	size_ok("36028797018963967s", 36028797018963967ULL);

	size_bad("");
	size_bad("k");
	size_bad("M");
	size_bad("-1M");
	size_bad("+1M");
	size_bad(" 1M");
	size_bad("1M ");
	size_bad("1 M");
	size_bad("1.5G");
	size_bad("1,5G");
	size_bad("0x10M");
	size_bad("1x");
	size_bad("1E");
	size_bad("1Z");
	size_bad("1KB2");
	size_bad("1Kx");
	size_bad("1KiBs");
	size_bad("1iB");
	size_bad("1sb");
	size_bad("1ss");
	size_bad("100");		/* bytes, not a multiple of 512 */
	size_bad("513");
	size_bad("16384P");		/* 2^64 bytes */
	size_bad("16777216T");
	size_bad("36028797018963968s");
	size_bad("18446744073709551615k");
	size_bad("18446744073709551616");	/* > UINT64_MAX */
	size_bad("99999999999999999999999G");
	size_bad(NULL);
}

static void test_percent(void)
{
	unsigned int pct = 77;
	uint64_t sec = 77;
	int r;

	r = parse_size_or_percent("10%", &sec, &pct);
	check(!r && pct == 10 && sec == 0, "parse_size_or_percent(\"10%%\") = 10%% (r=%d pct=%u)",
	      r, pct);
	r = parse_size_or_percent("1000%", &sec, &pct);
	check(!r && pct == 1000, "parse_size_or_percent(\"1000%%\") accepted (r=%d)", r);
	r = parse_size_or_percent("1G", &sec, &pct);
	check(!r && pct == 0 && sec == 2097152, "parse_size_or_percent(\"1G\") = 1 GiB (r=%d)", r);
	r = parse_size_or_percent("0%", &sec, &pct);
	check(r == -EINVAL, "parse_size_or_percent(\"0%%\") rejected (r=%d)", r);
	r = parse_size_or_percent("1001%", &sec, &pct);
	check(r == -EINVAL, "parse_size_or_percent(\"1001%%\") rejected (r=%d)", r);
	r = parse_size_or_percent("%", &sec, &pct);
	check(r == -EINVAL, "parse_size_or_percent(\"%%\") rejected (r=%d)", r);
	r = parse_size_or_percent("10%%", &sec, &pct);
	check(r == -EINVAL, "parse_size_or_percent(\"10%%%%\") rejected (r=%d)", r);
	r = parse_size_or_percent("-5%", &sec, &pct);
	check(r == -EINVAL, "parse_size_or_percent(\"-5%%\") rejected (r=%d)", r);
	r = parse_size_or_percent("5.5%", &sec, &pct);
	check(r == -EINVAL, "parse_size_or_percent(\"5.5%%\") rejected (r=%d)", r);
	r = parse_size_or_percent("1G%", &sec, &pct);
	check(r == -EINVAL, "parse_size_or_percent(\"1G%%\") rejected (r=%d)", r);
	r = parse_size_or_percent("100000000000000000000000000000000%", &sec, &pct);
	check(r == -EINVAL, "parse_size_or_percent(a 34-character percentage) rejected (r=%d)", r);
}

static void test_uint(void)
{
	uint64_t v = 5;
	int r;

	r = parse_uint("0", &v);
	check(!r && v == 0, "parse_uint(\"0\") = 0");
	r = parse_uint("18446744073709551615", &v);
	check(!r && v == UINT64_MAX, "parse_uint(UINT64_MAX)");
	v = 5;
	check(parse_uint("18446744073709551616", &v) == -EINVAL && v == 5,
	      "parse_uint(UINT64_MAX + 1) rejected");
	check(parse_uint("", &v) == -EINVAL, "parse_uint(\"\") rejected");
	check(parse_uint("-1", &v) == -EINVAL, "parse_uint(\"-1\") rejected");
	check(parse_uint("+1", &v) == -EINVAL, "parse_uint(\"+1\") rejected");
	check(parse_uint(" 1", &v) == -EINVAL, "parse_uint(\" 1\") rejected");
	check(parse_uint("12x", &v) == -EINVAL, "parse_uint(\"12x\") rejected");
	check(parse_uint("1k", &v) == -EINVAL, "parse_uint(\"1k\") rejected");
	check(parse_uint(NULL, &v) == -EINVAL, "parse_uint(NULL) rejected");
}

/* name_bad FN NAME WHAT: FN rejects NAME and says so, quoting it. */
static void name_bad(bool (*fn)(const char *), const char *name, const char *what)
{
	bool ok;

	last_err[0] = '\0';
	ok = fn(name);
	check(!ok && strstr(last_err, "is not a valid") && strstr(last_err, what) &&
	      strstr(last_err, name),
	      "%s \"%s\" rejected with a message naming it (got: %s)", what, name, last_err);
}

static void name_ok(bool (*fn)(const char *), const char *name, const char *what)
{
	last_err[0] = '\0';
	check(fn(name) && !last_err[0], "%s \"%s\" accepted (%s)", what, name, last_err);
}

static void test_names(void)
{
	char n63[64], n64[65];

	memset(n63, 'a', 63);
	n63[63] = '\0';
	memset(n64, 'b', 64);
	n64[64] = '\0';

	name_ok(valid_pool_name, "pool0", "pool name");
	name_ok(valid_pool_name, "my_pool.2_x", "pool name");
	/* POOL-NAME must name one volume: no '-' in a pool name. */
	name_bad(valid_pool_name, "a-b", "pool name");
	name_ok(valid_pool_name, n63, "pool name");
	name_bad(valid_pool_name, n64, "pool name");
	name_bad(valid_pool_name, "", "pool name");
	name_bad(valid_pool_name, "a/b", "pool name");
	name_bad(valid_pool_name, "a,b", "pool name");
	name_bad(valid_pool_name, "a b", "pool name");
	name_bad(valid_pool_name, "a\tb", "pool name");
	name_bad(valid_pool_name, "a\nb", "pool name");
	name_bad(valid_pool_name, "a\x01" "b", "pool name");
	name_bad(valid_pool_name, ".", "pool name");
	name_bad(valid_pool_name, "..", "pool name");
	name_ok(valid_pool_name, "...", "pool name");

	name_ok(valid_volume_name, "root", "volume name");
	name_ok(valid_volume_name, "monday@nightly", "volume name");
	name_ok(valid_volume_name, n63, "volume name");
	name_bad(valid_volume_name, n64, "volume name");
	name_bad(valid_volume_name, "", "volume name");
	name_bad(valid_volume_name, "x/y", "volume name");
	name_bad(valid_volume_name, "x,y", "volume name");
	name_bad(valid_volume_name, "x y", "volume name");
	name_bad(valid_volume_name, ".", "volume name");
	name_bad(valid_volume_name, "..", "volume name");
	name_bad(valid_volume_name, "\x7f", "volume name");
}

static void ref_ok(const char *s, const char *pool, const char *name)
{
	struct vol_ref ref;
	int r;

	memset(&ref, 0x55, sizeof(ref));
	last_err[0] = '\0';
	r = parse_vol_ref(s, &ref);
	check(!r && !strcmp(ref.pool, pool) && !strcmp(ref.name, name) && !last_err[0],
	      "parse_vol_ref(\"%s\") = %s / %s (r=%d, %s)", s, pool, name, r, last_err);
}

/* ref_bad S WHAT: rejected, and the message contains WHAT. */
static void ref_bad(const char *s, const char *what)
{
	struct vol_ref ref;
	int r;

	last_err[0] = '\0';
	r = parse_vol_ref(s, &ref);
	check(r == -EINVAL && strstr(last_err, what),
	      "parse_vol_ref(\"%s\") rejected: message has \"%s\" (got: %s)", s, what, last_err);
}

/* pair_check A B RC WHAT: parse_vol_pair returns RC; WHAT in its message. */
static void pair_check(const char *a, const char *b, int want, const char *what)
{
	struct vol_ref ref[2];
	int r;

	last_err[0] = '\0';
	r = parse_vol_pair("x", a, b, ref);
	check(r == want && (!want || strstr(last_err, what)) &&
	      (want || (!strcmp(ref[0].pool, "p") && !strcmp(ref[1].name, "b"))),
	      "parse_vol_pair(\"%s\", \"%s\") = %d (got %d: %s)", a, b, want, r, last_err);
}

static void test_vol_pairs(void)
{
	pair_check("p/a", "p/b", 0, "");
	pair_check("pa", "p/b", DMCOWCTL_EXIT_USAGE, "'pa' is not POOL/NAME");
	pair_check("p/a", "p/a b", DMCOWCTL_EXIT_USAGE, "not a valid volume name");
}

static void test_vol_refs(void)
{
	char buf[300], n63[64];

	ref_ok("pool/root", "pool", "root");
	ref_ok("p/v", "p", "v");
	ref_ok("pool_1/vol-2.x", "pool_1", "vol-2.x");
	memset(n63, 'v', 63);
	n63[63] = '\0';
	snprintf(buf, sizeof(buf), "p/%s", n63);
	ref_ok(buf, "p", n63);

	ref_bad("pool", "'pool' is not POOL/NAME");
	ref_bad("", "is not POOL/NAME");
	ref_bad("a/b/c", "'a/b/c' is not POOL/NAME");
	ref_bad("/v", "not a valid pool name");
	ref_bad("p/", "not a valid volume name");
	ref_bad("p/a b", "'a b' is not a valid volume name");
	/* A list is not one reference: snapshot splits on ',' first. */
	ref_bad("p/a,p/b", "is not POOL/NAME");
	snprintf(buf, sizeof(buf), "p/%s", n63);
	strcat(buf, "x");
	ref_bad(buf, "not a valid volume name");
	memset(buf, 'p', 200);
	strcpy(buf + 200, "/v");
	ref_bad(buf, "is too long");
	memset(buf, 'p', 100);
	strcpy(buf + 100, "/v");
	ref_bad(buf, "not a valid pool name");
}

int main(void)
{
	test_sizes();
	test_percent();
	test_uint();
	test_names();
	test_vol_refs();
	test_vol_pairs();
	printf("args: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
