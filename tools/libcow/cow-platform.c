// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree platform shim, user-space side: the out-of-line parts.
 */
#include "cow-platform.h"

#include <isa-l/crc.h>
#include <stdarg.h>
#include <sys/random.h>
#include <time.h>

bool cow_log_quiet;
unsigned long cow_log_errors;

/*
 * isa-l's crc32_iscsi() applies no inversion of its own, which is exactly
 * the kernel's crc32c() convention (callers invert if they want to); the
 * test-platform unit test pins this against the standard check value.
 */
u32 crc32c(u32 seed, const void *p, unsigned int len)
{
	return crc32_iscsi((unsigned char *)p, (int)len, seed);
}

ssize_t strscpy(char *dst, const char *src, size_t count)
{
	size_t len;

	if (!count)
		return -E2BIG;
	len = strnlen(src, count);
	if (len == count) {
		memcpy(dst, src, count - 1);
		dst[count - 1] = '\0';
		return -E2BIG;
	}
	memcpy(dst, src, len + 1);
	return (ssize_t)len;
}

void cow_log(const char *level, const char *fmt, ...)
{
	va_list ap;

	if (cow_log_quiet)
		return;
	fprintf(stderr, "cowtree %s: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Weak: a test that needs byte-identical pools (tests/fuzz) pins the clock. */
__attribute__((weak)) u64 cow_now_seconds(void)
{
	return (u64)time(NULL);
}

void cow_random_bytes(void *buf, size_t len)
{
	u8 *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n <= 0) {
			/* Fall back to something unique enough. */
			memset(p, 0, len);
			*p ^= (u8)time(NULL);
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

void sort(void *base, size_t num, size_t size,
	  int (*cmp)(const void *, const void *),
	  void (*swap)(void *, void *, int size))
{
	(void)swap;
	qsort(base, num, size, cmp);
}
