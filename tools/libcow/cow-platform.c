// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cowtree platform shim, user-space side: the out-of-line parts.
 */
#include "cow-platform.h"

#include <ctype.h>
#include <isa-l/crc.h>
#include <limits.h>
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

int kstrtoull(const char *s, unsigned int base, unsigned long long *res)
{
	unsigned long long v = 0;
	bool overflow = false;
	unsigned int digit, n = 0;

	if (*s == '+')
		s++;
	if (!base) {
		if (s[0] == '0' && (s[1] | 0x20) == 'x' && isxdigit((unsigned char)s[2]))
			base = 16;
		else
			base = s[0] == '0' ? 8 : 10;
	}
	if (base == 16 && s[0] == '0' && (s[1] | 0x20) == 'x')
		s += 2;
	for (;; s++, n++) {
		if (*s >= '0' && *s <= '9')
			digit = (unsigned int)(*s - '0');
		else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			digit = (unsigned int)((*s | 0x20) - 'a' + 10);
		else
			break;
		if (digit >= base)
			break;
		if (v > (ULLONG_MAX - digit) / base)
			overflow = true;
		v = v * base + digit;
	}
	if (overflow)
		return -ERANGE;
	if (!n)
		return -EINVAL;
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*res = v;
	return 0;
}

int kstrtouint(const char *s, unsigned int base, unsigned int *res)
{
	unsigned long long v;
	int r = kstrtoull(s, base, &v);

	if (r)
		return r;
	if (v != (unsigned int)v)
		return -ERANGE;
	*res = (unsigned int)v;
	return 0;
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
